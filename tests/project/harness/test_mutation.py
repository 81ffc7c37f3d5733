"""Mutation harness: enumeration, scope and regions, sampling and shards, the import hook
(never touching the installed jwst, even under kill -9), kill rates, and two real mutants."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from miri_background.harness import (
    mutant_import,
    mutants,
    mutation,
    mutation_report,
    mutation_sessions,
)

KILLABLE = "background_sub.py:core/NumberReplacer:76"
"""L306 ``mdata.mean(axis=0)`` -> ``axis= 1``: the combined background has the wrong shape."""
EQUIVALENT = "background_sub.py:core/ReplaceComparisonOperator_Eq_NotEq:3"
"""L48, the NIRCam-only 2048 x 2048 default: never runs for MIRI (equivalents file)."""


def _tree_sha256(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def jwst_300():
    """Skip unless the installed background files are jwst 3.0.0's (line numbers, counts)."""
    _, notes = mutation_report.equivalents()
    if notes:
        pytest.skip(f"not jwst 3.0.0's background files: {notes}")


def test_counts_and_imaging_scope(jwst_300):
    counts = mutants.enumerate_counts()
    assert counts["background_sub.py"] == {"cosmic_ray": 458, "imaging_path": 458}, counts
    step = mutants.all_mutants("background_step.py")
    assert counts["background_step.py"]["imaging_path"] == len(step) < 127, counts
    source = mutants.original_source("background_step.py").splitlines()
    for m in step:
        assert "subtract_wfss_bkg" not in source[m.line - 1], m
        assert "soss_bkg_percentile" not in source[m.line - 1], m
    lines = {m.line for m in step}
    wfss_soss = {*range(70, 114), *range(115, 139), *range(247, 260)}
    assert {69, 114} <= lines and not lines & wfss_soss, sorted(lines)


def test_regions_follow_the_definitions(jwst_300):
    by_line = {m.line: m.region for m in mutants.all_mutants("background_sub.py")}
    assert by_line[40] == mutants.SUBARRAY  # ImageSubsetArray.__init__
    assert by_line[285] == mutants.BRANCH_3D  # sigma_clip along integrations
    assert by_line[306] == mutants.COMBINE_2D  # mean of the clipped backgrounds
    assert set(by_line.values()) <= set(mutants.REGIONS)


def test_sample_is_deterministic_and_shards_partition_it():
    first = [m.id for m in mutants.select(sample=12, seed=3)]
    assert first == [m.id for m in mutants.select(sample=12, seed=3)]
    assert first != [m.id for m in mutants.select(sample=12, seed=4)]
    shards = [[m.id for m in mutants.select(sample=12, seed=3, shard=(i, 3))] for i in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(first) and all(shards)
    with pytest.raises(ValueError, match="unknown mutant id"):
        mutants.select(only=["background_sub.py:core/Nothing:0"])
    with pytest.raises(ValueError, match="need 1 <= i <= N"):
        mutants.select(shard=(4, 3))


def test_one_line_diff_and_source(jwst_300):
    (m,) = mutants.select(only=[KILLABLE])
    assert m.diff == (
        "L306: avg_bkg.data = mdata.mean(axis=0).data -> avg_bkg.data = mdata.mean(axis= 1).data"
    )
    assert "mean(axis= 1)" in m.source() and "mean(axis= 1)" not in mutants.original_source(m.file)


def test_equivalents_are_reasoned_and_in_range(jwst_300):
    found, _ = mutation_report.equivalents()
    assert EQUIVALENT in found and KILLABLE not in found
    assert all(len(reason) > 30 for reason in found.values())
    every = {m.id for f in mutants.FILES for m in mutants.all_mutants(f)}
    assert set(found) <= every, set(found) - every


def test_hook_serves_the_mutant_and_leaves_jwst_alone(tmp_path):
    """A process with the finder installed imports the mutant from the copy; the rest of
    jwst is the installed one, and the installed files are unchanged."""
    installed = mutants.jwst_background_dir()
    before = _tree_sha256(installed)
    (m,) = mutants.select(only=[KILLABLE])
    mutant_import.prepare(tmp_path / "hook", {m.module: m.source()})
    probe = (
        "import inspect, pathlib, sys; from miri_background.harness import mutant_import;"
        "mutant_import.install(pathlib.Path(sys.argv[1]));"
        "import jwst.background.background_step as s, jwst.background.background_sub as b;"
        "print(b.__file__); print(s.__file__); print('axis= 1' in inspect.getsource(b))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "hook")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [
        str(tmp_path / "hook" / "served" / "jwst_background_background_sub.py"),
        str(installed / "background_step.py"),
        "True",
    ], out
    assert len(mutant_import.loaded(tmp_path / "hook")) == 1
    assert _tree_sha256(installed) == before


def _record(mid: str, suite: str, jwst: str, equivalent: str | None = None) -> dict:
    (m,) = mutants.select(only=[mid])
    record = {"id": m.id, "file": m.file, "region": m.region, "diff": m.diff, "seconds": 4.0}
    for side, status in (("suite", suite), ("jwst", jwst)):
        record[side] = {"status": status, "timeout": False, "seconds": 2.0}
    return record | {"equivalent": equivalent}


def test_score_is_killed_over_non_equivalent():
    ids = [m.id for m in mutants.all_mutants("background_sub.py")[:3]]
    records = [
        _record(ids[0], "killed", "survived"),
        _record(ids[1], "survived", "survived"),
        _record(EQUIVALENT, "survived", "survived", equivalent="NIRCam"),
    ]
    s = mutation_report.summarize(records)
    expected = {"mutants": 3, "equivalent": 1, "killed": 1, "timeouts": 0, "survived": 1}
    expected |= {"not_run": 0}
    assert s["suite"]["overall"] == expected | {"errors": 0, "score": 0.5}, s["suite"]["overall"]
    assert [v["id"] for v in s["suite"]["survivors"]] == [ids[1]]
    assert s["jwst"]["overall"]["score"] == 0.0
    shard = {"jwst": {"sha256": {}}, "selection": {}, "clean": {}, "complete": True, "seconds": 1.0}
    merged = mutation_report.merge(
        [shard | {"mutants": records[:2]}, shard | {"mutants": records[1:]}]
    )
    assert [r["id"] for r in merged["mutants"]] == [ids[0], ids[1], EQUIVALENT]
    assert merged["summary"]["suite"]["overall"]["score"] == 0.5


def test_merge_joins_the_sides_of_separate_runs():
    """A suite-only run and a jwst-only run of the same mutant merge into one record."""
    (mid,) = [m.id for m in mutants.all_mutants("background_sub.py")[:1]]
    both = _record(mid, "killed", "survived")
    suite = {k: v for k, v in both.items() if k != "jwst"}
    jwst = {k: v for k, v in both.items() if k != "suite"}
    shard = {"jwst": {"sha256": {}}, "selection": {}, "complete": True, "seconds": 1.0}
    merged = mutation_report.merge([shard | {"mutants": [suite]}, shard | {"mutants": [jwst]}])
    (record,) = merged["mutants"]
    assert (record["suite"]["status"], record["jwst"]["status"]) == ("killed", "survived")
    assert record["seconds"] == 4.0, record
    assert merged["summary"]["jwst"]["overall"]["killed"] == 0


def test_cost_goes_into_bench_json_beside_the_other_figures(tmp_path):
    """The run's wall time and per-mutant figures land in bench.json's ``mutation`` entry;
    the benchmark's own entries stay."""
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"cold_wall_seconds": 57.2}))
    records = [
        _record(m.id, "killed", "killed") for m in mutants.all_mutants("background_sub.py")[:2]
    ]
    report = {"selection": {"ids": [r["id"] for r in records]}, "mutants": records}
    report["summary"] = mutation_report.summarize(records) | {"wall_seconds_per_mutant": 3.5}
    report["seconds"] = 7.0
    mutation._bench(SimpleNamespace(bench=bench, workers=2), report)
    got = json.loads(bench.read_text())
    assert got["cold_wall_seconds"] == 57.2
    assert got["mutation"]["wall_seconds"] == 7.0 and got["mutation"]["mutants"] == 2, got
    assert got["mutation"]["wall_seconds_per_mutant"] == 3.5
    assert got["mutation"]["median_session_seconds_per_mutant"] == 4.0, got


def _args(root: Path, tmp_path: Path, **given) -> SimpleNamespace:
    """The harness's arguments: no clean pass, two sessions at once, the project's cache
    (where ``make test``'s regression run keeps its simulation)."""
    defaults = {
        "out": tmp_path / "mutation.json",
        "mutants": None,
        "seed": 0,
        "shard": (1, 1),
        "only": None,
        "sides": list(mutation_report.SIDES),
        "tests": str(root / "tests" / "regression"),
        "workers": 2,
        "data_sets": ["mirisim"],
        "cache_dir": root / ".cache" / "mb",
        "timeout": 900.0,
        "no_clean": True,
        "skip_equivalent": False,
        "list": False,
        "merge": None,
        "bench": tmp_path / "bench.json",
    }
    return SimpleNamespace(**(defaults | given))


@pytest.mark.slow
def test_harness_kills_a_killable_mutant_and_spares_an_equivalent(request, tmp_path, jwst_300):
    """Both sides, two real mutants: L306 axis=1 killed by each side; the NIRCam-only L48
    mutant survives both (so the suite does not fail on a change MIRI cannot see)."""
    root = Path(request.config.rootpath)
    args = _args(root, tmp_path, only=[KILLABLE, EQUIVALENT])
    assert mutation.run(args) == 0
    report = json.loads(args.out.read_text())
    got = {r["id"]: (r["suite"]["status"], r["jwst"]["status"]) for r in report["mutants"]}
    assert got == {KILLABLE: ("killed", "killed"), EQUIVALENT: ("survived", "survived")}, report
    first = report["mutants"][0]
    assert first["suite"]["killed_by"].startswith("[mirisim] tests/regression/"), first
    assert "test_background.py::" in first["jwst"]["killed_by"], first
    assert all(r["suite"]["imported"] and r["jwst"]["imported"] for r in report["mutants"])
    assert report["mutants"][1]["equivalent"], report["mutants"][1]
    assert report["summary"]["suite"]["overall"]["score"] == 1.0 and report["complete"]


@pytest.mark.slow
def test_skip_equivalent_records_a_declared_equivalent_without_a_session(
    request, tmp_path, jwst_300
):
    """``--skip-equivalent``: a declared equivalent gets no session on either side, and its
    record says why (without the flag it runs both: the test above)."""
    root = Path(request.config.rootpath)
    args = _args(root, tmp_path, only=[EQUIVALENT], skip_equivalent=True)
    assert mutation.run(args) == 0
    (record,) = json.loads(args.out.read_text())["mutants"]
    for side in mutation_report.SIDES:
        assert record[side]["run"] is False, record
        assert "--skip-equivalent" in record[side]["reason"], record
    assert record["equivalent"], record


@pytest.mark.slow
def test_kill_9_mid_mutant_leaves_the_installed_jwst_byte_identical(request, tmp_path, jwst_300):
    """kill -9 of the harness while a mutant is imported and its tests run: its sessions
    die with it, every file under the installed jwst/background keeps its sha256, and no
    file appears."""
    root = Path(request.config.rootpath)
    installed = mutants.jwst_background_dir()
    before = _tree_sha256(installed)
    command = [sys.executable, "-m", "miri_background", "mutation", "--only", KILLABLE]
    command += ["--sides", "jwst", "--no-clean", "--cache-dir", str(root / ".cache" / "mb")]
    command += ["--out", str(tmp_path / "mutation.json")]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    harness = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob("mb-mutation-*/mutant-*/hook/loaded.log")):
        assert harness.poll() is None, "the harness ended before the mutant was imported"
        assert time.monotonic() < deadline, "the mutant was not imported within 300 s"
        time.sleep(0.2)
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    deadline = time.monotonic() + 3  # SIGKILL is immediate; a session runs for >= 8 s
    while (left := _sessions_of_this_test(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "the harness's sessions outlived it (PR_SET_PDEATHSIG)"
    assert _tree_sha256(installed) == before


def _sessions_of_this_test(tmp_path: Path) -> list[int]:
    """Pids of the harness's forked sessions still alive (their command line is the
    harness's, which names ``tmp_path``)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().split()[2] if proc.name.isdigit() else "Z"
        except OSError:
            continue
        if state != "Z" and str(tmp_path) in cmdline and "miri_background" in cmdline:
            found.append(int(proc.name))
    return found


@pytest.mark.parametrize(
    ("body", "timeout", "status", "killed_by"),
    [
        ("assert True", 60, "survived", None),
        ("assert False", 60, "killed", "test_probe.py::test_probe"),
        ("assert True", 60, "error", None),  # with an unknown option: usage error, exit 4
        ("import time; time.sleep(60)", 1, "killed", "timeout after 1 s"),
    ],
    ids=["pass", "fail", "usage-error", "timeout"],
)
def test_session_status_from_exit_status_and_timeout(tmp_path, body, timeout, status, killed_by):
    """A forked pytest session: exit 0 survives, 1-3 kill (the first failing test named),
    other exits are harness errors; a timeout kills its process group (and says so)."""
    from miri_background.harness import mutant_fork

    (m,) = mutants.select(only=[KILLABLE])
    mutant_import.prepare(tmp_path / "hook", {m.module: m.source()})
    (tmp_path / "test_probe.py").write_text(
        f"import jwst.background.background_sub\n\ndef test_probe():\n    {body}\n"
    )
    args = ("-p", "no:cacheprovider", "test_probe.py", "--junitxml", str(tmp_path / "s.xml"))
    args += ("--no-such-option",) if status == "error" else ()
    session = mutant_fork.Session("probe", args, tmp_path, {}, tmp_path / "hook", tmp_path / "log")
    chain = mutant_fork.Chain("probe", [session], lambda r: True)
    ended = []
    t0 = time.monotonic()
    mutant_fork.run_chains([chain], 1, lambda s: timeout, ended.append, mutation_sessions.outcome)
    (result,) = chain.results
    assert ended == [chain] and time.monotonic() - t0 < 30
    assert (result["status"], result["killed_by"]) == (status, killed_by), result
    assert result["timeout"] == (timeout == 1)
    assert result["imported"] == (status != "error"), result  # the child imported the copy


def test_unexecuted_statement_is_not_run():
    """A mutant whose statement the clean pass never ran is survived without a session;
    a line of a multi-line statement counts as run when any line of it ran."""
    (m,) = mutants.select(only=[EQUIVALENT])  # L48, NIRCam-only
    assert mutants.statement_lines(m.file, m.line) == range(48, 49)
    assert "line(s) 48" in mutation_sessions.not_executed(m, {m.module: {40, 41, 57}})
    assert mutation_sessions.not_executed(m, {m.module: {48}}) is None
    slice_line = next(x for x in mutants.all_mutants("background_sub.py") if x.line == 144)
    span = mutants.statement_lines(slice_line.file, 144)
    assert span.start < 144 < span.stop - 1, span  # the idx = (...) statement
    assert mutation_sessions.not_executed(slice_line, {slice_line.module: {span.start}}) is None


def test_scenario_tests_go_first_grouped_by_case_cheapest_first():
    """Scenario tests first, all tests of a case together, cheaper cases first (pixels
    read: `case_cost`), then the notebook's in collection order."""
    from miri_background.scenarios.catalog import by_id
    from miri_background.scenarios.model import Case

    full = Case(by_id()["subarray-SUB256-in-FULL"], 2.0)
    small = Case(by_id()["supply-bkg_list"], 2.0)
    assert mutation_sessions.case_cost(small) < mutation_sessions.case_cost(full)

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
    mutation_sessions.ScenariosFirst().pytest_collection_modifyitems(items)
    got = [(i.file, i.case.id if i.case else None) for i in items]
    assert got == [
        ("test_scenarios_err", small.id),
        ("test_scenarios_subarray", small.id),
        ("test_scenarios_err", full.id),
        ("test_scenarios_subarray", full.id),
        ("test_bsub", None),
        ("test_combined", None),
    ], got


def test_report_section_lists_rates_and_survivors():
    from miri_background.report.html import mutation_section

    ids = [m.id for m in mutants.all_mutants("background_sub.py")[:2]]
    records = [_record(ids[0], "killed", "killed"), _record(ids[1], "survived", "killed")]
    summary = mutation_report.summarize(records)
    page = mutation_section(
        {"cosmic_ray": "8.7.0", "jwst": {"version": "3.0.0"}, "summary": summary}
    )
    assert "1/2 (0.5)" in page and "2/2 (1.0)" in page, page
    assert ids[1] in page and ids[0] not in page, page


def test_served_mutant_enters_every_key_on_jwst_source(tmp_path):
    """A served mutant (the plugin tells `keys.override`) enters the keys of every stage
    that runs jwst: the hook's file is in no installed tree or trace; faults reach only the
    stages that run the background step."""
    from miri_background import keys, software

    (m,) = mutants.select(only=[KILLABLE])
    digest = mutant_import.prepare(tmp_path / "hook", {m.module: m.source()})
    stages = ("detector1", "background", "scenario-run")
    assert all(keys.CODE_OVERRIDES not in keys.stage_parts(s) for s in stages)
    keys.override(software.OVERRIDES_KEY, digest)
    keys.override("faults", ["f"], stages=("background",))
    try:
        got = {s: keys.stage_parts(s).get(keys.CODE_OVERRIDES) for s in stages}
    finally:
        keys.override(software.OVERRIDES_KEY, None)
        keys.override("faults", None)
    assert got == {
        "detector1": {software.OVERRIDES_KEY: digest},
        "background": {software.OVERRIDES_KEY: digest, "faults": ["f"]},
        "scenario-run": {software.OVERRIDES_KEY: digest},
    }, got
    assert keys.CODE_OVERRIDES not in keys.stage_parts("background")


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

    combined = mutation_sessions.combine(
        [session("mirisim", "survived"), session("flight", "killed", "tests/regression/t.py::x")]
    )
    assert combined["status"] == "killed" and combined["seconds"] == 20.0, combined
    assert combined["killed_by"] == "[flight] tests/regression/t.py::x", combined
    assert [s["session"] for s in combined["sessions"]] == ["mirisim", "flight"]
    assert mutation_sessions.combine([session("jwst", "survived")])["status"] == "survived"
