"""De-identified exports, for sharing with journals, repositories and outside analysts.

What ``--deidentify`` does to an export table:

- participant codes become new random codes (8 characters from
  :data:`CODE_ALPHABET`, drawn with :mod:`secrets`, so that they cannot be
  reproduced from the program or the study's codes), and the rows are ordered
  by the new code so that row order does not give the old codes away;
- every date becomes the number of days since the participant's enrolment
  (``completed`` -> ``completed_day``, ``withdrawn_on`` -> ``withdrawn_day``,
  ``<instrument>_completed`` -> ``<instrument>_completed_day``); the enrolment
  date itself is dropped (it would be day 0). A participant without an
  enrolment date gets empty days;
- ``age`` becomes ``age_band`` (5-year bands ``20-24``, ``25-29``, ...; 90 and
  over as ``90+``, as HIPAA's safe harbour asks);
- ``birth_year`` and the free text ``withdrawal_reason`` are dropped;
- cohort and arm names, waves, gender and role are kept: they are the study's
  design and the coordinator's categories, not people.

One :class:`Deidentifier` holds one mapping: every file of one export call
(several ``--out`` files, the key file) uses the same new codes, and a new call
draws new ones. The key (new code -> study code) is written only when asked
for (``--key-out FILE``), never by default.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import replace
from pathlib import Path

import pandas as pd

from tracker.datasets.export.tables import ExportTable, StudyFacts, Variable, neutralise

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 8
AGE_BANDS = tuple(f"{lo}-{lo + 4}" for lo in range(0, 90, 5)) + ("90+",)
DROPPED = ("enrolled", "birth_year", "withdrawal_reason")


def age_band(age) -> str | None:
    """``"25-29"`` for 27; ``"90+"`` from 90 on; None when the age is missing."""
    if age is None or pd.isna(age):
        return None
    age = int(age)
    return "90+" if age >= 90 else f"{age // 5 * 5}-{age // 5 * 5 + 4}"


def _day_name(name: str) -> str:
    if name == "withdrawn_on":
        return "withdrawn_day"
    return f"{name}_day"


class Deidentifier:
    """New random codes for a study's participants, and the rules above applied to tables."""

    def __init__(self, codes: dict[str, str], enrolled: dict[str, dt.date | None]):
        self.codes = codes  # study code -> new code
        self.enrolled = enrolled  # study code -> enrolment date

    @classmethod
    def from_facts(cls, facts: StudyFacts) -> Deidentifier:
        people = facts.participants
        old = [str(c) for c in people["participant"]]
        taken = set(old)  # a new code is never also a study code: no row can be misread
        new: list[str] = []
        seen: set[str] = set()
        while len(new) < len(old):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in seen and code not in taken:
                seen.add(code)
                new.append(code)
        enrolled = {
            c: (d if isinstance(d, dt.date) else None)
            for c, d in zip(old, people["enrolled"], strict=True)
        }
        return cls(dict(zip(old, new, strict=True)), enrolled)

    @classmethod
    def new(cls, session, study) -> Deidentifier:
        """A fresh mapping for every participant of ``study`` (a name or a Study)."""
        from tracker.datasets.export.tables import load_facts

        if study is None or isinstance(study, str):
            from tracker.study.studies import resolve_study

            study = resolve_study(session, study)
        return cls.from_facts(load_facts(session, study))

    def apply(self, table: ExportTable) -> ExportTable:
        """A de-identified copy of ``table``, rows ordered by the new codes."""
        frame = table.frame
        old_codes = [str(c) for c in frame["participant"]] if "participant" in frame else []
        columns: dict[str, pd.Series] = {}
        variables: list[Variable] = []
        for variable in table.variables:
            name = variable.name
            values = frame[name]
            if name in DROPPED:
                continue
            if name == "participant":
                missing = sorted({c for c in old_codes if c not in self.codes})
                if missing:
                    raise RuntimeError(
                        f"participants {missing[:5]} are not in the de-identification key"
                    )
                columns[name] = pd.Series(
                    [self.codes[c] for c in old_codes], dtype=object, index=frame.index
                )
                variables.append(
                    replace(
                        variable,
                        label="Participant code of this export only (random; not the study's code)",
                    )
                )
            elif variable.kind == "date":
                days = [
                    None
                    if d is None or not isinstance(d, dt.date) or self.enrolled.get(c) is None
                    else (d - self.enrolled[c]).days
                    for c, d in zip(old_codes, values, strict=True)
                ]
                new_name = _day_name(name)
                columns[new_name] = pd.Series(days, dtype=object, index=frame.index)
                variables.append(
                    replace(
                        variable,
                        name=new_name,
                        kind="integer",
                        label=f"{variable.label}: days since enrolment",
                        values="days (0 = the day of enrolment)",
                    )
                )
            elif name == "age":
                columns["age_band"] = pd.Series(
                    [age_band(a) for a in values], dtype=object, index=frame.index
                )
                variables.append(
                    Variable(
                        "age_band",
                        "Age in years, 5-year band",
                        "category",
                        AGE_BANDS,
                        values="; ".join(AGE_BANDS),
                    )
                )
            else:
                columns[name] = values
                variables.append(variable)
        out = pd.DataFrame(columns, index=frame.index)
        if "participant" in out:
            out = out.sort_values("participant", kind="stable")
        return replace(
            table, frame=out.reset_index(drop=True), variables=variables, deidentified=True
        )

    def key_rows(self) -> list[tuple[str, str]]:
        """(new code, study code) for every participant, by new code."""
        return sorted((new, old) for old, new in self.codes.items())

    def write_key(self, path: str | Path) -> Path:
        """Write the key, ``export_code,participant``, as CSV (text cells neutralised), atomically."""
        from tracker.fileio import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            self.write_key_file(tmp)
        return path

    def write_key_file(self, path: Path) -> None:
        """Write the key straight to ``path`` (the caller makes it atomic)."""
        import csv

        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["export_code", "participant"])
            writer.writerows((neutralise(new), neutralise(old)) for new, old in self.key_rows())
