"""Running every ``tracker`` command with hostile input, and checking that it fails cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.testing import CliRunner, Result

from tracker.cli import cli


def leaf_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    """(path, command) of every command ``tracker --help`` leads to, groups walked."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def command_ids() -> list[str]:
    return [" ".join(path) for path, _ in leaf_commands()]


def command(path: str) -> click.Command:
    return dict((" ".join(p), c) for p, c in leaf_commands())[path]


def uses_database(cmd: click.Command) -> bool:
    return any(p.name == "db" for p in cmd.params)


# Options a command needs to reach its database although Click does not require them.
EXTRA = {
    "init": ["--study", "Hostile"],
    "demo": ["--participants", "4"],
}


def minimal_argv(path: str, tmp_path: Path) -> list[str]:
    """Arguments that get ``path`` past its own option checks: every required parameter given a plausible value."""
    cmd = command(path)
    argv = path.split()
    data = tmp_path / "input.csv"
    if not data.exists():
        data.write_text("participant,wave\nR001,baseline\n", encoding="utf-8")
    for param in cmd.params:
        is_out = param.name is not None and param.name.startswith("out")
        if not param.required and not (is_out and isinstance(param.type, click.Path)):
            continue
        if isinstance(param.type, click.Choice):
            value = str(param.type.choices[0])
        elif isinstance(param.type, click.IntRange):
            value = str(param.type.min if param.type.min is not None else 1)
        elif param.type is click.INT or isinstance(param.type, click.types.IntParamType):
            value = "1"
        elif isinstance(param.type, click.Path):
            if is_out:
                value = str(tmp_path / ("out-dir" if not param.type.file_okay else "out.csv"))
            else:
                value = str(data)
        else:
            value = "pss10" if param.name in ("codes_or_files", "code") else "baseline"
        if isinstance(param, click.Argument):
            argv.append(value)
        else:
            argv += [param.opts[0], value]
    return argv + EXTRA.get(path, [])


def run(argv: list[str], *, env: dict | None = None, cwd: Path | None = None) -> Result:
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in argv], env=env, catch_exceptions=True)
    finally:
        os.chdir(old)


def assert_no_traceback(result: Result, argv) -> None:
    """The command ended on its own terms: no exception escaped, no traceback printed."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"tracker {' '.join(map(str, argv))} raised {result.exception!r}:\n{result.output}"
    )
    assert "Traceback" not in result.output


def assert_error(result: Result, argv) -> None:
    """``Error: ...`` on stderr and exit status 1."""
    assert_no_traceback(result, argv)
    assert result.exit_code == 1, (
        f"tracker {' '.join(map(str, argv))} exited {result.exit_code}:\n{result.output}"
    )
    assert result.stderr.startswith("Error: "), result.output
