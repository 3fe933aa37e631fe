"""Every command documents itself, and `tracker --help` loads no heavy library."""

from __future__ import annotations

import subprocess
import sys

import click
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
