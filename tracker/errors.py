"""Errors the library raises for problems a user can fix.

The CLI turns every :class:`TrackerError` into a one-line ``Error: ...`` with
exit status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class TrackerError(Exception):
    """A problem the user can fix; the message says what and how."""


class NotFound(TrackerError):
    """A named study, cohort, wave, participant or instrument does not exist."""


class Conflict(TrackerError):
    """The request clashes with what is stored (a duplicate, a changed definition...)."""


class DatabaseError(TrackerError):
    """The database cannot be reached, or is at the wrong migration revision."""


class AnalysisError(TrackerError):
    """An analysis cannot be run on the data given (e.g. only one arm to compare)."""


@dataclass(frozen=True)
class Problem:
    """One validation problem, located as precisely as the input allows."""

    rule: str
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        head = ", ".join(where)
        value = "" if self.value is None else f" (value {self.value!r})"
        return (
            f"{head}: {self.message}{value} [{self.rule}]"
            if head
            else f"{self.message}{value} [{self.rule}]"
        )


class ValidationError(TrackerError):
    """Input broke one or more rules; every problem is listed, nothing was written."""

    def __init__(self, problems: list[Problem], summary: str | None = None):
        self.problems = list(problems)
        n = len(self.problems)
        self.summary = summary or f"{n} problem{'s' if n != 1 else ''} found; nothing was written"
        super().__init__(self.summary + "\n" + "\n".join(f"  {p}" for p in self.problems))
