"""Which database to use, and how to print its URL safely."""

from __future__ import annotations

import os
import re

DEFAULT_URL = "sqlite:///tracker.db"
ENV_VAR = "TRACKER_DATABASE_URL"


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url`` if given, else ``$TRACKER_DATABASE_URL``, else ``./tracker.db``.

    A bare file path means a SQLite file; ``postgresql://`` means the psycopg 3 driver.
    """
    chosen = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in chosen:
        return f"sqlite:///{chosen}"
    if chosen.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + chosen.split("://", 1)[1]
    return chosen


_PASSWORD = re.compile(r"^(?P<head>[^:/?#]+://[^:/?#@]*):(?P<pw>[^@/]*)@")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and reports."""
    redacted = _PASSWORD.sub(r"\g<head>:***@", url)
    # passwords can also ride in the query string (?password=...)
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", redacted)
