"""Checking a TOML file a person wrote, key by key: every problem collected, then one error.

An instrument definition (:mod:`tracker.instruments.validate`) and a
``study.toml`` (:mod:`tracker.study.studyfile`) are both tables whose keys a
person typed. Both are checked to the end and refused with every problem at
once, each a :class:`~tracker.errors.Problem` naming the file, the key
(``subscales[2].items``, ``waves[0].day``), the rule broken and, where one
helps, the value. :class:`KeyProblems` is the one collector they share.

Not :class:`tracker.ingest.problems.Problems`: that one is built for data files
of hundreds of thousands of cells (a cap on what it keeps, identical cell
problems grouped into one line, a row and column for each); a TOML file has a
few dozen keys, each problem worth its own line, and no rows.

Each file keeps the wording people (and tests) know: an instrument problem
names its key as ``field 'items'``, a study file's as the bare dotted path
``waves[0].day`` (``label``). The error has one shape for both: a summary
naming the file and the count, then a line per problem
(``<file>: <key>: <reason> [<rule>]``).
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from tracker.errors import Problem, ValidationError


def type_name(v: object) -> str:
    """A TOML-ish name of ``v``'s type, for "must be ..., not <type>"."""
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(v), type(v).__name__)


def is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: object) -> bool:
    return (is_int(v) or isinstance(v, float)) and math.isfinite(v)


def closest(key: str, allowed) -> str | None:
    """The allowed key ``key`` was most likely meant to be, or ``None``."""
    match = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return match[0] if match else None


class KeyProblems:
    """Every problem of one TOML file, in the order found.

    ``source`` names the file in every problem; ``label`` formats a key for
    the message (``"field {key!r}"`` or ``"{key}"``). The typed readers
    (:meth:`string`, :meth:`boolean`, :meth:`integer`, :meth:`number`,
    :meth:`tables`) return the value, or record a problem and return ``None``
    (or the default when the key is absent), so a checker reads on past a bad key.
    """

    def __init__(self, source: str, *, label: str = "{key}"):
        self.source = source
        self.label = label
        self.items: list[Problem] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, key: str, rule: str, reason: str, value: object = None) -> None:
        self.items.append(
            Problem(
                rule=rule,
                message=f"{self.label.format(key=key)}: {reason}",
                file=self.source,
                value=value,
            )
        )

    def error(self, what: str, *, advice: str = "", brief: bool = False) -> ValidationError:
        """The error listing every problem: ``"<file>: <what> (<n> problems)<advice>"``, then a line each.

        ``brief``: a single problem is the whole message, one line without its rule
        (``<file>: <key>: <reason>``).
        """
        n = len(self.items)
        if brief and n == 1:
            return _OneProblem(self.items)
        return ValidationError(
            self.items,
            summary=f"{self.source}: {what} ({n} problem{'s' if n != 1 else ''}){advice}",
        )

    # ---- typed readers ---------------------------------------------------------

    def unknown_keys(self, table: dict, allowed: tuple[str, ...], prefix: str = "") -> None:
        """One ``unknown_key`` problem per key of ``table`` not in ``allowed``, with "did you mean"."""
        for key in table:
            if key not in allowed:
                hint = closest(key, allowed)
                reason = "unknown key" + (f"; did you mean {hint!r}?" if hint else "")
                reason += " Allowed keys: " + ", ".join(allowed)
                self.add(f"{prefix}{key}", "unknown_key", reason)

    def _absent(self, key: str, required: bool, reason: str = "required key is missing") -> None:
        if required:
            self.add(key, "missing_key", reason)

    def string(
        self, table: dict, key: str, prefix: str = "", *, required: bool = False, default: Any = ""
    ) -> str | None:
        if key not in table:
            self._absent(prefix + key, required)
            return None if required else default
        v = table[key]
        if not isinstance(v, str):
            self.add(prefix + key, "wrong_type", f"must be a string, not {type_name(v)}", v)
            return None
        return v

    def _typed(
        self, table, key, prefix, required, default, ok, what, *,
        missing: str = "required key is missing", bad=None,
    ):  # fmt: skip
        """``table[key]`` when ``ok`` says it is ``what``; else a problem, and ``default`` or ``bad``."""
        if key not in table:
            self._absent(prefix + key, required, missing)
            return default
        v = table[key]
        if not ok(v):
            self.add(prefix + key, "wrong_type", f"must be {what}, not {type_name(v)}", v)
            return bad
        return v

    def boolean(
        self,
        table: dict,
        key: str,
        prefix: str = "",
        *,
        required: bool = False,
        default: Any = None,
    ) -> bool | None:
        return self._typed(
            table, key, prefix, required, default, lambda v: isinstance(v, bool), "true or false",
            missing="required key is missing (true or false)", bad=default,
        )  # fmt: skip

    def integer(
        self,
        table: dict,
        key: str,
        prefix: str = "",
        *,
        required: bool = False,
        default: Any = None,
    ) -> int | None:
        return self._typed(table, key, prefix, required, default, is_int, "a whole number")

    def number(
        self,
        table: dict,
        key: str,
        prefix: str = "",
        *,
        required: bool = False,
        default: Any = None,
    ) -> float | None:
        return self._typed(table, key, prefix, required, default, is_number, "a finite number")

    def tables(self, raw: Any, key: str) -> tuple[list[tuple[int, str, dict]], bool] | None:
        """``[[key]]`` as ``(index, "key[index].", table)`` entries and whether every entry was a table.

        ``None`` (with the problem recorded) when ``raw`` is not an array at all;
        an entry that is not a table is recorded and left out. Indices count from 1.
        """
        if not isinstance(raw, list):
            self.add(
                key, "wrong_type", f"must be an array of tables ([[{key}]]), not {type_name(raw)}"
            )
            return None
        entries, ok = [], True
        for idx, table in enumerate(raw, start=1):
            if not isinstance(table, dict):
                self.add(f"{key}[{idx}]", "wrong_type", f"must be a table, not {type_name(table)}")
                ok = False
                continue
            entries.append((idx, f"{key}[{idx}].", table))
        return entries, ok


class _OneProblem(ValidationError):
    """A file with one problem: the message is that problem, on one line."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        (p,) = self.problems
        self.summary = str(p).removesuffix(f" [{p.rule}]")
        self.args = (self.summary,)
