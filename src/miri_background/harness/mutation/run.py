"""``python -m miri_background mutation``: score the suite against cosmic-ray's mutants of
a target (``--target``, `targets`: jwst's imaging background code by default), side by
side with the target's upstream tests.

Per mutant (`mutants.select`), pytest sessions (`sessions`) forked from this warm process (`fork`:
the libraries imported once), each importing the mutated module from a throwaway copy
(`serve`; the installed jwst is only read)::

    suite  pytest tests/regression -x --sim-level rate --data-set D -p no:cacheprovider
               --cache-dir DIR          (D = mirisim, then flight; scenario tests first)
    upstream  pytest <site>/<the target's upstream tests> -x -p no:cacheprovider
               (the suite's local CRDS context: CRDS_PATH, CRDS_CONTEXT, CRDS_MODE=local)

``--workers`` sessions run at once, one core each (the suite and upstream sides of a mutant,
or the next mutant). Both data sets run the scenario checks (subarrays, rateints, N
backgrounds, ...); under ``-x`` the scenario tests go first (`ScenariosFirst`: each case
is one small jwst call, while the notebook's products are 12 Image2Pipeline calls), and
the flight session runs only if the MIRISim one did not kill. A session *kills* the mutant
when pytest exits 1-3 (failed, interrupted by a collection error, internal error) or runs
past the timeout (killed, ``timeout`` true), *survives* on exit 0, and is a harness *error*
on any other exit status or when the mutated module was never imported.

A clean pass first serves the unmutated sources through the same hook: every session must
pass; its durations set the default timeout (3 x + 60 s), and coverage.py records which
lines of the served files each side runs (a target scoped to the executed lines then takes
its mutants from the suite side's: `mutants.select`). A mutant whose statement
(`mutants.statement_lines`) no session of a side ran cannot behave differently there: that
side *survives* it without a session (``run`` false, ``reason`` says which lines); with
``--skip-equivalent`` so does every mutant declared equivalent (`report.equivalents`).
Products keyed on the served code (``software.OVERRIDES_ENV``: `keys` decides which
stages it reaches) go to a per-mutant scratch cache (`cache.SCRATCH_ENV`), removed with
the mutant; the simulation and the other inputs come from ``--cache-dir``.
The report is rewritten atomically after every mutant (``complete`` false until the end),
so an interrupted run leaves what it measured.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from miri_background.cache import ContentCache
from miri_background.files import write_json_atomic
from miri_background.harness.mutation import fork, imports, mutants, serve, targets
from miri_background.harness.mutation import report as mutation_report
from miri_background.harness.mutation import sessions as sessions_of
from miri_background.harness.mutation.fork import Chain
from miri_background.harness.mutation.report import SURVIVED
from miri_background.harness.mutation.sessions import DATA_SETS
from miri_background.harness.shards import parse_shard


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=Path("reports/mutation.json"), metavar="FILE")
    parser.add_argument(
        "--target",
        choices=targets.TARGETS,
        default=targets.DEFAULT,
        help=f"what to mutate (default {targets.DEFAULT}; see docs/mutation.md)",
    )
    parser.add_argument(
        "--mutants", type=int, default=None, metavar="N", help="deterministic sample of N"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="sample seed")
    parser.add_argument("--shard", type=parse_shard, default=(1, 1), metavar="I/N")
    parser.add_argument("--only", nargs="+", metavar="ID", help="these mutant ids only")
    parser.add_argument(
        "--sides", nargs="+", choices=mutation_report.SIDES, default=list(mutation_report.SIDES)
    )
    parser.add_argument("--tests", default="tests/regression", metavar="PATH")
    parser.add_argument(
        "--data-sets", nargs="+", choices=DATA_SETS, default=list(DATA_SETS), metavar="NAME"
    )
    parser.add_argument(
        "-n", "--workers", type=int, default=2, metavar="N", help="sessions at once (a core each)"
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/mb"), metavar="DIR")
    parser.add_argument("--timeout", type=float, default=None, metavar="S", help="per session")
    parser.add_argument("--no-clean", action="store_true", help="skip the clean pass")
    parser.add_argument(
        "--skip-equivalent",
        action="store_true",
        help="record the declared equivalents as not run instead of running them",
    )
    parser.add_argument("--list", action="store_true", help="print the selection and counts")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="FILE", help="merge shards")
    parser.add_argument(
        "--bench",
        type=Path,
        default=Path("reports/bench.json"),
        metavar="FILE",
        help="where the run's cost figures go (its 'mutation' entry)",
    )


def crds_root(cache_dir: Path) -> Path:
    """The suite's local CRDS context of the rate-level built-in data (built if missing)."""
    from miri_background.inputs.built_in import prepare_simulated
    from miri_background.inputs.simulator.config import SimConfig

    inputs = prepare_simulated(ContentCache(cache_dir), SimConfig(), "rate")
    return inputs.crds_root


def crds_root_apart(cache_dir: Path) -> Path:
    """`crds_root` in a child interpreter: it imports astropy, which a harness serving an
    astropy module must not import (`fork.preload`)."""
    code = "import sys; from miri_background.harness.mutation.run import crds_root as c; "
    code += "print(c(__import__('pathlib').Path(sys.argv[1])))"
    argv = [sys.executable, "-c", code, str(cache_dir)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return Path(out.stdout.split()[-1])


def _selection(args, selected: list[mutants.Mutant]) -> dict:
    """The report's record of how ``selected`` was chosen."""
    return {
        "sample": args.mutants,
        "seed": args.seed,
        "shard": f"{args.shard[0]}/{args.shard[1]}",
        "only": args.only,
        "ids": [m.id for m in selected],
    }


def _header(args) -> dict:
    """The report's record of the target: its files (module, path, version, sha256)."""
    files = mutants.target_files(args.target)
    return {
        "target": args.target,
        "modules": {
            f: {
                "module": targets.file_modules()[f],
                "path": str(mutants.path_of(f)),
                "version": version(targets.file_modules()[f].split(".")[0]),
                "sha256": mutants.file_sha256(f),
            }
            for f in files
        },
        "cosmic_ray": version("cosmic-ray"),
        "counts": mutants.enumerate_counts(args.target),
        "sides": args.sides,
        "data_sets": args.data_sets,
        "workers": args.workers,
    }


class _Run:
    """The mutants of one run: their chains, the records as they complete, the report."""

    def __init__(
        self, args, work: Path, report: dict, executed: dict, equivalent: dict, broken=None
    ):
        self.args, self.work, self.report = args, work, report
        self.executed, self.equivalent = executed, equivalent
        self.broken: dict[str, str] = broken or {}  # {id: what its import raises}
        self.pending: dict[str, dict] = {}
        self.t0 = time.perf_counter()

    def chains(self, index: int, m: mutants.Mutant | None, sources: dict[str, str]) -> list[Chain]:
        """The sessions of ``m`` (None: the clean pass) that must run; sides it cannot
        affect are recorded now."""
        run = self.work / ("clean" if m is None else f"mutant-{index:04d}")
        digest = serve.prepare(run / "hook", sources)
        sessions = sessions_of.side_sessions(self.args, run, digest, list(sources), m is None)
        record = {"run_dir": run, "sides": {}, "mutant": m}
        self.pending[str(run)] = record
        chains = []
        for side in self.args.sides:
            known = m is not None and self.executed is not None  # None: no clean pass
            reason = sessions_of.not_executed(m, self.executed[side]) if known else None
            if m is not None and self.args.skip_equivalent and self.equivalent.get(m.id):
                reason = "declared equivalent, not run (--skip-equivalent)"
            raised = self.broken.get(m.id) if known else None
            if raised and self.executed[side].get(m.module):  # this side imports the module
                record["sides"][side] = sessions_of.killed_unrun(raised)
            elif reason:
                record["sides"][side] = sessions_of.unrun(reason)
            else:
                chains.append(Chain(f"{run}|{side}", sessions[side], sessions_of.not_survived))
        record["waiting"] = len(chains)
        if not chains:
            self._complete(record)
        return chains

    def finished(self, chain: Chain) -> None:
        run, side = chain.name.split("|")
        record = self.pending[run]
        record["sides"][side] = sessions_of.combine(chain.results)
        record["waiting"] -= 1
        if record["waiting"] == 0:
            self._complete(record)

    def _complete(self, record: dict) -> None:
        del self.pending[str(record["run_dir"])]
        m = record["mutant"]
        sides = {s: record["sides"][s] for s in self.args.sides}
        if m is None:  # the clean pass
            self.report["clean"] = sides
        else:
            self.report["mutants"].append(
                {
                    "id": m.id,
                    "file": m.file,
                    "operator": m.operator,
                    "line": m.line,
                    "region": m.region,
                    "diff": m.diff,
                    "import_error": self.broken.get(m.id),
                    "equivalent": None if m.id in self.broken else self.equivalent.get(m.id),
                    **sides,
                    "seconds": round(sum(r["seconds"] for r in sides.values()), 1),
                }
            )
            done = len(self.report["mutants"])
            _write(self.args.out, self.report, self.t0, complete=False)
            total = len(self.report["selection"]["ids"])
            print(f"[{done}/{total}] {m.id} {m.diff}\n    {_line(sides)}", flush=True)
            shutil.rmtree(record["run_dir"], ignore_errors=True)


def run(args) -> int:
    """Clean pass, then every selected mutant; write ``args.out``; 0 unless the harness failed."""
    if args.merge:
        report = mutation_report.merge([json.loads(p.read_text()) for p in args.merge])
        write_json_atomic(args.out, report)
        print(mutation_report.table(report), f"\nmerged {len(args.merge)} shards -> {args.out}")
        return 0
    target = targets.TARGETS[args.target]
    if not target.upstream:
        args.sides = [s for s in args.sides if s != sessions_of.UPSTREAM]
    if args.list:
        print(json.dumps(mutants.enumerate_counts(args.target)))
        if target.executed_only:
            print("(before the executed-lines scope, which the clean pass decides)")
        chosen = {"sample": args.mutants, "seed": args.seed, "shard": args.shard}
        selected = mutants.select(target=args.target, only=args.only, **chosen)
        print("\n".join(f"{m.id}  [{m.region}]  {m.diff}" for m in selected))
        return 0
    if target.executed_only and args.no_clean and not args.only:
        raise SystemExit(f"--target {args.target} takes its mutants from the clean pass")
    # SIGTERM (a CI job cancelled, kill) unwinds like Ctrl-C: the work directory below,
    # which holds a copy of the served module per pending mutant, is removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    outside = {m.split(".")[0] for m in target.modules} - set(fork.FRESH)
    args.crds_root = crds_root_apart(args.cache_dir) if outside else crds_root(args.cache_dir)
    equivalent, notes = mutation_report.equivalents()
    report = _header(args) | {"equivalents_notes": notes, "mutants": []}
    print(f"preloaded the libraries in {fork.preload(target.modules):.1f} s", flush=True)
    files = mutants.target_files(args.target)
    original = {targets.file_modules()[f]: mutants.original_source(f) for f in files}
    with tempfile.TemporaryDirectory(prefix="mb-mutation-") as tmp:
        work = Path(tmp)
        fixed = args.timeout
        clean_seconds: dict[str, float] = {}
        executed = None
        if not args.no_clean:
            clean = _Run(args, work, report, executed, equivalent)
            chains = clean.chains(0, None, original)
            fork.run_chains(
                chains, args.workers, lambda s: fixed or 1800.0, clean.finished, sessions_of.outcome
            )
            print(f"clean: {_line(report['clean'])}", flush=True)
            if any(r["status"] != SURVIVED for r in report["clean"].values()):
                write_json_atomic(args.out, report | {"complete": False, "seconds": 0.0})
                print(f"the clean pass did not pass on every side; see {args.out}")
                return 2
            for side in report["clean"].values():
                for s in side["sessions"]:
                    clean_seconds[s["session"]] = s["seconds"]
            executed = sessions_of.executed_lines(work / "clean", args.sides)
            report["executed_lines"] = {
                side: {module: sorted(lines) for module, lines in found.items()}
                for side, found in executed.items()
            }
        selected = mutants.select(
            target=args.target,
            executed=(executed or {}).get("suite"),
            sample=args.mutants,
            seed=args.seed,
            shard=args.shard,
            only=args.only,
        )
        report["selection"] = _selection(args, selected)
        report["timeout_seconds"] = {k: 3 * v + 60 for k, v in clean_seconds.items()}
        sources = {m.id: m.source() for m in selected}
        broken = {}
        for module in {m.module for m in selected}:
            mine = {m.id: sources[m.id] for m in selected if m.module == module}
            broken |= imports.broken(module, original[module], mine)
        print(f"{len(broken)} of {len(selected)} mutants break their module's import", flush=True)
        mutation = _Run(args, work, report, executed, equivalent, broken)
        chains = [
            c
            for i, m in enumerate(selected)
            for c in mutation.chains(i, m, {m.module: sources.pop(m.id)})
        ]
        fork.run_chains(
            chains,
            args.workers,
            lambda s: fixed or report["timeout_seconds"].get(s.label, 1800.0),
            mutation.finished,
            sessions_of.outcome,
        )
    _write(args.out, report, mutation.t0, complete=True)
    _bench(args, report)
    print(mutation_report.table(report))
    print(f"wrote {args.out} in {report['seconds']:.0f} s")
    errors = [e for side in args.sides for e in report["summary"].get(side, {}).get("errors", [])]
    return 1 if errors else 0


def _write(out: Path, report: dict, t0: float, *, complete: bool) -> None:
    report["summary"] = summary = mutation_report.summarize(report["mutants"])
    report["complete"] = complete
    report["seconds"] = round(time.perf_counter() - t0, 1)
    n = summary["mutants_run"]
    summary["wall_seconds_per_mutant"] = round(report["seconds"] / n, 1) if n else None
    write_json_atomic(out, report)


def _bench(args, report: dict) -> None:
    """The run's cost into ``args.bench`` (its ``mutation`` entry; the rest is kept)."""
    bench = json.loads(args.bench.read_text()) if args.bench.is_file() else {}
    s = report["summary"]
    bench["mutation"] = {
        "selection": report["selection"] | {"ids": len(report["selection"]["ids"])},
        "mutants": s["mutants_run"],
        "workers": args.workers,
        "wall_seconds": report["seconds"],
        "wall_seconds_per_mutant": s["wall_seconds_per_mutant"],
        "median_session_seconds_per_mutant": s["median_seconds_per_mutant"],
        "cpu": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    write_json_atomic(args.bench, bench)


def _line(sides: dict[str, dict]) -> str:
    return "; ".join(
        f"{side} {r['status']}"
        + (f" in {r['seconds']:.0f} s" if r.get("run", True) else f" ({r['reason']})")
        + (f" by {r['killed_by']}" if r["killed_by"] else "")
        for side, r in sides.items()
    )
