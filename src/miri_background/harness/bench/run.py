"""``python -m miri_background bench``: the runs, in order, and the report."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from miri_background.files import write_json_atomic
from miri_background.harness.bench.floors import floors, scenario_costs
from miri_background.harness.bench.measurements import format_stages, format_table, measurements
from miri_background.harness.bench.simulator import bench_simulator
from miri_background.harness.bench.suite import (
    STARTUP_ONLY,
    edited_jwst,
    fastest,
    run_suite,
    time_bare_pipeline,
)

QUIET_LOAD = 1.5
"""1-minute load average above which timings are flagged as taken on a busy machine."""


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"), metavar="FILE")
    parser.add_argument("--tests", default="tests/regression", metavar="PATH")
    parser.add_argument("-n", "--workers", type=int, default=2, metavar="N", help="pytest -n")
    parser.add_argument("--skip-cold", action="store_true", help="no cold runs (-n 2 nor -n 1)")
    parser.add_argument("--skip-n1", action="store_true", help="no cold -n 1 run (8 serial d1)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="cold runs and simulator timings: best of N",
    )

def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("jwst", "stcal", "numpy", "pytest-xdist")}

def run(args) -> int:
    """Measure, print the tables and the misses, write ``args.out`` atomically."""
    if not Path(args.tests).exists():
        raise ValueError(f"--tests {args.tests}: not found from {Path.cwd()}")
    load_before = os.getloadavg()
    print(f"[bench] load average {load_before[0]:.2f} (1 min) on {os.cpu_count()} CPUs", flush=True)
    runs: dict[str, dict] = {}
    samples: dict[str, list[dict]] = {"cold_n2": [], "cold_n1": []}

    def cold(label: str, workers: int, i: int, keep: bool = False) -> None:
        cache = work / f"cache-{label}-{i}"
        samples[label].append(run_suite(f"{label}-{i}", args, workers, cache, work))
        if not keep:
            shutil.rmtree(cache, ignore_errors=True)

    with tempfile.TemporaryDirectory(prefix="mb-bench-") as tmp:
        work = Path(tmp)
        cold_cache = None if args.skip_cold else work / "cache-cold_n2-1"
        if cold_cache is not None:
            cold("cold_n2", args.workers, 1, keep=True)
        runs["warm_n2"] = run_suite("warm_n2", args, args.workers, cold_cache, work)
        startup = run_suite("startup_n2", args, args.workers, cold_cache, work, extra=STARTUP_ONLY)
        edited = edited_jwst(work)
        runs["edited_n2"] = run_suite("edited_n2", args, args.workers, cold_cache, work, edited)
        floor = floors(startup["wall_s"], runs["warm_n2"], runs["edited_n2"])
        print(
            f"[bench] floors: warm {floor['warm_floor_s']:.1f} s (run / floor "
            f"{floor['warm_ratio']}), after an edit {floor['edit_floor_s']:.1f} s "
            f"({floor['edit_ratio']})",
            flush=True,
        )
        print("[bench] bare pipeline calls in process", flush=True)
        bare = time_bare_pipeline(cold_cache, args.workers, work)
        print(f"[bench] bare: {bare['formula']} = {bare['bare_s']:.1f} s", flush=True)
        if cold_cache is not None:
            shutil.rmtree(cold_cache)
        for i in range(1, 1 + (0 if args.skip_cold else args.repeat)):
            if i > 1:
                cold("cold_n2", args.workers, i)
            if not args.skip_n1:
                cold("cold_n1", 1, i)
        sim = bench_simulator(args.repeat, work)
    merged = runs | {label: fastest(made) for label, made in samples.items() if made}
    runs = {k: merged[k] for k in ("cold_n2", "warm_n2", "edited_n2", "cold_n1") if k in merged}
    for label, made in samples.items():
        if len(made) > 1:
            walls = ", ".join(f"{r['wall_s']:.1f}" for r in made)
            print(f"[bench] {label}: {walls} s wall; the fastest is kept", flush=True)
    load_after = os.getloadavg()
    figs = measurements(runs, bare, sim, floor)
    report = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in load_after],
            "quiet": max(load_before[0], load_after[0]) < QUIET_LOAD,
        },
        "versions": _versions(),
        "runs": runs,
        "bare_inprocess": bare,
        "floors": floor,
        "scenario_costs": scenario_costs(
            runs["warm_n2"].get("stage_records", {}), runs["edited_n2"].get("stage_records", {})
        ),
        "simulator": sim,
        "measurements": [asdict(f) | {"status": f.status} for f in figs],
        "misses": [f.name for f in figs if f.status == "MISS"],
    }
    write_json_atomic(args.out, report)
    print(format_stages(runs))
    print(format_table(figs))
    print(
        f"simulator: peak memory {sim['peak_memory_per_exposure_mib']:.0f} MiB per exposure; "
        f"wrote {args.out}"
    )
    if report["misses"]:
        print(f"MISSED TARGETS: {'; '.join(report['misses'])}")
    if not report["machine"]["quiet"]:
        print(
            f"WARNING: load average {load_before[0]:.2f} -> {load_after[0]:.2f} "
            f"(>= {QUIET_LOAD}): other work shared the CPUs; redo on a quiet machine"
        )
    return 1 if any("error" in r for r in runs.values()) else 0
