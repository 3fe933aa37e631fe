"""Locate the migrations and templates, in a checkout or in an installed wheel.

The wheel carries them under ``tracker/_resources``; a source checkout (or an
editable install) keeps them at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"cannot find {name!r} next to the tracker package; reinstall prepost-tracker"
    )


def migrations_dir() -> Path:
    return _find("migrations")


def templates_dir() -> Path:
    return _find("templates")
