"""The sessions of one mutant, per side, and how their outcomes read (`run`).

Suite side: one session per data set (``--data-set``), scenario tests first
(`ScenariosFirst`), a scratch cache in the mutant's directory; upstream side: the target's
upstream tests (`targets.Target.upstream`, e.g. jwst's ``test_background.py``) with the
suite's local CRDS context. A session *kills* on pytest exit 1-3 (or 4 through the served
copy) or a timeout, *survives* on exit 0, and is a harness *error* otherwise or when the
mutated module was never imported by its process (`outcome`); a side's sessions stop at the
first that did not survive (`combine`). A mutant whose statement no clean session of a side
executed is survived without a session (`not_executed`, `unrun`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from miri_background.cache import SCRATCH_ENV
from miri_background.harness.mutation import mutants, serve, targets
from miri_background.harness.mutation.fork import Session
from miri_background.harness.mutation.report import ERROR, KILLED, SURVIVED
from miri_background.inputs import crds_local
from miri_background.run_records import failures, read_junit
from miri_background.software import encode_overrides

PYTEST = ("-p", "no:cacheprovider", "-q")
DATA_SETS = ("mirisim", "flight")
"""The suite's observations (``--data-set``), each a session of the suite side."""
UPSTREAM = "upstream"
"""The side (and session label) of the target's upstream tests."""


class ScenariosFirst:
    """pytest plugin: under ``-x``, the order in which most mutants die cheaply.

    The scenario tests (``test_scenarios_*.py``) go before the notebook's, grouped by case
    (a case's products are one small jwst call, made when its first test asks for them),
    cheapest case first (`case_cost`): all tests of the first case, then of the next, so a
    mutant one case exposes is stopped before the dearer cases run. Otherwise collection
    order. ``first``: test files to put before them all (the image2 ways' three SUB64
    Image2Pipeline calls, for a target on the pipeline's path that no scenario case calls).
    """

    def __init__(self, first: tuple[str, ...] = ()):
        self.first = first

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        def key(item) -> tuple[int, float, str]:
            if item.path.name in self.first:
                return (-1, 0.0, "")
            case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
            if not item.path.name.startswith("test_scenarios_") or case is None:
                return (1, 0.0, "")
            return (0, case_cost(case), case.id)

        items.sort(key=key)


def case_cost(case) -> int:
    """Pixels a case's call reads: the science frame's and every background's, times their
    integrations (four FULL frames ~5 s, a SUB64 case a few ms)."""
    from miri_background.scenarios.model import siaf_subarray

    scenario = case.scenario
    frames = [(scenario.science, scenario.science_nints)]
    frames += [(b.subarray, b.nints) for b in scenario.backgrounds]
    return sum(siaf_subarray(name).xsize * siaf_subarray(name).ysize * n for name, n in frames)


def side_sessions(
    args, run: Path, digest: str, modules: list[str], clean: bool
) -> dict[str, list[Session]]:
    """Per side, its sessions in order, for ``modules`` served from ``run / "hook"``.

    The suite side has one session per data set (``--data-set``; the scenarios run in
    each) and a scratch cache in ``run``; the upstream side runs in ``run`` with the local
    CRDS context. Every session gets the served modules' `encode_overrides` (their
    ``digest`` and installed file names: which cached products they can reach). ``clean``:
    each session also records the lines of the served files it ran.
    """
    hook = run / "hook"
    served = {serve.MUTANT_ENV: encode_overrides(digest, map(targets.source_name, modules))}
    suite = []
    for data_set in args.data_sets:
        junit = run / f"suite-{data_set}.xml"
        argv = [*PYTEST, str(Path(args.tests).resolve()), "-x", "--sim-level", "rate"]
        argv += ["--data-set", data_set, "--cache-dir", str(args.cache_dir.resolve())]
        argv += ["-o", f"miri_background_runs={run / 'runs'}", "--junitxml", str(junit)]
        env = served | {SCRATCH_ENV: str(run / "scratch-cache")}
        suite.append(
            Session(
                data_set,
                tuple(argv),
                Path.cwd(),
                env,
                hook,
                run / f"suite-{data_set}.log",
                (ScenariosFirst(targets.TARGETS[args.target].first_tests),),
                run / f"coverage-{data_set}.json" if clean else None,
            )
        )
    target = targets.TARGETS[args.target]
    if not target.upstream:
        return {"suite": suite, UPSTREAM: []}
    (run / "pytest.ini").write_text("[pytest]\n")
    tree = targets.site_dir(target.modules[0])
    # rootdir = the directory holding the package, so test ids read jwst/background/tests/...
    # (nothing is written there: no cache provider, the JUnit file and ini are in run)
    argv = [*PYTEST, *(str(tree / test) for test in target.upstream), "-x"]
    argv += ["-c", str(run / "pytest.ini"), "--rootdir", str(tree), "--confcutdir", str(tree)]
    argv += ["--junitxml", str(run / "upstream.xml")]
    env = served | crds_local.environment(args.crds_root)
    upstream = Session(
        UPSTREAM,
        tuple(argv),
        run,
        env,
        hook,
        run / "upstream.log",
        coverage=run / "coverage-upstream.json" if clean else None,
    )
    return {"suite": suite, UPSTREAM: [upstream]}


def outcome(session: Session, code: int | None, seconds: float, pid: int) -> dict:
    """A session's outcome from its exit status (None: timed out) and JUnit file."""
    junit = Path(session.args[session.args.index("--junitxml") + 1])
    outcomes = read_junit(junit) if junit.is_file() else {}
    failed = failures(outcomes)
    first = failed[0] if failed else None
    if code is None:
        status, first = KILLED, f"timeout after {seconds:.0f} s"
    elif code == 0:
        status = SURVIVED
    elif code in (1, 2, 3):
        status, first = KILLED, first or f"pytest exit {code} (no test failed: collection/internal)"
    elif code == 4 and _raised_in_copy(session):
        status, first = KILLED, "pytest exit 4: the mutated module raised on import (conftest)"
    else:
        status = ERROR
    imported = any(line.split()[0] == str(pid) for line in serve.loaded(session.hook))
    tail = ""
    if status == SURVIVED and not imported:
        status, tail = ERROR, "mutated module never imported"
    elif status == ERROR or (status == KILLED and not failed):  # what pytest said
        tail = session.log.read_text(errors="replace")[-2000:] if session.log.is_file() else ""
    return {
        "session": session.label,
        "status": status,
        "killed_by": first if status == KILLED else None,
        "message": outcomes[first].message if first in outcomes else "",
        "timeout": code is None,
        "exit_status": code,
        "seconds": seconds,
        "imported": imported,
        "log_tail": tail,
    }


def _raised_in_copy(session: Session) -> bool:
    """Whether the session's log shows a traceback through a served copy (a mutant that
    breaks its module's import, e.g. an annotation ``Callable * None``: pytest reports
    the conftest that imported it as a usage error, exit 4)."""
    log = session.log.read_text(errors="replace") if session.log.is_file() else ""
    # pytest shortens a path under its rootdir: match the copy's name in the hook's folder
    served = serve.served_files(session.hook).values()
    return any(f"served/{Path(path).name}" in log for path in served)


def combine(sessions: list[dict]) -> dict:
    """One side's outcome from its sessions: the last one run decides (the first that did
    not survive, or the last of all); seconds add up; killed_by names the session."""
    last = sessions[-1]
    killed_by = last["killed_by"]
    if killed_by and last["session"] != UPSTREAM:
        killed_by = f"[{last['session']}] {killed_by}"
    return last | {
        "run": True,
        "killed_by": killed_by,
        "seconds": round(sum(s["seconds"] for s in sessions), 1),
        "imported": all(s["imported"] for s in sessions),
        "sessions": [
            {k: s[k] for k in ("session", "status", "exit_status", "seconds")} for s in sessions
        ],
    }


def not_executed(m: mutants.Mutant, executed: dict[str, set[int]]) -> str | None:
    """Why a side cannot tell ``m`` from the original (its statement never ran in the
    clean pass), or None when it must be run."""
    lines = mutants.statement_lines(m.file, m.line)
    if not lines or set(lines) & executed.get(m.module, set()):
        return None
    span = f"{lines.start}-{lines.stop - 1}" if len(lines) > 1 else str(lines.start)
    return f"not run: no clean session of this side executes line(s) {span}"


def not_survived(result: dict) -> bool:
    return result["status"] != SURVIVED


def unrun(reason: str) -> dict:
    return {
        "status": SURVIVED,
        "run": False,
        "reason": reason,
        "killed_by": None,
        "message": "",
        "timeout": False,
        "exit_status": None,
        "seconds": 0.0,
        "imported": False,
        "sessions": [],
        "log_tail": "",
    }


def killed_unrun(raised: str) -> dict:
    """A side that imports the module, for a mutant whose module raises on import
    (`imports.broken`): every session of the side would fail at collection."""
    return unrun(f"not run: the mutated module raises on import ({raised})") | {
        "status": KILLED,
        "killed_by": f"import: {raised}",
    }


def executed_lines(clean: Path, sides: list[str]) -> dict[str, dict[str, set[int]]]:
    """Per side, {module: lines run} from the coverage files of the clean pass in ``clean``."""
    out = {}
    for side in sides:
        labels = [UPSTREAM] if side == UPSTREAM else list(DATA_SETS)
        lines: dict[str, set[int]] = {}
        for label in labels:
            path = clean / f"coverage-{label}.json"
            if path.is_file():
                for module, found in json.loads(path.read_text()).items():
                    lines.setdefault(module, set()).update(found)
        out[side] = lines
    return out
