"""Print a report to PDF in headless Chromium and check the text layout of every page.

``pdftotext -layout`` (poppler) writes each page's text as lines, columns kept apart
by runs of spaces, pages separated by form feeds. On that text:

* :func:`pages_ending_with_a_heading`: a page whose last line is a section or table
  heading, a table caption, or a table's header row (nothing of the table under it).
* :func:`split_numbers`: a confidence interval ``[low, high]``, a ``< .001`` or a
  ``mean (SD)`` broken over two lines of a cell.
* :func:`continued_tables_without_a_name`: a page that starts inside a table grouped by
  measure (its repeated header row first) whose first row does not name its measure.
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
import subprocess
from pathlib import Path

from tests.reports.browser import find_chromium


def tools_missing() -> str | None:
    """Why the PDF checks cannot run here (None when they can)."""
    if find_chromium() is None:
        return "Chromium not installed (apt-get install chromium)"
    if shutil.which("pdftotext") is None:
        return "pdftotext not installed (apt-get install poppler-utils)"
    return None


def print_to_pdf(report: Path, pdf: Path, profile: Path) -> None:
    subprocess.run(
        [
            find_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def page_texts(pdf: Path) -> list[list[str]]:
    """Each page's non-empty lines (right-stripped), in order."""
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = out.split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return [[line.rstrip() for line in page.splitlines() if line.strip()] for page in pages]


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def headings(html: str) -> list[str]:
    """The texts of the report's h1-h3 headings and table captions."""
    return [
        _text(m)
        for m in re.findall(r"<(?:h[1-3]|caption)\b[^>]*>(.*?)</(?:h[1-3]|caption)>", html, re.S)
    ]


def header_rows(html: str) -> list[tuple[str, str]]:
    """The first two header cells of every table."""
    out = []
    for head in re.findall(r"<thead>(.*?)</thead>", html, re.S):
        cells = [_text(c) for c in re.findall(r"<th\b[^>]*>(.*?)</th>", head, re.S)]
        if len(cells) >= 2:
            out.append((cells[0], cells[1].split()[0]))
    return out


def _columns(line: str) -> list[str]:
    return [c for c in re.split(r"\s{2,}", line.strip()) if c]


def _is_header_line(line: str, headers: list[tuple[str, str]]) -> bool:
    cols = _columns(line)
    return len(cols) >= 2 and any(cols[0] == a and cols[1].startswith(b) for a, b in headers)


def _in_header(line: str, header_text: str) -> bool:
    """Whether every chunk of ``line`` is a piece of the header cells (a header's wrapped line)."""
    words = set(header_text.split()) | {
        w for t in header_text.split() for w in re.split(r"[–-]", t)
    }
    return all(word in words or word in header_text for word in line.split())


def _has_number(line: str) -> bool:
    return any(re.fullmatch(rf"{NUM}|[<>] \.\d{{3}}|\.\d{{3}}", c) for c in _columns(line))


def pages_ending_with_a_heading(pages: list[list[str]], html: str) -> list[tuple[int, str]]:
    """(page number, last line) of every page that ends with a heading, caption or header row."""
    heads = headings(html)
    rows = header_rows(html)
    header_text = " ".join(_text(h) for h in re.findall(r"<thead>(.*?)</thead>", html, re.S))
    bad = []
    for number, lines in enumerate(pages[:-1], start=1):  # the last page may end anyhow
        if not lines:
            continue
        last = " ".join(lines[-1].split())
        # a heading that wraps ends with its last words: compare the tail as well
        if any(h and (last == h or (len(last) > 12 and h.endswith(last))) for h in heads):
            bad.append((number, last))
        else:
            starts = [i for i, line in enumerate(lines) if _is_header_line(line, rows)]
            if starts and all(_in_header(line, header_text) for line in lines[starts[-1] + 1 :]):
                bad.append((number, last))  # a table's header row with none of its rows under it
    return bad


NUM = r"[−-]?\d[\d,]*(?:\.\d+)?"
WHOLE_CI = re.compile(rf"\[{NUM}, {NUM}\]")


def _cut(chunk: str) -> bool:
    """Whether a column chunk of a line holds a piece of a number, CI or mean (SD) cut in two."""
    whole = WHOLE_CI.sub("", chunk)
    if re.search(rf"\[\s?{NUM},", whole) or re.search(rf"{NUM}\]", whole):
        return True  # "[0.12," or "0.50]" without the rest of its interval
    if chunk == "<" or chunk.endswith(" <"):
        return True  # "<" whose ".001" went to the next line
    return bool(re.fullmatch(rf"\({NUM}(?: %)?\)", chunk))  # "(6.32)" or "(90 %)" alone


def split_numbers(pages: list[list[str]]) -> list[tuple[int, str]]:
    """(page number, line) of every line where a number, a CI or a mean (SD) is cut in two."""
    return [
        (number, line)
        for number, lines in enumerate(pages, start=1)
        for line in lines
        if any(_cut(c) for c in _columns(line))
    ]


def continued_tables_without_a_name(
    pages: list[list[str]], html: str, labels: list[str]
) -> list[tuple[int, str]]:
    """(page, first row) of every page that continues a measure table without naming a measure.

    A page continues a table when its first line is a repeated header row starting
    "Measure"; its first row with a number must begin with (the start of) a measure label.
    """
    rows = [r for r in header_rows(html) if r[0] == "Measure"]
    bad = []
    for number, lines in enumerate(pages, start=1):
        if not lines or not _is_header_line(lines[0], rows):
            continue
        for line in lines[1:]:
            cols = _columns(line)
            if not _has_number(line):
                continue  # the header's wrapped second line, not a row
            first = cols[0] if cols else ""
            if not any(label.startswith(first) or first.startswith(label[:12]) for label in labels):
                bad.append((number, line))
            break
    return bad
