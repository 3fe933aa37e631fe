"""Every command documents itself, and `tracker --help` loads no heavy library."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from tracker.cli import cli


def walk(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from walk(command, (*prefix, name))


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for path, command in walk(cli):
        assert command.help, f"tracker {' '.join(path)} has no help"
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        if not isinstance(command, click.Group):
            assert "Example:" in command.help, f"tracker {' '.join(path)} help has no example"


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from tracker.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'numpy', 'scipy', 'matplotlib', 'statsmodels', 'sqlalchemy') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []"


def test_the_db_option_states_each_commands_own_default():
    runner = CliRunner()
    flat = {path: " ".join(runner.invoke(cli, [*path, "--help"]).output.split())
            for path, command in walk(cli) if not isinstance(command, click.Group)}
    assert "default DIR/demo.db, an empty database" in flat[("demo",)]
    with_db = [path for path, text in flat.items() if "--db URL" in text and path != ("demo",)]
    assert len(with_db) > 10
    for path in with_db:
        assert "default ./tracker.db" in flat[path], path


def test_no_db_option_reads_the_environment_itself():
    """TRACKER_DATABASE_URL is read once, after the command line (cli.common.db_url): an option reading
    it would overwrite a --db given to the group (issue 13: `tracker --db b.db cohort add` wrote to a.db)."""
    options = [(path, p) for path, command in [((), cli), *walk(cli)] for p in command.params if p.name == "db"]
    assert len(options) > 10
    for path, option in options:
        assert option.envvar is None, f"tracker {' '.join(path)} --db reads {option.envvar}"
        assert "env TRACKER_DATABASE_URL" in option.help, path


LIGHT_COMMANDS = [["study", "list"], ["wave", "list"], ["cohort", "list"], ["status"], ["due"],
                  ["status", "--format", "json"], ["due", "--format", "csv"]]
PROBE = (
    "import sys\nfrom tracker.cli import cli\n"
    "try:\n    cli(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
    "heavy = [m for m in ('pandas', 'numpy', 'scipy', 'sqlalchemy', 'alembic') if m in sys.modules]\n"
    "print('EXIT', code, 'HEAVY', heavy)"
)


def _probe(argv: list[str], cwd) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, cwd=cwd)
    return done.stdout.strip().splitlines()


def test_light_commands_import_no_heavy_library(db_url, tmp_path):
    """study list, wave list, cohort list, status and due read with plain SQL (tracker.db.listing):
    on a plain URL at the current revision neither pandas nor SQLAlchemy is imported, on both backends."""
    from tracker.db.engine import open_session
    from tracker.study.cohorts import add_cohort
    from tracker.study.instruments import add_instrument
    from tracker.study.participants import add_participant
    from tracker.study.studies import create_study
    from tracker.study.waves import add_wave

    with open_session(db_url) as s:
        study = create_study(s, "Light")
        add_wave(s, study, "baseline", day=0, window=7)
        add_cohort(s, study, "Spring", arm="intervention", start=dt.date(2027, 3, 1))
        add_instrument(s, study, "who5")
        add_participant(s, study, "R001", cohort="Spring", enrolled=dt.date(2027, 2, 20))
        s.commit()
    for argv in LIGHT_COMMANDS:
        lines = _probe(["--db", db_url, *argv], tmp_path)
        assert lines[-1] == "EXIT 0 HEAVY []", (argv, lines)
        if argv[0] == "due":
            assert "R001" in "\n".join(lines), lines
    # the session path still answers (and explains) when the direct one cannot be taken
    lines = _probe(["--db", db_url, "wave", "list", "--study", "Nope"], tmp_path)
    assert lines[-1].startswith("EXIT 1 HEAVY [") and "'sqlalchemy'" in lines[-1]


def test_map_draft_and_from_redcap_import_neither_pandas_nor_sqlalchemy(tmp_path):
    """tracker.ingest's exports are lazy: the light ingest commands do not load the importer."""
    (tmp_path / "export.csv").write_text("record_id,pss_1,pss_2\nR1,1,2\n", encoding="utf-8")
    (tmp_path / "dictionary.csv").write_text(
        "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
        "\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,"
        "Text Validation Min,Text Validation Max,Identifier?\n"
        "record_id,pss,,text,ID,,,,,,\npss_1,pss,,radio,Q1,\"0, Never | 1, Sometimes\",,,,,\n", encoding="utf-8")
    for argv in (["map", "draft", "export.csv", "--out", "export.map.toml"],
                 ["instrument", "from-redcap", "dictionary.csv", "--form", "pss", "--out", "out"]):
        lines = _probe(argv, tmp_path)
        assert lines[-1] == "EXIT 0 HEAVY []", (argv, lines)
    assert (tmp_path / "export.map.toml").is_file() and (tmp_path / "out" / "pss.toml").is_file()
    from tracker.ingest import FORMATS, ImportResult, import_responses
    from tracker.ingest.api import import_responses as direct

    assert import_responses is direct and "qualtrics" in FORMATS and ImportResult.__name__ == "ImportResult"
    import tracker.ingest

    assert "import_responses" in dir(tracker.ingest)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tracker.ingest.nope  # noqa: B018
