"""Specificity: run the physical checks on many noise realisations; expect no failure.

Each seed is one pytest session of ``tests/regression -m "not truth"`` on the rate-level
built-in data set (``--sim-level rate --sim-seed N``: no detector1, ~1 min a seed on 2
cores), with its own temporary cache and run directories. The checks are designed for a
false-alarm probability <= 1e-3 per run (metrics.RUN_FALSE_ALARM), so 50 seeds should give
no failure at all (P(any) <= 5 %). ``--data-set flight`` sweeps the F2550W stand-in
instead (`inputs.simulator.flight_standin`: rate level, detection-based pixel sets, the
background visits' sky changed by 80 % of the set's promise, sign and direction drawn from
the seed), without the scenario modules (``SCENARIO_MODULES``): a case's inputs come from
its scenario model, not from the data set, so the mirisim sweep measures them, and the
flight sweep costs what the sky reaches (~1 min a seed instead of ~2).

Sharding (CI job matrix). The seeds are ``S, S + 1, ..., S + K - 1`` (``--first-seed`` S,
``--seeds`` K); ``--shard i/N`` runs ``shards.take`` of them, seeds ``S + i - 1 + j N``
(j = 0, 1, ...). ``--merge FILE...`` joins the N shard reports into the report of the
full run (same ``settings``, runs in seed order, summary recomputed from the runs); it
refuses shards of different settings, a shard held twice, a missing shard or a report
whose seeds are not its shards'. A report's ``shards`` lists the shard indices it holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from miri_background.files import write_json_atomic
from miri_background.harness import shards
from miri_background.harness.pytest_run import pytest_command
from miri_background.run_records import failures, read_junit

FIRST_SEED = 1000
DESIGNED_FALSE_ALARM_PER_RUN = 1e-3
SCENARIO_MODULES = "*/test_scenarios_*.py"
"""Left out of a flight sweep (``--ignore-glob``): the cases do not read the data set."""
SETTINGS = ("seeds", "first_seed", "level", "data_set", "shard_count")
"""A report's ``settings`` keys: shards merge only when all of them agree."""


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
    parser.add_argument(
        "--shard", type=shards.parse_shard, default=(1, 1), metavar="I/N", help="one CI shard"
    )
    parser.add_argument("--merge", nargs="+", type=Path, metavar="FILE", help="merge shards")


def shard_seeds(first_seed: int, seeds: int, shard: tuple[int, int]) -> list[int]:
    """The seeds of shard ``(i, n)``: ``first_seed + i - 1 + j n`` for ``j >= 0``, below
    ``first_seed + seeds`` (``shards.take`` of the full list)."""
    return shards.take(range(first_seed, first_seed + seeds), shard)


def summarize(runs: list[dict]) -> dict:
    """Failures per test (most first), runs with failures, errored sessions, verdict."""
    per_test = Counter(t for r in runs for t in r["failed"])
    errors = [r["seed"] for r in runs if "error" in r]
    return {
        "failures_per_test": dict(per_test.most_common()),
        "runs_with_failures": sum(bool(r["failed"]) for r in runs),
        "sessions_that_errored": errors,
        "verdict": "pass" if not per_test and not errors else "fail",
    }


def report(settings: dict, held: list[int], runs: list[dict]) -> dict:
    """The JSON report of ``runs`` (any order) for shards ``held`` of ``settings``."""
    runs = sorted(runs, key=lambda r: r["seed"])
    return {
        "settings": settings,
        "shards": sorted(held),
        "seeds": [r["seed"] for r in runs],
        "designed_false_alarm_per_run": DESIGNED_FALSE_ALARM_PER_RUN,
        **summarize(runs),
        "runs": runs,
    }


def merge(named: dict[str, dict]) -> dict:
    """One report from shard reports (file name -> report) of the same settings.

    Raises
    ------
    ValueError
        Naming the first problem: a file that is no specificity report, settings that
        differ from the first file's, a shard held by two files, a missing shard, or a
        file whose seeds are not those of the shards it says it holds.
    """
    names = list(named)
    for name in names:
        if set(named[name].get("settings", {})) != set(SETTINGS):
            raise ValueError(f"{name}: not a specificity report (no settings {SETTINGS})")
    first = named[names[0]]["settings"]
    n = first["shard_count"]
    owner: dict[int, str] = {}
    for name, rep in named.items():
        differ = [k for k in SETTINGS if rep["settings"][k] != first[k]]
        if differ:
            listed = ", ".join(f"{k} {rep['settings'][k]!r} vs {first[k]!r}" for k in differ)
            raise ValueError(f"{name}: settings differ from {names[0]}'s: {listed}")
        for i in rep["shards"]:
            if i in owner:
                raise ValueError(f"shard {i}/{n} is in both {owner[i]} and {name}")
            owner[i] = name
        want = sorted(
            seed
            for i in rep["shards"]
            for seed in shard_seeds(first["first_seed"], first["seeds"], (i, n))
        )
        if rep["seeds"] != want:
            got = set(rep["seeds"])
            raise ValueError(
                f"{name}: seeds are not those of its shards {rep['shards']}: missing "
                f"{sorted(set(want) - got)}, extra {sorted(got - set(want))}"
            )
    missing = [f"{i}/{n}" for i in range(1, n + 1) if i not in owner]
    if missing:
        raise ValueError(f"missing shard(s) {', '.join(missing)} (merged: {', '.join(names)})")
    return report(first, list(owner), [r for rep in named.values() for r in rep["runs"]])


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
            *([f"--ignore-glob={SCENARIO_MODULES}"] if args.data_set == "flight" else []),
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
    """Run this shard's seeds (or merge shard reports), write the JSON report atomically,
    print a summary; 1 if anything failed."""
    if args.merge:
        out = merge({str(p): json.loads(p.read_text()) for p in args.merge})
    else:
        out = report(_settings(args), [args.shard[0]], _run_seeds(args))
    write_json_atomic(args.out, out)
    n = out["settings"]["shard_count"]
    print(
        f"specificity (shards {', '.join(f'{i}/{n}' for i in out['shards'])}): "
        f"{len(out['runs'])} seeds, {out['runs_with_failures']} with failures, "
        f"{len(out['sessions_that_errored'])} errored; per test: "
        f"{out['failures_per_test'] or 'none'} -> {args.out}"
    )
    return 0 if out["verdict"] == "pass" else 1


def _settings(args) -> dict:
    return {
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "level": args.level,
        "data_set": args.data_set,
        "shard_count": args.shard[1],
    }


def _run_seeds(args) -> list[dict]:
    seeds = shard_seeds(args.first_seed, args.seeds, args.shard)
    results = []
    with tempfile.TemporaryDirectory(prefix="mb-specificity-") as tmp:
        for i, seed in enumerate(seeds):
            workdir = Path(tmp) / f"s{seed}"
            workdir.mkdir()
            result = run_seed(seed, args, workdir)
            results.append(result)
            status = "error" if "error" in result else f"{len(result['failed'])} failed"
            print(
                f"[{i + 1}/{len(seeds)}] seed {seed}: {result['tests']} tests, {status}, "
                f"{result['seconds']:.0f} s",
                flush=True,
            )
            subprocess.run(["rm", "-rf", str(workdir)], check=False)
    return results
