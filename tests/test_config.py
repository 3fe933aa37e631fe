from tracker.config import redact_url, resolve_url


def test_resolution_order(monkeypatch):
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    assert resolve_url(None) == "sqlite:///tracker.db"
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:////tmp/env.db")
    assert resolve_url(None) == "sqlite:////tmp/env.db"
    assert resolve_url("sqlite:////tmp/flag.db") == "sqlite:////tmp/flag.db"
    assert resolve_url("study.db") == "sqlite:///study.db"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_passwords_never_printed():
    assert redact_url("postgresql+psycopg://alice:s3cr3t@db.example:5432/x") == (
        "postgresql+psycopg://alice:***@db.example:5432/x"
    )
    assert redact_url("postgresql://h/db?user=a&password=s3cr3t&x=1") == "postgresql://h/db?user=a&password=***&x=1"
    assert redact_url("sqlite:///tracker.db") == "sqlite:///tracker.db"
