"""The harness's one pytest command builder and JUnit reader."""

from __future__ import annotations

import sys

from miri_background.harness.pytest_run import (
    ERROR,
    FAILED,
    XFAILED,
    failures,
    junit_id,
    pytest_command,
    read_junit,
)


def test_junit_id_rebuilds_the_node_id():
    assert junit_id("tests.regression.test_x.TestA", "test_b[sigma1-lyot]") == (
        "tests/regression/test_x.py::TestA::test_b[sigma1-lyot]"
    )
    assert junit_id("tests.project.harness.test_m", "test_c") == (
        "tests/project/harness/test_m.py::test_c"
    )


def test_failures_in_collection_order(tmp_path):
    """JUnit lists tests as they finish; failures come back in collection order."""
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="t.test_m" name="test_b"><failure message="b failed"/></testcase>'
        '<testcase classname="t.test_m" name="test_c"/>'
        '<testcase classname="t.test_m" name="test_a[x]"><error message="a broke"/></testcase>'
        '<testcase classname="t.test_m" name="test_d">'
        '<skipped type="pytest.xfail" message="known"/></testcase>'
        "</testsuite></testsuites>"
    )
    outcomes = read_junit(junit)
    collected = ["t/test_m.py::test_a[x]", "t/test_m.py::test_b", "t/test_m.py::test_c"]
    got = [(t, outcomes[t].outcome) for t in failures(outcomes, collected)]
    assert got == [("t/test_m.py::test_a[x]", ERROR), ("t/test_m.py::test_b", FAILED)]
    assert outcomes["t/test_m.py::test_d"].outcome == XFAILED


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
