"""Run the suite's pytest plugin in a subprocess on a throw-away root directory.

The root holds a ``conftest.py`` loading `miri_background.plugin` and the test files a
test writes; the run gets its own cache and runs directories under the root. Used by the
tests of hostile inputs (one message, exit status 4) and of the outputs (no secret).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

USES_INPUTS = '''
import pytest

@pytest.mark.parametrize("i", range(20))
def test_uses_inputs(inputs, i):
    assert inputs.uncal


@pytest.mark.xfail(strict=True, raises=AssertionError)
def test_known_defect(inputs):
    assert inputs.uncal is None
'''
"""21 tests that all need the data source: a set-up error would be repeated 21 times."""


@dataclass(frozen=True)
class Run:
    """A finished subprocess pytest run."""

    returncode: int
    output: str
    root: Path

    @property
    def lines(self) -> int:
        """Lines of terminal output (stdout and stderr)."""
        return len(self.output.splitlines())


def run_suite(
    root: Path,
    *args: str,
    files: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Run:
    """Write ``files`` (default: ``test_inputs.py`` = `USES_INPUTS`) into ``root`` and run
    pytest there with ``args``, the cache in ``root/cache``, run directories in
    ``root/runs``; TEST_BIGDATA is removed from the environment unless ``env`` sets it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "conftest.py").write_text('pytest_plugins = ("miri_background.pytest_plugin",)\n')
    for name, text in (files or {"test_inputs.py": USES_INPUTS}).items():
        (root / name).write_text(text)
    environ = {k: v for k, v in os.environ.items() if k != "TEST_BIGDATA"}
    environ |= {"PYTHONPATH": str(SRC)} | (env or {})
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--cache-dir={root / 'cache'}",
        "-o",
        f"miri_background_runs={root / 'runs'}",
        *args,
    ]
    done = subprocess.run(
        cmd, cwd=root, env=environ, capture_output=True, text=True, timeout=timeout
    )
    return Run(done.returncode, done.stdout + done.stderr, root)
