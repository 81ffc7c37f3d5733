"""The records a session leaves in its run directory, and how to read them back.

``<run>/stages/<worker>.json`` holds, per process (xdist worker id or ``main``), one record
per stage (``inputs``, ``detector1``, ``background``: seconds, cache hits, who ran what);
``<run>/outcomes.json`` every test's outcome. The pytest plugin writes them; the report
and the benchmark read them.
"""

from __future__ import annotations

import json
from pathlib import Path

from miri_background.files import write_json_atomic

STAGES = "stages"
OUTCOMES = "outcomes.json"


def write_stage(run_dir: Path, worker: str, stage: str, value: dict) -> None:
    """Add ``value`` under ``stage`` to ``<run_dir>/stages/<worker>.json``."""
    path = run_dir / STAGES / f"{worker}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[stage] = value
    write_json_atomic(path, data)


def read_stages(run_dir: Path) -> dict[str, dict]:
    """Stage records per process: ``{worker: {stage: record}}``."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / STAGES).glob("*.json"))}


def write_outcomes(run_dir: Path, exitstatus: int, tests: list[dict]) -> None:
    """``<run_dir>/outcomes.json``: the session's exit status and its tests' outcomes."""
    write_json_atomic(run_dir / OUTCOMES, {"exitstatus": int(exitstatus), "tests": tests})


def read_outcomes(run_dir: Path) -> dict | None:
    """The ``outcomes.json`` record, or None when the session did not write one."""
    path = run_dir / OUTCOMES
    return json.loads(path.read_text()) if path.is_file() else None
