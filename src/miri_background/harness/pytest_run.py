"""The one way the harness starts a pytest session of the suite and reads its outcomes.

`pytest_command` builds the command line (always without pytest's cache provider, with
its own run directory, cache and JUnit file when given); `read_junit` turns the JUnit XML
into ``{test id: Outcome}``.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

PASSED, FAILED, ERROR, SKIPPED, XFAILED = "passed", "failed", "error", "skipped", "xfailed"


def pytest_command(
    tests: str,
    *,
    python: str | Path = sys.executable,
    workers: int | None = None,
    junit: Path | None = None,
    runs: Path | None = None,
    cache: Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``python -m pytest tests -p no:cacheprovider`` with the given session settings.

    Parameters
    ----------
    tests : str
        Path (or node id) of the tests to run.
    python : str or Path, default sys.executable
        The interpreter (a release venv's for the matrix).
    workers : int, optional
        ``-n workers`` (pytest-xdist); None or 1 runs in one process.
    junit, runs, cache : Path, optional
        ``--junitxml``, the ini key ``miri_background_runs`` (the run directories) and
        ``--cache-dir``.
    extra : sequence of str
        Further arguments, appended last.
    """
    command = [str(python), "-m", "pytest", tests, "-p", "no:cacheprovider"]
    if workers is not None and workers > 1:
        command += ["-n", str(workers)]
    if junit is not None:
        command.append(f"--junitxml={junit}")
    if runs is not None:
        command += ["-o", f"miri_background_runs={runs}"]
    if cache is not None:
        command.append(f"--cache-dir={cache}")
    return [*command, *extra]


class Outcome(NamedTuple):
    """A test case's outcome (`PASSED`, `FAILED`, `ERROR`, `SKIPPED`, `XFAILED`) and its
    message (first 500 characters)."""

    outcome: str
    message: str

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

    pytest writes an xfail as a skip of type ``pytest.xfail``; a case with a failure and a
    teardown error counts as failed (the first child wins).
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
        result[test] = Outcome(outcome, message[:500])
    return result


def failures(outcomes: dict[str, Outcome], order: Sequence[str] = ()) -> list[str]:
    """Ids of the failed or errored tests, in the order of ``order`` (collection order;
    ids not in it follow in file order)."""
    rank = {test: i for i, test in enumerate(order)}
    bad = [t for t, o in outcomes.items() if o.outcome in (FAILED, ERROR)]
    return sorted(bad, key=lambda t: rank.get(t, len(rank)))
