"""The report's scenario section (`report.scenarios`) from the scenario fixtures' records."""

from __future__ import annotations

import numpy as np

from miri_background.scenarios.report import record_case, scenario_figures, scenario_rows


def _record(scenario: str, sigma: float, defect: str | None) -> dict:
    return {"scenario": scenario, "kind": "subarray", "sigma": sigma, "hit": sigma == 3.0,
            "seconds": 0.5, "defect": defect}  # fmt: skip


def test_rows_count_each_scenarios_test_outcomes(tmp_path):
    record_case(tmp_path, "a-sigma2", _record("a", 2.0, None))
    record_case(tmp_path, "a-sigma3", _record("a", 3.0, None))
    record_case(tmp_path, "b-sigma2", _record("b", 2.0, "misplaced"), (np.ones((4, 5)), (413, 51)))
    tests = [
        {"nodeid": "t/test_s.py::test_x[a-sigma2]", "outcome": "passed"},
        {"nodeid": "t/test_s.py::test_y[a-sigma2]", "outcome": "failed"},
        {"nodeid": "t/test_s.py::test_x[a-sigma3]", "outcome": "passed"},
        {"nodeid": "t/test_s.py::test_x[b-sigma2]", "outcome": "xfailed"},
        {"nodeid": "t/test_s.py::test_x[ab-sigma2]", "outcome": "passed"},
    ]
    rows = {r["scenario"]: r for r in scenario_rows(tmp_path, tests)}
    assert rows["a"]["outcomes"] == {"passed": 2, "failed": 1}, rows["a"]
    assert rows["a"]["cases"] == ["a-sigma2", "a-sigma3"] and rows["a"]["cache_hits"] == 1
    assert rows["b"]["outcomes"] == {"xfailed": 1} and rows["b"]["defect"] == "misplaced"


def test_a_figure_per_defect_case(tmp_path):
    record_case(tmp_path, "a-sigma2", _record("a", 2.0, None))
    record_case(tmp_path, "b-sigma2", _record("b", 2.0, "misplaced"), (np.ones((4, 5)), (413, 51)))
    figures = scenario_figures(tmp_path)
    assert list(figures) == ["scenario-b-sigma2"], list(figures)
    caption, png = figures["scenario-b-sigma2"]
    assert "b-sigma2" in caption and len(png) > 1000, caption
