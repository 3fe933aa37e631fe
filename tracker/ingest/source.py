"""Reading an import file: checksum, encoding, and rows of text cells in chunks.

Every reader yields *records*: ``(row, cells)`` with ``row`` the number a
spreadsheet shows (the header is row 1; a quoted cell spanning lines is one
row; a blank line is a row) and ``cells`` a list of ``str`` (an empty cell is
``""``). Records come in chunks of :data:`CHUNK_ROWS` so that memory stays
bounded by the chunk, whatever the file size.

Text files must be UTF-8, with or without a byte-order mark. The encoding is
checked while the SHA-256 is computed, before any row is parsed, so a file in
another encoding is refused with the line of its first bad byte.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import Problem, TrackerError

CHUNK_ROWS = 5_000
_BLOCK = 1 << 20

Record = tuple[int, list[str]]


@dataclass(frozen=True)
class FileInfo:
    path: Path
    name: str  # as shown in messages
    sha256: str
    size: int
    lines: int  # newline count: an estimate of the rows, for progress


def inspect_file(path: str | Path, *, text: bool) -> FileInfo:
    """SHA-256, size and line count of ``path``; for text, check it is UTF-8.

    Raises :class:`TrackerError` when the file cannot be read, is empty, is not
    UTF-8 (naming the line of the first undecodable byte), is UTF-16, or holds
    NUL bytes (a binary file such as a spreadsheet given as CSV).
    """
    path = Path(path)
    name = str(path)
    _check_regular(path, name)
    digest = hashlib.sha256()
    size = lines = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    bad_encoding = binary = False
    try:
        with path.open("rb") as fh:
            first = True
            while block := fh.read(_BLOCK):
                if first and text and block[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    raise TrackerError(
                        f"{name} is UTF-16 text, not UTF-8; save it as 'CSV UTF-8' and import it again"
                    )
                first = False
                digest.update(block)
                size += len(block)
                if text:
                    lines += block.count(b"\n")
                    binary = binary or b"\x00" in block
                    if not bad_encoding:
                        try:
                            decoder.decode(block)
                        except UnicodeDecodeError:
                            bad_encoding = True
    except IsADirectoryError:
        raise TrackerError(f"{name} is a directory, not a file") from None
    except OSError as exc:
        raise TrackerError(f"cannot read {name}: {exc.strerror or exc}") from None
    if size == 0:
        raise TrackerError(f"{name} is empty; expected a header row and one row per response set")
    if text and binary:
        raise TrackerError(
            f"{name} contains NUL bytes, so it is not a CSV text file "
            "(for an Excel workbook use --layout xlsx)"
        )
    if text and not bad_encoding:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad_encoding = True
    if text and bad_encoding:
        raise _not_utf8(path, name)
    return FileInfo(path, name, digest.hexdigest(), size, lines)


def _check_regular(path: Path, name: str) -> None:
    """Refuse, before reading a byte, what is not a regular file: a device such as
    ``/dev/zero`` would be read for ever, a pipe would be consumed."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise TrackerError(f"cannot read {name}: No such file or directory") from None
    except OSError as exc:
        raise TrackerError(f"cannot read {name}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise TrackerError(f"{name} is a directory, not a file")
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )
        raise TrackerError(
            f"{name} is {kind}, not a regular file; save the data to a file and import that"
        )


def _not_utf8(path: Path, name: str) -> TrackerError:
    # the error path only: read the bytes again to name the exact place
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        return TrackerError(
            f"{name} is not UTF-8: byte 0x{byte:02x} on line {line} cannot be decoded "
            "(Latin-1 or Windows-1252?); save the file as 'CSV UTF-8' and import it again"
        )
    return TrackerError(f"{name} is not UTF-8; save it as 'CSV UTF-8' and import it again")


def csv_chunks(info: FileInfo) -> Iterator[list[Record]]:
    """Records of a comma-separated UTF-8 file (BOM allowed), header included."""
    row = 0
    try:
        with info.path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)  # malformed quoting is an error, not a guess
            chunk: list[Record] = []
            for row, cells in enumerate(reader, start=1):
                chunk.append((row, cells))
                if len(chunk) >= CHUNK_ROWS:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
    except csv.Error as exc:
        raise TrackerError(f"{info.name}: row {row + 1} cannot be read as CSV: {exc}") from None
    except UnicodeDecodeError:  # checked in inspect_file; a file changed since
        raise _not_utf8(info.path, info.name) from None
    except OSError as exc:
        raise TrackerError(f"cannot read {info.name}: {exc.strerror or exc}") from None


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


#: a formula element in worksheet XML, whatever the namespace prefix: <f>, <f t="shared" .../>, <x:f>
_TEXT_TYPES = ("str", "s", "inlineStr")
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


def _formulas_without_values(workbook, sheet) -> list[tuple[str, str]]:
    """``(cell reference, formula)`` of every formula cell of the sheet that has no saved value.

    A byte scan first (no formula: nothing to parse); then the sheet's XML
    is walked for ``<c>`` elements with an ``<f>`` child and no value: no
    ``<v>``, or an empty ``<v/>`` in a number cell. A saved empty text
    (``t="str"`` and ``<v></v>``, what Excel stores for ``=IF(A1="","",A1)``)
    is a value, not a missing one.
    """

    def local_type(element) -> str:
        return element.get("t", "n")

    from xml.etree.ElementTree import iterparse

    archive, member = workbook._archive, sheet._worksheet_path
    with archive.open(member) as fh:
        tail, found = b"", False
        while block := fh.read(_BLOCK):
            if _FORMULA_TAG.search(tail + block):
                found = True
                break
            tail = block[-16:]
    if not found:
        return []
    out = []
    with archive.open(member) as fh:
        for _event, element in iterparse(fh, events=("end",)):
            if element.tag.rsplit("}", 1)[-1] != "c":
                continue
            formula = value = None
            for child in element:
                local = child.tag.rsplit("}", 1)[-1]
                if local == "f":
                    formula = child
                elif local in ("v", "is"):
                    value = child
            # an empty <v/> is no value (openpyxl and pandas write that), unless the cell is text:
            # Excel saves a formula's empty text result as t="str" with an empty <v></v>
            empty = value is None or (
                not (value.text or "").strip()
                and local_type(element) not in _TEXT_TYPES
                and value.tag.rsplit("}", 1)[-1] == "v"
            )
            if formula is not None and empty:
                out.append(
                    (
                        element.get("r") or "",
                        "=" + formula.text if formula.text else "(shared formula)",
                    )
                )
            element.clear()
    return out


def _open_xlsx(info: FileInfo, *, data_only: bool):
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(info.path, read_only=True, data_only=data_only)


def xlsx_chunks(info: FileInfo, problems=None) -> Iterator[list[Record]]:
    """Records of the first worksheet of an .xlsx workbook (read-only, values not formulas).

    Numbers become their shortest text (3.0 -> "3"), dates ``YYYY-MM-DD`` and
    date-times ``YYYY-MM-DD HH:MM:SS``, so that every format is validated by the
    same text rules. openpyxl's warnings about styles are irrelevant to the
    data and silenced while a chunk is read (never across a ``yield``).

    The sheet's ``<dimension ref>`` is not trusted (writers leave it stale, and
    a read-only openpyxl would then cut rows and columns off): every row and
    cell in the sheet is read. A formula cell without a saved value (openpyxl
    and pandas write formulas so) has no value to import; each one is added
    to ``problems`` (a :class:`~tracker.ingest.problems.Problems`) naming the
    cell, rather than read as an empty answer.
    """

    def fail(exc: Exception) -> TrackerError:
        detail = (
            str(exc).strip().splitlines()[0][:200] if str(exc).strip() else exc.__class__.__name__
        )
        return TrackerError(f"{info.name} is not a readable .xlsx workbook ({detail})")

    try:
        workbook = _open_xlsx(info, data_only=True)
    except Exception as exc:  # any parser failure on untrusted bytes is the file's fault
        raise fail(exc) from None
    try:
        if not workbook.worksheets:
            raise TrackerError(f"{info.name} holds no worksheet")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # read the real extent, not the stored tag
        rows = sheet.iter_rows(values_only=True)
        formulas: dict[int, list[tuple[int, str, str]]] = {}
        if problems is not None:
            from openpyxl.utils import coordinate_to_tuple

            try:
                found = _formulas_without_values(workbook, sheet)
            except Exception as exc:
                raise fail(exc) from None
            for ref, text in found:
                try:
                    r, c = coordinate_to_tuple(ref)
                except Exception:
                    r, c = 0, 0
                formulas.setdefault(r, []).append((c - 1, ref, text))
        header: list[str] = []
        number = 0
        while True:
            chunk: list[Record] = []
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for values in rows:
                        number += 1
                        cells = [_xlsx_text(v) for v in values]
                        if number == 1:
                            header = cells
                        for j, ref, text in formulas.get(number, ()):
                            column = (
                                header[j].strip()
                                if 0 <= j < len(header) and header[j].strip()
                                else ref
                            )
                            problems.add(
                                Problem(
                                    "formula_without_value",
                                    f"cell {ref} holds a formula with no saved value, so there is nothing to "
                                    "import; open the workbook in Excel or LibreOffice and save it (that stores "
                                    "the values), or paste values over the formulas",
                                    file=info.name,
                                    row=number,
                                    column=column,
                                    value=text,
                                )
                            )
                        chunk.append((number, cells))
                        if len(chunk) >= CHUNK_ROWS:
                            break
            except Exception as exc:
                raise fail(exc) from None
            if not chunk:
                return
            yield chunk
    finally:
        workbook.close()


def xlsx_rows_estimate(info: FileInfo) -> int:
    """The worksheet's declared row count (0 when unknown), for progress only."""
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(info.path, read_only=True, data_only=True)
    except Exception:
        return 0
    try:
        return int(workbook.worksheets[0].max_row or 0) if workbook.worksheets else 0
    except Exception:
        return 0
    finally:
        workbook.close()
