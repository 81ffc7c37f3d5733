"""Run retention (`session.prune_runs`): the newest N run directories stay, and never the
current run, the one ``LATEST`` names, or a live session's; what runs hold alone counts
against the cache limit; a session's scratch directory goes at its end."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tests.project.suite_runner import run_suite

from miri_background.pytest_plugin.session import prune_runs


def _runs(root: Path, n: int) -> list[Path]:
    """``n`` run directories, run i modified (n - i) minutes ago (run-0 the oldest)."""
    paths = []
    for i in range(n):
        path = root / f"run-{i:012d}"
        (path / "logs").mkdir(parents=True)
        t = time.time() - (n - i) * 60
        os.utime(path, (t, t))
        paths.append(path)
    return paths


def test_retention_keeps_the_newest_n(tmp_path):
    runs = _runs(tmp_path, 6)
    (tmp_path / "LATEST").write_text(runs[5].name + "\n")
    removed = prune_runs(tmp_path, 3, runs[5], set())
    assert sorted(removed) == runs[:3]
    assert [p.is_dir() for p in runs] == [False] * 3 + [True] * 3
    assert (tmp_path / "LATEST").read_text().strip() == runs[5].name


def test_retention_spares_current_latest_and_live_runs(tmp_path):
    """keep=1: the current run (an old one, say a long session), the run LATEST names and
    a live session's run all stay; LATEST stays valid."""
    runs = _runs(tmp_path, 5)
    (tmp_path / "LATEST").write_text(runs[1].name + "\n")
    prune_runs(tmp_path, 1, runs[0], {runs[2].name})
    assert [p.is_dir() for p in runs] == [True, True, True, False, True]
    assert (tmp_path / (tmp_path / "LATEST").read_text().strip()).is_dir()


def test_latest_naming_a_deleted_run_is_rewritten(tmp_path):
    runs = _runs(tmp_path, 2)
    (tmp_path / "LATEST").write_text("run-gone\n")
    prune_runs(tmp_path, 1, runs[1], set())
    assert (tmp_path / "LATEST").read_text().strip() == runs[1].name


def test_private_bytes_count_only_files_no_entry_shares(tmp_path):
    """A product hard-linked from the cache costs nothing more; a copy (or a product whose
    entry was rebuilt or evicted since) counts against the cache limit."""
    from miri_background.pytest_plugin.session import _private_bytes

    entry, run = tmp_path / "cache" / "entry", tmp_path / "runs" / "run-a"
    entry.mkdir(parents=True)
    run.mkdir(parents=True)
    (entry / "linked.fits").write_bytes(b"x" * 3000)
    os.link(entry / "linked.fits", run / "linked.fits")
    (run / "copy.fits").write_bytes(b"y" * 500)
    assert _private_bytes(run) == 500
    (entry / "linked.fits").unlink()  # the entry evicted: the run now holds it alone
    assert _private_bytes(run) == 3500


SCRATCH_TESTS = '''
import os
from miri_background.cache import SCRATCH_PART


def test_builds_a_fault_entry(content_cache):
    parts = {"stage": "unit", SCRATCH_PART: {"faults": ["x"]}}
    entry = content_cache.get_or_build("unit", parts, lambda out: (out / "p").write_bytes(b"1"))
    assert "scratch" in entry.path.parts
    print("SCRATCH", entry.path.parents[1])
'''


@pytest.mark.parametrize("workers", [["-n", "0"], ["-n", "2"]], ids=["plain", "xdist"])
def test_session_removes_its_scratch_unless_kept(tmp_path, workers):
    """The controller removes the session's scratch directory at its end (after the xdist
    workers built in it); ``--keep-scratch`` keeps it and says where."""
    files = {"test_scratch.py": SCRATCH_TESTS}
    run = run_suite(tmp_path / "gone", *workers, "-s", files=files)
    assert run.returncode == 0, run.output
    assert not list((tmp_path / "gone" / "cache" / "scratch").glob("*/unit")), run.output
    kept = run_suite(tmp_path / "kept", *workers, "-s", "--keep-scratch", files=files)
    assert kept.returncode == 0, kept.output
    assert "scratch entries kept for a post-mortem" in kept.output
    entries = [p for p in (tmp_path / "kept" / "cache" / "scratch").glob("*/unit/*") if p.is_dir()]
    assert len(entries) == 1, kept.output
