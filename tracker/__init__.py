"""prepost-tracker: training cohorts, survey waves, questionnaire scores and pre/post evaluation.

Heavy libraries (pandas, scipy, matplotlib) are imported only by the
functions that need them, so that importing :mod:`tracker` and ``tracker --help`` stay fast.
"""

from __future__ import annotations

#: The one place the version is written; ``pyproject.toml`` reads it from here (hatch).
__version__ = "0.2.0.dev0"

__all__ = ["__version__", "connect", "open"]


def open(url: str | None = None, study: str | None = None):  # noqa: A001 - the SPEC's name
    """The study ``study`` (None: the only one) in the database at ``url``: a :class:`tracker.api.Study`.

    >>> import tracker
    >>> study = tracker.open("sqlite:///tracker.db")      # doctest: +SKIP
    >>> study.scores(wave="baseline", layout="wide")      # doctest: +SKIP

    See :mod:`tracker.api`.
    """
    from tracker.api import open as _open

    return _open(url, study)


def connect(url: str | None = None):
    """Return a SQLAlchemy ``Session`` on the tracker database at ``url``.

    ``url`` defaults to ``TRACKER_DATABASE_URL``, else ``sqlite:///tracker.db``. The
    database must be at the newest migration revision (``tracker db upgrade``).
    The caller owns the session: commit or roll back, then close it.
    """
    from tracker.db.engine import open_session

    return open_session(url)
