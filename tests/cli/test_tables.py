"""Terminal tables fit the width, repeat their label columns, and print p as the report does."""

from __future__ import annotations

import math

import pytest

from tracker.cli.tables import cell, render, terminal_width
from tracker.formatting import printable

ROWS = [
    {
        "measure": "scs_sf.self_kindness",
        "group": "intervention",
        "n": 40,
        "mean_pre": 3.123456,
        "mean_post": 3.9,
        "mean_diff": 0.77,
        "ci_low": 0.5,
        "ci_high": 1.0,
        "p": 1e-5,
        "p_adj": 0.0123,
        "cohen_dz": 1.2,
        "n_reliably_improved": 12,
        "n_reliably_worse": 0,
    },
    {
        "measure": "pss10",
        "group": "control",
        "n": 38,
        "mean_pre": 20.1,
        "mean_post": None,
        "mean_diff": -0.77,
        "ci_low": -1.5,
        "ci_high": math.nan,
        "p": 0.5,
        "p_adj": 0.99995,
        "cohen_dz": -0.1,
        "n_reliably_improved": 1,
        "n_reliably_worse": 2,
    },
]


@pytest.mark.parametrize("width", [50, 60, 80, 120, 200])
def test_every_line_fits_and_every_block_repeats_the_labels(width):
    text = render(ROWS, width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    blocks = text.split("\n\n")
    labels = ["measure", "group"] if width >= 60 else ["measure"]  # both when they fit two thirds
    for block in blocks:
        head = block.splitlines()[0].split()
        assert head[: len(labels)] == labels
        assert "scs_sf.self_kindness" in block and "pss10" in block
    # every other column appears exactly once across the blocks
    headers = [h for block in blocks for h in block.splitlines()[0].split()[len(labels) :]]
    assert sorted(headers) == sorted(c for c in ROWS[0] if c not in labels)
    if width >= 200:
        assert len(blocks) == 1


def test_a_narrow_terminal_folds_text_but_no_line_is_wider():
    text = render(ROWS, width=40)
    assert max(len(line) for line in text.splitlines()) <= 40
    assert "< .001" in text  # numbers are never folded


def test_p_values_print_as_the_report_prints_them():
    assert cell(1e-5, "p") == "< .001"
    assert cell(0.99995, "p_adj") == "> .999"
    assert cell(0.0123, "wilcoxon_p") == ".012"
    assert cell(0.0123, "r") == "0.012"
    assert cell(None, "p") == cell(math.nan, "x") == "—"
    text = render(ROWS, width=80)
    assert "< .001" in text and "> .999" in text


def test_control_characters_are_shown_not_sent():
    name = "a\x1b[31mred\u202eevil\tx"
    assert printable(name) == "a\\x1b[31mred\\u202eevil\\x09x"
    out = render([{"cohort": name, "n": 1}], width=80)
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b[31mred\\u202eevil" in out


def test_width_from_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert terminal_width() == 100
    monkeypatch.setenv("COLUMNS", "10")
    assert terminal_width() == 40
