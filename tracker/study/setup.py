"""``tracker init``: migrate (creating if needed) and add a study, in one go."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tracker.db.engine import check_reachable, make_engine
from tracker.db.migrate import upgrade
from tracker.errors import TrackerError


def init_database(
    url: str | None, *, study_name: str | None = None, study_file: Path | None = None
) -> dict:
    """Upgrade the database at ``url`` to the newest revision, then create one study.

    The study (and everything ``study_file`` declares) is written in one
    transaction: a bad roster or instrument leaves no half-made study behind.
    """
    from tracker.study.studies import create_study, study_summary
    from tracker.study.studyfile import apply_study_file, load_study_file

    spec = load_study_file(study_file) if study_file is not None else None
    engine = make_engine(url)
    try:
        check_reachable(engine)
        before, after = upgrade(engine)
        with Session(engine) as session:
            try:
                if spec is not None:
                    study = apply_study_file(session, spec)
                elif study_name:
                    study = create_study(session, study_name)
                else:
                    raise TrackerError("give either --study NAME or --from study.toml")
                summary = study_summary(session, study)
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        engine.dispose()
    details = []
    if summary["waves"]:
        details.append(f"waves: {', '.join(summary['waves'])}")
    if summary["cohorts"]:
        details.append(
            "cohorts: " + ", ".join(f"{c['name']} ({c['arm']})" for c in summary["cohorts"])
        )
    if summary["instruments"]:
        details.append(f"instruments: {', '.join(summary['instruments'])}")
    if summary["participants"]:
        details.append(f"participants: {summary['participants']}")
    return {
        "url": engine.url.render_as_string(hide_password=False),
        "migrated_from": before,
        "revision": after,
        "study": summary["name"],
        "details": details,
    }
