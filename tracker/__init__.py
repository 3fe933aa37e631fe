"""prepost-tracker: training cohorts, survey waves, questionnaire scores and pre/post evaluation.

Heavy libraries (pandas, scipy, matplotlib) are imported only by the
functions that need them, so that importing :mod:`tracker` and ``tracker --help`` stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"


def connect(url: str | None = None):
    """Return a SQLAlchemy ``Session`` on the tracker database at ``url``.

    ``url`` defaults to ``TRACKER_DATABASE_URL``, else ``sqlite:///tracker.db``. The
    database must be at the newest migration revision (``tracker db upgrade``).
    The caller owns the session: commit or roll back, then close it.
    """
    from tracker.db.engine import open_session

    return open_session(url)
