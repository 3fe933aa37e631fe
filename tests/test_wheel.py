"""The wheel works on its own: migrations and templates ship inside it.

Builds the wheel, installs it (not editable, no access to this checkout) into a
fresh virtual environment that borrows only the third-party dependencies of the
test environment, and runs ``tracker`` from a directory outside the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((work / "dist").glob("prepost_tracker-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # third-party dependencies from the test environment; a plain path line in a
    # .pth file does not run that directory's own .pth files, so the editable
    # install of this checkout stays invisible
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return venv


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_DATABASE_URL", "PYTHONPATH")}
    return subprocess.run(
        [str(venv / "bin" / "tracker"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_installed_wheel_runs_from_anywhere(wheel_venv, tmp_path):
    where = subprocess.run(
        [
            str(wheel_venv / "bin" / "python"),
            "-c",
            "import tracker, tracker.resources as r; print(tracker.__file__); print(r.migrations_dir())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(str(wheel_venv) in line for line in where), where
    result = run(wheel_venv, tmp_path, "init", "--study", "Wheel study")
    assert result.returncode == 0, result.stderr
    assert "Study 'Wheel study' created." in result.stdout
    assert (tmp_path / "tracker.db").exists()
    result = run(wheel_venv, tmp_path, "db", "current")
    assert "(newest)" in result.stdout


def test_installed_wheel_runs_the_demo(wheel_venv, tmp_path):
    """`make demo`'s command from the installed wheel: templates and the demo's TOML ship."""
    result = run(
        wheel_venv, tmp_path, "demo", "--out", str(tmp_path / "demo"), "--participants", "16"
    )
    assert result.returncode == 0, result.stderr
    report = tmp_path / "demo" / "report.html"
    assert result.stdout.strip().splitlines()[-1] == f"Report: {report}"
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "Key findings" in html
    assert (tmp_path / "demo" / "study.toml").exists() and (
        tmp_path / "demo" / "confidence_calm_care.toml"
    ).exists()
