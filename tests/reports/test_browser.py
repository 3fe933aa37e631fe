"""The demo report in headless Chromium: no console errors, no network requests.

Chromium comes from the Debian package ``chromium``; ``.ci/run`` installs it. Outside
CI (env ``CI`` unset) the test is skipped, with the reason, when it is missing.
"""

from __future__ import annotations

import os

import pytest

from tests.reports.browser import find_chromium, visit


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but Chromium is missing: .ci/run must apt-get install chromium")
        pytest.skip(
            "Chromium not installed (apt-get install chromium); the browser check runs in CI"
        )
    return path


def test_demo_report_in_chromium(demo, demo_context, chromium, tmp_path):
    url = demo["report_path"].as_uri()
    page = visit(url, chromium=chromium, width=1280, height=900)
    assert page.console_errors == []
    assert page.requests == [url]  # the file itself, nothing else
    assert page.title == "Evaluation report: Demo: mindfulness course vs waitlist control"
    # the flow diagram and five charts, and a path diagram per mediation model (2 X × 3 Y)
    models = demo_context["mediation"]["models"]
    assert len(models) == 6
    assert page.metrics["svgs"] == 6 + len(models)
    assert page.metrics["width"] <= 1280  # nothing wider than the window: no table sticks out
    assert page.screenshot.startswith(b"\x89PNG\r\n\x1a\n") and len(page.screenshot) > 20_000
    (tmp_path / "first-screen.png").write_bytes(page.screenshot)


# A4 (210 mm) less the 12 mm margins of the print stylesheet, in CSS pixels (96 per inch)
A4_PRINTABLE_PX = round((210 - 2 * 12) / 25.4 * 96)


def test_print_layout_fits_the_page(demo, chromium):
    """With the print stylesheet at the printable width of A4 nothing is wider than the page."""
    page = visit(
        demo["report_path"].as_uri(), chromium=chromium, width=A4_PRINTABLE_PX, media="print"
    )
    assert page.console_errors == []
    assert page.metrics["width"] <= A4_PRINTABLE_PX, page.metrics["widest"]
    assert page.metrics["widest"][0] <= A4_PRINTABLE_PX, page.metrics["widest"]


def test_report_prints_to_pdf(demo, chromium, tmp_path):
    """Chromium's own print path: a PDF with a page per section at least."""
    import subprocess

    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            demo["report_path"].as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert (
        data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 10
    )  # a page per section at least
