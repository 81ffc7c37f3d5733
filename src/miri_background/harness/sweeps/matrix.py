"""``python -m miri_background matrix``: the physical checks against a list of jwst releases.

For each release R, under ``.cache/matrix/<R>/``:

1. ``venv/``: ``python -m venv``, then ``pip install jwst==R <RELEASE_PINS[R]> -e <project>``
   in one resolution, so that R brings its own stcal / stdatamodels / stpipe / crds /
   astropy / numpy (constraints.txt is not applied: it pins the blessed environment), with
   the pins an old release needs where its own ranges admit newer, incompatible packages.
   Skipped when ``venv/.installed`` already names R and its pins. The label ``pinned``
   means the project's own ``.venv`` (jwst 3.0.0 with constraints.txt): nothing installed.
2. ``pytest tests/regression -m "not truth" -n 2`` with that interpreter on the built-in
   data set, with the release's own cache (``mb/``; ``pinned`` shares the project's
   ``.cache/mb``, whose products are its own), runs directory (``runs/``) and
   ``junit.xml``; the output goes to ``pytest.log``. ``-W ignore::DeprecationWarning``
   overrides pytest.ini's ``error`` for deprecations only: an old jwst imports APIs that
   its newer dependencies deprecate (jwst 1.16.1: ``drizzle.util``), which would stop every
   check before it looks at the data.
3. Per check (test function): how many of its cases passed, failed, errored, were skipped
   or xfailed (JUnit XML); failing cases with their first message line. When pytest did
   not finish, or more cases errored than ran (a fixture, i.e. the pipeline, failed), the
   verdict is ``cannot run`` and the first error message, or the log's end, says why.
4. The sigma=2 combined background of each science exposure against the reference release
   (default 3.0.0): ``d = C_R - C_ref`` in DN/s over pixels finite in both, reported as
   ``max |d|`` and the robust std ``1.4826 median |d - median d|``, with the count of
   pixels finite in one only. ``inputs`` says how far apart the two runs' ramps are
   (uncal SCI samples that differ, max |difference| in DN): the simulator runs under each
   release's numpy, whose rounding may move a few samples by 1 DN.

Each release's result is kept in ``.cache/matrix/<R>/result.json``; ``reports/matrix.json``
holds the releases asked for, plus the reference's result when it comes from an earlier
invocation. Where a release does not install, or cannot run the data set, its entry says
so with the error text (``verdict``: pass, fail, cannot run, not installed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from miri_background.files import write_json_atomic
from miri_background.harness.pytest_run import pytest_command
from miri_background.harness.sweeps.matrix_compare import compare_with_reference, uncal_files
from miri_background.run_records import Outcome, read_junit

RELEASES = ("1.16.1", "1.18.1", "1.20.2", "2.0.1", "3.0.0")
"""jwst 1.12.5 does not install on Python 3.11 (its scipy pin needs a Fortran compiler)."""
RELEASE_PINS = {"1.16.1": ("crds==12.0.9",)}
"""Found by running the matrix: jwst 1.16.1 admits crds 14, which imports
``stdatamodels.exceptions`` that its stdatamodels 2.1 lacks; crds 12.0.9 works with it."""
REFERENCE = "3.0.0"
PINNED = "pinned"
"""The notebook's setting."""
PYTEST_FLAGS = ("-m", "not truth", "-W", "ignore::DeprecationWarning")
VERSIONS_OF = ("jwst", "stcal", "stdatamodels", "stpipe", "crds", "astropy", "numpy", "scipy")
TAIL = 3000
"""Characters of a log kept in the table when something went wrong."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--releases",
        nargs="+",
        default=list(RELEASES),
        metavar="R",
        help=f"jwst versions, or '{PINNED}' for the project's .venv (default: %(default)s)",
    )
    parser.add_argument(
        "--reference",
        default=REFERENCE,
        metavar="R",
        help="diff combined backgrounds against this release's run, from this invocation or "
        "an earlier one (default %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=Path("reports/matrix.json"), metavar="FILE")
    parser.add_argument("--root", type=Path, default=Path(".cache/matrix"), metavar="DIR")
    parser.add_argument("--tests", default="tests/regression", metavar="PATH")
    parser.add_argument("-n", "--workers", type=int, default=2, metavar="N", help="pytest -n")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, metavar="S", help="per install and per run"
    )


def release_python(release: str, root: Path) -> Path:
    """The interpreter of ``release``: the project's .venv for ``pinned``."""
    if release == PINNED:
        return Path(".venv/bin/python").absolute()
    return (root / release / "venv" / "bin" / "python").absolute()


def release_cache(release: str, root: Path) -> Path:
    """The content cache of ``release``: the project's own for ``pinned``."""
    return Path(".cache/mb").absolute() if release == PINNED else (root / release / "mb").absolute()


def _clean_env(venv_bin: Path) -> dict[str, str]:
    """This environment less the caller's venv and PYTHONPATH, with ``venv_bin`` first."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(command: list[str], log: Path, timeout: float, env: dict | None = None) -> int:
    """Run ``command`` in its own process group, output to ``log``; kill the group on timeout.

    Returns the exit status, or -1 after a timeout (noted at the end of the log).
    """
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            out.write(f"\n[matrix] killed after {timeout:.0f} s\n")
            return -1


def install(release: str, root: Path, project: Path, timeout: float) -> dict:
    """Create the release's venv; install ``jwst==release``, its pins and this project (-e).

    Returns ``{"installed": bool, "error": str | None, "seconds": float}``.
    """
    if release == PINNED:
        return {"installed": release_python(release, root).is_file(), "error": None, "seconds": 0}
    venv = root / release / "venv"
    stamp = venv / ".installed"
    wanted = " ".join([f"jwst=={release}", *RELEASE_PINS.get(release, ())])
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return {"installed": True, "error": None, "seconds": 0.0}
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = root / release / "install.log"
    t0 = time.perf_counter()
    status = _run([sys.executable, "-m", "venv", "--clear", str(venv)], log, timeout)
    if status == 0:
        python = str(release_python(release, root))
        pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
        status = _run([*pip, *wanted.split(), "-e", str(project)], log, timeout)
    seconds = round(time.perf_counter() - t0, 1)
    if status != 0:
        return {"installed": False, "error": _tail(log), "seconds": seconds}
    stamp.write_text(wanted + "\n")
    return {"installed": True, "error": None, "seconds": seconds}


def _tail(path: Path) -> str:
    """The end of a log, less pip's warnings about the local index's missing folders."""
    if not path.is_file():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(x for x in lines if not x.startswith("WARNING: Location '"))[-TAIL:]


def installed_versions(python: Path) -> dict[str, str]:
    """Versions of VERSIONS_OF in the environment of ``python``."""
    code = (
        "import json, importlib.metadata as m\n"
        f"print(json.dumps({{p: m.version(p) for p in {list(VERSIONS_OF)!r}}}))"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr[-TAIL:]}


def check_counts(outcomes: dict[str, Outcome]) -> dict[str, dict[str, int]]:
    """Check (test function, parameters dropped) -> {outcome: number of cases}."""
    counts: dict[str, Counter] = {}
    for test, (outcome, *_) in outcomes.items():
        check = test.split("::")[-1].split("[")[0]
        counts.setdefault(check, Counter())[outcome] += 1
    return {check: dict(c) for check, c in sorted(counts.items())}


def verdict(installed: bool, exit_status: int | None, outcomes: dict) -> str:
    """pass / fail / cannot run / not installed.

    ``cannot run``: no test ran, pytest did not finish (exit not 0 or 1), or more cases
    errored than passed or failed (a fixture, i.e. the pipeline, failed before the checks
    could look; the few that still run need no data).
    """
    if not installed:
        return "not installed"
    if exit_status not in (0, 1) or not outcomes:
        return "cannot run"
    count = Counter(o for o, *_ in outcomes.values())
    if count["error"] > count["passed"] + count["failed"]:
        return "cannot run"
    return "pass" if exit_status == 0 else "fail"


def run_release(release: str, args, project: Path) -> dict:
    """Install, run the physical checks, and summarise one release (also saved to disk)."""
    here = args.root / release
    here.mkdir(parents=True, exist_ok=True)
    print(f"[matrix] {release}: installing", flush=True)
    setup = install(release, args.root, project, args.timeout)
    result = {"release": release, "install": setup, "versions": {}, "run": None, "checks": {}}
    if setup["installed"]:
        python = release_python(release, args.root)
        result["versions"] = installed_versions(python)
        print(f"[matrix] {release}: installed {result['versions']}; running checks", flush=True)
        result["run"] = run_checks(python, release, args)
        outcomes = read_junit(here / "junit.xml") if (here / "junit.xml").is_file() else {}
        result["checks"] = check_counts(outcomes)
        result["failed"] = [
            {"test": t, "outcome": o.outcome, "message": o.first_line}
            for t, o in outcomes.items()
            if o.outcome in ("failed", "error")
        ]
        result["errors"] = dict(
            Counter(o.first_line for o in outcomes.values() if o.outcome == "error").most_common(5)
        )
        run_dir = result["run"]["run_dir"]
        result["uncal"] = [
            str(p)
            for p in uncal_files(
                Path(run_dir) if run_dir else None, release_cache(release, args.root)
            )
        ]
    else:
        outcomes = {}
    result["verdict"] = verdict(
        setup["installed"], (result["run"] or {}).get("exit_status"), outcomes
    )
    if result["verdict"] == "cannot run":
        result["error"] = next(iter(result["errors"]), None) or result["run"]["log_tail"]
    elif result["verdict"] == "not installed":
        result["error"] = setup["error"]
    write_json_atomic(here / "result.json", result)
    print(f"[matrix] {release}: {result['verdict']}", flush=True)
    return result


def run_checks(python: Path, release: str, args) -> dict:
    """``pytest -m "not truth"`` with ``python``, the release's cache, runs directory and junit."""
    here = args.root / release
    runs, junit = here / "runs", here / "junit.xml"
    junit.unlink(missing_ok=True)
    command = pytest_command(
        args.tests,
        python=python,
        workers=args.workers,
        junit=junit,
        runs=runs.absolute(),
        cache=release_cache(release, args.root),
        extra=PYTEST_FLAGS,
    )
    t0 = time.perf_counter()
    status = _run(command, here / "pytest.log", args.timeout, _clean_env(python.parent))
    latest = runs / "LATEST"
    run_dir = runs / latest.read_text().strip() if latest.is_file() else None
    log = (here / "pytest.log").read_text(errors="replace").strip().splitlines()
    return {
        "command": " ".join(command),
        "exit_status": status,
        "seconds": round(time.perf_counter() - t0, 1),
        "run_dir": str(run_dir) if run_dir else None,
        "summary": log[-1].strip("= ") if log else "",
        "log_tail": _tail(here / "pytest.log") if status != 0 else "",
    }


def _row(r: dict) -> str:
    diff = r.get("combined_vs_reference", {})
    if diff.get("max_abs") is not None:
        ramps = diff["inputs"]
        same = f" ({ramps.get('samples_differing', '?')} ramp samples differ)"
        delta = f"max|d| {diff['max_abs']:.3g}, std {diff['robust_std']:.3g} DN/s{same}"
    else:
        delta = (r.get("error") or diff.get("error") or "-").strip().splitlines()[0][:120]
    passed = sum(c.get("passed", 0) + c.get("xfailed", 0) for c in r["checks"].values())
    total = sum(sum(c.values()) for c in r["checks"].values())
    return f"{r['release']:>8}  {r['verdict']:<13} {passed:>4}/{total:<4}  {delta}"


def run(args) -> int:
    """Every release, then the diffs against the reference; write ``args.out`` and a table.

    Exit status 0: the matrix was measured (a failing release is a result, not an error).
    """
    project = Path.cwd()
    if not (project / "pyproject.toml").is_file() or not Path(args.tests).exists():
        raise ValueError(
            f"run from the project root: no pyproject.toml or {args.tests} in {project}"
        )
    results = {r: run_release(r, args, project) for r in args.releases}
    ref_file = args.root / args.reference / "result.json"
    reference = results.get(args.reference) or (
        json.loads(ref_file.read_text()) if ref_file.is_file() else None
    )
    for release, result in results.items():
        if release != args.reference:
            result["combined_vs_reference"] = compare_with_reference(result, reference)
            write_json_atomic(args.root / release / "result.json", result)
    report = {
        "releases": args.releases,
        "reference": args.reference,
        "reference_result": None if args.reference in results else reference,
        "results": results,
    }
    write_json_atomic(args.out, report)
    print(f"{'jwst':>8}  {'verdict':<13} {'passed':>9}  sigma=2 combined vs {args.reference}")
    for r in results.values():
        print(_row(r))
    print(f"wrote {args.out}")
    return 0
