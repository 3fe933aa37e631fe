"""Fixtures of the hostile-input suite."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def mount(tmp_path):
    """A function mounting a tmpfs with the given options; unmounted afterwards."""
    mounted = []

    def make(name: str, options: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small file system needs root")
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)
