"""Importing survey responses: wide, long, xlsx, REDCap and Qualtrics files.

>>> from tracker.ingest import import_responses           # doctest: +SKIP
>>> result = import_responses(session, study, "baseline.csv", wave="baseline")  # doctest: +SKIP
>>> result.administrations_new, result.values_written                           # doctest: +SKIP

One import is one transaction's worth of work in the caller's session: the
file is read in chunks and checked completely (every problem listed, with row,
column, value and rule) before anything is written; then new administrations
go in through the driver's bulk path (:mod:`tracker.db.bulk`: SQLite
``json_each`` / ``executemany``, PostgreSQL ``COPY``). Modules:

``source``   file checksum, encoding check, records in chunks (CSV, xlsx)
``importmap`` import maps (``--map``): reading and checking them; their cell rules
``layout``   what each column holds, per format (or as a map says)
``cells``    value, date and code rules
``problems`` the problem list: grouped for people, whole for ``--problems``
``collect``  chunks -> per-instrument blocks of administrations (``block``)
``plan``     incoming vs stored: new, unchanged, changed; withdrawn; warnings
``writer``   bulk insert, updates with audit, conflict translation
``rescore``  stored scores made again from the stored items
``api``      :func:`import_responses` and :class:`ImportResult`

The package's own names are loaded lazily (a module ``__getattr__``): importing
``tracker.ingest.api`` brings in pandas and SQLAlchemy, which commands that use
only a light submodule (``tracker map draft`` reads ``layout`` and
``importmap``; ``tracker instrument from-redcap`` its dictionary reader) must
not pay for. ``from tracker.ingest import import_responses`` works as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ below loads them
    from tracker.ingest.api import FORMATS, ImportResult, import_responses

__all__ = ["FORMATS", "ImportResult", "import_responses"]


def __getattr__(name: str):
    if name in __all__:
        from tracker.ingest import api

        value = getattr(api, name)
        globals()[name] = value  # once loaded, found without this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
