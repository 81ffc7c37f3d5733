"""Cache repairs: one line in the terminal (also from xdist workers) and in the run record.

A repair is a cache entry that existed but failed verification (a file missing, of the
wrong size, or whose sha256 differs from the entry's manifest) and was rebuilt. The stage
that rebuilt it passes `repair_line` to the session's ``note``; `announce` then

* writes it to the terminal at once (controller or plain session), or, in an xdist worker
  (whose terminal output is not shown), attaches it to the worker's next test report as a
  user property that the controller prints when the report arrives (`NOTE_PROPERTY`; it is
  also a ``<property>`` of that test case in junit.xml);
* adds it to the ``cache_repairs`` list of the process's stage record, which the report
  shows (``summary.json`` ``cache.repairs``, the run table of report.html).
"""

from __future__ import annotations

import logging

import pytest

__all__ = ["NOTE_PROPERTY", "announce"]

log = logging.getLogger("miri_background")

NOTE_PROPERTY = "miri_background_note"

_PENDING: list[str] = []
"""A worker's repair lines not yet attached to a report."""

_REPAIRS: list[str] = []
"""This process's repair lines (its stage record's ``cache_repairs``)."""

_CONFIG: list = []
"""The session's config (the controller prints the workers' lines with it)."""


def announce(config, line: str) -> None:
    """Show a repair line (see the module docstring) and record it."""
    from miri_background.pytest_plugin.session import record_stage

    log.warning(line)
    _REPAIRS.append(line)
    record_stage(config, "cache_repairs", list(_REPAIRS))
    if hasattr(config, "workerinput"):
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
    """In a worker: attach the pending repair lines to this report."""
    report = yield
    if _PENDING:
        report.user_properties.extend((NOTE_PROPERTY, line) for line in _PENDING)
        _PENDING.clear()
    return report


def pytest_runtest_logreport(report) -> None:
    """On the controller: print the repair lines a worker's report carries."""
    if not _CONFIG or hasattr(_CONFIG[0], "workerinput") or not hasattr(report, "node"):
        return
    for key, line in report.user_properties:
        if key == NOTE_PROPERTY:
            _write(_CONFIG[0], f"{line} [{report.node.gateway.id}]")
