"""The built-in instrument library: one ``<code>.toml`` per instrument in this package.

The files are read with :mod:`importlib.resources`, so they work from an installed
wheel as well as from a source checkout. They hold scoring rules only, never item
wording (most of the wording is copyrighted); each cites its source for every rule.
"""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from tracker.errors import NotFound
from tracker.instruments.definition import InstrumentDef
from tracker.instruments.validate import load_toml, loads_toml


def _files():
    return resources.files(__name__)


@lru_cache(maxsize=1)
def _codes() -> tuple[str, ...]:
    return tuple(
        sorted(
            entry.name[: -len(".toml")]
            for entry in _files().iterdir()
            if entry.is_file() and entry.name.endswith(".toml")
        )
    )


def builtin_codes() -> list[str]:
    """Codes of the built-in instruments, sorted (``["cams_r", "cd_risc10", ...]``)."""
    return list(_codes())


@cache
def load_builtin(code: str) -> InstrumentDef:
    """The built-in instrument ``code``; :class:`NotFound` lists the available codes."""
    if code not in _codes():
        raise NotFound(
            f"no built-in instrument {code!r}; available: {', '.join(_codes())} "
            "(or give the path to your own .toml file)"
        )
    text = (_files() / f"{code}.toml").read_text(encoding="utf-8")
    return loads_toml(text, source=f"builtin:{code}.toml")


def resolve(code_or_path: str | Path) -> InstrumentDef:
    """A definition from a file path or a built-in code.

    A value ending in ``.toml``, or naming an existing file, is read with
    :func:`~tracker.instruments.definition.load_toml`; anything else is looked up
    in the built-in library.
    """
    text = str(code_or_path)
    path = Path(text)
    if text.lower().endswith(".toml") or path.is_file():
        return load_toml(path)
    return load_builtin(text)
