"""Issue 13 item 11: a command on a mistyped --db path says there is no database there, and creates nothing.

Only ``init``, ``db upgrade`` and ``demo`` make a database; every other
command refuses a SQLite file that does not exist, before opening it (SQLite
would create an empty file on connecting).
"""

from __future__ import annotations

import pytest

from tests.hostile.helpers import (
    assert_error,
    command,
    command_ids,
    minimal_argv,
    run,
    uses_database,
)

CREATORS = {"init", "db upgrade", "demo"}
READERS = [c for c in command_ids() if c not in CREATORS and uses_database(command(c))]


@pytest.mark.parametrize("path", READERS)
def test_a_missing_sqlite_file_is_not_created(path, tmp_path):
    missing = tmp_path / "mistyped.db"
    argv = ["--db", str(missing), *minimal_argv(path, tmp_path)]
    result = run(argv, cwd=tmp_path)
    assert not missing.exists(), f"tracker {path} created {missing}"
    assert not list(tmp_path.glob("mistyped.db*"))
    if path == "db current":
        assert result.exit_code == 0, result.output
        assert result.output == (
            f"sqlite:///{missing}: no database file at {missing}; revision none "
            "(empty: run `tracker init --study NAME`)\n"
        )
        return
    assert_error(result, argv)
    assert result.stderr == (
        f"Error: there is no database at {missing}: no such file, so it holds no tracker database; "
        "create one with `tracker init --study NAME`, or check --db / TRACKER_DATABASE_URL. Nothing was created\n"
    )


def test_a_relative_path_is_named_in_full(tmp_path):
    result = run(["--db", "typo.db", "study", "list"], cwd=tmp_path)
    assert_error(result, ["study", "list"])
    assert f"there is no database at {tmp_path / 'typo.db'}: no such file" in result.stderr
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize("creator", [["init", "--study", "S"], ["db", "upgrade"]])
def test_init_and_upgrade_still_create_the_file(creator, tmp_path):
    path = tmp_path / "new.db"
    result = run(["--db", str(path), *creator])
    assert result.exit_code == 0, result.output
    assert path.exists()


def test_init_in_a_missing_folder_says_so(tmp_path):
    path = tmp_path / "no-such-folder" / "new.db"
    argv = ["--db", str(path), "init", "--study", "S"]
    result = run(argv)
    assert_error(result, argv)
    assert result.stderr == (
        f"Error: cannot create the SQLite file {path}: the folder {path.parent} does not exist\n"
    )
