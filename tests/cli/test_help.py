"""Every command documents itself, and `tracker --help` loads no heavy library."""

from __future__ import annotations

import datetime as dt
import re
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
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []"


def test_the_db_option_states_each_commands_own_default():
    runner = CliRunner()
    flat = {
        path: " ".join(runner.invoke(cli, [*path, "--help"]).output.split())
        for path, command in walk(cli)
        if not isinstance(command, click.Group)
    }
    assert "default DIR/demo.db, an empty database" in flat[("demo",)]
    with_db = [path for path, text in flat.items() if "--db URL" in text and path != ("demo",)]
    assert len(with_db) > 10
    for path in with_db:
        assert "default ./tracker.db" in flat[path], path


def test_no_db_option_reads_the_environment_itself():
    """TRACKER_DATABASE_URL is read once, after the command line (cli.common.db_url): an option reading
    it would overwrite a --db given to the group (issue 13: `tracker --db b.db cohort add` wrote to a.db)."""
    options = [
        (path, p)
        for path, command in [((), cli), *walk(cli)]
        for p in command.params
        if p.name == "db"
    ]
    assert len(options) > 10
    for path, option in options:
        assert option.envvar is None, f"tracker {' '.join(path)} --db reads {option.envvar}"
        assert "env TRACKER_DATABASE_URL" in option.help, path


LIGHT_COMMANDS = [
    ["study", "list"],
    ["wave", "list"],
    ["cohort", "list"],
    ["status"],
    ["due"],
    ["status", "--format", "json"],
    ["due", "--format", "csv"],
]
PROBE = (
    "import sys\nfrom tracker.cli import cli\n"
    "try:\n    cli(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
    "heavy = [m for m in ('pandas', 'numpy', 'scipy', 'sqlalchemy', 'alembic') if m in sys.modules]\n"
    "print('EXIT', code, 'HEAVY', heavy)"
)


def _probe(argv: list[str], cwd) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, cwd=cwd
    )
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
        '"Choices, Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider Number,'
        "Text Validation Min,Text Validation Max,Identifier?\n"
        'record_id,pss,,text,ID,,,,,,\npss_1,pss,,radio,Q1,"0, Never | 1, Sometimes",,,,,\n',
        encoding="utf-8",
    )
    for argv in (
        ["map", "draft", "export.csv", "--out", "export.map.toml"],
        ["instrument", "from-redcap", "dictionary.csv", "--form", "pss", "--out", "out"],
    ):
        lines = _probe(argv, tmp_path)
        assert lines[-1] == "EXIT 0 HEAVY []", (argv, lines)
    assert (tmp_path / "export.map.toml").is_file() and (tmp_path / "out" / "pss.toml").is_file()
    from tracker.ingest import FORMATS, ImportResult, import_responses
    from tracker.ingest.api import import_responses as direct

    assert (
        import_responses is direct
        and "qualtrics" in FORMATS
        and ImportResult.__name__ == "ImportResult"
    )
    import tracker.ingest

    assert "import_responses" in dir(tracker.ingest)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tracker.ingest.nope  # noqa: B018


CLICK_TYPE_METAVARS = {
    "TEXT",
    "INTEGER",
    "INTEGER RANGE",
    "FLOAT",
    "FLOAT RANGE",
    "PATH",
    "FILENAME",
    "DIRECTORY",
    "BOOLEAN",
    "UUID",
}


def _leaf_commands():
    for path, command in walk(cli):
        if not isinstance(command, click.Group):
            yield path, command


def test_every_option_and_argument_is_described():
    """Issue 15: every option has a help line with a chosen metavar, every argument is named in the
    command's help; dates are DATE (YYYY-MM-DD), parsed by the one callback."""
    from tracker.cli.common import parse_date_option

    for path, command in _leaf_commands():
        where = f"tracker {' '.join(path)}"
        ctx = click.Context(command, info_name=path[-1])
        for param in command.params:
            if isinstance(param, click.Argument):
                assert param.make_metavar(ctx).rstrip(".") in command.help, (
                    f"{where}: {param.name} not in its help"
                )
                continue
            if param.hidden:
                continue
            flag = max(param.opts, key=len)
            assert param.help, f"{where} {flag} has no help"
            if param.is_flag or param.count:
                continue
            if (
                param.metavar is None
            ):  # Click's own: a choice's [a|b], a path's FILE, never a type name
                metavar = param.make_metavar(ctx)
                assert metavar not in CLICK_TYPE_METAVARS, f"{where} {flag} shows Click's {metavar}"
                assert isinstance(param.type, click.Choice | click.Path), (
                    f"{where} {flag} has no metavar"
                )
            is_date = "YYYY-MM-DD" in param.help
            assert is_date == (param.metavar == "DATE") == (param.callback is parse_date_option), (
                f"{where} {flag}: a date option is --X DATE, YYYY-MM-DD, parsed by parse_date_option"
            )


def test_names_use_one_metavar_and_complete_from_the_database():
    """A wave is `--wave NAME` or `--from/--to WAVE`, a cohort and a study NAME, a measure MEASURE;
    each completes from the database."""
    from tracker.cli import complete

    expected = {
        "wave": ("NAME", complete.waves),
        "pre": ("WAVE", complete.waves),
        "post": ("WAVE", complete.waves),
        "study_name": ("NAME", complete.studies),
        "cohort_name": ("NAME", complete.cohorts),
        "cohorts": ("NAME", complete.cohorts),
    }
    seen = set()
    for path, command in _leaf_commands():
        for param in command.params:
            if path[0] == "init" or not isinstance(param, click.Option):
                continue  # init --study names a study still to create
            where = f"tracker {' '.join(path)} {max(param.opts, key=len)}"
            if param.name in expected:
                metavar, completer = expected[param.name]
                assert (param.metavar, param._custom_shell_complete) == (metavar, completer), where
                seen.add(param.name)
            if param.metavar and param.metavar.startswith("MEASURE"):
                assert param._custom_shell_complete in (
                    complete.measures,
                    complete.measure_lists,
                    complete.predictors,
                ), where
                assert (param.metavar == "MEASURE,...") == (
                    param._custom_shell_complete is complete.measure_lists
                )
                seen.add("measure")
    assert seen == {*expected, "measure"}


def test_one_spelling_of_enrol():
    """ "enrol" (enrolment, n_to_enrol) everywhere the help speaks; `participant enroll` still runs."""
    from tracker.cli.reference import reference

    text = reference().split("\n## tracker\n", 1)[
        1
    ]  # every --help ("enrolled", "enrolling": both spellings)
    assert re.findall(r"(?i)\benroll(?:s|ment)?\b", text) == []
    assert "Usage: tracker participant enrol [OPTIONS] FILE" in text and "enrolment" in text
    runner = CliRunner()
    assert runner.invoke(cli, ["participant", "enroll", "--help"]).output == runner.invoke(
        cli, ["participant", "enrol", "--help"]
    ).output.replace("enrol ", "enroll ", 1)


def test_every_listing_command_has_the_three_formats():
    listing = [
        ("study", "list"),
        ("study", "show"),
        ("instrument", "list"),
        ("instrument", "show"),
        ("db", "current"),
        ("wave", "list"),
        ("cohort", "list"),
        ("participant", "list"),
        ("model", "show"),
        ("audit",),
        ("status",),
        ("due",),
        ("analyze", "all"),
        ("plan",),
    ]
    commands = dict(_leaf_commands())
    for path in listing:
        option = next(p for p in commands[path].params if p.name == "fmt")
        assert option.opts == ["--format"] and list(option.type.choices) == [
            "table",
            "csv",
            "json",
        ], path
    for path, command in commands.items():  # an input file's layout is never --format
        for p in command.params:
            if "--format" in getattr(p, "opts", []) and not p.hidden:
                assert list(p.type.choices) == ["table", "csv", "json"], path


def test_the_cli_bootstrap_defaults_are_the_analysis_defaults():
    """`--boot`/`--seed` of analyze mediation and analyze all default to what the analysis uses."""
    from tracker.cli.common import MEDIATION_BOOT, MEDIATION_SEED
    from tracker.resampling import DEFAULT_BOOT, DEFAULT_SEED

    assert (MEDIATION_BOOT, MEDIATION_SEED) == (DEFAULT_BOOT, DEFAULT_SEED)
