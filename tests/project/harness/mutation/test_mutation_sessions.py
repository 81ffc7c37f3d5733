"""Sessions of a mutant: a forked session's status from its exit status and timeout, a
statement no clean session ran, the scenario tests first, a side's first killing session."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.project.harness.mutation.known_mutants import EQUIVALENT, KILLABLE

from miri_background.harness.mutation import fork, mutants, serve, sessions


@pytest.mark.parametrize(
    ("body", "timeout", "status", "killed_by"),
    [
        ("assert True", 60, "survived", None),
        ("assert False", 60, "killed", "test_probe.py::test_probe"),
        ("assert True", 60, "error", None),  # with an unknown option: usage error, exit 4
        # 5 s: the child imports jwst.background first (~1 s quiet, more under load)
        ("import time; time.sleep(60)", 5, "killed", "timeout after 5 s"),
    ],
    ids=["pass", "fail", "usage-error", "timeout"],
)
def test_session_status_from_exit_status_and_timeout(tmp_path, body, timeout, status, killed_by):
    """A forked pytest session: exit 0 survives, 1-3 kill (the first failing test named),
    other exits are harness errors; a timeout kills its process group (and says so)."""
    (m,) = mutants.select(only=[KILLABLE])
    serve.prepare(tmp_path / "hook", {m.module: m.source()})
    (tmp_path / "test_probe.py").write_text(
        f"import jwst.background.background_sub\n\ndef test_probe():\n    {body}\n"
    )
    args = ("-p", "no:cacheprovider", "test_probe.py", "--junitxml", str(tmp_path / "s.xml"))
    args += ("--no-such-option",) if status == "error" else ()
    session = fork.Session("probe", args, tmp_path, {}, tmp_path / "hook", tmp_path / "log")
    chain = fork.Chain("probe", [session], lambda r: True)
    ended = []
    t0 = time.monotonic()
    fork.run_chains([chain], 1, lambda s: timeout, ended.append, sessions.outcome)
    (result,) = chain.results
    assert ended == [chain] and time.monotonic() - t0 < 30
    assert (result["status"], result["killed_by"]) == (status, killed_by), result
    assert result["timeout"] == (timeout == 5)
    assert result["imported"] == (status != "error"), result  # the child imported the copy


def test_unexecuted_statement_is_not_run():
    """A mutant whose statement the clean pass never ran is survived without a session;
    a line of a multi-line statement counts as run when any line of it ran."""
    (m,) = mutants.select(only=[EQUIVALENT])  # L48, NIRCam-only
    assert mutants.statement_lines(m.file, m.line) == range(48, 49)
    assert "line(s) 48" in sessions.not_executed(m, {m.module: {40, 41, 57}})
    assert sessions.not_executed(m, {m.module: {48}}) is None
    slice_line = next(x for x in mutants.all_mutants("background_sub.py") if x.line == 144)
    span = mutants.statement_lines(slice_line.file, 144)
    assert span.start < 144 < span.stop - 1, span  # the idx = (...) statement
    assert sessions.not_executed(slice_line, {slice_line.module: {span.start}}) is None


def test_scenario_tests_go_first_grouped_by_case_cheapest_first():
    """Scenario tests first, all tests of a case together, cheaper cases first (pixels
    read: `case_cost`), then the notebook's in collection order."""
    from miri_background.scenarios.catalog import by_id
    from miri_background.scenarios.model import Case

    full = Case(by_id()["subarray-SUB256-in-FULL"], 2.0)
    small = Case(by_id()["supply-bkg_list"], 2.0)
    assert sessions.case_cost(small) < sessions.case_cost(full)

    def item(file, case=None):
        params = {"case": case} if case else {}
        return SimpleNamespace(
            path=Path(f"tests/regression/{file}.py"),
            callspec=SimpleNamespace(params=params),
            file=file,
            case=case,
        )

    items = [
        item("test_bsub"),
        item("test_scenarios_err", full),
        item("test_scenarios_err", small),
        item("test_combined"),
        item("test_scenarios_subarray", full),
        item("test_scenarios_subarray", small),
    ]
    sessions.ScenariosFirst().pytest_collection_modifyitems(items)
    got = [(i.file, i.case.id if i.case else None) for i in items]
    assert got == [
        ("test_scenarios_err", small.id),
        ("test_scenarios_subarray", small.id),
        ("test_scenarios_err", full.id),
        ("test_scenarios_subarray", full.id),
        ("test_bsub", None),
        ("test_combined", None),
    ], got



def test_suite_side_is_killed_by_its_first_failing_data_set():
    def session(label, status, killed_by=None):
        return {
            "session": label,
            "status": status,
            "killed_by": killed_by,
            "timeout": False,
            "exit_status": 0 if status == "survived" else 1,
            "seconds": 10.0,
            "imported": True,
            "log_tail": "",
        }

    combined = sessions.combine(
        [session("mirisim", "survived"), session("flight", "killed", "tests/regression/t.py::x")]
    )
    assert combined["status"] == "killed" and combined["seconds"] == 20.0, combined
    assert combined["killed_by"] == "[flight] tests/regression/t.py::x", combined
    assert [s["session"] for s in combined["sessions"]] == ["mirisim", "flight"]
    assert sessions.combine([session("upstream", "survived")])["status"] == "survived"


@pytest.mark.parametrize(("through_copy", "status"), [(True, "killed"), (False, "error")])
def test_usage_error_through_the_copy_kills(tmp_path, through_copy, status):
    """A mutant that breaks its module's import makes the conftest importing it a pytest
    usage error (exit 4): killed when the traceback runs through the served copy, a harness
    error otherwise (the conftest's own fault)."""
    broken = "raise TypeError('a mutated annotation')\n"
    serve.prepare(tmp_path / "hook", {"jwst.background.background_sub": broken})
    body = "import jwst.background.background_sub\n" if through_copy else "raise TypeError\n"
    (tmp_path / "conftest.py").write_text(body)
    (tmp_path / "test_probe.py").write_text("def test_probe():\n    pass\n")
    args = ("-p", "no:cacheprovider", "test_probe.py", "--junitxml", str(tmp_path / "s.xml"))
    session = fork.Session("probe", args, tmp_path, {}, tmp_path / "hook", tmp_path / "log")
    chain = fork.Chain("probe", [session], lambda r: True)
    fork.run_chains([chain], 1, lambda s: 120.0, lambda c: None, sessions.outcome)
    (result,) = chain.results
    assert (result["exit_status"], result["status"]) == (4, status), result
