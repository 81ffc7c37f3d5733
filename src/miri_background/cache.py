"""A content-addressed, process-safe cache of heavy products (simulation, detector1).

An entry is a directory ``<root>/<kind>/<key>/`` holding the product files and
``MANIFEST.json`` (the key's parts, and every file's size and sha256). ``key`` is the
sha256 of the canonical JSON of the parts, so anything that changes a part changes the key.

- One builder per key: a `filelock.FileLock` on ``<root>/<kind>/<key>.lock``; other
  processes (xdist workers, a second session) wait, then find a hit.
- Atomic: the builder writes into a temporary sibling directory, adds the manifest last,
  and renames it into place; a crash leaves no entry, only a temporary directory that the
  next builder removes.
- Never trusted blindly: each hit re-checks every file's size and sha256; a missing
  manifest, a missing file or a checksum mismatch is logged with the reason and the entry
  is rebuilt. A file whose (size, mtime, ctime, inode) match the entry's `STAMP` of its
  last good sha256 (under a day old) is not hashed again, as git's index does: any write,
  through a run directory's hard link too, sets a ctime no program can set back (hashing
  cost a warm run 1.75 s of its ~14 s of CPU); the medium below is left to the daily re-hash.

Depend mode (`depend`): a ``build`` that returns the source files its products depend on
(`pipeline.code_trace.Trace.files`) gets them stored in the manifest as ``sources``
{name: sha256}; the key then leaves the software out, and an entry is valid only while
every recorded source still hashes the same. A changed source is a miss naming the file.

Scratch entries: an entry whose parts hold a non-empty `SCRATCH_PART` (injected faults,
a mutant's code) or ``software.OVERRIDES_KEY`` (jwst modules served from a copy), at any
depth, lives in the session's scratch directory instead of under ``root``
(`scratch_root`): `SCRATCH_ENV` when set (the mutation harness sets it per mutant), else
``<root>/scratch/<session tag>/`` (`liveness`), which the pytest session removes at its
end. Products of broken code are never worth keeping; every other entry is shared (a clean
depend-mode entry stands in for one whose overridden files it never ran: `keys.clean_parts`).

Bounded (`cache_admin`): each hit or build sets the entry directory's mtime (its last
use, O(1)), the manifest records the entry's ``size`` (bytes), and the session's hits and
builds are appended to ``<root>/stats/<tag>.log``. Hits (`lookup` too) hold the entry's
lock while they verify, so an eviction, which needs that lock, never removes an entry
between its check and its use. A rebuild of an existing entry (``--no-cache``, a repair)
is built under a new name and swapped in file by file with ``os.replace``: a session
reading the entry meanwhile sees each file whole, old or new, never missing. A full disk
while building raises `DiskFullError` (one message, nothing half-written left).

`each_once` gets one entry per exposure for a stage (simulation, detector1): hits first,
then the misses in this process or in a process pool.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

from filelock import FileLock, Timeout

from miri_background.depend import changed_source, recorded
from miri_background.files import file_sha256, write_json_atomic
from miri_background.keys import clean_parts
from miri_background.liveness import register, session_tag
from miri_background.software import OVERRIDES_KEY

log = logging.getLogger(__name__)

MANIFEST = "MANIFEST.json"
SCRATCH_ENV = "MIRI_BACKGROUND_SCRATCH_CACHE"
"""Directory for the scratch entries when set; wins over the session's (module docstring)."""
SCRATCH_PART = "code_overrides"
"""Key part marking a scratch entry (injected faults, mutants): see the module docstring."""
SCRATCH = "scratch"
"""Folder of a cache root holding the sessions' scratch directories."""
STATS = "stats"
"""Folder of a cache root holding one log of hits and builds per session."""


class DiskFullError(OSError):
    """The disk filled while an entry was built; the partial entry was removed."""


REPAIR_PREFIX = "cache repair: "
_NOT_REPAIRS = ("hit", "not cached", "cache disabled (--no-cache)")


def is_repair(reason: str) -> bool:
    """Whether an entry built for ``reason`` (`Entry.reason`) replaced one that failed
    verification (a file missing, of another size, or another sha256 than its manifest)."""
    return reason not in _NOT_REPAIRS


def repair_line(kind: str, what: str, entry: Entry) -> str:
    """``cache repair: <kind> entry <key> (<what>): <reason>; rebuilt in <s> s``: the line
    the session shows (`notices`)."""
    return (
        f"{REPAIR_PREFIX}{kind} entry {entry.key[:12]} ({what}): {entry.reason}; "
        f"rebuilt in {entry.seconds:.1f} s"
    )


def content_key(parts: dict) -> str:
    """sha256 of ``json.dumps(parts, sort_keys=True)``: the cache key of those parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A cache entry: its directory, whether it was a hit, and why it was (re)built."""

    path: Path
    key: str
    hit: bool
    reason: str
    seconds: float
    sources: int = 0  # source files the entry depends on (depend mode; 0 otherwise)


def verify(entry: Path) -> str | None:
    """None if ``entry`` matches its manifest, else the reason it does not."""
    return _check(entry)[0]


def _check(entry: Path) -> tuple[str | None, int]:
    """(`verify`'s answer, the number of sources the manifest records)."""
    if not entry.is_dir():
        return "not cached", 0
    try:
        record = json.loads((entry / MANIFEST).read_text())
        files, sources = record["files"], record.get("sources", {})
    except (OSError, ValueError, KeyError) as exc:
        return f"manifest unreadable ({type(exc).__name__})", 0
    return changed_source(sources) or _changed_file(entry, files), len(sources)


STAMP = ".verified.json"  # {file: [size, mtime_ns, ctime_ns, inode]} at its last good sha256
STAMP_MAX_AGE_S = 24 * 3600.0  # an older stamp is ignored: every file re-hashed daily


def _signature(path: Path) -> list[int]:
    return [(st := path.stat()).st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _stamp(entry: Path) -> dict:
    """The entry's `STAMP` if it is younger than `STAMP_MAX_AGE_S` and readable, else {}."""
    try:
        record = json.loads((entry / STAMP).read_text())
        fresh = time.time() - record["time"] < STAMP_MAX_AGE_S
        return record["files"] if fresh else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _changed_file(entry: Path, files: dict) -> str | None:
    stamp, signatures = _stamp(entry), {}
    for name, (size, digest) in files.items():
        path = entry / name
        try:
            signature = _signature(path)
        except (FileNotFoundError, NotADirectoryError):
            return f"{name} missing"
        if signature[0] != size:
            return f"{name} is {signature[0]} bytes, manifest says {size}"
        if stamp.get(name) != signature and file_sha256(path) != digest:
            return f"{name} sha256 differs from manifest"
        signatures[name] = signature
    if signatures != stamp:
        _write_stamp(entry, signatures)
    return None


def _write_stamp(entry: Path, signatures: dict) -> None:
    with suppress(OSError):  # a read-only cache: verified, just not remembered
        write_json_atomic(entry / STAMP, {"time": time.time(), "files": signatures})


class ContentCache:
    """Cache rooted at ``root``; ``enabled=False`` (``--no-cache``) rebuilds every entry once.

    Parameters
    ----------
    root : Path
        Cache directory (created).
    enabled : bool, default True
        When False, existing entries are ignored and rebuilt (in place, atomically).
    """

    def __init__(self, root: Path, *, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled
        self.root.mkdir(parents=True, exist_ok=True)
        register(self.root)

    def _root(self, parts: dict) -> Path:
        return scratch_root(self.root) if is_scratch(parts) else self.root

    def lookup(self, kind: str, parts: dict) -> Entry | None:
        """The verified entry for ``parts`` if there is one (no build, no waiting: an entry
        being built or evicted, its lock held, is None here)."""
        key = content_key(parts)
        entry = self._root(parts) / kind / key[:24]
        if not self.enabled or not entry.is_dir():
            return None
        try:
            with FileLock(str(entry) + ".lock", timeout=0):
                reason, sources = _check(entry)
                if reason is None:
                    self._used(kind, parts, entry, "hit")
                    return Entry(entry, key, True, "hit", 0.0, sources)
        except Timeout:
            pass
        return None

    def get_or_build(
        self, kind: str, parts: dict, build: Callable[[Path], object], *, depend: bool = False
    ) -> Entry:
        """Return the entry for ``parts``, building it with ``build(tmpdir)`` on a miss.

        ``build`` writes the product files into the directory it is given; it must not
        write anywhere else that the entry depends on. ``depend=True`` (depend mode):
        ``build`` returns the source files the products depend on; their sha256 go into
        the manifest and are checked on every lookup. Raises `DiskFullError` when the disk
        fills meanwhile.
        """
        if depend and (scoped := clean_parts(parts)) and (hit := self.lookup(kind, scoped[0])):
            if not scoped[1] & set(json.loads((hit.path / MANIFEST).read_text())["sources"]):
                return hit  # the overridden code never ran in the clean build
        key = content_key(parts)
        entry = self._root(parts) / kind / key[:24]
        entry.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(entry) + ".lock"):
            reason, n = _check(entry) if self.enabled else ("cache disabled (--no-cache)", 0)
            if reason is None:
                self._used(kind, parts, entry, "hit")
                return Entry(entry, key, True, "hit", 0.0, n)
            log.info("cache miss %s/%s: %s (%s)", kind, key[:12], reason, _describe(parts))
            t0 = time.perf_counter()
            tmp = entry.with_name(f".tmp-{entry.name}-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                tmp.mkdir()
                made = build(tmp)
                sources = list(made) if depend else None  # build's other returns: unused
                files = {
                    str(p.relative_to(tmp)): (p.stat().st_size, file_sha256(p))
                    for p in sorted(tmp.rglob("*"))
                    if p.is_file()
                }
                size = sum(s for s, _ in files.values())
                record = {"parts": parts, "files": files, "size": size}
                if sources is not None:
                    record["sources"] = recorded(sources)
                (tmp / MANIFEST).write_text(json.dumps(record, indent=1, default=str))
                _install(tmp, entry)
                _write_stamp(entry, {name: _signature(entry / name) for name in files})
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise _disk_full(kind, entry) from exc
                raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            seconds = time.perf_counter() - t0
            self._used(kind, parts, entry, f"built {size} {seconds:.1f}")
            return Entry(entry, key, False, reason, seconds, len(sources or ()))

    def _used(self, kind: str, parts: dict, entry: Path, what: str) -> None:
        """Record a use: the entry's mtime (eviction's clock) and a line of the stats log."""
        os.utime(entry)
        if what == "hit":
            log.info("cache hit %s/%s (%s)", kind, entry.name[:12], _describe(parts))
        stats = self.root / STATS
        stats.mkdir(exist_ok=True)
        with open(stats / f"{session_tag()}.log", "a", encoding="utf-8") as f:
            f.write(f"{kind} {what}\n")


def scratch_root(root: Path) -> Path:
    """Where the scratch entries of a cache at ``root`` go: `SCRATCH_ENV` when set, else
    ``<root>/scratch/<session tag>``."""
    return Path(os.environ.get(SCRATCH_ENV) or Path(root) / SCRATCH / session_tag())


def is_scratch(parts: dict) -> bool:
    """Whether ``parts`` (or a dict within them) hold a non-empty `SCRATCH_PART` or
    ``OVERRIDES_KEY``."""
    return any(parts.get(k) for k in (SCRATCH_PART, OVERRIDES_KEY)) or any(
        is_scratch(v) for v in parts.values() if isinstance(v, dict)
    )


def _install(tmp: Path, entry: Path) -> None:
    """Put the built ``tmp`` in place of ``entry``: one rename when there is none, else
    (a rebuild: another session may be reading it) the manifest out first, then each file
    replaced atomically, files the new build lacks removed, the new manifest last."""
    if not entry.is_dir():
        os.replace(tmp, entry)
        return
    (entry / MANIFEST).unlink(missing_ok=True)
    new = {p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file()}
    for rel in sorted(new - {Path(MANIFEST)}):
        (entry / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, entry / rel)
    for old in [p for p in entry.rglob("*") if p.is_file()]:
        if old.relative_to(entry) not in new:
            old.unlink()
    os.replace(tmp / MANIFEST, entry / MANIFEST)


def _disk_full(kind: str, entry: Path) -> DiskFullError:
    free = shutil.disk_usage(entry.parent).free / 1e6
    return DiskFullError(
        f"the disk filled while building the {kind} cache entry {entry.name[:12]} in "
        f"{entry.parent} ({free:.0f} MB free now); the partial entry was removed. Free "
        "space: `python -m miri_background cache prune --size 2GB`, a smaller --cache-size, "
        "fewer kept runs (--keep-runs), or --cache-dir on a larger disk",
    )


def _short(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_short(x)}" for k, x in sorted(v.items())) + "}"
    return v[:10] if isinstance(v, str) and len(v) == 64 else v


def _describe(parts: dict) -> str:
    """Short text of the key's parts for the log: ``name=value`` with digests shortened."""
    return ", ".join(f"{k}={_short(v)}" for k, v in sorted(parts.items()))


class Schedule(NamedTuple):
    """How `each_once` builds the misses of a stage built per exposure.

    Attributes
    ----------
    processes : int, default 1
        1: the misses are built in this process, starting ``order_offset`` names in, so
        that xdist workers (one core each, different offsets) start on different names and
        meet at the locks. More: in that many spawned processes (``build`` and ``args``
        must then pickle).
    order_offset : int, default 0
        Where this process starts in the list of names.
    note : callable, default the cache's logger
        Receives ``"<stage> [i/n] <name>: cache hit"`` or ``"... ran in <s> s (<reason>)"``.
    """

    processes: int = 1
    order_offset: int = 0
    note: Callable[[str], None] = log.info


IN_PROCESS = Schedule()
"""The misses in this process, in the given order, noted in the cache's log."""


def each_once(
    stage: str,
    names: Sequence[str],
    lookup: Callable[[str], Entry | None],
    build: Callable[..., Entry],
    args: tuple = (),
    schedule: Schedule = IN_PROCESS,
) -> dict[str, Entry]:
    """The entry of each of ``names``: hits first (``lookup(name)``, no waiting), then the
    misses through ``build(name, *args)``, which must get or build the entry under its lock,
    as ``schedule`` says (`Schedule`)."""
    processes, order_offset, note = schedule
    k = order_offset % len(names)
    names = [*names[k:], *names[:k]]
    entries: dict[str, Entry] = {}

    def done(name: str, entry: Entry) -> None:
        entries[name] = entry
        what = "cache hit" if entry.hit else f"ran in {entry.seconds:.1f} s ({entry.reason})"
        note(f"{stage} [{len(entries)}/{len(names)}] {name}: {what}")
        if is_repair(entry.reason):
            note(repair_line(stage, name, entry))

    for name in names:
        if (hit := lookup(name)) is not None:
            done(name, hit)
    misses = [n for n in names if n not in entries]
    if processes > 1 and len(misses) > 1:
        ctx = get_context("spawn")
        with ProcessPoolExecutor(min(processes, len(misses)), mp_context=ctx) as pool:
            futures = {n: pool.submit(build, n, *args) for n in misses}
            for name, future in futures.items():
                done(name, future.result())
    else:
        for name in misses:
            done(name, build(name, *args))
    return entries


def default_processes() -> int:
    """Processes for `each_once` misses outside xdist: the CPUs, at most 4 (0.9 GB each)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))
