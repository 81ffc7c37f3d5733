"""The session's run directory, shared by the controller and the xdist workers, and the
records written into it (`miri_background.run_records`).

Not xdist's public API: ``is_xdist_worker``/``get_xdist_worker_id`` take a request or
session (``pytest_configure`` has only the config) and name the controller "master"
(records here say "main"); its ``testrun_uid`` fixture gives the controller a fresh uuid4
per session, not the ``--testrunuid`` the workers receive.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from miri_background import run_records


def is_worker(config) -> bool:
    """Whether ``config`` is an xdist worker's."""
    return hasattr(config, "workerinput")


def worker_id(config) -> str:
    """The xdist worker id (``gw0``...) or ``main`` outside xdist."""
    return config.workerinput["workerid"] if is_worker(config) else "main"


def worker_share(config, n: int) -> int:
    """Where this process starts in a list of ``n`` units: worker i of k starts at
    ``n * i // k`` (xdist numbers its workers gw0..gw<k-1>), a plain session at 0."""
    if not is_worker(config):
        return 0
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return n * int(worker_id(config)[2:]) // max(count, 1)


def run_directory(config) -> Path:
    """``<rootdir>/runs/run-<testrunuid>``: the same for the controller and every worker."""
    uid = config.workerinput["testrunuid"] if is_worker(config) else config.option.testrunuid
    root = Path(config.rootpath) / config.getini("miri_background_runs")
    return root / f"run-{uid[:12]}"


def cache_root(config) -> Path:
    """``--cache-dir``, default ``<rootdir>/.cache/mb``."""
    return Path(config.getoption("cache_dir") or Path(config.rootpath) / ".cache" / "mb")


KEEP_RUNS = 5
"""Run directories kept (a run with all products is ~250 MB): beyond the newest 5, those
untouched for an hour (so never one a concurrent session is using) are deleted."""


def prune_runs(root: Path) -> None:
    """Delete old run directories under ``root`` (see `KEEP_RUNS`)."""
    runs = sorted(root.glob("run-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[KEEP_RUNS - 1 :]:
        if time.time() - old.stat().st_mtime < 3600:
            continue
        shutil.rmtree(old, ignore_errors=True)
        logging.getLogger("miri_background").info("deleted old run directory %s", old)


def record_stage(config, stage: str, value: dict) -> None:
    """Add ``value`` under ``stage`` to this process's stage record (`run_records`)."""
    run_records.write_stage(run_directory(config), worker_id(config), stage, value)


_OUTCOMES: list[dict] = []


def pytest_runtest_logreport(report):
    """Collect every test's outcome (controller: including the workers' reports)."""
    if report.when == "call" or report.outcome != "passed":
        _OUTCOMES.append(
            {
                "nodeid": report.nodeid,
                "when": report.when,
                "outcome": "xfailed"
                if hasattr(report, "wasxfail") and report.skipped
                else report.outcome,
                "duration_s": round(report.duration, 3),
                "message": report.longreprtext[-4000:] if report.failed else "",
            }
        )


def pytest_sessionfinish(session, exitstatus):
    """Write ``outcomes.json`` into the run directory (controller or plain session only)."""
    if is_worker(session.config) or not _OUTCOMES:
        return
    try:  # never crash here: pytest would then skip the test summary
        run_records.write_outcomes(run_directory(session.config), exitstatus, _OUTCOMES)
    except OSError as exc:
        reason = f"{type(exc).__name__}: {exc.strerror or exc}"
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"[miri_background] could not write {run_directory(session.config)}/"
            f"{run_records.OUTCOMES} ({reason}); the test outcomes are in the summary "
            "below only"
        )


