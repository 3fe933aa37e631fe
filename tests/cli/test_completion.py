"""Shell completion: TAB completes the study's wave, cohort, measure and study names (issue 15).

Driven as the shell drives it: ``_TRACKER_COMPLETE=bash_complete`` with
``COMP_WORDS``/``COMP_CWORD``, through CliRunner on the real group, and once
through a process (no database: nothing completed, no traceback, no file made).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli


def complete(line: str, *, env: dict[str, str] | None = None) -> list[str]:
    """What bash gets for ``line`` (the cursor at its end; a trailing space starts a new word),
    each word unquoted."""
    words = shlex.split(line)
    cword = len(words) if line.endswith(" ") else len(words) - 1
    result = CliRunner().invoke(
        cli,
        [],
        prog_name="tracker",
        env={
            "_TRACKER_COMPLETE": "bash_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(cword),
            "TRACKER_STUDY": None,
            **(env or {}),
        },
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return [shlex.split(row.split(",", 1)[1])[0] for row in result.output.splitlines() if row]


@pytest.fixture
def study(built):
    tracker, _ = built
    tracker("instrument", "add", "scs_sf")
    return tracker


def test_waves_cohorts_measures_and_studies_complete(study):
    db = f"tracker --db {study.url}"
    assert complete(f"{db} analyze change --from ") == ["baseline", "post"]
    assert complete(f"{db} analyze change --from baseline --to p") == ["post"]
    assert complete(f"{db} wave set ") == ["baseline", "post"]
    assert complete(f"{db} due --wave b") == ["baseline"]
    assert complete(f"{db} cohort remove ") == ["control cohort", "intervention cohort"]
    assert complete(f"{db} participant add X1 --cohort i") == ["intervention cohort"]
    assert complete(f"{db} report --cohort c") == ["control cohort"]
    measures = complete(f"{db} model set ")
    assert measures[:3] == ["pss10", "scs_sf", "scs_sf.self_kindness"] and measures[-1] == "who5"
    assert len(measures) == 9  # pss10, the SCS-SF total and its six subscales, who5
    assert complete(f"{db} analyze trajectory --measure w") == ["who5"]
    assert complete(f"{db} analyze mediation --x a") == ["arm"]
    # a comma-separated list completes its last name, never one already in it
    assert complete(f"{db} analyze mediation --m pss10,w") == ["pss10,who5"]
    assert "pss10,pss10" not in complete(f"{db} report --primary pss10,")
    assert complete(f"{db} wave list --study F") == ["Factory study"]
    assert complete(f"{db} participant withdraw C00")[:2] == ["C000", "C001"]
    assert complete(f"{db} instrument show who") == ["who5"]


def test_bash_gets_names_with_spaces_quoted(study):
    result = CliRunner().invoke(
        cli,
        [],
        prog_name="tracker",
        env={
            "_TRACKER_COMPLETE": "bash_complete",
            "COMP_WORDS": f"tracker --db {study.url} cohort set 'con",
            "COMP_CWORD": "5",
            "TRACKER_STUDY": None,
        },
    )
    assert result.output == "plain,'control cohort'\n"
    result = CliRunner().invoke(
        cli,
        [],
        prog_name="tracker",
        env={
            "_TRACKER_COMPLETE": "zsh_complete",
            "COMP_WORDS": f"tracker --db {study.url} cohort set con",
            "COMP_CWORD": "5",
            "TRACKER_STUDY": None,
        },
    )
    assert result.output == "plain\ncontrol cohort\n_\n"


def test_completion_reads_the_environment_and_the_study_named(study):
    env = {"TRACKER_DATABASE_URL": study.url}
    assert complete("tracker cohort set ", env=env) == ["control cohort", "intervention cohort"]
    assert complete("tracker cohort set --study 'Factory study' ", env=env) == [
        "control cohort",
        "intervention cohort",
    ]
    assert complete("tracker cohort set --study Nope ", env=env) == []
    assert complete("tracker cohort set ", env={**env, "TRACKER_STUDY": "Nope"}) == []


def test_commands_and_options_complete_as_click_does(study):
    assert "analyze" in complete("tracker a") and "audit" in complete("tracker a")
    assert complete("tracker participant en") == ["enrol"]
    assert "--layout" in complete("tracker import responses --l")
    assert complete("tracker import responses --f") == []  # --format, the old name, is hidden


def test_no_database_completes_nothing_and_creates_nothing(tmp_path):
    missing = tmp_path / "none.db"
    env = {
        **os.environ,
        "_TRACKER_COMPLETE": "bash_complete",
        "COMP_WORDS": "tracker wave set ",
        "COMP_CWORD": "3",
        "TRACKER_DATABASE_URL": f"sqlite:///{missing}",
    }
    env.pop("TRACKER_STUDY", None)
    done = subprocess.run(
        [sys.executable, "-c", "from tracker.cli import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", "")
    assert not missing.exists() and list(tmp_path.iterdir()) == []
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("not a database", encoding="utf-8")
    assert complete(f"tracker --db {not_a_db} cohort set ") == []
    assert complete(f"tracker --db {tmp_path / 'no' / 'such.db'} analyze change --from ") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_readme_lines_give_a_script(shell):
    result = CliRunner().invoke(
        cli, [], prog_name="tracker", env={"_TRACKER_COMPLETE": f"{shell}_source"}
    )
    assert result.exit_code == 0 and "_TRACKER_COMPLETE" in result.output
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"_TRACKER_COMPLETE={shell}_source tracker" in readme
