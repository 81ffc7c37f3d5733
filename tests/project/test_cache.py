"""The content cache (`miri_background.cache`).

`ContentCache` is exercised with a tiny build function in temporary directories: hits,
misses, damaged entries, failing builds and two processes racing for one key (the
detector1 key's parts: tests/project/pipeline/test_detector1_keys.py). Depend mode: an
entry whose build returned source files is a hit while they hash the same, a miss naming
the file once one changes or is gone.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import re
import time
from pathlib import Path

import pytest

from miri_background.cache import (
    MANIFEST,
    SCRATCH_ENV,
    ContentCache,
    Schedule,
    each_once,
)

# miri_background.pipeline (stdatamodels, the simulator) is not imported here, so that the
# processes the race test spawns import this module in < 1 s.

PARTS = {"stage": "unit", "input": "a" * 64, "steps": {"jump": {"rejection_threshold": 10.0}}}
PRODUCT = "product.fits"
PAYLOAD = b"SIMPLE  =                    T" + bytes(range(256)) * 40
"""10 270 bytes standing in for a product file."""

BUILD_SECONDS = 1.0
"""How long the racing build holds the lock: far longer than a process takes to reach it."""


def _build(out: Path, *, count_file: Path, seconds: float = 0.0) -> None:
    """Write the product into ``out`` and append one line per build to ``count_file``."""
    with open(count_file, "a", encoding="utf-8") as f:
        f.write(f"{out.name}\n")
    time.sleep(seconds)
    (out / PRODUCT).write_bytes(PAYLOAD)


def _builds(count_file: Path) -> int:
    return len(count_file.read_text().splitlines()) if count_file.is_file() else 0


@pytest.fixture
def cache(tmp_path) -> ContentCache:
    return ContentCache(tmp_path / "cache")


@pytest.fixture
def count_file(tmp_path) -> Path:
    return tmp_path / "builds.txt"


@pytest.fixture
def build(count_file):
    return functools.partial(_build, count_file=count_file)


def test_cache_second_call_is_hit(cache, build, count_file):
    """A second call with the same parts reuses the entry without building."""
    first = cache.get_or_build("unit", PARTS, build)
    second = cache.get_or_build("unit", PARTS, build)
    assert (first.hit, first.reason) == (False, "not cached")
    assert second.hit, f"second call was a miss: {second.reason}"
    assert second.path == first.path
    assert (second.path / PRODUCT).read_bytes() == PAYLOAD
    assert _builds(count_file) == 1, f"expected 1 build, got {_builds(count_file)}"


def test_a_verified_file_is_not_hashed_again_until_it_is_written(
    cache, build, monkeypatch
):
    """A hit hashes a file only when its (size, mtime, ctime, inode) differ from the stamp
    of its last good hash (the build writes the first), or the stamp is a day old; a write
    of the same size through a hard link (as run directories hold them) is still caught."""
    from miri_background import cache as cache_module

    entry = cache.get_or_build("unit", PARTS, build)
    hashed = []
    real = cache_module.file_sha256
    monkeypatch.setattr(cache_module, "file_sha256", lambda p: hashed.append(p) or real(p))
    assert cache.lookup("unit", PARTS).hit and not hashed  # the build's stamp holds
    assert cache.lookup("unit", PARTS).hit and not hashed
    link = entry.path.parent / "run-link.fits"
    os.link(entry.path / PRODUCT, link)
    with open(link, "r+b") as f:  # same size, one byte changed, through the link
        f.seek(40)
        f.write(b"X")
    assert cache.lookup("unit", PARTS) is None, "a write through a hard link went unseen"
    assert len(hashed) == 1
    cache.get_or_build("unit", PARTS, build)  # repaired
    before = len(hashed)
    assert cache.lookup("unit", PARTS).hit and len(hashed) == before
    stamp = json.loads((entry.path / cache_module.STAMP).read_text())
    stamp["time"] -= cache_module.STAMP_MAX_AGE_S + 1
    (entry.path / cache_module.STAMP).write_text(json.dumps(stamp))
    before = len(hashed)
    assert cache.lookup("unit", PARTS).hit and len(hashed) == before + 1  # a day old


def test_entries_keyed_on_served_code_go_to_the_scratch_root(
    cache, build, tmp_path, monkeypatch
):
    """With `SCRATCH_ENV` set, an entry whose parts (at any depth) hold the served-code
    digest lives in the scratch directory; every other entry stays in the cache root."""
    scratch = tmp_path / "scratch"
    monkeypatch.setenv(SCRATCH_ENV, str(scratch))
    served = {**PARTS, "code": {"numpy": "2", "jwst_overrides": "d" * 64}}
    mutant = cache.get_or_build("unit", served, build)
    shared = cache.get_or_build("unit", PARTS, build)
    assert mutant.path.parent == scratch / "unit" and (mutant.path / PRODUCT).is_file()
    assert shared.path.parent == cache.root / "unit"
    assert cache.lookup("unit", served).path == mutant.path
    monkeypatch.delenv(SCRATCH_ENV)
    assert cache.lookup("unit", served) is None  # never in the shared root


@pytest.mark.parametrize(
    "changed",
    [
        {**PARTS, "input": "b" * 64},
        {**PARTS, "steps": {"jump": {"rejection_threshold": 10.5}}},
        {**PARTS, "references": "c" * 64},
    ],
    ids=["input-digest", "nested-step-parameter", "added-part"],
)
def test_cache_changed_parts_miss(cache, build, count_file, changed):
    """Parts that differ anywhere (even deep in a nested dict) give a new entry."""
    first = cache.get_or_build("unit", PARTS, build)
    other = cache.get_or_build("unit", changed, build)
    assert not other.hit, "changed parts were served from the old entry"
    assert other.key != first.key
    assert other.path != first.path
    assert _builds(count_file) == 2, f"expected 2 builds, got {_builds(count_file)}"
    assert cache.get_or_build("unit", PARTS, build).hit, "the first entry did not survive"


def _truncate(entry: Path) -> None:
    path = entry / PRODUCT
    path.write_bytes(path.read_bytes()[: len(PAYLOAD) // 2])


def _flip_byte(entry: Path) -> None:
    path = entry / PRODUCT
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))


def _garble_manifest(entry: Path) -> None:
    (entry / MANIFEST).write_text('{"files": ')


DAMAGE = {
    "truncated-file": (_truncate, rf"{PRODUCT} is {len(PAYLOAD) // 2} bytes, manifest says "),
    "flipped-byte": (_flip_byte, rf"{PRODUCT} sha256 differs from manifest"),
    "deleted-file": (lambda e: (e / PRODUCT).unlink(), rf"{PRODUCT} missing"),
    "deleted-manifest": (lambda e: (e / MANIFEST).unlink(), r"manifest unreadable"),
    "garbled-manifest": (_garble_manifest, r"manifest unreadable \(JSONDecodeError\)"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_cache_damaged_entry_is_rebuilt(cache, build, count_file, caplog, damage):
    """A damaged entry is detected on the next call, logged with the reason, and rebuilt."""
    damage_entry, reason = DAMAGE[damage]
    entry = cache.get_or_build("unit", PARTS, build).path
    damage_entry(entry)
    with caplog.at_level(logging.INFO, logger="miri_background.cache"):
        again = cache.get_or_build("unit", PARTS, build)
    assert not again.hit, f"damaged entry ({damage}) was served as a hit"
    misses = [r.getMessage() for r in caplog.records if "cache miss" in r.getMessage()]
    assert len(misses) == 1, f"expected one 'cache miss' log line, got {misses}"
    assert re.search(reason, misses[0]), f"log line {misses[0]!r} does not say {reason!r}"
    assert (again.path / PRODUCT).read_bytes() == PAYLOAD, "rebuilt product differs"
    assert cache.get_or_build("unit", PARTS, build).hit, "rebuilt entry is not a hit"
    assert _builds(count_file) == 2


def test_cache_failed_build_leaves_nothing(cache, count_file):
    """A build that raises propagates the error and leaves no entry and no temporary dir."""

    def failing(out: Path) -> None:
        (out / PRODUCT).write_bytes(PAYLOAD[:10])
        raise RuntimeError("detector1 crashed half-way")

    with pytest.raises(RuntimeError, match="crashed half-way"):
        cache.get_or_build("unit", PARTS, failing)
    left = sorted(p.name for p in (cache.root / "unit").iterdir() if not p.name.endswith(".lock"))
    assert left == [], f"a failed build left {left} in the cache"
    retry = cache.get_or_build("unit", PARTS, functools.partial(_build, count_file=count_file))
    assert not retry.hit and (retry.path / PRODUCT).read_bytes() == PAYLOAD


def test_cache_disabled_rebuilds(tmp_path, build, count_file):
    """``--no-cache`` (enabled=False) rebuilds an entry that a normal call would reuse."""
    ContentCache(tmp_path / "cache").get_or_build("unit", PARTS, build)
    again = ContentCache(tmp_path / "cache", enabled=False).get_or_build("unit", PARTS, build)
    assert not again.hit and again.reason == "cache disabled (--no-cache)"
    assert _builds(count_file) == 2


def _race(root: str, count_file: str, barrier, results) -> None:
    """One contender: wait for the other, then ask for the same key."""
    barrier.wait(timeout=60)
    entry = ContentCache(Path(root)).get_or_build(
        "unit",
        PARTS,
        functools.partial(_build, count_file=Path(count_file), seconds=BUILD_SECONDS),
    )
    results.put(entry.hit)


def test_cache_concurrent_processes_build_once(tmp_path, count_file):
    """Two processes released together on one key: one builds, the other waits and hits."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    args = (str(tmp_path / "cache"), str(count_file), barrier, results)
    procs = [ctx.Process(target=_race, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    hits = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert _builds(count_file) == 1, (
        f"expected 1 build of the shared key, got {_builds(count_file)}: "
        f"{count_file.read_text().splitlines()}"
    )
    assert hits == [False, True], f"expected one miss and one hit, got hits={hits}"


def _build_named(name: str, root: str, count_file: str):
    """``each_once``'s build: the entry of ``name`` under PARTS (module level: it pickles)."""
    build = functools.partial(_build, count_file=Path(count_file))
    return ContentCache(Path(root)).get_or_build("unit", {**PARTS, "name": name}, build)


def test_each_once_takes_hits_first_then_builds_from_the_offset(cache, count_file):
    """Hits are reported first; the misses are built in this process in the order that
    starts ``order_offset`` names in, each once."""
    _build_named("c", str(cache.root), str(count_file))
    notes: list[str] = []
    entries = each_once(
        "unit",
        ["a", "b", "c", "d"],
        lambda n: cache.lookup("unit", {**PARTS, "name": n}),
        _build_named,
        (str(cache.root), str(count_file)),
        Schedule(order_offset=1, note=notes.append),
    )
    pattern = re.compile(r"unit \[\d/4\] (\w): (cache hit|ran in)")
    order = [m.group(1, 2) if (m := pattern.match(line)) else line for line in notes]
    expected = [("c", "cache hit"), ("b", "ran in"), ("d", "ran in"), ("a", "ran in")]
    assert order == expected, f"progress lines {notes}, expected the order {expected}"
    assert sorted(entries) == ["a", "b", "c", "d"] and _builds(count_file) == 4, (
        f"entries {sorted(entries)}, builds {_builds(count_file)} (expected 4: c before)"
    )


def test_each_once_pool_builds_each_miss_once(cache, count_file):
    """With 2 spawned processes every miss is built once and returned."""
    entries = each_once(
        "unit",
        ["a", "b", "c"],
        lambda n: cache.lookup("unit", {**PARTS, "name": n}),
        _build_named,
        (str(cache.root), str(count_file)),
        Schedule(processes=2, note=lambda _: None),
    )
    built = {n: e.hit for n, e in entries.items()}
    assert built == dict.fromkeys("abc", False) and _builds(count_file) == 3, (
        f"hits per name {built}, builds {_builds(count_file)}: expected 3 misses, 3 builds"
    )


# --- depend mode ---------------------------------------------------------------------------


@pytest.fixture
def sources(tmp_path) -> list[Path]:
    """Two source files a depend-mode build reports."""
    paths = [tmp_path / "src" / "ran.py", tmp_path / "src" / "also_ran.py"]
    paths[0].parent.mkdir()
    for p in paths:
        p.write_text(f"def f():\n    return {p.stem!r}\n")
    return paths


def _depend_build(out: Path, *, count_file: Path, sources: list[Path]) -> list[str]:
    _build(out, count_file=count_file)
    return [str(p) for p in sources]


@pytest.mark.parametrize("change", ["nothing", "edit", "delete"])
def test_depend_mode_entry_valid_while_sources_hash_the_same(cache, count_file, sources, change):
    """The manifest records each source's sha256; a lookup is a hit while they all match,
    else a miss whose reason names the changed file, and the next get rebuilds."""
    build = functools.partial(_depend_build, count_file=count_file, sources=sources)
    first = cache.get_or_build("unit", PARTS, build, depend=True)
    assert first.sources == 2
    if change == "edit":
        sources[1].write_text(sources[1].read_text() + "# a comment\n")
    elif change == "delete":
        sources[1].unlink()
    hit = cache.lookup("unit", PARTS)
    second = cache.get_or_build("unit", PARTS, build, depend=True)
    if change == "nothing":
        assert hit is not None and second.hit and _builds(count_file) == 1
        return
    assert hit is None, f"{change} of {sources[1]}: still a hit"
    word = "changed" if change == "edit" else "is gone"
    assert second.reason == f"source {sources[1]} {word}", second.reason
    assert _builds(count_file) == 2


def test_depend_mode_hash_memo_sees_an_edit_of_the_same_size(cache, count_file, sources):
    """The memo is keyed on (path, size, mtime_ns): an edit keeping the size but not the
    modification time is hashed again (the edit's mtime is set 1 ms later, so that a coarse
    file-system clock cannot hide it)."""
    build = functools.partial(_depend_build, count_file=count_file, sources=sources)
    cache.get_or_build("unit", PARTS, build, depend=True)
    text, before = sources[0].read_text(), sources[0].stat()
    sources[0].write_text(text.replace("ran", "RAN"))
    os.utime(sources[0], ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert sources[0].stat().st_size == before.st_size
    assert cache.lookup("unit", PARTS) is None


def test_build_return_value_ignored_outside_depend_mode(cache, count_file):
    """A build that returns something (a path, as ``lambda out: write(out)`` may) makes no
    depend-mode entry unless ``depend=True`` is asked for."""

    def build(out: Path) -> Path:
        _build(out, count_file=count_file)
        return out / PRODUCT

    entry = cache.get_or_build("unit", PARTS, build)
    assert entry.sources == 0 and "sources" not in (entry.path / MANIFEST).read_text()
