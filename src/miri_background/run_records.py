"""The run record: what a session made, written by its stages and read back in one place.

``<run>/stages/<process>.json`` holds, per process (xdist worker id or ``main``), one
record per stage: ``inputs``, ``detector1`` (its ``rates``), ``background`` (its
``products`` per sigma), ``scenario_cases`` (each case and its picture's file), with
seconds, cache hits and who ran what; product paths are relative to the run directory.
The controller's ``session`` record (at the session's end) holds the exit status and the
outcome record: pytest's JUnit XML (``--junitxml``, by default ``<run>/junit.xml``), read
by `read_junit`. The pytest plugin writes them; `read_run` is the only reader: the report,
the summary and the benchmark see the run through its `RunRecord`, never by listing the
run directory's products.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from miri_background.files import write_json_atomic
from miri_background.frozen import FrozenMap

STAGES = "stages"

PASSED, FAILED, ERROR, SKIPPED, XFAILED = "passed", "failed", "error", "skipped", "xfailed"

MESSAGE_CHARS = 4000
"""Characters of a failure's message kept (the checks' messages list the worst pixels)."""


def write_stage(run_dir: Path, worker: str, stage: str, value: dict) -> None:
    """Add ``value`` under ``stage`` to ``<run_dir>/stages/<worker>.json``."""
    path = run_dir / STAGES / f"{worker}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[stage] = value
    write_json_atomic(path, data)


class Outcome(NamedTuple):
    """A test case's outcome (`PASSED`, `FAILED`, `ERROR`, `SKIPPED`, `XFAILED`), its
    message (first `MESSAGE_CHARS` characters) and its seconds (setup, call, teardown)."""

    outcome: str
    message: str
    seconds: float = 0.0

    @property
    def first_line(self) -> str:
        """The message's first line (pytest puts the exception's repr there)."""
        return self.message.split("\n")[0]


def junit_id(classname: str, name: str) -> str:
    """The pytest node id a JUnit test case stands for.

    pytest writes ``a/b/test_x.py::TestC::test_d[p]`` as classname ``a.b.test_x.TestC`` and
    name ``test_d[p]``; the module path is rebuilt as far as it can be (``a/b/test_x.py``),
    which is exact for the suite's layout (test modules named ``test_*``, no dots in
    directory names).
    """
    parts = classname.split(".")
    modules = [i for i, p in enumerate(parts) if p.startswith("test_")]
    module = modules[-1] if modules else len(parts) - 1
    path = "/".join(parts[: module + 1]) + ".py"
    return "::".join([path, *parts[module + 1 :], name])


def read_junit(path: Path) -> dict[str, Outcome]:
    """``{node id: Outcome}`` of every test case in a pytest JUnit XML file, in file order.

    pytest writes an xfail as a skip of type ``pytest.xfail``, a set-up or teardown failure
    as an ``error``; a case with two of them (a failure and a teardown error) counts as the
    first.
    """
    result = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test = junit_id(case.get("classname", ""), case.get("name", ""))
        outcome, message = PASSED, ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": FAILED, "error": ERROR}.get(child.tag, SKIPPED)
                if child.tag == "skipped" and child.get("type") == "pytest.xfail":
                    outcome = XFAILED
                message = (child.get("message") or child.text or "").strip()
                break
        seconds = float(case.get("time") or 0.0)
        result[test] = Outcome(outcome, message[:MESSAGE_CHARS], seconds)
    return result


def failures(outcomes: Mapping[str, Outcome], order: Sequence[str] = ()) -> list[str]:
    """Ids of the failed or errored tests, in the order of ``order`` (collection order;
    ids not in it follow in file order)."""
    rank = {test: i for i, test in enumerate(order)}
    bad = [t for t, o in outcomes.items() if o.outcome in (FAILED, ERROR)]
    return sorted(bad, key=lambda t: rank.get(t, len(rank)))


def relative(run_dir: Path, path: Path) -> str:
    """``path`` as the record keeps it: relative to ``run_dir`` when inside it."""
    path = Path(path)
    return str(path.relative_to(run_dir) if path.is_relative_to(run_dir) else path)


@dataclass(frozen=True)
class RunRecord:
    """A run directory's record, read once (`read_run`).

    Attributes
    ----------
    run_dir : Path
        The run directory the record's relative paths start from.
    stages : Mapping
        ``{process: {stage: record}}``, as the stages wrote them.
    tests : Mapping or None
        `Outcome` per node id from the JUnit file the ``session`` record names; None when
        the session did not finish (no ``session`` record) or that file is gone.
    """

    run_dir: Path
    stages: Mapping[str, Mapping]
    tests: Mapping[str, Outcome] | None

    @property
    def exitstatus(self) -> int | None:
        """pytest's exit status, or None when the session did not finish."""
        return (self.first("session") or {}).get("exitstatus")

    @property
    def junit(self) -> Path | None:
        """The outcome record (JUnit XML) the session wrote, or None."""
        junit = (self.first("session") or {}).get("junit")
        return None if junit is None else self.path(junit)

    def first(self, stage: str) -> dict | None:
        """The first process's record of ``stage``, or None when no process wrote one."""
        return next((s[stage] for s in self.stages.values() if stage in s), None)

    def path(self, recorded: str) -> Path:
        """A recorded path as a path: relative ones start at the run directory."""
        return self.run_dir / recorded

    def rates(self) -> dict[str, Path]:
        """Rate file per exposure, as detector1 recorded them (empty before it finished)."""
        recorded = (self.first("detector1") or {}).get("rates", {})
        return {name: self.path(p) for name, p in recorded.items()}

    def background_products(self) -> dict[float, dict[str, dict[str, Path]]]:
        """``{sigma: {"bsub" | "combinedbackground": {science exposure: path}}}``, as the
        background stage recorded them (empty before it finished)."""
        recorded = (self.first("background") or {}).get("products", {})
        return {
            float(sigma): {
                kind: {name: self.path(p) for name, p in paths.items()}
                for kind, paths in kinds.items()
            }
            for sigma, kinds in recorded.items()
        }

    def scenario_cases(self) -> dict[str, dict]:
        """Each scenario case's record by case id; of the processes that loaded a case,
        the one that built it (a cache miss: jwst's seconds) wins."""
        cases: dict[str, dict] = {}
        for record in self.stages.values():
            for case_id, case in record.get("scenario_cases", {}).items():
                if case_id not in cases or cases[case_id]["hit"]:
                    cases[case_id] = case
        return dict(sorted(cases.items()))


def read_run(run_dir: Path) -> RunRecord:
    """The record of ``run_dir``: its processes' stage records and the tests' outcomes."""
    stages = {
        p.stem: FrozenMap(json.loads(p.read_text()))
        for p in sorted((run_dir / STAGES).glob("*.json"))
        if not p.name.startswith(".")  # a record being written (`files.atomic_target`)
    }
    record = RunRecord(run_dir, FrozenMap(stages), None)
    if record.junit is None or not record.junit.is_file():
        return record
    return RunRecord(run_dir, record.stages, FrozenMap(read_junit(record.junit)))
