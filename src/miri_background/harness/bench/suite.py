"""Timed runs of the suite in a subprocess, and the bare pipeline calls in this process."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from pathlib import Path

from miri_background.harness.bench.host import TreeSampler, steal_seconds
from miri_background.harness.bench.records import bare_seconds, outcome_summary, stage_times
from miri_background.harness.pytest_run import pytest_command
from miri_background.run_records import read_run


def edited_jwst(work: Path) -> Path:
    """A copy of the installed jwst with a comment appended to background/background_sub.py:
    the directory to put first on PYTHONPATH (the installed jwst is never edited)."""
    import jwst

    root = work / "edited-jwst"
    shutil.copytree(Path(jwst.__file__).parent, root / "jwst", symlinks=True)
    with open(root / "jwst" / "background" / "background_sub.py", "a", encoding="utf-8") as f:
        f.write("\n# an edit by make bench\n")
    return root


STARTUP_ONLY = ("-k", "_bench_selects_no_test_")
"""Arguments that deselect every test: the run is pytest's start, its workers and their
collection (`floors`)."""


def run_suite(
    label: str,
    args,
    workers: int,
    cache: Path | None,
    work: Path,
    pythonpath: Path | None = None,
    extra: tuple[str, ...] = (),
) -> dict:
    """Run the suite once in a subprocess; wall time, stage times, outcomes and peak RSS.

    ``pythonpath`` goes first on the subprocess's PYTHONPATH (`edited_jwst`); ``extra``
    pytest arguments (`STARTUP_ONLY`)."""
    runs = work / f"runs-{label}"
    command = pytest_command(args.tests, workers=workers, runs=runs, cache=cache, extra=extra)
    log = work / f"{label}.log"
    print(f"[bench] {label}: {' '.join(command[1:])}", flush=True)
    load, steal0 = os.getloadavg()[0], steal_seconds()
    with log.open("w") as out:
        t0 = time.perf_counter()
        env = dict(os.environ)
        if pythonpath is not None:
            paths = [str(pythonpath), env.get("PYTHONPATH")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    peaks = sampler.stop()
    latest = runs / "LATEST"
    run_dir = runs / latest.read_text().strip() if latest.is_file() else None
    result = {
        "command": " ".join(command[1:]),
        "workers": workers,
        "cache_dir": str(cache) if cache else "(project default)",
        "exit_status": proc.returncode,
        "wall_s": round(wall, 2),
        "load_1min_at_start": round(load, 2),
        "cpu_steal_s": None if steal0 is None else round(steal_seconds() - steal0, 1),
        "peak_rss_mib": peaks,
        "tree_max_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "summary": (log.read_text(errors="replace").strip().splitlines() or [""])[-1].strip("= "),
    }
    if extra == STARTUP_ONLY:
        return result | {"exit_status_expected": 5}  # no test selected
    if run_dir is None or proc.returncode not in (0, 1):
        result["error"] = log.read_text(errors="replace")[-3000:]
        print(f"[bench] {label}: pytest exited {proc.returncode}, no usable run", flush=True)
        return result
    run = read_run(run_dir)
    records = {worker: dict(stages) for worker, stages in run.stages.items()}
    times = stage_times(records)
    bare = bare_seconds(times)
    result |= {
        "stages": times,
        "stage_records": records,
        "bare_pipeline_s": bare,
        "outcomes": outcome_summary(run),
    }
    if bare and times["simulate_s"] is not None:
        result["overhead_without_simulate"] = round((wall - times["simulate_s"]) / bare, 2)
    steal = "" if steal0 is None else f", {result['cpu_steal_s']:.1f} CPU s stolen by the host"
    print(f"[bench] {label}: {wall:.1f} s wall{steal}, {result['summary']}", flush=True)
    if label.startswith("warm") and times["detector1_built"]:
        print(f"[bench] {label}: built {times['detector1_built']} exposures: NOT warm", flush=True)
    return result

def fastest(samples: list[dict]) -> dict:
    """The completed run with the least wall time (any run if none completed), with every
    sample's wall time (s) as ``samples_wall_s``."""
    done = [r for r in samples if "error" not in r] or samples
    best = min(done, key=lambda r: r["wall_s"])
    return best | {"samples_wall_s": [r["wall_s"] for r in samples]}

def time_bare_pipeline(cache_root: Path | None, workers: int, work: Path) -> dict:
    """Two Detector1Pipeline.call and one Image2Pipeline background call in this process.

    Inputs and the other rates come from ``cache_root`` (the project's cache when None);
    ``bare_s = ceil(8 / workers) t_d1 + ceil(12 / workers) t_bg`` with ``t_d1`` the second
    detector1 call: the first also imports the steps and opens the references; it is
    reported beside. Each call is made as the suite makes it, inside ``gc_frozen`` (a plain
    call took 15.9 s against 9.2-9.8 s, measured: stpipe's collection after every step
    traverses everything the first call imported).
    """
    from jwst.pipeline import Detector1Pipeline

    from miri_background.cache import ContentCache, Schedule
    from miri_background.frozen import FrozenMap
    from miri_background.inputs import built_in
    from miri_background.inputs.simulator.config import SimConfig
    from miri_background.observation import notebook
    from miri_background.pipeline import associations, background, detector1, jwst_env, records

    cache = ContentCache(cache_root or Path.cwd() / ".cache" / "mb")
    inputs = built_in.prepare_simulated(cache, SimConfig())
    run_dir = work / "bare"
    d1 = detector1.run_detector1(inputs, cache, run_dir, Schedule(note=lambda _: None))
    t0 = time.perf_counter()
    asn = associations.make_associations(d1.rates, run_dir / "asn")
    t_asn = time.perf_counter() - t0
    name = next(iter(asn.files))
    d1_seconds = []
    with jwst_env.crds_for(inputs), jwst_env.jwst_log_to(run_dir / "logs" / "detector1.log"):
        for exposure in list(inputs.uncal)[:2]:
            t0 = time.perf_counter()
            jwst_env.call_pipeline(
                Detector1Pipeline,
                inputs.uncal[exposure],
                run_dir,
                detector1.detector1_steps(inputs),
                f"bare detector1 on {exposure}",
                save_results=True,
            )
            d1_seconds.append(time.perf_counter() - t0)
    t_d1 = d1_seconds[-1]
    one = records.Associations(FrozenMap({name: asn.files[name]}), asn.backgrounds)
    t_bg = background.run_backgrounds(inputs, one, run_dir, None, (2.0,))[2.0].seconds[name]
    n_exposures, n_calls = len(inputs.uncal), len(notebook.SIGMAS) * len(asn.files)
    bare = math.ceil(n_exposures / workers) * t_d1 + math.ceil(n_calls / workers) * t_bg
    return {
        "detector1_call_s": round(t_d1, 2),
        "detector1_first_call_s": round(d1_seconds[0], 2),
        "background_call_s": round(t_bg, 2),
        "associations_s": round(t_asn, 3),
        "formula": f"ceil({n_exposures} / {workers}) x {t_d1:.1f} + "
        f"ceil({n_calls} / {workers}) x {t_bg:.2f}",
        "bare_s": round(bare, 2),
    }
