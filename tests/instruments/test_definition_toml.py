"""An instrument definition written as TOML reads back to the same definition (and hash)."""

from __future__ import annotations

import dataclasses

import pytest

from tracker.instruments import builtin_codes, load_builtin, loads_toml


@pytest.mark.parametrize("code", builtin_codes())
def test_builtins_round_trip(code):
    d = load_builtin(code)
    assert loads_toml(d.to_toml()).sha256 == d.sha256


def test_text_with_quotes_backslashes_and_control_characters_round_trips():
    # the writer once used a JSON string, which leaves DEL (0x7f) raw: TOML refuses it
    d = dataclasses.replace(
        load_builtin("who5"), name='Odd "name" \\ with\x7fDEL\ttab\x01', citation="Ünïcode – ok"
    )
    again = loads_toml(d.to_toml())
    assert again.name == d.name and again.citation == d.citation and again.sha256 == d.sha256


def test_definition_toml_lists_plain_keys_then_tables():
    text = load_builtin("scs_sf").to_toml()
    assert text.startswith('code = "scs_sf"\nname = ')
    assert text.index("[[subscales]]") > text.index("total = ")
