"""Set-up errors the user must fix end the run once: one message, exit status 4.

* The real data source (``--bigdata``, ``--data-source artifactory|box|dir:PATH``) is
  resolved once on the controller (or the plain session) in `pytest_sessionstart`, before
  xdist starts its workers: files fetched or checked, a problem raised as one
  `pytest.UsageError` (pytest prints ``ERROR: <message>`` and exits with status 4). The
  workers' ``inputs`` fixture then finds the verified files in place.
* A `pytest.UsageError` (or `cache.DiskFullError`) raised later inside a session fixture
  (a worker's, too) is reported once, as the message alone (no traceback), and stops the
  session (``shouldstop``); the tests it would have failed are not run, a second worker's
  copy of the same error is reported as skipped, and the exit status is 4.
"""

from __future__ import annotations

import pytest

from miri_background.cache import DiskFullError
from miri_background.pytest_plugin.preflight import wants_real_data

__all__ = ["USAGE_PROPERTY"]

USAGE_PROPERTY = "miri_background_usage_error"
"""user_properties key carrying a set-up error's message from a worker to the controller."""

STOPPED = "stopped by a set-up problem to fix (the error above)"

_SEEN: list[str] = []
"""Set-up error messages reported in this (controller or plain) session."""


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session) -> None:
    """Resolve a real data source once, before any worker starts or any test runs."""
    config = session.config
    source = wants_real_data(config)
    if hasattr(config, "workerinput") or source is None or config.option.collectonly:
        return
    from miri_background.pytest_plugin.session import run_directory

    real_data_inputs(config, source, run_directory(config) / "data")


def artifactory_tree_of(config) -> dict[str, str]:
    """``env`` (ci-watson's ``--env``) and ``inputs_root`` (ini key) of the Artifactory tree
    ``$TEST_BIGDATA/<inputs_root>/<env>/``, as keyword arguments of `inputs.real.sources`."""
    return {
        "env": config.getoption("env"),
        "inputs_root": (config.getini("inputs_root") or ["jwst-pipeline"])[0],
    }


def real_data_inputs(config, source: str, dest):
    """`inputs.real.sources.real_inputs` for the session's data set; a problem the user
    must fix is one `pytest.UsageError` naming the options, with no chained cause (its
    frames would show the URL's credentials)."""
    from miri_background.inputs.real.download import FetchError
    from miri_background.inputs.real.sources import real_inputs
    from miri_background.observation import datasets

    data_set = datasets.selected()
    try:
        return real_inputs(source, dest, **artifactory_tree_of(config), data_set=data_set)
    except FetchError as exc:
        what = "--bigdata" if source == "artifactory" else f"--data-source {source}"
        raise pytest.UsageError(f"{what} --data-set {data_set.name}: {exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Report a set-up `pytest.UsageError` as its message alone and stop the session."""
    report = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if call.when == "setup" and isinstance(error, (pytest.UsageError, DiskFullError)):
        message = str(error)
        report.outcome = "failed"  # also under xfail: the failure it expects is not this
        report.longrepr = message
        report.user_properties.append((USAGE_PROPERTY, message))
        item.session.shouldstop = STOPPED
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report) -> None:
    """Keep the first report of a set-up error; the same error again is a skip."""
    message = dict(report.user_properties).get(USAGE_PROPERTY)
    if message is None:
        return
    if message in _SEEN:
        report.outcome = "skipped"
        report.longrepr = (report.location[0], report.location[1] or 0, f"Skipped: {STOPPED}")
    else:
        _SEEN.append(message)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session) -> None:
    """Exit status 4 (usage error) when a set-up error stopped the session."""
    if _SEEN and not hasattr(session.config, "workerinput"):
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
