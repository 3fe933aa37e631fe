"""Primary outcomes: ``tracker model set ... --primary``, ``primary = [...]`` in study.toml, migration 0005."""

from __future__ import annotations

import textwrap

from sqlalchemy import select, text

from tracker.db.engine import make_engine, open_session
from tracker.db.migrate import downgrade, upgrade
from tracker.db.models import AuditEvent, ModelRole


def _roles(url):
    with open_session(url) as s:
        return {r.measure: (r.role, r.is_primary) for r in s.scalars(select(ModelRole))}


def test_model_set_primary_keeps_and_unmarks(tracker):
    tracker("init", "--study", "S")
    tracker("instrument", "add", "pss10")
    tracker("instrument", "add", "flourishing")
    out = tracker("model", "set", "flourishing", "outcome", "--primary").output
    assert out == "flourishing is now outcome, a primary outcome.\n"
    assert tracker("model", "set", "pss10", "intermediate").output == "pss10 is now intermediate.\n"
    assert _roles(tracker.url) == {
        "flourishing": ("outcome", True),
        "pss10": ("intermediate", False),
    }
    # without the flag the mark stays; --not-primary removes it
    assert "a primary outcome" in tracker("model", "set", "flourishing", "outcome").output
    assert _roles(tracker.url)["flourishing"] == ("outcome", True)
    tracker("model", "set", "flourishing", "outcome", "--not-primary")
    assert _roles(tracker.url)["flourishing"] == ("outcome", False)
    with open_session(tracker.url) as s:
        events = [
            (e.before, e.after)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity == "model_role", AuditEvent.entity_key == "flourishing")
                .order_by(AuditEvent.id)
            )
        ]
    assert events == [
        (None, {"role": "outcome", "primary": True}),
        ({"role": "outcome", "primary": True}, {"role": "outcome", "primary": True}),
        ({"role": "outcome", "primary": True}, {"role": "outcome", "primary": False}),
    ]


def _toml(tmp_path, model: str):
    path = tmp_path / "study.toml"
    path.write_text(
        textwrap.dedent("""
        [study]
        name = "From file"
        instruments = ["pss10", "flourishing"]

        [model]
    """)
        + textwrap.dedent(model)
    )
    return path


def test_primary_in_study_toml(tracker_empty, tmp_path):
    path = _toml(
        tmp_path,
        """
        intermediate = ["pss10"]
        outcome = ["flourishing"]
        primary = ["flourishing"]
    """,
    )
    tracker_empty("init", "--from", str(path))
    assert _roles(tracker_empty.url) == {
        "flourishing": ("outcome", True),
        "pss10": ("intermediate", False),
    }


def test_primary_without_a_role_in_study_toml(tracker_empty, tmp_path):
    path = _toml(
        tmp_path,
        """
        outcome = ["flourishing"]
        primary = ["pss10"]
    """,
    )
    r = tracker_empty("init", "--from", str(path), expect=1)
    assert r.output == (
        f"Error: {path}: model.primary[0]: 'pss10' has no role: list it under model.modifiable, "
        "model.intermediate or model.outcome as well\n"
    )


def test_migration_0005_keeps_roles_and_adds_the_mark(empty_db_url):
    engine = make_engine(empty_db_url)
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO study (id, name, created_at) VALUES (1, 'S', '2027-01-01 00:00:00')")
        )
        conn.execute(
            text("INSERT INTO model_role (study_id, measure, role) VALUES (1, 'who5', 'outcome')")
        )
    upgrade(engine)
    assert _roles(empty_db_url) == {"who5": ("outcome", False)}
    downgrade(engine, "0002")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT measure, role FROM model_role")).all() == [
            ("who5", "outcome")
        ]
    engine.dispose()
