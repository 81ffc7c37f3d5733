"""The harness's one pytest command builder."""

from __future__ import annotations

import sys

from miri_background.harness.pytest_run import pytest_command


def test_pytest_command_carries_the_session_settings(tmp_path):
    got = pytest_command(
        "tests/regression",
        workers=2,
        junit=tmp_path / "j.xml",
        runs=tmp_path / "r",
        cache=tmp_path / "c",
        extra=["-x"],
    )
    assert got[:5] == [sys.executable, "-m", "pytest", "tests/regression", "-p"], got
    for part in (
        "-n",
        "2",
        f"--junitxml={tmp_path / 'j.xml'}",
        f"--cache-dir={tmp_path / 'c'}",
        f"miri_background_runs={tmp_path / 'r'}",
    ):
        assert part in got, f"{part!r} missing from {got}"
    assert got[-1] == "-x", got
    assert "-n" not in pytest_command("t", workers=1), "one worker runs without xdist"
