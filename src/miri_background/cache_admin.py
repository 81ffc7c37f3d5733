"""Bounding the content cache: size, least-recently-used eviction, stats, scratch.

Sizes are decimal (``4GB`` = 4e9 bytes, as ccache's ``max_size``) and an entry's is its
manifest's ``size``: a file hard-linked into two entries (the assembled data set links the
simulated exposures, 0.2 GB) counts twice, so the limit errs on the small side. `DEFAULT_MAX_BYTES`
is 4 GB: one session's working set on the built-in data is 1.7 GB (simulation 0.52,
detector1 0.16, background 0.39, scenario inputs and runs 0.77), so 4 GB holds the current
set and the previous generation of the code-dependent entries (1.2 GB per edit of
``jwst/background``), and fits a laptop's disk. Set it with ``--cache-size`` or
`SIZE_ENV`.

Eviction (`evict`) removes entries by last use (the entry directory's mtime, set on each
hit and build by `cache.ContentCache`), oldest first, until the entries total at most the
limit. An entry is kept when

* its lock is held (waited for `LOCK_WAIT_S` only): it is being built or verified;
* it was used at or after ``horizon = min(now, start of every live session) - CLOCK_SLACK_S``
  (`liveness`): a live session may still read it.

Why this is sound: a session uses an entry only after a hit or build under the entry's lock,
which sets the mtime to that moment, after the session registered. An evictor takes the
lock, then re-reads the mtime. If the session used the entry first, the mtime is at or after
the session's start (or, for a session registered after the evictor listed the live ones, at
or after the evictor's ``now``): kept. If the evictor came first, the entry is gone before
the session looks, which is then a miss and rebuilds it. The entry is renamed away under the
lock, then deleted. Two evictors at once contend for the same locks; one that finds an entry
already gone counts it as freed, so together they free about the excess, not twice it.
A session on another host is not seen (pids are per host): share a cache across hosts only
with ``--cache-size`` large enough.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from miri_background.cache import MANIFEST, SCRATCH, STATS
from miri_background.depend import changed_source
from miri_background.liveness import SESSIONS, live_starts, pid_alive, tag_pid

__all__ = ["DEFAULT_MAX_BYTES", "SIZE_ENV", "evict", "expected_writes", "parse_size"]

DEFAULT_MAX_BYTES = 4 * 10**9
"""Default cache size limit, bytes (the module docstring gives the reason)."""

SIZE_ENV = "MIRI_BACKGROUND_CACHE_SIZE"
"""Environment variable with the cache size limit (``--cache-size`` wins)."""

CLOCK_SLACK_S = 2.0
"""Margin between the clock of file mtimes and `time.time`, s (same host, coarse fs)."""

LOCK_WAIT_S = 0.2
"""How long an evictor waits for an entry's lock, s: long enough for another evictor's
rename (ms), far shorter than a build, which is then skipped."""

KEEP_STATS = 20
"""Stats logs kept (the newest): the hit rates `stats` shows."""

LAST_SET_S = 3600.0
"""Entries of a kind used within this of its newest use: the last session's set (s)."""

_NOT_KINDS = {SCRATCH, STATS, SESSIONS}
_SIZE = re.compile(r"(?P<n>\d+(?:\.\d*)?)\s*(?P<unit>[kKMGT]?)B?")


def parse_size(text: str) -> int:
    """Bytes of ``4GB``, ``500M``, ``1.5T``, ``0`` (decimal units); ValueError if malformed."""
    match = _SIZE.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"cache size {text!r}: write a number with K, M, G or T, e.g. 4GB")
    scale = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    return int(float(match["n"]) * scale[match["unit"]])


def max_bytes(option: str | None = None) -> int:
    """The size limit: ``option`` (``--cache-size``), else `SIZE_ENV`, else the default."""
    text = option or os.environ.get(SIZE_ENV)
    return parse_size(text) if text else DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Cached:
    """An entry as eviction sees it: kind, directory, size (bytes), last use (epoch s)."""

    kind: str
    path: Path
    size: int
    used: float


def _record(path: Path) -> dict:
    try:
        return json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _size(path: Path) -> int:
    record = _record(path)
    if "size" in record:
        return record["size"]
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def entries(root: Path) -> list[Cached]:
    """Every entry under ``root`` (scratch excluded), least recently used first."""
    found = []
    for kind in Path(root).iterdir() if Path(root).is_dir() else ():
        if kind.name in _NOT_KINDS or kind.name.startswith(".") or not kind.is_dir():
            continue
        for path in kind.iterdir():
            if path.name.startswith(".") or not path.is_dir():
                continue
            try:
                found.append(Cached(kind.name, path, _size(path), path.stat().st_mtime))
            except FileNotFoundError:  # evicted meanwhile
                continue
    return sorted(found, key=lambda e: e.used)


def evict(root: Path, limit: int) -> list[Cached]:
    """Remove least recently used entries until they total at most ``limit`` bytes,
    keeping those locked or used by a live session (module docstring); return the removed."""
    root = Path(root)
    horizon = min([time.time(), *live_starts(root).values()]) - CLOCK_SLACK_S
    listed = entries(root)
    total = sum(e.size for e in listed)
    removed = []
    for entry in listed:
        if total <= limit or entry.used >= horizon:
            break  # least recently used first: the rest are newer
        gone = entry.path.with_name(f".evict-{entry.path.name}-{os.getpid()}")
        try:
            with FileLock(str(entry.path) + ".lock", timeout=LOCK_WAIT_S):
                if not entry.path.is_dir():
                    total -= entry.size  # another evictor took it
                    continue
                if entry.path.stat().st_mtime >= horizon:
                    continue
                os.replace(entry.path, gone)
        except Timeout:
            continue
        shutil.rmtree(gone, ignore_errors=True)
        total -= entry.size
        removed.append(entry)
    _prune_stats(root)
    return removed


def remove_scratch(root: Path, tag: str) -> Path | None:
    """Delete the scratch directory of session ``tag``; return it if there was one."""
    path = Path(root) / SCRATCH / tag
    if not path.is_dir():
        return None
    shutil.rmtree(path, ignore_errors=True)
    return path


def dead_scratch(root: Path) -> list[Path]:
    """Delete the scratch directories whose owner process is gone; return them."""
    removed = []
    for path in sorted((Path(root) / SCRATCH).glob("*")):
        pid = tag_pid(path.name)
        if pid is not None and not pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _prune_stats(root: Path) -> None:
    logs = sorted((root / STATS).glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in logs[KEEP_STATS:]:
        old.unlink(missing_ok=True)


def session_stats(root: Path, last: int = 5) -> list[dict]:
    """Hits, builds, bytes built and hit rate of the ``last`` sessions, newest first."""
    logs = sorted((Path(root) / STATS).glob("*.log"), key=lambda p: p.stat().st_mtime)
    rows = []
    for log in reversed(logs[-last:]):
        counts, built = Counter(), 0
        for line in log.read_text().splitlines():
            kind, what, *rest = line.split() + [""]
            counts[what] += 1
            built += int(rest[0]) if what == "built" and rest[0] else 0
        uses = counts["hit"] + counts["built"]
        rows.append(
            {
                "session": log.stem,
                "hits": counts["hit"],
                "builds": counts["built"],
                "built_mb": round(built / 1e6, 1),
                "hit_rate": round(counts["hit"] / uses, 3) if uses else None,
            }
        )
    return rows


def expected_writes(root: Path, *, rebuild_all: bool = False, fault: bool = False) -> int | None:
    """Bytes the coming session will likely add to the cache, from its state: for each
    kind, its last session's set (entries used within `LAST_SET_S` of its newest use) if
    that kind will be rebuilt: all with ``rebuild_all`` (``--no-cache``); the kinds keyed
    on the background code (parts with ``faults``) under ``fault`` or when the newest
    entry of one of them records a source that changed since (depend mode). None when the
    cache is empty (the caller then uses its cold-cache figure)."""
    by_kind: dict[str, list[Cached]] = {}
    for entry in entries(root):
        by_kind.setdefault(entry.kind, []).append(entry)
    if not by_kind:
        return None
    newest = {kind: _record(found[-1].path) for kind, found in by_kind.items()}
    coded = {kind for kind, record in newest.items() if "faults" in record.get("parts", {})}
    stale = any(changed_source(newest[k].get("sources", {})) for k in coded)
    rebuilt = set(by_kind) if rebuild_all else coded if (fault or stale) else set()
    return sum(
        e.size
        for kind in rebuilt
        for e in by_kind[kind]
        if e.used >= by_kind[kind][-1].used - LAST_SET_S
    )
