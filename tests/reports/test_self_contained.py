"""The report is one file: no URL, no script, nothing to fetch."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class Resources(HTMLParser):
    """Attributes and CSS that could make a browser fetch something."""

    def __init__(self):
        super().__init__()
        self.references: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if (
                name
                in ("src", "href", "xlink:href", "srcset", "action", "data", "poster", "background")
                and value
            ):
                self.references.append((tag, name, value))


def test_no_http_or_https_anywhere(demo):
    html = demo["html"]
    assert "http://" not in html
    assert "https://" not in html
    assert "//" not in re.sub(r"<!--.*?-->", "", html).replace(
        "://", ""
    )  # no protocol-relative URL either


def test_nothing_to_fetch(demo):
    html = demo["html"]
    parser = Resources()
    parser.feed(html)
    external = [r for r in parser.references if not r[2].startswith("#")]
    assert external == []
    assert not parser.tags & {
        "script",
        "link",
        "img",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "image",
    }
    assert "@import" not in html and "data:" not in html
    assert re.findall(r"url\((?!#)", html) == []  # only references inside the document (clip paths)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_charts_are_inline_vector_svg(demo):
    html = demo["html"]
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    diagrams = [svg for svg in svgs if svg.startswith('<svg class="path-diagram"')]
    # the flow diagram and five charts; a path diagram per mediation model
    assert len(svgs) == 6 + len(diagrams) and len(diagrams) == 6
    for svg in svgs:
        assert 'role="img"' in svg and "aria-label=" in svg
        assert "<text" in svg  # svg.fonttype = none: text stays text
        assert "<image" not in svg and "<?xml" not in svg and "<!DOCTYPE" not in svg


def test_print_stylesheet(demo):
    html = demo["html"]
    assert "@media print" in html and "@page" in html
    assert "break-before: page" in html and "display: table-header-group" in html
