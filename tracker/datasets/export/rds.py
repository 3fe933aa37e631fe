"""An R data file (``.rds``) written directly: a data.frame whose columns keep their types and labels.

pyreadr (librdata) writes dates as character vectors and has no variable
labels, and the issue asks for dates as dates. R's own serialization format
(version 2, XDR, gzip-compressed, which ``readRDS`` reads) is small enough to
write for the few vector types an export has:

- text: a character vector (``NA`` for missing);
- category: a factor (integer codes with ``levels`` and class ``factor``);
- integer: an integer vector; number: a double vector (``NA_real_``, not NaN);
- boolean: a logical vector; date: a double vector of days since 1970-01-01
  with class ``Date``;
- every column carries its label as the ``label`` attribute (the convention
  of haven and labelled, shown by RStudio's viewer and ``str()``).

The format: R Internals, section 1.8 "Serialization Formats", and R's
``src/main/serialize.c``. Read back by ``readRDS`` and by pyreadr
(``tests/export``).
"""

from __future__ import annotations

import datetime as dt
import gzip
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.datasets.export.tables import ExportTable

# SEXP types and flag bits (serialize.c)
NILVALUE = 254
SYMSXP, LISTSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, STRSXP, VECSXP = 1, 2, 9, 10, 13, 14, 16, 19
IS_OBJECT, HAS_ATTR, HAS_TAG = 1 << 8, 1 << 9, 1 << 10
UTF8_MASK, ASCII_MASK = 1 << 3, 1 << 6
NA_INTEGER = -(2**31)
NA_REAL = struct.unpack(">d", bytes.fromhex("7ff00000000007a2"))[
    0
]  # R's NA: a NaN with payload 1954
R_VERSION = (4 << 16) | (2 << 8)  # written by "R 4.2.0"
MIN_READER = (2 << 16) | (3 << 8)  # readable from R 2.3.0 on
EPOCH = dt.date(1970, 1, 1)


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def int(self, value: int) -> None:
        self.parts.append(struct.pack(">i", value))

    def flags(
        self,
        sexptype: int,
        *,
        levels: int = 0,
        obj: bool = False,
        attr: bool = False,
        tag: bool = False,
    ) -> None:
        self.int(
            sexptype
            | (IS_OBJECT if obj else 0)
            | (HAS_ATTR if attr else 0)
            | (HAS_TAG if tag else 0)
            | (levels << 12)
        )

    def charsxp(self, text: str | None) -> None:
        if text is None:
            self.flags(CHARSXP)
            self.int(-1)  # NA_STRING
            return
        data = text.encode("utf-8")
        self.flags(CHARSXP, levels=ASCII_MASK if text.isascii() else UTF8_MASK)
        self.int(len(data))
        self.parts.append(data)

    def strings(self, values, attrs: list | None = None) -> None:
        self.flags(STRSXP, attr=bool(attrs), obj=_has_class(attrs))
        self.int(len(values))
        for v in values:
            self.charsxp(v)
        self.attributes(attrs)

    def integers(self, sexptype: int, values: np.ndarray, attrs: list | None = None) -> None:
        self.flags(sexptype, attr=bool(attrs), obj=_has_class(attrs))
        self.int(len(values))
        self.parts.append(np.asarray(values, dtype=">i4").tobytes())
        self.attributes(attrs)

    def doubles(self, values: np.ndarray, attrs: list | None = None) -> None:
        self.flags(REALSXP, attr=bool(attrs), obj=_has_class(attrs))
        self.int(len(values))
        self.parts.append(np.asarray(values, dtype=">f8").tobytes())
        self.attributes(attrs)

    def attributes(self, attrs: list | None) -> None:
        """A pairlist of (name, writer) pairs: each cell tagged with its symbol."""
        if not attrs:
            return
        for name, write_value in attrs:
            self.flags(LISTSXP, tag=True)
            self.flags(SYMSXP)
            self.charsxp(name)
            write_value()
        self.int(NILVALUE)


def _has_class(attrs: list | None) -> bool:
    return any(name == "class" for name, _ in attrs or [])


def _doubles(values) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64
    )
    return np.where(np.isnan(numbers), NA_REAL, numbers)


def serialize(table: ExportTable) -> bytes:
    """``table`` as an R data.frame, serialized (uncompressed)."""
    w = _Writer()
    w.parts.append(b"X\n")
    w.int(2)
    w.int(R_VERSION)
    w.int(MIN_READER)
    variables = table.variables
    n = len(table.frame)
    frame_attrs = [
        ("names", lambda: w.strings([v.name for v in variables])),
        ("class", lambda: w.strings(["data.frame"])),
        ("row.names", lambda: w.integers(INTSXP, np.asarray([NA_INTEGER, -n]))),  # compact 1..n
    ]
    w.flags(VECSXP, obj=True, attr=True)
    w.int(len(variables))
    for variable in variables:
        values = table.frame[variable.name].to_numpy(dtype=object)
        label = [("label", lambda lab=variable.label: w.strings([lab]))]
        if variable.kind == "category":
            levels = list(variable.categories)
            levels += sorted({v for v in values if isinstance(v, str)} - set(levels))
            code = {c: i for i, c in enumerate(levels, start=1)}
            codes = np.asarray(
                [code.get(v, NA_INTEGER) if isinstance(v, str) else NA_INTEGER for v in values]
            )
            w.integers(
                INTSXP,
                codes,
                [
                    ("levels", lambda lv=levels: w.strings(lv)),
                    ("class", lambda: w.strings(["factor"])),
                    *label,
                ],
            )
        elif variable.kind == "boolean":
            w.integers(
                LGLSXP,
                np.asarray(
                    [NA_INTEGER if v is None or pd.isna(v) else int(bool(v)) for v in values]
                ),
                label,
            )
        elif variable.kind == "integer":
            w.integers(
                INTSXP,
                np.asarray([NA_INTEGER if v is None or pd.isna(v) else int(v) for v in values]),
                label,
            )
        elif variable.kind == "number":
            w.doubles(_doubles(values), label)
        elif variable.kind == "date":
            days = np.asarray(
                [float((v - EPOCH).days) if isinstance(v, dt.date) else NA_REAL for v in values]
            )
            w.doubles(days, [("class", lambda: w.strings(["Date"])), *label])
        else:
            w.strings(
                [
                    None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                    for v in values
                ],
                label,
            )
    w.attributes(frame_attrs)
    return b"".join(w.parts)


def write_rds(table: ExportTable, path: str | Path) -> None:
    """Write ``table`` to ``path`` as a gzip-compressed ``.rds`` file (the caller makes it atomic)."""
    with gzip.open(path, "wb", compresslevel=6) as fh:
        fh.write(serialize(table))
