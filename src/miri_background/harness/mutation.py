"""``python -m miri_background mutation``: score the suite against cosmic-ray's mutants of
jwst's imaging background code, side by side with jwst's own unit tests.

Per mutant (`mutants.select`), pytest sessions in fresh processes that import the mutated
module from a throwaway copy (`mutant_import`; the installed jwst is only read)::

    suite  python -m pytest tests/regression -x -n 2 --sim-level rate --data-set D
               -p no:cacheprovider --cache-dir DIR       (D = mirisim, then flight)
    jwst   python -m pytest <jwst>/background/tests/test_background.py -x -p no:cacheprovider
               (the suite's local CRDS context: CRDS_PATH, CRDS_CONTEXT, CRDS_MODE=local)

Both data sets run the scenario checks (subarrays, rateints, N backgrounds, ...); the
flight session runs only if the mirisim one did not kill. A session *kills* the mutant when
pytest exits 1-3 (failed, interrupted by a collection error, internal error) or runs past
``--timeout`` (killed, ``timeout`` true), *survives* on exit 0, and is a harness *error* on
any other exit status or when the mutated module was never imported. A clean pass first
serves the unmutated sources through the same hook: every session must pass, and its
durations set the default timeout (3 x + 60 s). The report is rewritten atomically after
every mutant (``complete`` false until the end), so an interrupted run leaves what it
measured. Cached products keyed on jwst's code (background and detector1 traces, the
scenarios' ``code_fingerprint``) get each mutant's own key (``software.served_overrides``).
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
from miri_background.harness import mutant_import, mutants, mutation_report
from miri_background.harness.mutation_report import ERROR, KILLED, SURVIVED
from miri_background.harness.pytest_run import failures, read_junit
from miri_background.harness.shards import parse_shard
from miri_background.inputs import crds_local

PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q")
DATA_SETS = ("mirisim", "flight")
"""The suite's observations (``--data-set``), each a session of the suite side."""
JWST_TESTS = "tests/test_background.py"
"""jwst's unit tests of the imaging background step, relative to ``jwst/background``."""


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=Path("reports/mutation.json"), metavar="FILE")
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
    parser.add_argument("-n", "--workers", type=int, default=2, metavar="N", help="suite xdist")
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/mb"), metavar="DIR")
    parser.add_argument("--timeout", type=float, default=None, metavar="S", help="per side")
    parser.add_argument("--no-clean", action="store_true", help="skip the clean pass")
    parser.add_argument("--list", action="store_true", help="print the selection and counts")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="FILE", help="merge shards")


def crds_root(cache_dir: Path) -> Path:
    """The suite's local CRDS context of the rate-level built-in data (built if missing)."""
    from miri_background.inputs.built_in import prepare_simulated
    from miri_background.inputs.simulator.config import SimConfig

    inputs = prepare_simulated(ContentCache(cache_dir), SimConfig(), "rate")
    return inputs.crds_root


def side_sessions(args, run: Path, jwst_dir: Path) -> dict[str, list[tuple]]:
    """Per side, its sessions in order: (label, command, working directory, extra env).

    The suite side has one session per data set (``--data-set``; the scenarios run in
    each); a mutant is killed by the first session that fails and the rest are not run.
    """
    suite = []
    for data_set in args.data_sets:
        command = [*PYTEST, args.tests, "-x", "--sim-level", "rate", "--data-set", data_set]
        command += ["--cache-dir", str(args.cache_dir)]
        command += ["-n", str(args.workers)] if args.workers else []
        command += ["-o", f"miri_background_runs={run / 'runs'}"]
        command += ["--junitxml", str(run / f"suite-{data_set}.xml")]
        suite.append((data_set, command, Path.cwd(), {}))
    (run / "pytest.ini").write_text("[pytest]\n")
    jwst = [*PYTEST, str(jwst_dir / JWST_TESTS), "-x", "-c", str(run / "pytest.ini")]
    # rootdir = the directory holding jwst, so test ids read jwst/background/tests/...
    # (nothing is written there: no cache provider, the JUnit file and ini are in run)
    jwst += ["--rootdir", str(jwst_dir.parent.parent), "--confcutdir", str(jwst_dir.parent.parent)]
    jwst += ["--junitxml", str(run / "jwst.xml")]
    return {"suite": suite, "jwst": [("jwst", jwst, run, crds_local.environment(args.crds_root))]}


def run_side(command: list[str], cwd: Path, env: dict, junit: Path, timeout: float) -> dict:
    """One pytest session in its own process group (xdist workers included), killed whole
    on timeout or when the harness is interrupted; its outcome."""
    t0 = time.perf_counter()
    with (junit.parent / f"{junit.stem}.log").open("w") as log:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:  # timeout or Ctrl-C: the session's own group would outlive the harness
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    seconds = round(time.perf_counter() - t0, 1)
    outcomes = read_junit(junit) if junit.is_file() else {}
    failed = failures(outcomes)
    first = failed[0] if failed else None
    if code is None:
        status, first = KILLED, f"timeout after {timeout:.0f} s"
    elif code == 0:
        status = SURVIVED
    elif code in (1, 2, 3):
        status, first = KILLED, first or f"pytest exit {code} (no test failed: collection/internal)"
    else:
        status = ERROR
    tail = "" if status != ERROR else (junit.parent / f"{junit.stem}.log").read_text()[-2000:]
    return {
        "status": status,
        "killed_by": first if status == KILLED else None,
        "message": outcomes[first].message if first in outcomes else "",
        "timeout": code is None,
        "exit_status": code,
        "seconds": seconds,
        "log_tail": tail,
    }


def run_mutant(args, sources: dict[str, str], work: Path, timeout: float) -> dict[str, dict]:
    """Both sides with ``sources`` served; per side its outcome (error if never imported)."""
    run = Path(tempfile.mkdtemp(prefix="mutant-", dir=work))
    try:
        extra = mutant_import.prepare(run / "hook", sources)
        sessions = side_sessions(args, run, mutants.jwst_background_dir())
        results = {}
        for side in args.sides:
            done = []
            for label, command, cwd, env in sessions[side]:
                child = {**os.environ, **env, **extra, "PYTHONDONTWRITEBYTECODE": "1"}
                before = len(mutant_import.loaded(run / "hook"))
                junit = command[command.index("--junitxml") + 1]
                result = run_side(command, cwd, child, Path(junit), timeout)
                result["imported"] = len(mutant_import.loaded(run / "hook")) > before
                if not result["imported"] and result["status"] == SURVIVED:
                    result["status"], result["log_tail"] = ERROR, "mutated module never imported"
                done.append(result | {"session": label})
                if result["status"] != SURVIVED:
                    break
            results[side] = _combine(done)
        return results
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _combine(sessions: list[dict]) -> dict:
    """One side's outcome from its sessions: the last one run decides (the first that did
    not survive, or the last of all); seconds add up; killed_by names the session."""
    last = sessions[-1]
    killed_by = last["killed_by"]
    if killed_by and last["session"] != "jwst":
        killed_by = f"[{last['session']}] {killed_by}"
    return last | {
        "killed_by": killed_by,
        "seconds": round(sum(s["seconds"] for s in sessions), 1),
        "imported": all(s["imported"] for s in sessions),
        "sessions": [
            {k: s[k] for k in ("session", "status", "exit_status", "seconds")} for s in sessions
        ],
    }


def _header(args, selected: list[mutants.Mutant]) -> dict:
    return {
        "jwst": {
            "version": version("jwst"),
            "background_dir": str(mutants.jwst_background_dir()),
            "sha256": {f: mutants.file_sha256(f) for f in mutants.FILES},
        },
        "cosmic_ray": version("cosmic-ray"),
        "counts": mutants.enumerate_counts(),
        "selection": {
            "sample": args.mutants,
            "seed": args.seed,
            "shard": f"{args.shard[0]}/{args.shard[1]}",
            "only": args.only,
            "ids": [m.id for m in selected],
        },
        "sides": args.sides,
        "data_sets": args.data_sets,
    }


def run(args) -> int:
    """Clean pass, then every selected mutant; write ``args.out``; 0 unless the harness failed."""
    if args.merge:
        report = mutation_report.merge([json.loads(p.read_text()) for p in args.merge])
        write_json_atomic(args.out, report)
        print(mutation_report.table(report), f"\nmerged {len(args.merge)} shards -> {args.out}")
        return 0
    selected = mutants.select(sample=args.mutants, seed=args.seed, shard=args.shard, only=args.only)
    if args.list:
        print(json.dumps(mutants.enumerate_counts()))
        print("\n".join(f"{m.id}  [{m.region}]  {m.diff}" for m in selected))
        return 0
    args.crds_root = crds_root(args.cache_dir)
    equivalent, notes = mutation_report.equivalents()
    report = _header(args, selected) | {"equivalents_notes": notes, "mutants": []}
    t0 = time.perf_counter()
    original = {m.module: mutants.original_source(m.file) for m in _one_per_file()}
    with tempfile.TemporaryDirectory(prefix="mb-mutation-") as tmp:
        work = Path(tmp)
        timeout = args.timeout or 600.0
        if not args.no_clean:
            clean = run_mutant(args, original, work, timeout)
            report["clean"] = clean
            print(f"clean: {_line(clean)}", flush=True)
            if any(r["status"] != SURVIVED for r in clean.values()):
                write_json_atomic(args.out, report | {"complete": False, "seconds": 0.0})
                print(f"the clean pass did not pass on every side; see {args.out}")
                return 2
            timeout = args.timeout or 3 * max(r["seconds"] for r in clean.values()) + 60
        report["timeout_seconds"] = timeout
        for i, m in enumerate(selected):
            s0 = time.perf_counter()
            sides = run_mutant(args, {m.module: m.source()}, work, timeout)
            record = {
                "id": m.id,
                "file": m.file,
                "operator": m.operator,
                "line": m.line,
                "region": m.region,
                "diff": m.diff,
                "equivalent": equivalent.get(m.id),
                **sides,
                "seconds": round(time.perf_counter() - s0, 1),
            }
            report["mutants"].append(record)
            _write(args.out, report, t0, complete=False)
            print(f"[{i + 1}/{len(selected)}] {m.id} {m.diff}\n    {_line(sides)}", flush=True)
    _write(args.out, report, t0, complete=True)
    print(mutation_report.table(report))
    print(f"wrote {args.out} in {report['seconds']:.0f} s")
    errors = report["summary"].get("suite", {}).get("errors", [])
    errors += report["summary"].get("jwst", {}).get("errors", [])
    return 1 if errors else 0


def _one_per_file() -> list[mutants.Mutant]:
    return [mutants.all_mutants(f)[0] for f in mutants.FILES]


def _write(out: Path, report: dict, t0: float, *, complete: bool) -> None:
    report["summary"] = mutation_report.summarize(report["mutants"])
    report["complete"] = complete
    report["seconds"] = round(time.perf_counter() - t0, 1)
    write_json_atomic(out, report)


def _line(sides: dict[str, dict]) -> str:
    return "; ".join(
        f"{side} {r['status']} in {r['seconds']:.0f} s"
        + (f" by {r['killed_by']}" if r["killed_by"] else "")
        for side, r in sides.items()
    )
