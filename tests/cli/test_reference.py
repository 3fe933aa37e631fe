"""docs/cli.md is the commands' own --help, and every command is in it."""

from __future__ import annotations

from pathlib import Path

from tracker.cli import cli
from tracker.cli.reference import commands, reference

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_reference_page_is_current():
    assert PAGE.read_text(encoding="utf-8") == reference(), (
        "docs/cli.md is stale: run `python -m tracker.cli.reference > docs/cli.md`"
    )


def test_every_command_has_a_section():
    text = PAGE.read_text(encoding="utf-8")
    paths = [" ".join(p) for p, _ in commands(cli)]
    assert len(paths) > 20
    for path in paths:
        assert f" tracker {path}\n" in text, f"tracker {path} is not in docs/cli.md"


def test_help_fits_80_columns():
    too_wide = [
        line for line in reference().splitlines() if len(line) > 80 and not line.startswith("#")
    ]
    assert too_wide == []
