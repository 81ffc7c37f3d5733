"""Every hook on the tests' outcomes, in one place, and the session's end.

* **The outcome record** is pytest's JUnit XML: ``--junitxml`` when given, else
  ``<run>/junit.xml`` (`default_junit`). At its end the session (controller or plain) adds
  a ``session`` record to the run record: its exit status and where that file is
  (`run_records.read_run` reads both); a session that made no product (no stage record:
  ``tests/project`` alone) leaves no run directory.
* **Set-up errors the user must fix** end the run once: a `pytest.UsageError` (or
  `cache.DiskFullError`) raised inside a session fixture (a worker's, too) is reported
  once, as the message alone (no traceback), and stops the session (``shouldstop``); the
  tests it would have failed are not run, a second worker's copy of the same error is
  reported as skipped, and the exit status is 4.
* **Cache repairs** (an entry that failed verification and was rebuilt): the stage that
  rebuilt it passes `repair_line` to the session's ``note``, which calls `announce`: the
  line goes to the terminal at once (controller or plain session), or, in an xdist worker
  (whose terminal output is not shown), rides on the worker's next test report as a user
  property the controller prints when the report arrives (`NOTE_PROPERTY`; also a
  ``<property>`` of that test case in the JUnit file); and into the ``cache_repairs`` list
  of the process's stage record (``summary.json`` ``cache.repairs``).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from miri_background.cache import DiskFullError
from miri_background.pytest_plugin.session import (
    bound_disk,
    is_worker,
    record_stage,
    run_directory,
)
from miri_background.run_records import STAGES, relative

__all__ = ["NOTE_PROPERTY", "USAGE_PROPERTY", "announce", "default_junit"]

log = logging.getLogger("miri_background")

USAGE_PROPERTY = "miri_background_usage_error"
"""user_properties key carrying a set-up error's message from a worker to the controller."""

NOTE_PROPERTY = "miri_background_note"
"""user_properties key carrying a worker's repair line to the controller."""

STOPPED = "stopped by a set-up problem to fix (the error above)"

_SEEN: list[str] = []
"""Set-up error messages reported in this (controller or plain) session."""

_PENDING: list[str] = []
"""A worker's repair lines not yet attached to a report."""

_REPAIRS: list[str] = []
"""This process's repair lines (its stage record's ``cache_repairs``)."""

_CONFIG: list = []
"""The session's config (the controller prints the workers' lines with it)."""


def default_junit(config) -> None:
    """``--junitxml`` defaults to ``<run>/junit.xml`` (controller or plain session; set
    before pytest's junitxml plugin reads the option in its ``pytest_configure``)."""
    if not is_worker(config) and not config.option.xmlpath:
        config.option.xmlpath = str(run_directory(config) / "junit.xml")


def announce(config, line: str) -> None:
    """Show a repair line (see the module docstring) and record it."""
    log.warning(line)
    _REPAIRS.append(line)
    record_stage(config, "cache_repairs", list(_REPAIRS))
    if is_worker(config):
        _PENDING.append(line)
    else:
        _write(config, line)


def _write(config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"[miri_background] {line}")


def pytest_configure(config) -> None:
    _CONFIG[:] = [config]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Report a set-up `pytest.UsageError` as its message alone and stop the session; in
    a worker, attach the pending repair lines."""
    report = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if call.when == "setup" and isinstance(error, (pytest.UsageError, DiskFullError)):
        message = str(error)
        report.outcome = "failed"  # also under xfail: the failure it expects is not this
        report.longrepr = message
        report.user_properties.append((USAGE_PROPERTY, message))
        item.session.shouldstop = STOPPED
    if _PENDING:
        report.user_properties.extend((NOTE_PROPERTY, line) for line in _PENDING)
        _PENDING.clear()
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report) -> None:
    """Keep the first report of a set-up error (the same error again is a skip); on the
    controller, print the repair lines a worker's report carries."""
    message = dict(report.user_properties).get(USAGE_PROPERTY)
    if message in _SEEN:
        report.outcome = "skipped"
        report.longrepr = (report.location[0], report.location[1] or 0, f"Skipped: {STOPPED}")
    elif message is not None:
        _SEEN.append(message)
    if not _CONFIG or is_worker(_CONFIG[0]) or not hasattr(report, "node"):
        return
    for key, line in report.user_properties:
        if key == NOTE_PROPERTY:
            _write(_CONFIG[0], f"{line} [{report.node.gateway.id}]")


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session):
    """Controller or plain session: the default outcome record's directory made before
    pytest's junitxml writes into it (`_junit_writable`); after it wrote, exit status 4
    when a set-up error stopped the session, the ``session`` record (or no run directory
    when no stage ran) and the disk bounded (`session.bound_disk`). Never raises: pytest
    would then skip the test summary."""
    config = session.config
    if is_worker(config):
        return (yield)
    lines = _junit_writable(config)
    result = yield
    if _SEEN:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
    run = run_directory(config)
    try:
        if (run / STAGES).is_dir():
            junit = config.option.xmlpath and relative(run, Path(config.option.xmlpath).resolve())
            record_stage(
                config, "session", {"exitstatus": int(session.exitstatus), "junit": junit}
            )
        elif run.is_dir() and {p.name for p in run.iterdir()} <= {"junit.xml"}:
            shutil.rmtree(run)
        lines += bound_disk(config)
    except OSError as exc:
        reason = f"{type(exc).__name__}: {exc.strerror or exc}"
        lines.append(f"could not write the run record or bound the disk ({reason})")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in lines if reporter is not None else ():
        reporter.write_line(f"[miri_background] {line}")
    return result


def _junit_writable(config) -> list[str]:
    """Make the directory of the default outcome record (`default_junit`); when it cannot
    be made, point pytest's junitxml writer (found by its ``logfile``, the one attribute
    it exposes) at os.devnull, and return the line that says so, lest the session end in
    a traceback."""
    default = os.path.abspath(run_directory(config) / "junit.xml")
    if config.option.xmlpath is None or os.path.abspath(config.option.xmlpath) != default:
        return []
    try:
        os.makedirs(os.path.dirname(default), exist_ok=True)
        return []
    except OSError as exc:
        for plugin in config.pluginmanager.get_plugins():
            if getattr(plugin, "logfile", None) == default:
                plugin.logfile = os.devnull
        reason = f"{type(exc).__name__}: {exc.strerror or exc}"
        return [
            f"could not write the outcome record {default} ({reason}); the test outcomes "
            "are in the summary below only"
        ]
