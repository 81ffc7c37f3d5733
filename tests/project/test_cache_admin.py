"""Bounded disk (`miri_background.cache_admin`, issue #24): eviction order, entries in use,
concurrent pruning, scratch entries, ``--no-cache`` beside a reader, a full disk.

Entries are 10 000-byte stand-ins built by `ContentCache` in temporary roots; the session
registry (`liveness`) is exercised with real child processes.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from miri_background import cache_admin
from miri_background.cache import SCRATCH_PART, ContentCache, DiskFullError
from miri_background.liveness import SESSION_ENV, SESSIONS

SIZE = 10_000
"""Bytes of one stand-in entry."""


def _write(out: Path) -> None:
    (out / "product.fits").write_bytes(b"x" * SIZE)


def _parts(i: int) -> dict:
    return {"stage": "unit", "i": i}


def _aged(entry: Path, age_s: float) -> None:
    """Set the entry's last use ``age_s`` seconds ago."""
    t = time.time() - age_s
    os.utime(entry, (t, t))


def _fill(root: Path, n: int) -> list[Path]:
    """``n`` entries, entry i last used (n - i) * 100 s ago, before any live session."""
    cache = ContentCache(root)
    paths = [cache.get_or_build("unit", _parts(i), _write).path for i in range(n)]
    for i, path in enumerate(paths):
        _aged(path, (n - i) * 100 + 3600)
    return paths


@pytest.fixture
def own_session(monkeypatch, tmp_path) -> None:
    """A session tag of this process whose registration is an hour old, so that entries
    aged past it are evictable while the registry still holds a live session."""
    monkeypatch.setenv(SESSION_ENV, f"test-{os.getpid()}")
    registry = tmp_path / "cache" / SESSIONS / f"test-{os.getpid()}"
    registry.parent.mkdir(parents=True)
    registry.write_text("0\n")
    _aged(registry, 3000)


def test_eviction_removes_least_recently_used_first(tmp_path, own_session):
    """5 entries, limit 3: the 2 least recently used go; a hit refreshes an old one."""
    root = tmp_path / "cache"
    paths = _fill(root, 5)
    assert ContentCache(root).lookup("unit", _parts(0)).hit  # entry 0 now the newest
    removed = cache_admin.evict(root, 3 * SIZE)
    assert [e.path for e in removed] == [paths[1], paths[2]]
    assert [p.is_dir() for p in paths] == [True, False, False, True, True]


def _hold(root: str, ready, release) -> None:
    """A second session: registers, gets a hit on entry 0, holds it until ``release``."""
    os.environ[SESSION_ENV] = f"holder-{os.getpid()}"
    entry = ContentCache(Path(root)).lookup("unit", _parts(0))
    ready.put(entry is not None)
    release.wait(60)


def test_entry_in_use_by_a_live_session_survives_eviction(tmp_path, own_session):
    """Entry 0, the least recently used, is hit by a live second process: evicting to 0
    bytes keeps it; once that process is gone, its registration goes at the next pass."""
    root = tmp_path / "cache"
    paths = _fill(root, 3)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Queue(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(root), ready, release))
    holder.start()
    try:
        assert ready.get(timeout=60), "the holder found no entry"
        cache_admin.evict(root, 0)
        assert [p.is_dir() for p in paths] == [True, False, False]
    finally:
        release.set()
        holder.join(60)
    cache_admin.evict(root, 0)
    assert not list((root / SESSIONS).glob("holder-*")), "a dead session is still registered"


PRUNE = """
import sys, json
from pathlib import Path
from miri_background import cache_admin
removed = cache_admin.evict(Path(sys.argv[1]), int(sys.argv[2]))
print(json.dumps([str(e.path) for e in removed]))
"""


def test_two_sessions_pruning_at_once(tmp_path, own_session):
    """Two processes evict 40 entries down to 10 at once: no error, no entry removed
    twice, and together they remove 30 +- 2 (not 60)."""
    root = tmp_path / "cache"
    _fill(root, 40)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PRUNE, str(root), str(10 * SIZE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    removed = [path for out, _ in outs for path in json.loads(out)]
    assert len(removed) == len(set(removed)), "an entry was removed twice"
    left = len(cache_admin.entries(root))
    assert 8 <= left <= 12, f"{left} entries left, expected 10 +- 2"


def test_fault_run_leaves_the_main_cache_unchanged(tmp_path, monkeypatch):
    """Entries keyed on code overrides go to the session's scratch directory; removing it
    leaves the main cache's entries, sizes and use times as they were."""
    monkeypatch.delenv("MIRI_BACKGROUND_SCRATCH_CACHE", raising=False)
    monkeypatch.setenv(SESSION_ENV, f"fault-{os.getpid()}")
    root = tmp_path / "cache"
    _fill(root, 2)
    before = [(e.path, e.size, e.used) for e in cache_admin.entries(root)]
    cache = ContentCache(root)
    for parts in (
        {"stage": "unit", SCRATCH_PART: {"faults": ["x"]}},
        {"stage": "unit", "code": {SCRATCH_PART: {"faults": ["y"]}}},
    ):
        entry = cache.get_or_build("unit", parts, _write)
        assert entry.path.parent == root / "scratch" / f"fault-{os.getpid()}" / "unit"
    assert [(e.path, e.size, e.used) for e in cache_admin.entries(root)] == before
    assert cache_admin.remove_scratch(root, f"fault-{os.getpid()}") is not None
    assert not (root / "scratch" / f"fault-{os.getpid()}").exists()
    empty = {"stage": "unit", SCRATCH_PART: {}}  # no overrides: a shared entry
    assert cache.get_or_build("unit", empty, _write).path.parent == root / "unit"


READER = """
import sys, time
from pathlib import Path
path, errors = Path(sys.argv[1]), 0
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        errors += path.read_bytes()[:1] not in (b"a", b"b")
    except FileNotFoundError:
        errors += 1
print(errors)
"""


def test_no_cache_rebuild_beside_a_reading_session(tmp_path):
    """A second session reads an entry's file in a loop while ``--no-cache`` rebuilds the
    entry 20 times: the file is never missing nor partial."""
    root = tmp_path / "cache"
    entry = ContentCache(root).get_or_build("unit", _parts(0), _write).path
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(entry / "product.fits"), "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    rebuild = ContentCache(root, enabled=False)
    for i in range(20):
        letter = b"ab"[i % 2 : i % 2 + 1]
        rebuild.get_or_build("unit", _parts(0), lambda out, b=letter: _big(out, b))
    out, _ = reader.communicate(timeout=60)
    assert int(out) == 0, f"the reader saw the file missing or partial {out.strip()} times"
    assert ContentCache(root).lookup("unit", _parts(0)).hit


def _big(out: Path, letter: bytes) -> None:
    (out / "product.fits").write_bytes(letter * 4_000_000)


def test_disk_full_mid_write_leaves_nothing_and_one_message(tmp_path):
    """A build that fills the disk raises `DiskFullError` saying what to do; neither the
    entry nor its temporary directory is left."""
    root = tmp_path / "cache"

    def fill(out: Path) -> None:
        (out / "half.fits").write_bytes(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFullError, match=r"disk filled .* partial entry was removed.*prune"):
        ContentCache(root).get_or_build("unit", _parts(0), fill)
    assert list((root / "unit").iterdir()) == [root / "unit" / f"{_key_dir(root)}.lock"]


def _key_dir(root: Path) -> str:
    from miri_background.cache import content_key

    return content_key(_parts(0))[:24]


def test_sizes_parse_and_default(monkeypatch):
    """Decimal units; the option wins over the environment variable, which wins over 4 GB."""
    assert cache_admin.parse_size("4GB") == 4 * 10**9
    assert cache_admin.parse_size("1.5 T") == 15 * 10**11
    monkeypatch.delenv(cache_admin.SIZE_ENV, raising=False)
    assert cache_admin.max_bytes(None) == cache_admin.DEFAULT_MAX_BYTES == 4 * 10**9
    monkeypatch.setenv(cache_admin.SIZE_ENV, "500M")
    assert cache_admin.max_bytes(None) == 5 * 10**8
    assert cache_admin.max_bytes("1GB") == 10**9
    with pytest.raises(ValueError, match="e.g. 4GB"):
        cache_admin.parse_size("four")


def test_preflight_estimate_follows_the_cache_state(tmp_path):
    """The coming run's cache writes: None for an empty cache (the cold figure), 0 while
    the code-keyed entries' sources are unchanged, their size once a source changed."""
    root, source = tmp_path / "cache", tmp_path / "background_sub.py"
    source.write_text("x = 1\n")
    assert cache_admin.expected_writes(root) is None

    def build(out: Path) -> list[str]:
        _write(out)
        return [str(source)]

    cache = ContentCache(root)
    cache.get_or_build("background", {"stage": "b", "faults": []}, build, depend=True)
    cache.get_or_build("simulated", {"stage": "s"}, _write)
    assert cache_admin.expected_writes(root) == 0
    assert cache_admin.expected_writes(root, fault=True) == SIZE
    assert cache_admin.expected_writes(root, rebuild_all=True) == 2 * SIZE
    source.write_text("x = 1  # edited\n")
    assert cache_admin.expected_writes(root) == SIZE
