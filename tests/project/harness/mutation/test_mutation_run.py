"""The mutation command and its report: kill rates, merged shards, the cost in bench.json,
the report's section, and (``--slow``) two real mutants and a kill -9 mid-mutant."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.project.harness.mutation.known_mutants import EQUIVALENT, KILLABLE, tree_sha256
from tests.project.suite_runner import SRC

from miri_background.harness.mutation import mutants, run
from miri_background.harness.mutation import report as mutation_report


def _record(mid: str, suite: str, upstream: str, equivalent: str | None = None) -> dict:
    (m,) = mutants.select(only=[mid])
    record = {"id": m.id, "file": m.file, "region": m.region, "diff": m.diff, "seconds": 4.0}
    for side, status in (("suite", suite), ("upstream", upstream)):
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
    assert s["upstream"]["overall"]["score"] == 0.0
    shard = {"modules": {}, "selection": {}, "clean": {}, "complete": True, "seconds": 1.0}
    merged = mutation_report.merge(
        [shard | {"mutants": records[:2]}, shard | {"mutants": records[1:]}]
    )
    assert [r["id"] for r in merged["mutants"]] == [ids[0], ids[1], EQUIVALENT]
    assert merged["summary"]["suite"]["overall"]["score"] == 0.5


def test_merge_joins_the_sides_of_separate_runs():
    """A suite-only run and an upstream-only run of the same mutant merge into one record."""
    (mid,) = [m.id for m in mutants.all_mutants("background_sub.py")[:1]]
    both = _record(mid, "killed", "survived")
    suite = {k: v for k, v in both.items() if k != "upstream"}
    upstream = {k: v for k, v in both.items() if k != "suite"}
    shard = {"modules": {}, "selection": {}, "complete": True, "seconds": 1.0}
    merged = mutation_report.merge([shard | {"mutants": [suite]}, shard | {"mutants": [upstream]}])
    (record,) = merged["mutants"]
    assert (record["suite"]["status"], record["upstream"]["status"]) == ("killed", "survived")
    assert record["seconds"] == 4.0, record
    assert merged["summary"]["upstream"]["overall"]["killed"] == 0


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
    run._bench(SimpleNamespace(bench=bench, workers=2), report)
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
        "target": "background",
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
    assert run.run(args) == 0
    report = json.loads(args.out.read_text())
    got = {r["id"]: (r["suite"]["status"], r["upstream"]["status"]) for r in report["mutants"]}
    assert got == {KILLABLE: ("killed", "killed"), EQUIVALENT: ("survived", "survived")}, report
    first = report["mutants"][0]
    assert first["suite"]["killed_by"].startswith("[mirisim] tests/regression/"), first
    assert "test_background.py::" in first["upstream"]["killed_by"], first
    assert all(r["suite"]["imported"] and r["upstream"]["imported"] for r in report["mutants"])
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
    assert run.run(args) == 0
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
    before = tree_sha256(installed)
    command = [sys.executable, "-m", "miri_background", "mutation", "--only", KILLABLE]
    command += ["--sides", "upstream", "--no-clean", "--cache-dir", str(root / ".cache" / "mb")]
    command += ["--out", str(tmp_path / "mutation.json")]
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(SRC)}  # this checkout
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
    assert tree_sha256(installed) == before


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

def test_report_section_lists_rates_and_survivors():
    from miri_background.report.html import mutation_section, render_page

    ids = [m.id for m in mutants.all_mutants("background_sub.py")[:2]]
    records = [_record(ids[0], "killed", "killed"), _record(ids[1], "survived", "killed")]
    summary = mutation_report.summarize(records)
    section = mutation_section(
        {"cosmic_ray": "8.7.0", "target": "background", "summary": summary}
    )
    page = render_page("mutation", "pass", "PASS", [section])
    assert "1/2 (0.5)" in page and "2/2 (1.0)" in page, page
    assert ids[1] in page and ids[0] not in page, page


