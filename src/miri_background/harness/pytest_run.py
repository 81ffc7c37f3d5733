"""The one way the harness starts a pytest session of the suite.

`pytest_command` builds the command line (always without pytest's cache provider, with
its own run directory, cache and JUnit file when given); its outcomes are read as every
run's are, by `run_records.read_junit`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


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
