"""The outcome hooks (`pytest_plugin.outcomes`).

* The outcome record: a session's run record names its JUnit file (by default in the run
  directory) and exit status; a session that made nothing leaves no run directory.
* Cache repairs are one line in the terminal, also from an xdist worker, and in the
  record. A toy stage builds two cache entries through `cache.each_once` with the
  session's ``note`` (as the simulation and detector1 stages do); then one entry's file is
  damaged (same size, other bytes: a sha256 mismatch) and the next session repairs it.
"""

from __future__ import annotations

import pytest
from tests.project.suite_runner import run_suite

from miri_background.report import build as report
from miri_background.run_records import read_run

CONFTEST = '''
pytest_plugins = ("miri_background.pytest_plugin",)
from pathlib import Path

import pytest

from miri_background.cache import ContentCache, Schedule, each_once


def _build(name, root):
    return ContentCache(Path(root)).get_or_build(
        "toy", {"name": name}, lambda out: (out / f"{name}.txt").write_text(name * 100)
    )


@pytest.fixture(scope="session")
def toy(content_cache, note, run_dir):
    lookup = lambda n: content_cache.lookup("toy", {"name": n})
    args = (str(content_cache.root),)
    return each_once("toy", ["a", "b"], lookup, _build, args, Schedule(note=note))
'''

TESTS = '''
import pytest

@pytest.mark.parametrize("i", range(10))
def test_toy(toy, i):
    assert set(toy) == {"a", "b"}
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_cache_repair_is_one_line(tmp_path, workers) -> None:
    files = {"conftest.py": CONFTEST, "test_toy.py": TESTS}
    first = run_suite(tmp_path, files=files)
    assert first.returncode == 0 and "cache repair" not in first.output, first.output
    (damaged,) = (tmp_path / "cache" / "toy").glob("*/a.txt")
    damaged.write_text("x" * 100)
    for run_dir in (tmp_path / "runs").glob("run-*"):
        run_dir.rename(tmp_path / f"old-{run_dir.name}")
    second = run_suite(tmp_path, *workers, files=files)
    assert second.returncode == 0, second.output
    lines = [line for line in second.output.splitlines() if "cache repair" in line]
    key = damaged.parent.name[:12]
    assert len(lines) == 1, second.output
    assert f"toy entry {key} (a): a.txt sha256 differs from manifest; rebuilt in" in lines[0]
    (run_dir,) = (tmp_path / "runs").glob("run-*")
    repairs = report.cache_hits(read_run(run_dir))["repairs"]
    assert len(repairs) == 1 and key in repairs[0], repairs
    assert damaged.read_text() == "a" * 100


RECORDED = """
import pytest

def test_passes(run_dir):
    pass

@pytest.mark.xfail(strict=True)
def test_known(run_dir):
    assert False

def test_fails(run_dir):
    assert 1 == 2, "one is not two"
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_the_run_record_names_the_junit_file(tmp_path, workers) -> None:
    """No --junitxml: pytest writes ``<run>/junit.xml``, and the run record reads it back
    with the session's exit status."""
    run = run_suite(tmp_path, *workers, files={"test_r.py": RECORDED})
    assert run.returncode == 1, run.output
    (run_dir,) = (tmp_path / "runs").glob("run-*")
    record = read_run(run_dir)
    assert (record.exitstatus, record.junit) == (1, run_dir / "junit.xml"), record
    got = {t.split("::")[1]: o.outcome for t, o in record.tests.items()}
    assert got == {"test_passes": "passed", "test_known": "xfailed", "test_fails": "failed"}
    assert "one is not two" in record.tests["test_r.py::test_fails"].message


def test_a_session_that_made_nothing_leaves_no_run_directory(tmp_path) -> None:
    run = run_suite(tmp_path, files={"test_n.py": "def test_nothing():\n    pass\n"})
    assert run.returncode == 0, run.output
    assert not list((tmp_path / "runs").glob("run-*")), list((tmp_path / "runs").iterdir())
