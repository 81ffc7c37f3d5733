"""Command line: ``python -m miri_background <command>``: simulate, report, bench, matrix,
sensitivity, specificity, scenarios, mutation, cache, bless."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

COMMANDS = {
    "report": ("report.build", "write reports/report.html and summary.json from the latest run"),
    "bench": ("harness.bench", "time cold / warm runs and stages, write reports/bench.json"),
    "matrix": (
        "harness.sweeps.matrix",
        "the physical checks against jwst releases, write reports/matrix.json",
    ),
    "sensitivity": (
        "harness.sweeps.sensitivity",
        "run the suite once per injected fault, write reports/sensitivity.json",
    ),
    "specificity": (
        "harness.sweeps.specificity",
        "run the physical checks over many seeds, write reports/specificity.json",
    ),
    "scenarios": (
        "scenarios.table",
        "write docs/scenarios.md, the scenarios' table, from the catalog",
    ),
    "mutation": (
        "harness.mutation.run",
        "cosmic-ray mutants of jwst.background: suite vs jwst tests, reports/mutation.json",
    ),
    "cache": ("cache_cli", "the content cache: stats, prune [--size SIZE], clear"),
    "bless": (
        "harness.bless",
        "rewrite truth/ (the truth tests with --update-truth) and show what changed",
    ),
}
"""Subcommand -> (module under miri_background, help): each module has
``add_arguments(parser)`` and ``run(args) -> int`` (imported only when chosen)."""


def _simulate(args) -> int:
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, TimeElapsedColumn

    from miri_background.inputs.simulator.config import SimConfig
    from miri_background.inputs.simulator.writer import simulate

    if args.seed is None:
        args.seed = SimConfig().seed
    cfg = SimConfig(seed=args.seed, ngroups=args.ngroups)
    t0 = time.perf_counter()
    columns = (*Progress.get_default_columns()[:2], MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("simulate", total=None)
        manifest = simulate(
            args.out,
            cfg,
            mode=args.mode,
            progress=lambda done, total, name: bar.update(
                task, completed=done, total=total, description=name
            ),
        )
    if args.references:
        from miri_background.inputs.simulator import references as refs
        from miri_background.inputs.simulator.signal import make_detector

        refs.write_references(args.out / "refs", cfg, make_detector(cfg))
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 1e6
    print(
        f"wrote {len(manifest['files'])} files ({size:.0f} MB) to {args.out} in "
        f"{time.perf_counter() - t0:.1f} s: 8 {args.mode} exposures, truth in "
        f"{args.out / 'sim_truth'}, manifest {args.out / 'manifest.json'} (seed {args.seed})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; returns the exit status. Only the chosen
    subcommand's modules are imported (``mutation --target sigma_clipping`` needs a
    process without astropy: `harness.mutation.fork.preload`)."""
    parser = argparse.ArgumentParser(prog="python -m miri_background", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="write the built-in data set (8 exposures + truth)")
    sim.add_argument("--out", type=Path, required=True, metavar="DIR")
    sim.add_argument("--seed", type=int, default=None, metavar="N", help="default: the built-in")
    sim.add_argument("--ngroups", type=int, default=10, metavar="N", help="groups (>= 5)")
    sim.add_argument("--mode", choices=("uncal", "rate"), default="uncal")
    sim.add_argument("--references", action="store_true", help="also write the references")
    sim.set_defaults(func=_simulate)
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, text) in COMMANDS.items():
        p = sub.add_parser(name, help=text)
        if name == chosen:
            mod = importlib.import_module(f"miri_background.{module}")
            mod.add_arguments(p)
            p.set_defaults(func=mod.run)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        return args.func(args)
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    sys.exit(main())
