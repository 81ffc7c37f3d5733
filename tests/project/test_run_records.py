"""The run record (`run_records`): the outcome record (JUnit) read back, the stages'
records read once."""

from __future__ import annotations

import json

from miri_background.run_records import (
    ERROR,
    FAILED,
    XFAILED,
    failures,
    junit_id,
    read_junit,
    read_run,
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


def test_read_run_reads_the_junit_file_the_session_names(tmp_path):
    """The ``session`` record names the outcome file; its test cases come back with their
    seconds, and without a ``session`` record there are no outcomes."""
    (tmp_path / "stages").mkdir()
    assert read_run(tmp_path).tests is None, "no session record: no outcomes"
    junit = tmp_path / "elsewhere" / "junit.xml"
    junit.parent.mkdir()
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="t.test_m" name="test_a" time="1.5"/>'
        "</testsuite></testsuites>"
    )
    session = {"session": {"exitstatus": 0, "junit": str(junit)}}
    (tmp_path / "stages" / "main.json").write_text(json.dumps(session))
    record = read_run(tmp_path)
    assert (record.exitstatus, record.junit) == (0, junit), record
    assert dict(record.tests) == {"t/test_m.py::test_a": ("passed", "", 1.5)}, record.tests
