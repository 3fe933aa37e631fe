"""The problem list of an import: every problem kept, identical ones shown as one line.

An import collects every problem of the file (cell values, duplicates,
withdrawn participants, unmapped events, stored values that would change)
before it refuses. People read the refusal; a big file with one systematic
mistake ("Very satisfied" where a number belongs, in every row) must still
give a readable message, so problems with the same rule, message and value
that occur in at least :data:`GROUP_MIN` places are shown as one line::

    'Very satisfied' in 985 cells, rows 4–103, columns Drivers_1, Drivers_2, Drivers_3…: not a number …

The full list, one problem a row, is what :func:`write_problems` writes
(``--problems FILE.csv``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from tracker.errors import Problem, ValidationError

#: At most this many lines are shown in one error; the rest are counted.
MAX_LISTED = 1000
#: At most this many problems are kept for ``--problems`` (all are counted).
MAX_KEPT = 200_000
#: Identical problems in at least this many places are shown as one line.
GROUP_MIN = 3
#: Columns named in a grouped line before "…".
GROUP_COLUMNS = 3
PROBLEM_COLUMNS = ("file", "row", "column", "value", "rule", "message")


@dataclass
class _Group:
    first: Problem
    count: int = 0
    rows: list[int] = field(default_factory=list)  # min, max
    columns: list[str] = field(default_factory=list)  # the first GROUP_COLUMNS + 1, in order seen

    def add(self, p: Problem) -> None:
        self.count += 1
        if p.row is not None:
            self.rows = (
                [p.row, p.row]
                if not self.rows
                else [min(self.rows[0], p.row), max(self.rows[1], p.row)]
            )
        if (
            p.column is not None
            and p.column not in self.columns
            and len(self.columns) <= GROUP_COLUMNS
        ):
            self.columns.append(p.column)

    def line(self) -> Problem:
        p = self.first
        where = [f"{p.value!r} in {self.count:,} {'cells' if self.columns else 'places'}"]
        if self.rows:
            lo, hi = self.rows
            where.append(f"row {lo}" if lo == hi else f"rows {lo}–{hi}")
        if self.columns:
            shown = self.columns[:GROUP_COLUMNS]
            more = "…" if len(self.columns) > GROUP_COLUMNS else ""
            where.append(f"column{'s' if len(self.columns) > 1 else ''} {', '.join(shown)}{more}")
        return Problem(
            p.rule, f"{', '.join(where)}: {p.message}", file=p.file, row=None, column=None
        )


class Problems:
    """Problems in the order found: all counted, the first :data:`MAX_KEPT` kept, identical ones grouped."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.total = 0
        self._groups: dict[tuple, _Group] = {}

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.items) < MAX_KEPT:
            self.items.append(problem)
        if problem.value is not None:
            key = (problem.rule, problem.message, str(problem.value))
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(problem)
            group.add(problem)

    def extend(self, problems) -> None:
        for p in problems:
            self.add(p)

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

    def lines(self) -> list[Problem]:
        """What people read: ungrouped problems and one line per group, ordered by (first) row."""
        grouped = {k: g for k, g in self._groups.items() if g.count >= GROUP_MIN}
        out: list[tuple[int, Problem]] = [
            (g.rows[0] if g.rows else 0, g.line()) for g in grouped.values()
        ]
        for p in self.items:
            if p.value is not None and (p.rule, p.message, str(p.value)) in grouped:
                continue
            out.append((p.row or 0, p))
        out.sort(
            key=lambda rp: rp[0]
        )  # stable: problems of one row keep the order they were found in
        return [p for _, p in out]

    def error(
        self, name: str, what: tuple[str, str] = ("problem", "problems"), advice: str = ""
    ) -> ImportRefused:
        """The error listing the problems; ``what`` is the (singular, plural) noun."""
        n = self.total
        lines = self.lines()
        listed = f" (first {MAX_LISTED} lines listed)" if len(lines) > MAX_LISTED else ""
        return ImportRefused(
            lines[:MAX_LISTED],
            f"{name}: {n:,} {what[0] if n == 1 else what[1]}{listed}; nothing was written{advice}",
            all_problems=sorted(self.items, key=lambda p: p.row or 0),
            total=n,
        )


class ImportRefused(ValidationError):
    """A refused import: ``problems`` are the lines shown, ``all_problems`` every problem kept."""

    def __init__(
        self, problems: list[Problem], summary: str, *, all_problems: list[Problem], total: int
    ):
        super().__init__(problems, summary)
        self.all_problems = all_problems
        self.total = total


def write_problems(path: str | Path, problems: list[Problem]) -> Path:
    """Write ``problems`` to ``path`` as CSV (``file,row,column,value,rule,message``), formula-safe.

    Written with :func:`tracker.fileio.atomic_write`: complete or not at all.
    """
    from tracker.datasets.export import neutralise
    from tracker.fileio import atomic_write

    path = Path(path)
    with atomic_write(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(PROBLEM_COLUMNS)
        for p in problems:
            writer.writerow(
                [
                    neutralise("" if v is None else str(v))
                    for v in (p.file, p.row, p.column, p.value, p.rule, p.message)
                ]
            )
    return path
