"""The regression suite run as a user runs it: offline, detector1 once per exposure, cached.

Two sessions of ``tests/regression/test_miri_image_pipeline.py`` on 2 xdist workers run in
subprocesses, with the network forbidden (the ``_no_network`` plugin) and a fresh
temporary cache: a cold one, all of the module (simulation, detector1, associations and the
background step run), and a warm one, all of the module again, on the same cache: every
detector1 and background unit a hit (depend mode), no jwst pipeline call. Seed 7, so that
the cold session cannot reuse anything.

Cost: one cold session (simulate 8 exposures, detector1 x 8 over 2 workers, background
x 3 sigmas: about 2.5 min on 2 idle cores) and one warm session (about 20 s). Under
pytest-xdist the two sessions still run once: the first worker to get here runs them under a
file lock in the run's shared temporary directory and the others read its record (a worker
that arrives meanwhile waits, while the sessions' own 2 workers use the cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from miri_background.cache import MANIFEST, verify
from miri_background.run_records import read_run

pytestmark = pytest.mark.slow

SUITE = "tests/regression/test_miri_image_pipeline.py"
SEED = 7
N_EXPOSURES = 8
WORKERS = ("gw0", "gw1")
TIMEOUT_S = 1200
"""Per session; a cold one takes about 2.5 min on 2 idle cores, 5.5 min under full load."""

DETECTOR1_START = "Step Detector1Pipeline running with args"
"""stpipe's log line at the start of each detector1 call (in logs/detector1_<name>.log)."""
IMAGE2_START = "Step Image2Pipeline running with args"
"""... and of each image2 background call (in logs/background_<worker>.log)."""
N_BACKGROUND_CALLS = 12
"""3 sigmas x 4 science associations."""


@dataclass(frozen=True)
class Session:
    """What one subprocess session left behind."""

    returncode: int
    output: str
    run_dir: Path
    guard_dir: Path
    cache_dir: Path

    @property
    def stages(self) -> dict[str, dict]:
        """Worker id -> its stage records (`run_records.read_run`), for the processes that
        ran the stages (not an xdist controller's ``session`` record)."""
        return {w: s for w, s in read_run(self.run_dir).stages.items() if "run" in s}

    def detector1(self) -> dict[str, dict]:
        """Worker id -> exposure -> {hit, seconds, reason, key}."""
        return {w: s["detector1"]["exposures"] for w, s in self.stages.items()}

    def simulated(self) -> dict[str, dict]:
        """Worker id -> exposure -> {hit, seconds} of the simulation."""
        return {w: s["inputs"]["exposures"] for w, s in self.stages.items()}


PATHS = ("run_dir", "guard_dir", "cache_dir")


def _run_suite(root: Path, cache: Path, name: str, *select: str) -> Session:
    """Run the suite (``select``: extra pytest arguments) in a subprocess from the project
    root, offline, with its run directory under ``root/name``."""
    out = root / name
    guard = out / "guard"
    guard.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["MB_NO_NETWORK_DIR"] = str(guard)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        SUITE,
        "-n",
        str(len(WORKERS)),
        "--cache-dir",
        str(cache),
        "--sim-seed",
        str(SEED),
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.project._no_network",
        "-o",
        f"miri_background_runs={out / 'runs'}",
        "-q",
        *select,
    ]
    rootdir = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        cmd, cwd=rootdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    latest = out / "runs" / "LATEST"
    run_dir = out / "runs" / (latest.read_text().strip() if latest.is_file() else "missing")
    return Session(proc.returncode, proc.stdout + proc.stderr, run_dir, guard, cache)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory, worker_id) -> dict[str, Session]:
    """The cold and the warm session, run once per pytest run (shared by xdist workers)."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    root = shared / "pipeline_once"
    record = root / "sessions.json"
    with FileLock(str(root) + ".lock"):
        if not record.is_file():
            cache = root / "cache"
            result = {
                "cold": _run_suite(root, cache, "cold"),
                "warm": _run_suite(root, cache, "warm"),
            }
            for inputs in ("simulated", "sim-exposure"):  # 300 MB of inputs
                shutil.rmtree(cache / inputs, ignore_errors=True)
            record.write_text(json.dumps({n: asdict(s) for n, s in result.items()}, default=str))
    return {
        n: Session(d["returncode"], d["output"], *(Path(d[k]) for k in PATHS))
        for n, d in json.loads(record.read_text()).items()
    }


@pytest.mark.parametrize("name", ["cold", "warm"])
def test_session_passes_offline(sessions, name):
    """The session tried no network connection (a refused one that the code swallowed
    counts too), had the guard in all 3 processes (controller, 2 workers), and passed."""
    session = sessions[name]
    attempts = session.guard_dir / "attempts.log"
    assert not attempts.exists(), (
        f"{name} session: network attempts:\n{attempts.read_text()[:4000]}"
    )
    installed = sorted(p.read_text().strip() for p in session.guard_dir.glob("installed-*"))
    assert installed == ["controller", *WORKERS], f"guard installed in {installed}"
    assert session.returncode == 0, f"{name} session failed:\n{session.output[-4000:]}"


@pytest.mark.parametrize("stage", ["simulated", "detector1"])
def test_cold_session_builds_each_exposure_once(sessions, stage):
    """Cold: 8 misses in total, one per exposure, shared by both workers."""
    per_worker = getattr(sessions["cold"], stage)()
    assert sorted(per_worker) == list(WORKERS), f"stage records from {sorted(per_worker)}"
    misses = Counter(n for exps in per_worker.values() for n, e in exps.items() if not e["hit"])
    assert sum(misses.values()) == N_EXPOSURES and len(misses) == N_EXPOSURES, (
        f"{stage}: expected each of {N_EXPOSURES} exposures built once, got {dict(misses)}"
    )
    by_worker = {w: sum(not e["hit"] for e in exps.values()) for w, exps in per_worker.items()}
    assert all(by_worker.values()), f"{stage}: one worker built everything: {by_worker}"


def test_cold_session_called_detector1_once_per_exposure(sessions):
    """Each exposure's jwst log holds exactly one Detector1Pipeline run."""
    logs = sorted(sessions["cold"].run_dir.glob("logs/detector1_*.log"))
    runs = {p.stem: p.read_text().count(DETECTOR1_START) for p in logs}
    assert len(runs) == N_EXPOSURES and set(runs.values()) == {1}, (
        f"expected 1 detector1 call in each of {N_EXPOSURES} logs, got {runs}"
    )


def test_cold_session_shares_the_background_calls(sessions):
    """The 12 Image2Pipeline calls ran once each, split between the two workers: both
    stage records name the same maker per (sigma, association), and the jwst logs hold 12
    Image2Pipeline starts in total."""
    records = {w: s["background"]["ran_by"] for w, s in sessions["cold"].stages.items()}
    assert sorted(records) == list(WORKERS), f"background records from {sorted(records)}"
    ran_by = records["gw0"]
    assert records["gw1"] == ran_by, f"the workers disagree on who ran what: {records}"
    makers = Counter(w for per in ran_by.values() for w in per.values())
    assert sum(makers.values()) == N_BACKGROUND_CALLS and set(makers) == set(WORKERS), (
        f"expected {N_BACKGROUND_CALLS} calls shared by {WORKERS}, got {dict(makers)}"
    )
    logs = sessions["cold"].run_dir.glob("logs/background_*.log")
    starts = {p.stem: p.read_text().count(IMAGE2_START) for p in logs}
    assert starts == {f"background_{w}": n for w, n in makers.items()}, (
        f"Image2Pipeline starts per log {starts}, calls per worker {dict(makers)}"
    )


def test_cache_holds_one_verified_entry_per_exposure(sessions):
    """The cache has 8 detector1 entries, each matching its manifest, no temporaries."""
    folder = sessions["cold"].cache_dir / "detector1"
    entries = sorted(p for p in folder.iterdir() if p.is_dir())
    assert len(entries) == N_EXPOSURES, f"entries: {[p.name for p in entries]}"
    bad = {p.name: verify(p) for p in entries if verify(p) is not None}
    assert not bad, f"entries that fail their manifest: {bad}"
    inputs = {json.loads((p / MANIFEST).read_text())["parts"]["input"] for p in entries}
    assert len(inputs) == N_EXPOSURES, "two entries were built from the same input file"


def test_warm_session_makes_no_background_call(sessions):
    """Warm: every worker found the 12 background units in the cache (depend mode: the
    sources they ran are unchanged) and no Image2Pipeline call started."""
    hits = {
        w: sum(sum(per.values()) for per in s["background"]["hits"].values())
        for w, s in sessions["warm"].stages.items()
    }
    assert hits and set(hits.values()) == {N_BACKGROUND_CALLS}, f"hits per worker: {hits}"
    logs = sessions["warm"].run_dir.glob("logs/background_*.log")
    starts = {p.stem: p.read_text().count(IMAGE2_START) for p in logs}
    assert not any(starts.values()), f"Image2Pipeline started in the warm session: {starts}"


def test_warm_session_hits_every_exposure(sessions):
    """Warm: each worker that ran detector1 found all 8 exposures in the cache; no jwst
    detector1 log was written."""
    per_worker = sessions["warm"].detector1()
    hits = {w: sum(e["hit"] for e in exps.values()) for w, exps in per_worker.items()}
    assert hits and set(hits.values()) == {N_EXPOSURES}, f"cache hits per worker: {hits}"
    logs = list(sessions["warm"].run_dir.glob("logs/detector1_*.log"))
    assert not logs, f"detector1 ran in the warm session: {[p.name for p in logs]}"
