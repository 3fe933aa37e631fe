"""The report printed to PDF by headless Chromium, checked page by page (``pdftotext -layout``).

SPEC: no heading is left alone at the foot of a page, numbers and CIs do not wrap inside
a cell, a measure's name repeats when its rows continue on the next page. Checked on the
default demo and on a two-year programme of six cohorts and 3,000 participants; and the
checks themselves are shown to find those faults.
"""

from __future__ import annotations

import pytest

from tests.reports import pdf_layout as layout


@pytest.fixture(scope="module")
def tools():
    missing = layout.tools_missing()
    if missing:
        pytest.skip(missing)


def _labels(db_url):
    from tracker.db.engine import open_session
    from tracker.reports import report_context
    from tracker.study.studies import resolve_study

    with open_session(db_url) as session:
        return [m["label"] for m in report_context(session, resolve_study(session))["measures"]]


def _check(report, db_url, tmp_path):
    pdf = tmp_path / "report.pdf"
    layout.print_to_pdf(report, pdf, tmp_path / "profile")
    html = report.read_text(encoding="utf-8")
    pages = layout.page_texts(pdf)
    assert len(pages) >= 10
    assert layout.pages_ending_with_a_heading(pages, html) == []
    assert layout.split_numbers(pages) == []
    assert layout.continued_tables_without_a_name(pages, html, _labels(db_url)) == []
    return pages


def test_demo_report_prints_cleanly(tools, default_demo, tmp_path):
    pages = _check(default_demo["report_path"], default_demo["db_url"], tmp_path)
    # the checks had something to check: tables continue across pages
    starts = [p[0] for p in pages if p and p[0].lstrip().startswith("Measure ")]
    assert starts, "no table continues on a new page"


@pytest.mark.slow
def test_six_cohort_report_prints_cleanly(tools, tmp_path):
    from tests.reports.six_cohorts import build_six_cohorts
    from tracker.db.engine import open_session
    from tracker.reports import write_report
    from tracker.study.studies import resolve_study

    url = build_six_cohorts(tmp_path / "study", participants=3000)
    with open_session(url) as session:
        written = write_report(session, resolve_study(session), tmp_path / "six.html")
    assert len(written["context"]["flow"]["cohorts"]) == 6
    assert written["context"]["study"]["participants"] == 3000
    _check(written["path"], url, tmp_path)


UNGUARDED = """<style>@media print {
  td.num, td.num.wrap, .nb { white-space: normal !important; }
  tbody.grp { break-inside: auto !important; }
  h2::after, h3::after { content: none !important; }
  table { font-size: 9pt !important; }
}</style></head>"""


def test_the_checks_find_an_unguarded_print(tools, default_demo, tmp_path):
    """Without the print rules (and with a larger table font) the same checks fail."""
    html = default_demo["html"].replace("</head>", UNGUARDED, 1)
    report = tmp_path / "unguarded.html"
    report.write_text(html, encoding="utf-8")
    pdf = tmp_path / "unguarded.pdf"
    layout.print_to_pdf(report, pdf, tmp_path / "profile")
    assert layout.split_numbers(layout.page_texts(pdf)) != []


HTML = (
    "<h2>3 Participant characteristics</h2><table><caption>Fixed effects</caption>"
    "<thead><tr><th>Measure</th><th>Arm</th><th>n</th></tr></thead></table>"
)


def test_heading_and_header_checks_on_known_pages():
    pages = [
        ["text", "3 Participant characteristics"],
        ["Measure      Arm      n"],
        ["Measure      Arm      n", "Stress       control   12"],
        ["Measure      Arm      n", "Stress       control   12"],
    ]
    assert layout.pages_ending_with_a_heading(pages, HTML) == [
        (1, "3 Participant characteristics"),
        (2, "Measure Arm n"),
    ]
    assert layout.split_numbers(
        [["Stress    0.12 [−0.30,    .004", "  0.54]"], ["p   <", "(6.32)"]]
    ) == [
        (1, "Stress    0.12 [−0.30,    .004"),
        (1, "  0.54]"),
        (2, "p   <"),
        (2, "(6.32)"),
    ]
    assert layout.split_numbers([["0.12 [−0.30, 0.54]   < .001   31.2 (6.3)   40 (100 %)"]]) == []
    pages = [
        ["Measure      Arm      n", "             control   12"],
        ["Measure   Arm   n", "Stress   control   12"],
    ]
    assert layout.continued_tables_without_a_name(pages, HTML, ["Stress"]) == [
        (1, "             control   12")
    ]
