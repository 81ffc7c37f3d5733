"""``python -m miri_background sensitivity``: does the suite catch each injected fault?

One clean run, then one run per fault, each a fresh process::

    python -m pytest TESTS -n 2 -p no:cacheprovider [--inject-fault SPEC]
        --junitxml=<work>/<run>/junit.xml -o miri_background_runs=<work>/<run>/runs

detector1 comes from the shared content cache, so a run costs the background stage (3 sigmas
x 4 science exposures) and the tests. A fault is *killed* when pytest exits 1 with at least
one test failed or in error, *survives* when the suite passes, and is a harness *error* on
any other exit status (usage error, nothing collected, crash).

Outcomes are read from each run's JUnit XML (`run_records.read_junit`, the outcome record
of every run), at a path chosen here per run, not through ``runs/LATEST``: that is one
pointer that any concurrent session rewrites (another engineer, or ``make test`` running
this command in one xdist worker beside the suite in the other).
Each run also gets its own runs directory, so a faulted run never becomes the project's
``runs/LATEST`` that ``report`` reads. JUnit lists tests in completion order, so the first
test that caught a fault is taken in the order of ``pytest --collect-only``.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from miri_background.files import write_json_atomic
from miri_background.harness import faults
from miri_background.harness.pytest_run import pytest_command
from miri_background.run_records import ERROR, FAILED, PASSED, failures, read_junit

KILLED, SURVIVED, NOT_RUN = "killed", "survived", "not run"
"""Status of a fault's run, or ERROR (NOT_RUN: skipped because the clean run did not pass).
The clean run's status is PASSED, FAILED or ERROR."""


@dataclass
class Run:
    """One pytest run of the suite, with or without a fault.

    Attributes
    ----------
    label, spec : str
        The fault as given, and the SPEC passed to ``--inject-fault`` (None: clean run).
    doc : str
        First paragraph of the fault's docstring: the real bug it models.
    status : str
        KILLED / SURVIVED / ERROR / NOT_RUN for a fault; PASSED / FAILED / ERROR when clean.
    exit_status : int or None
        pytest's exit status.
    failed : list of dict
        ``{nodeid, outcome (failed or error), message}`` per test, in collection order.
    first_caught_by : str or None
        Node id of the first of ``failed``.
    caught_by : dict
        Test function (node id without parameters) -> number of its cases in ``failed``.
    seconds : float
        Wall time of the run, s.
    log_tail : str
        End of the pytest output when the run errored or the clean run failed.
    """

    label: str
    spec: str | None
    doc: str
    status: str = ""
    exit_status: int | None = None
    failed: list[dict] = field(default_factory=list)
    first_caught_by: str | None = None
    caught_by: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    log_tail: str = ""


def add_arguments(parser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("reports/sensitivity.json"), metavar="FILE"
    )
    parser.add_argument(
        "--faults",
        nargs="+",
        default=[],
        metavar="FILE",
        help="extra faults: file.py::function, or file.py for all its fault_* functions",
    )
    parser.add_argument(
        "--only",
        nargs="*",
        choices=sorted(faults.CATALOG),
        metavar="NAME",
        help="run only these catalog faults (no NAME: none, only --faults)",
    )
    parser.add_argument("--tests", default="tests/regression", metavar="PATH")
    parser.add_argument(
        "--data-set",
        choices=("mirisim", "flight"),
        default="mirisim",
        help="the observation every run checks (flight: the offline stand-in, changing sky)",
    )
    parser.add_argument(
        "-n", "--workers", type=int, default=2, metavar="N", help="xdist workers (0: none)"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep every run's JUnit file, pytest log and products here (default: deleted)",
    )


def fault_runs(only: list[str] | None, files: list[str]) -> list[Run]:
    """The faults to run, validated: catalog (or ``only``) then each file's faults.

    File SPECs are made absolute, so that every pytest process finds them.
    """
    runs = [
        Run(n, n, _summary(faults.CATALOG[n])) for n in (faults.CATALOG if only is None else only)
    ]
    for given in files:
        try:
            labels = [given] if "::" in given else faults.file_faults(given)
            for label in labels:
                path, _, name = label.rpartition("::")
                spec = f"{Path(path).resolve()}::{name}"
                runs.append(Run(label, spec, _summary(faults.resolve(spec))))
        except (FileNotFoundError, AttributeError) as exc:
            raise ValueError(f"--faults {given}: {exc}") from exc
    return runs


def _summary(function) -> str:
    return (inspect.getdoc(function) or "(no docstring)").split("\n\n")[0].replace("\n", " ")


def collect(tests: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Node ids of ``tests`` in collection order (``pytest --collect-only -q``, plus
    ``extra`` options)."""
    proc = subprocess.run(
        pytest_command(tests, extra=["--collect-only", "-q", *extra]),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ValueError(f"collecting {tests} failed ({proc.returncode}):\n{proc.stdout[-2000:]}")
    return [line for line in proc.stdout.splitlines() if "::" in line]


def execute(
    run: Run, tests: str, workers: int, collected: list[str], work: Path, extra=()
) -> Run:
    """Run the suite for ``run`` (clean when ``run.spec`` is None, ``extra`` options added)
    and fill in its result."""
    work.mkdir(parents=True, exist_ok=True)
    junit, log = work / "junit.xml", work / "pytest.log"
    fault = [*extra, *(["--inject-fault", run.spec] if run.spec else [])]
    command = pytest_command(tests, workers=workers, junit=junit, runs=work / "runs", extra=fault)
    t0 = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    run.seconds = round(time.perf_counter() - t0, 1)
    run.exit_status = proc.returncode
    outcomes = read_junit(junit) if junit.is_file() else {}
    run.failed = [
        {"nodeid": t, "outcome": outcomes[t].outcome, "message": outcomes[t].message}
        for t in failures(outcomes, collected)
    ]
    run.first_caught_by = run.failed[0]["nodeid"] if run.failed else None
    for entry in run.failed:
        function = entry["nodeid"].partition("[")[0]
        run.caught_by[function] = run.caught_by.get(function, 0) + 1
    clean = run.spec is None
    if proc.returncode == 0:
        run.status = PASSED if clean else SURVIVED
    elif proc.returncode == 1 and run.failed:
        run.status = FAILED if clean else KILLED
    else:
        run.status = ERROR
    if run.status in (ERROR, FAILED):
        run.log_tail = log.read_text(errors="replace")[-3000:]
    return run


def run(args) -> int:
    """Clean run, then every fault; write ``args.out``, print a table; 0 only if all killed."""
    runs = fault_runs(args.only, args.faults)
    data_set = ("--data-set", args.data_set)
    collected = collect(args.tests, data_set)
    if not collected:
        raise ValueError(f"no test collected in {args.tests}")
    clean = Run("(clean)", None, "jwst unpatched: every test must pass")
    keep = args.work_dir is not None
    t0 = time.perf_counter()
    with nullcontext(args.work_dir) if keep else tempfile.TemporaryDirectory() as work:
        for i, current in enumerate([clean, *runs]):
            print(f"[{i + 1}/{len(runs) + 1}] {current.label}: ", end="", flush=True)
            if clean.status != PASSED and current is not clean:
                current.status = NOT_RUN
            else:
                work_i = Path(work) / f"{i:02d}"
                execute(current, args.tests, args.workers, collected, work_i, data_set)
                if not keep:
                    shutil.rmtree(Path(work) / f"{i:02d}")
            print(_progress(current, len(collected)), flush=True)
    report = {
        "command": " ".join(
            pytest_command(args.tests, workers=args.workers, extra=["--inject-fault", "SPEC"])[1:]
        ),
        "tests": args.tests,
        "data_set": args.data_set,
        "collected": collected,
        "clean": asdict(clean),
        "faults": {r.label: asdict(r) | {"killed": r.status == KILLED} for r in runs},
        "survivors": [r.label for r in runs if r.status == SURVIVED],
        "errors": [r.label for r in runs if r.status == ERROR],
        "ok": clean.status == PASSED and all(r.status == KILLED for r in runs),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json_atomic(args.out, report)
    print(table(clean, runs, len(collected)))
    print(
        f"wrote {args.out} in {report['seconds']:.0f} s; clean run {clean.status}; "
        f"survivors: {', '.join(report['survivors']) or 'none'}; "
        f"errors: {', '.join(report['errors']) or 'none'}"
    )
    return 0 if report["ok"] else 1


def _progress(run: Run, total: int) -> str:
    if run.status == NOT_RUN:
        return "not run (the clean run did not pass)"
    what = f"{run.status} in {run.seconds:.0f} s, {len(run.failed)}/{total} tests failed"
    return what + (f", first: {run.first_caught_by}" if run.first_caught_by else "")


def table(clean: Run, runs: list[Run], total: int) -> str:
    """Plain-text table: fault, result, failed/total, first test that caught it, seconds."""
    rows = [("fault", "result", "failed", "first caught by", "s")]
    for r in [clean, *runs]:
        first = r.first_caught_by or "-"
        rows.append((r.label, r.status, f"{len(r.failed)}/{total}", first, f"{r.seconds:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + f"  {row[4]:>4}"
        for row in rows
    )
