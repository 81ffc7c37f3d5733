"""The README states what the code does: the regression suite's test count (collected, in
one place) and every option the plugin registers (in the options table)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from miri_background.pytest_plugin import options
from miri_background.scenarios import fixtures

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
COUNT = re.compile(r"(\d+) regression tests \((\d+) scenario cases\)")


def test_readme_states_the_collected_regression_count_once():
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"]
        + ["tests/regression"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    cases = {
        m.group(1)
        for line in ids
        if "/test_scenarios_" in line and (m := re.search(r"[\[-]([\w.-]+-sigma\d+)", line))
    }
    stated = COUNT.findall(README)
    assert len(stated) == 1, f"README states the count {len(stated)} times: {stated}"
    assert stated[0] == (str(len(ids)), str(len(cases))), (
        f"README: {stated[0][0]} regression tests ({stated[0][1]} scenario cases); "
        f"collected {len(ids)} ({len(cases)} scenario cases)"
    )


class _Options:
    """A stand-in for pytest's parser that keeps the names of the options added."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def getgroup(self, *args, **kwargs) -> _Options:
        return self

    def addoption(self, *names: str, **kwargs) -> None:
        self.names += names

    def addini(self, *args, **kwargs) -> None:
        pass


def test_every_plugin_option_is_in_the_options_table():
    parser = _Options()
    options.pytest_addoption(parser)
    fixtures.pytest_addoption(parser)
    section = README.split("\n## Options\n", 1)[1].split("\n## ", 1)[0]
    listed = {
        o
        for row in section.splitlines()
        if row.startswith("| `")
        for o in re.findall(r"--[\w-]+", row.split(" | ")[0])
    }
    assert len(parser.names) > 10, parser.names
    missing = [name for name in parser.names if name not in listed]
    assert not missing, f"options missing from the README's options table: {missing}"
