"""Specificity: run the physical checks on many noise realisations; expect no failure.

Each seed is one pytest session of ``tests/regression -m "not truth"`` on the rate-level
built-in data set (``--sim-level rate --sim-seed N``: no detector1, ~1 min a seed on 2
cores), with its own temporary cache and run directories. The checks are designed for a
false-alarm probability <= 1e-3 per run (metrics.RUN_FALSE_ALARM), so 50 seeds should give
no failure at all (P(any) <= 5 %). ``--data-set flight`` sweeps the F2550W stand-in
instead (`inputs.simulator.flight_standin`: rate level, detection-based pixel sets).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from miri_background.files import write_json_atomic
from miri_background.harness.pytest_run import failures, pytest_command, read_junit

FIRST_SEED = 1000


def add_arguments(parser) -> None:
    parser.add_argument("--seeds", type=int, default=50, metavar="N", help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED, metavar="S")
    parser.add_argument("--level", choices=("rate", "uncal"), default="rate")
    parser.add_argument(
        "--data-set", choices=("mirisim", "flight"), default="mirisim", help="the observation"
    )
    parser.add_argument("--tests", default="tests/regression", metavar="PATH")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="pytest -n")
    parser.add_argument("--out", type=Path, default=Path("reports/specificity.json"))


def run_seed(seed: int, args, workdir: Path) -> dict:
    """One pytest session on ``seed``; returns its failures and wall time."""
    junit = workdir / f"seed{seed}.xml"
    cmd = pytest_command(
        args.tests,
        workers=args.workers,
        junit=junit,
        runs=workdir / "runs",
        cache=workdir / "cache",
        extra=[
            "-q",
            "-m",
            "not truth",
            f"--sim-level={args.level}",
            f"--sim-seed={seed}",
            f"--data-set={args.data_set}",
        ],
    )
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - t0
    if not junit.is_file():
        return {
            "seed": seed,
            "error": proc.stdout[-2000:] + proc.stderr[-2000:],
            "seconds": seconds,
            "tests": 0,
            "failed": [],
        }
    outcomes = read_junit(junit)
    return {
        "seed": seed,
        "tests": len(outcomes),
        "failed": failures(outcomes),
        "seconds": round(seconds, 1),
    }


def run(args) -> int:
    """Run every seed, write the JSON report, print a summary; 1 if anything failed."""
    results = []
    with tempfile.TemporaryDirectory(prefix="mb-specificity-") as tmp:
        for i in range(args.seeds):
            seed = args.first_seed + i
            workdir = Path(tmp) / f"s{seed}"
            workdir.mkdir()
            result = run_seed(seed, args, workdir)
            results.append(result)
            status = "error" if "error" in result else f"{len(result['failed'])} failed"
            print(
                f"[{i + 1}/{args.seeds}] seed {seed}: {result['tests']} tests, {status}, "
                f"{result['seconds']:.0f} s",
                flush=True,
            )
            subprocess.run(["rm", "-rf", str(workdir)], check=False)
    per_test = Counter(t for r in results for t in r["failed"])
    errors = [r["seed"] for r in results if "error" in r]
    report = {
        "seeds": [r["seed"] for r in results],
        "level": args.level,
        "data_set": args.data_set,
        "designed_false_alarm_per_run": 1e-3,
        "failures_per_test": dict(per_test.most_common()),
        "runs_with_failures": sum(bool(r["failed"]) for r in results),
        "sessions_that_errored": errors,
        "runs": results,
        "verdict": "pass" if not per_test and not errors else "fail",
    }
    write_json_atomic(args.out, report)
    print(
        f"specificity: {len(results)} seeds, {report['runs_with_failures']} with failures, "
        f"{len(errors)} errored; per test: {dict(per_test) or 'none'} -> {args.out}"
    )
    return 0 if report["verdict"] == "pass" else 1
