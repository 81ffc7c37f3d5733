"""The report's scenario section (`scenarios.report`) from the cases' run records."""

from __future__ import annotations

import json

import numpy as np

from miri_background.run_records import read_run
from miri_background.scenarios.report import record_case, scenario_figures, scenario_rows


def _record(scenario: str, sigma: float, defect: str | None) -> dict:
    return {"scenario": scenario, "kind": "subarray", "sigma": sigma, "hit": sigma == 3.0,
            "seconds": 0.5, "defect": defect}  # fmt: skip


def _run_record(run_dir, cases: dict):
    """The run record of one process that loaded ``cases``."""
    (run_dir / "stages").mkdir()
    (run_dir / "stages" / "gw0.json").write_text(json.dumps({"scenario_cases": cases}))
    return read_run(run_dir)


def test_rows_count_each_scenarios_test_outcomes(tmp_path):
    cases = {
        "a-sigma2": record_case(tmp_path, "a-sigma2", _record("a", 2.0, None)),
        "a-sigma3": record_case(tmp_path, "a-sigma3", _record("a", 3.0, None)),
        "b-sigma2": record_case(
            tmp_path, "b-sigma2", _record("b", 2.0, "misplaced"), (np.ones((4, 5)), (413, 51))
        ),
    }
    tests = [
        {"nodeid": "t/test_s.py::test_x[a-sigma2]", "outcome": "passed"},
        {"nodeid": "t/test_s.py::test_y[a-sigma2]", "outcome": "failed"},
        {"nodeid": "t/test_s.py::test_x[a-sigma3]", "outcome": "passed"},
        {"nodeid": "t/test_s.py::test_x[b-sigma2]", "outcome": "xfailed"},
        {"nodeid": "t/test_s.py::test_x[ab-sigma2]", "outcome": "passed"},
    ]
    rows = {r["scenario"]: r for r in scenario_rows(_run_record(tmp_path, cases), tests)}
    assert rows["a"]["outcomes"] == {"passed": 2, "failed": 1}, rows["a"]
    assert rows["a"]["cases"] == ["a-sigma2", "a-sigma3"] and rows["a"]["cache_hits"] == 1
    assert rows["b"]["outcomes"] == {"xfailed": 1} and rows["b"]["defect"] == "misplaced"


def test_a_figure_per_defect_case(tmp_path):
    cases = {
        "a-sigma2": record_case(tmp_path, "a-sigma2", _record("a", 2.0, None)),
        "b-sigma2": record_case(
            tmp_path, "b-sigma2", _record("b", 2.0, "misplaced"), (np.ones((4, 5)), (413, 51))
        ),
    }
    assert cases["b-sigma2"]["difference"] == "scenarios/b-sigma2_minus_rule.npy", cases
    figures = scenario_figures(_run_record(tmp_path, cases))
    assert list(figures) == ["scenario-b-sigma2"], list(figures)
    caption, png = figures["scenario-b-sigma2"]
    assert "b-sigma2" in caption and len(png) > 1000, caption


def test_the_process_that_built_a_case_wins(tmp_path):
    """Two processes loaded a case; the one that built it saw jwst's seconds."""
    (tmp_path / "stages").mkdir()
    for worker, hit, seconds in (("gw0", True, 0.0), ("gw1", False, 2.5)):
        case = _record("a", 2.0, None) | {"hit": hit, "seconds": seconds}
        path = tmp_path / "stages" / f"{worker}.json"
        path.write_text(json.dumps({"scenario_cases": {"a-sigma2": case}}))
    (row,) = scenario_rows(read_run(tmp_path), [])
    assert (row["jwst_s"], row["cache_hits"]) == (2.5, 0), row
