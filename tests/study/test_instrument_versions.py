"""The one rule of "newest instrument version": the version stored last (highest id)."""

from __future__ import annotations

from tracker.instruments import load_builtin
from tracker.study.instruments import add_instrument, current_versions, definitions, newest_by_code
from tracker.study.studies import create_study


def test_newest_by_code_takes_the_highest_id_whatever_the_order():
    rows = [
        (7, "who5", "who5 v2"),
        (3, "pss10", "pss10 v1"),
        (2, "who5", "who5 v1"),
        (9, "pss10", "pss10 v0"),
    ]
    assert newest_by_code(rows) == {"pss10": "pss10 v0", "who5": "who5 v2"}
    assert list(newest_by_code(rows)) == ["pss10", "who5"]  # by code
    assert newest_by_code([]) == {}


def test_a_version_added_later_is_the_newest_even_with_a_lower_version_text(session, tmp_path):
    study = create_study(session, "Versions")
    add_instrument(session, study, "pss10")
    add_instrument(session, study, "who5")
    changed = load_builtin("pss10").to_toml().replace('version = "1"', 'version = "0"')
    changed = changed.replace('citation = "', 'citation = "Revised: ', 1)
    (tmp_path / "pss10.toml").write_text(changed)
    assert add_instrument(session, study, str(tmp_path / "pss10.toml")).status == "new version"
    newest = current_versions(session, study)
    assert list(newest) == ["pss10", "who5"]
    assert newest["pss10"].version == "0" and newest["who5"].version == "1"
    assert definitions(session, study)["pss10"].citation.startswith("Revised: ")
