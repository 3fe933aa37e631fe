from pathlib import Path

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
    assert (
        redact_url("postgresql://h/db?user=a&password=s3cr3t&x=1")
        == "postgresql://h/db?user=a&password=***&x=1"
    )
    assert redact_url("sqlite:///tracker.db") == "sqlite:///tracker.db"


def test_passwords_typed_with_raw_at_signs_or_slashes_are_hidden_whole():
    # a password not percent-encoded: everything up to the last "@" is the password
    assert (
        redact_url("postgresql://alice:p@ss/w@rd@db.example/x")
        == "postgresql://alice:***@db.example/x"
    )
    assert redact_url("postgresql://alice:@db.example/x") == "postgresql://alice:***@db.example/x"
    assert (
        redact_url("postgresql://h/db?user=a&PASSWD=s3cr3t")
        == "postgresql://h/db?user=a&PASSWD=***"
    )
    assert (
        redact_url("postgresql://h:5432/db") == "postgresql://h:5432/db"
    )  # a port is not a password
    assert redact_url("postgresql://[::1]:5432/db") == "postgresql://[::1]:5432/db"
    # "@host" forgotten: what stands where the port would is hidden
    assert redact_url("postgresql://alice:s3cr3t/db") == "postgresql://alice:***/db"


def test_sqlite_file_of_a_url(tmp_path):
    from tracker.db.engine import missing_sqlite_file, sqlite_file

    assert sqlite_file("study.db") == Path("study.db")
    assert sqlite_file(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql://u@h/db") is None
    assert missing_sqlite_file(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db"
    (tmp_path / "a.db").touch()
    assert missing_sqlite_file(f"sqlite:///{tmp_path}/a.db") is None
