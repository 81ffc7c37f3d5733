"""The run record: what a session made, written by its stages and read back in one place.

``<run>/stages/<process>.json`` holds, per process (xdist worker id or ``main``), one
record per stage: ``inputs``, ``detector1`` (its ``rates``), ``background`` (its
``products`` per sigma), ``scenario_cases`` (each case and its picture's file), with
seconds, cache hits and who ran what; product paths are relative to the run directory.
``<run>/outcomes.json`` holds every test's outcome. The pytest plugin writes them;
`read_run` is the only reader: the report, the summary and the benchmark see the run
through its `RunRecord`, never by listing the run directory's products.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from miri_background.files import write_json_atomic
from miri_background.frozen import FrozenMap

STAGES = "stages"
OUTCOMES = "outcomes.json"


def write_stage(run_dir: Path, worker: str, stage: str, value: dict) -> None:
    """Add ``value`` under ``stage`` to ``<run_dir>/stages/<worker>.json``."""
    path = run_dir / STAGES / f"{worker}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[stage] = value
    write_json_atomic(path, data)


def write_outcomes(run_dir: Path, exitstatus: int, tests: list[dict]) -> None:
    """``<run_dir>/outcomes.json``: the session's exit status and its tests' outcomes."""
    write_json_atomic(run_dir / OUTCOMES, {"exitstatus": int(exitstatus), "tests": tests})


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
    outcomes : dict or None
        ``exitstatus`` and ``tests`` (``nodeid``, ``when``, ``outcome``, ``duration_s``,
        ``message`` per report), or None when the session did not finish.
    """

    run_dir: Path
    stages: Mapping[str, Mapping]
    outcomes: dict | None

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
    """The record of ``run_dir``: its processes' stage records and the outcomes."""
    stages = {
        p.stem: FrozenMap(json.loads(p.read_text()))
        for p in sorted((run_dir / STAGES).glob("*.json"))
        if not p.name.startswith(".")  # a record being written (`files.atomic_target`)
    }
    path = run_dir / OUTCOMES
    outcomes = json.loads(path.read_text()) if path.is_file() else None
    return RunRecord(run_dir, FrozenMap(stages), outcomes)
