"""Nothing half-written: dead processes' temporaries go at the next start, a failed copy
leaves nothing, and pytest_sessionfinish reports what it could not write instead of
crashing (the test summary still prints)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.project.suite_runner import run_suite

from miri_background import files
from miri_background.pytest_plugin import stale_temps


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _aged(path: Path) -> Path:
    old = time.time() - 2 * stale_temps.MIN_AGE_S
    os.utime(path, (old, old))
    return path


def test_dead_processes_temporaries_are_removed(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    root, runs = tmp_path / "cache", tmp_path / "runs"
    kind = root / "detector1"
    for pid in (dead, alive):
        (kind / f".tmp-0123abcd-{pid}").mkdir(parents=True)
        (kind / f".tmp-0123abcd-{pid}" / "partial_rate.fits").write_bytes(b"x" * 516)
    det1 = runs / "run-abc" / "detector1"
    det1.mkdir(parents=True)
    files = {
        "dead-link": det1 / f".tmp{dead}.seq1_rate.fits",
        "alive-link": det1 / f".tmp{alive}.seq2_rate.fits",
        "dead-young": det1 / f".tmp{dead}.seq3_rate.fits",
        "dead-part": runs / "run-abc" / f".a.fits.{dead}-0a1b2c3d.part",
        "product": det1 / "seq4_rate.fits",
    }
    for key, path in files.items():
        path.write_bytes(b"x")
        if key != "dead-young":
            _aged(path)
    removed = stale_temps.remove_dead(root, runs)
    assert sorted(p.name for p in removed) == sorted(
        [f".tmp-0123abcd-{dead}", files["dead-link"].name, files["dead-part"].name]
    )
    assert (kind / f".tmp-0123abcd-{alive}" / "partial_rate.fits").is_file()
    for key in ("alive-link", "dead-young", "product"):
        assert files[key].exists(), key


def test_locked_cache_folder_is_kept(tmp_path: Path) -> None:
    """A dead pid whose entry lock is held (a builder on another host) keeps its folder."""
    from filelock import FileLock

    folder = tmp_path / "detector1" / f".tmp-0123abcd-{_dead_pid()}"
    folder.mkdir(parents=True)
    with FileLock(str(tmp_path / "detector1" / "0123abcd.lock")):
        code = (
            "import sys; from pathlib import Path;"
            "from miri_background.pytest_plugin import stale_temps;"
            f"sys.exit(len(stale_temps.remove_dead(Path({str(tmp_path)!r}), Path('/nonexistent'))))"
        )
        assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert folder.is_dir()


@pytest.mark.parametrize("failure", ["copy", "replace"])
def test_failed_link_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    src = tmp_path / "src.fits"
    src.write_bytes(b"x" * 1000)
    out = tmp_path / "detector1"
    out.mkdir()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "link", full)  # another file system: a copy
    if failure == "replace":
        monkeypatch.setattr(files.os, "replace", full)
    else:
        monkeypatch.setattr(
            files.shutil, "copyfile", lambda a, b: (Path(b).write_bytes(b"x"), full())
        )
    with pytest.raises(OSError, match="No space left"):
        files.link_atomic(src, out / "seq1_rate.fits")
    assert list(out.iterdir()) == []


def test_failed_json_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    with pytest.raises(OSError):
        files.write_json_atomic(tmp_path / "a.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


SESSIONFINISH = '''
import errno, os, shutil
from pathlib import Path

def test_breaks_the_runs_directory(request, run_dir):
    """Passes, then leaves the session unable to write its run record and outcomes."""
    run = Path(request.config.rootpath) / "runs"
    if os.environ["BREAK"] == "enospc":
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        os.replace = full
    else:
        shutil.rmtree(run, ignore_errors=True)
        run.write_text("now a file")
'''


@pytest.mark.parametrize("how", ["parent-is-a-file", "enospc"])
def test_sessionfinish_never_crashes(tmp_path: Path, how: str) -> None:
    """The runs directory became a file, or the disk is full: one line says what could
    not be written and why, the summary prints, the exit status is the tests' (0)."""
    run = run_suite(tmp_path, env={"BREAK": how}, files={"test_f.py": SESSIONFINISH})
    assert run.returncode == 0, run.output
    assert "1 passed" in run.output and "Traceback" not in run.output, run.output
    reason = "No space left on device" if how == "enospc" else "Not a directory"
    lines = [line for line in run.output.splitlines() if "could not write" in line]
    what = "junit.xml" if how == "parent-is-a-file" else "run record"
    assert len(lines) == 1 and reason in lines[0] and what in lines[0], run.output
    assert not list(tmp_path.rglob(".tmp*")), list(tmp_path.rglob(".tmp*"))


def test_dead_sessions_scratch_is_removed(tmp_path: Path) -> None:
    """A killed session's scratch directory (and registration) goes at the next start; a
    live session's stays."""
    from miri_background.cache import SCRATCH

    dead, alive = _dead_pid(), os.getpid()
    root = tmp_path / "cache"
    for pid in (dead, alive):
        (root / SCRATCH / f"abc123-{pid}" / "background").mkdir(parents=True)
        (root / "sessions").mkdir(exist_ok=True)
        (root / "sessions" / f"abc123-{pid}").write_text("0\n")
    removed = stale_temps.remove_dead(root, tmp_path / "runs")
    assert removed == [root / SCRATCH / f"abc123-{dead}"]
    assert (root / SCRATCH / f"abc123-{alive}").is_dir()
    assert sorted(p.name for p in (root / "sessions").iterdir()) == [f"abc123-{alive}"]
