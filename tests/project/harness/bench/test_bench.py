"""The benchmark's bookkeeping (`miri_background.bench`), on fabricated records.

No timing is asserted here: the performance figures come from ``make bench`` on a quiet
machine. These tests check what turns records into figures: stage times from the workers'
``stages/*.json``, the bare pipeline critical path, test counts from the JUnit file, the
pass / MISS verdict of each target, and the ``/proc`` parsing behind the peak RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from miri_background import run_records
from miri_background.harness.bench import host, measurements, records, suite

SCIENCE = [f"starfield_med_seq{i}_MIRIMAGE_F770Wexp1" for i in range(1, 5)]
BACKGROUND = [f"bkg_faint_seq{i}_MIRIMAGE_F770Wexp1" for i in range(1, 5)]


def _detector1(built: dict[str, float], hits: list[str], wall: float) -> dict:
    exposures = {n: {"hit": False, "seconds": s, "reason": "not cached"} for n, s in built.items()}
    exposures |= {n: {"hit": True, "seconds": 0.0, "reason": "hit"} for n in hits}
    return {"seconds": wall, "exposures": exposures}


def _exposures(built: dict[str, float]) -> dict:
    """The inputs record's ``exposures``: the ones built here, the others hits."""
    return {
        "exposures": {
            n: {"hit": n not in built, "seconds": built.get(n, 0.0)} for n in SCIENCE + BACKGROUND
        }
    }


BACKGROUND_CALLS = {
    f"sigma{s}": {n: 0.5 + 0.1 * i for i, n in enumerate(SCIENCE)} for s in (1, 2, 3)
}
"""12 Image2Pipeline calls: 3 x (0.5 + 0.6 + 0.7 + 0.8) = 7.8 s."""
RAN_BY = {
    sigma: {n: "gw0" if sigma == "sigma1" or i < 2 else "gw1" for i, n in enumerate(SCIENCE)}
    for sigma in BACKGROUND_CALLS
}
"""gw0 made sigma1 and the first two of sigma2/3 (2.6 + 2 x 1.1 = 4.8 s), gw1 the rest (3.0 s)."""


def _background(wall: float, ran_by: dict = RAN_BY) -> dict:
    return {"seconds": wall, "pipeline_seconds": BACKGROUND_CALLS, "ran_by": ran_by}


COLD_STAGES = {
    "gw0": {
        "inputs": {"seconds": 12.0, "hit": False, **_exposures(dict.fromkeys(SCIENCE, 2.0))},
        "detector1": _detector1(
            dict(zip(SCIENCE, (10.0, 11.0, 12.0, 13.0), strict=True)), BACKGROUND, 47.0
        ),
        "background": _background(8.0),
    },
    "gw1": {
        "inputs": {"seconds": 12.5, "hit": True, **_exposures(dict.fromkeys(BACKGROUND, 2.5))},
        "detector1": _detector1(dict.fromkeys(BACKGROUND, 9.0), SCIENCE, 46.5),
        "background": _background(8.2),
    },
}
"""A cold -n 2 run: gw0 simulated the science exposures (8 s) and ran detector1 on them
(46 s of calls), gw1 did the backgrounds (10 s, 36 s) and found the data set built."""


def test_stage_times_of_a_cold_run():
    times = records.stage_times(COLD_STAGES)
    expected = {
        "simulate_s": 12.5,
        "simulate_hit": True,
        "simulate_calls_s": {"gw0": 8.0, "gw1": 10.0},
        "detector1_s": 47.0,
        "detector1_built": 8,
        "detector1_calls_s": {"gw0": 46.0, "gw1": 36.0},
        "associations_s": None,
        "background_s": 8.2,
        "background_calls_s": {"gw0": pytest.approx(4.8), "gw1": pytest.approx(3.0)},
    }
    assert times == expected, f"stage times (s): expected {expected}, got {times}"


def test_bare_pipeline_is_the_busiest_worker_in_each_stage():
    bare = records.bare_seconds(records.stage_times(COLD_STAGES))
    assert bare == pytest.approx(46.0 + 4.8), f"bare pipeline: expected 50.8 s, got {bare} s"


def test_warm_run_bare_pipeline_is_the_background_alone():
    alone = {sigma: dict.fromkeys(names, "main") for sigma, names in RAN_BY.items()}
    warm = {
        "main": {
            "detector1": _detector1({}, SCIENCE + BACKGROUND, 1.5),
            "background": _background(8.0, alone),
        }
    }
    times = records.stage_times(warm)
    got = (times["detector1_built"], times["simulate_s"], records.bare_seconds(times))
    assert got == (0, None, pytest.approx(7.8)), (
        f"(exposures built, simulate s, bare s): expected (0, None, 7.8), got {got}"
    )


def test_bare_pipeline_unknown_without_a_background_record():
    times = records.stage_times({"gw0": {"detector1": COLD_STAGES["gw0"]["detector1"]}})
    assert records.bare_seconds(times) is None, f"bare from {times}: expected None"


def test_read_run_keys_records_by_worker(tmp_path):
    (tmp_path / "stages").mkdir()
    for worker, record in COLD_STAGES.items():
        (tmp_path / "stages" / f"{worker}.json").write_text(json.dumps(record))
    got = run_records.read_run(tmp_path).stages
    assert got == COLD_STAGES, f"workers read: {sorted(got)}, expected gw0 and gw1"


def test_outcome_summary_counts_outcomes_and_sums_call_durations(tmp_path):
    """The JUnit times are the calls' (pytest.ini ``junit_duration_report = call``)."""
    (tmp_path / "stages").mkdir()
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="a.test_m" name="t1" time="1.25"/>'
        '<testcase classname="a.test_m" name="t2" time="2.0"><failure message="x"/></testcase>'
        '<testcase classname="a.test_m" name="t3" time="0.5">'
        '<skipped type="pytest.xfail" message="known"/></testcase>'
        '<testcase classname="a.test_m" name="t4" time="0"><error message="setup"/></testcase>'
        "</testsuite></testsuites>"
    )
    session = {"session": {"exitstatus": 1, "junit": "junit.xml"}}
    (tmp_path / "stages" / "main.json").write_text(json.dumps(session))
    got = records.outcome_summary(run_records.read_run(tmp_path))
    expected = {
        "counts": {"passed": 1, "failed": 1, "xfailed": 1, "error": 1},
        "tests_s": 3.75,
        "exitstatus": 1,
    }
    assert got == expected, f"expected {expected}, got {got}"


def test_outcome_summary_without_outcomes(tmp_path):
    got = records.outcome_summary(run_records.read_run(tmp_path))
    assert got["tests_s"] is None and got["counts"] == {}, f"no outcome record gave {got}"


@pytest.mark.parametrize(
    ("op", "value", "target", "status"),
    [
        pytest.param("<=", 1.29, 1.3, "pass", id="le-below"),
        pytest.param("<=", 1.3, 1.3, "pass", id="le-equal"),
        pytest.param("<=", 1.31, 1.3, "MISS", id="le-above"),
        pytest.param(">=", 1.6, 1.6, "pass", id="ge-equal"),
        pytest.param(">=", 1.59, 1.6, "MISS", id="ge-below"),
        pytest.param("<=", None, 15.0, "not measured", id="skipped"),
    ],
)
def test_figure_status(op, value, target, status):
    figure = measurements.Measurement("f", value, op, target, "", "test")
    assert figure.status == status, f"{value} {op} {target}: expected {status}, got {figure.status}"


def test_figures_from_runs():
    runs = {
        "cold_n2": {"wall_s": 100.0, "bare_pipeline_s": 80.0, "peak_rss_mib": {"a 1": 900.0}},
        "warm_n2": {"wall_s": 20.0, "peak_rss_mib": {"a 2": 2048.0}},
        "edited_n2": {"wall_s": 14.0, "peak_rss_mib": {}},
        "cold_n1": {"wall_s": 170.0, "peak_rss_mib": {"a 3": 1000.0}},
    }
    floor = {"warm_ratio": 1.6, "edit_ratio": 1.2}
    figs = measurements.measurements(runs, {"bare_s": 70.0}, {"ratio": 2.5}, floor)
    got = [(f.value, f.status) for f in figs]
    expected = [
        (1.25, "pass"),
        (1.43, "MISS"),
        (20.0, "MISS"),
        (14.0, "pass"),
        (1.6, "MISS"),
        (1.2, "pass"),
        (1.7, "pass"),
        (2.0, "pass"),
        (2.5, "MISS"),
    ]
    assert got == expected, f"(value, status) per figure: expected {expected}, got {got}"


def test_figures_without_cold_runs_are_not_measured():
    runs = {"warm_n2": {"wall_s": 12.0, "peak_rss_mib": {}}}
    figs = measurements.measurements(runs, None, {"ratio": 1.5})
    not_measured = [f.name for f in figs if f.status == "not measured"]
    assert len(not_measured) == 7, (
        f"expected overhead x2, the edited run, both floor ratios, speed-up, RSS "
        f"unmeasured: {not_measured}"
    )


def test_table_shows_value_target_and_miss():
    warm = measurements.Measurement("warm wall", 20.0, "<=", 15.0, "s", "a developer's loop")
    table = measurements.format_table([warm])
    row = table.splitlines()[1].split()
    expected = ["warm", "wall", "20", "s", "<=", "15", "s", "MISS"]
    assert row == expected, f"expected the row {expected}, got:\n{table}"


def test_parse_vmhwm():
    status = "Name:\tpython\nVmPeak:\t 2000000 kB\nVmHWM:\t  912340 kB\nVmRSS:\t  800000 kB\n"
    got = (host.parse_vmhwm_kib(status), host.parse_vmhwm_kib("Name:\tkthreadd\n"))
    assert got == (912340, None), f"(VmHWM KiB, without VmHWM): got {got}"


def test_descendants_include_a_child_process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        found = [process.pid for process in host.descendants(os.getpid())]
    finally:
        child.kill()
        child.wait()
    assert child.pid in found and os.getpid() in found, f"{child.pid} not in tree {found}"


@pytest.mark.parametrize(
    ("cmdline", "is_root", "expected"),
    [
        pytest.param("python -m pytest tests", True, "pytest controller", id="root"),
        pytest.param(
            "python -c import sys;exec(eval(sys.stdin.readline()))",
            False,
            "xdist worker",
            id="execnet",
        ),
        pytest.param(
            "python -c from multiprocessing.spawn import spawn_main",
            False,
            "detector1 pool process",
            id="spawn",
        ),
    ],
)
def test_role(cmdline, is_root, expected):
    got = host.role(cmdline, is_root)
    assert got == expected, f"{cmdline!r}: expected {expected!r}, got {got!r}"


def test_fastest_completed_sample_is_kept_with_every_wall_time():
    samples = [
        {"wall_s": 90.0, "error": "pytest exited 3"},
        {"wall_s": 101.0, "label": "slow"},
        {"wall_s": 95.5, "label": "fast"},
    ]
    got = suite.fastest(samples)
    assert (got["label"], got["samples_wall_s"]) == ("fast", [90.0, 101.0, 95.5]), (
        f"kept {got}: expected the 95.5 s run (the 90 s one failed) and all 3 wall times"
    )


def test_steal_seconds_grow_with_the_host():
    before = host.steal_seconds()
    assert before is not None and before >= 0.0, f"steal on Linux: expected seconds, got {before}"
    assert host.steal_seconds() >= before, "steal time went backwards"


def test_sampler_records_its_own_process_peak():
    sampler = host.TreeSampler(os.getpid())
    sampler.sample()
    got = sampler.peaks.get(os.getpid())
    assert got is not None and got[0] == "pytest controller" and got[1] > 0, f"peaks {got}"


def test_floors_take_the_slowest_workers_share():
    """warm floor = startup + max_w(products_w + scenario loads_w); edit floor adds
    max_w(background calls_w + scenario jwst calls_w); ratios are wall / floor."""
    from miri_background.harness.bench import floors

    warm_records = {
        "gw0": {"products": {"seconds": 2.0}, "scenarios": {"a": {"jwst_s": 0.0, "other_s": 1.0}}},
        "gw1": {"products": {"seconds": 1.0}, "scenarios": {"b": {"jwst_s": 0.0, "other_s": 0.5}}},
    }
    background = {
        "pipeline_seconds": {"sigma2": {"s1": 4.0, "s2": 3.0}},
        "ran_by": {"sigma2": {"s1": "gw0", "s2": "gw1"}},
    }
    edited_records = {
        "gw0": {"background": background, "scenarios": {"a": {"jwst_s": 1.0, "other_s": 1.0}}},
        "gw1": {"background": background, "scenarios": {"b": {"jwst_s": 3.0, "other_s": 0.5}}},
    }
    got = floors.floors(
        4.0,
        {"wall_s": 10.5, "stage_records": warm_records},
        {"wall_s": 21.0, "stage_records": edited_records},
    )
    # warm: 4 + max(2 + 1, 1 + 0.5) = 7; edit: 7 + max(4 + 1, 3 + 3) = 13
    assert got == {
        "startup_s": 4.0,
        "warm_floor_s": 7.0,
        "warm_ratio": 1.5,
        "edit_floor_s": 13.0,
        "edit_ratio": round(21.0 / 13.0, 2),
    }, got


def test_scenario_costs_sum_cases_at_their_slowest_worker():
    from miri_background.harness.bench import floors
    from miri_background.scenarios.catalog import by_id

    scenario = by_id()["supply-bkg_list"]
    a, b = (c.id for c in scenario.cases())
    warm = {
        "gw0": {
            "scenarios": {a: {"jwst_s": 0.0, "other_s": 0.1}, b: {"jwst_s": 0, "other_s": 0.2}}
        },
        "gw1": {"scenarios": {a: {"jwst_s": 0.0, "other_s": 0.3}}},
    }
    edited = {"gw0": {"scenarios": {a: {"jwst_s": 0.5, "other_s": 0.1}}}}
    got = floors.scenario_costs(warm, edited)[scenario.id]
    assert got == {"cases": 2, "warm_s": 0.5, "after_edit_s": 0.6}, got
