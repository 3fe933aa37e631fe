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


# scheme://user:password@host...: the password runs to the LAST "@", so that one
# typed with a raw "@" or "/" in it (not percent-encoded) is hidden whole.
_PASSWORD = re.compile(r"^(?P<head>[^:/?#]+://[^:/?#@]*):(?P<pw>.*)@(?P<host>[^@]*)$", re.S)
_NOT_A_PORT = re.compile(
    r"^(?P<head>[^:/?#]+://[^:/?#@\[\]]*):(?![0-9]*(?:[/?#]|$))[^/?#@]*(?=[/?#]|$)"
)
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:password|passwd|pass)=)[^&#]*")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and reports.

    Every database URL the tracker prints goes through here: the password
    after the user name, and a ``password=`` in the query string.
    """
    redacted = _PASSWORD.sub(r"\g<head>:***@\g<host>", str(url))
    # "user:secret/db" (the "@host" forgotten): what stands where a port should is no port
    redacted = _NOT_A_PORT.sub(r"\g<head>:***", redacted)
    return _QUERY_PASSWORD.sub(r"\1***", redacted)
