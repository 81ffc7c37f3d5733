"""The session's run directory, shared by the controller and the xdist workers, the
records written into it (`miri_background.run_records`) and the disk it may use.

Not xdist's public API: ``is_xdist_worker``/``get_xdist_worker_id`` take a request or
session (``pytest_configure`` has only the config) and name the controller "master"
(records here say "main"); its ``testrun_uid`` fixture gives the controller a fresh uuid4
per session, not the ``--testrunuid`` the workers receive.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from miri_background import run_records
from miri_background.cache import SCRATCH
from miri_background.files import write_text_atomic


def is_worker(config) -> bool:
    """Whether ``config`` is an xdist worker's."""
    return hasattr(config, "workerinput")


def worker_id(config) -> str:
    """The xdist worker id (``gw0``...) or ``main`` outside xdist."""
    return config.workerinput["workerid"] if is_worker(config) else "main"


def worker_share(config, n: int) -> int:
    """Where this process starts in a list of ``n`` units: worker i of k starts at
    ``n * i // k`` (xdist numbers its workers gw0..gw<k-1>), a plain session at 0."""
    if not is_worker(config):
        return 0
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return n * int(worker_id(config)[2:]) // max(count, 1)


def run_directory(config) -> Path:
    """``<rootdir>/runs/run-<testrunuid>``: the same for the controller and every worker."""
    uid = config.workerinput["testrunuid"] if is_worker(config) else config.option.testrunuid
    root = Path(config.rootpath) / config.getini("miri_background_runs")
    return root / f"run-{uid[:12]}"


def cache_root(config) -> Path:
    """``--cache-dir``, default ``<rootdir>/.cache/mb``."""
    return Path(config.getoption("cache_dir") or Path(config.rootpath) / ".cache" / "mb")


KEEP_RUNS = 3
"""Run directories kept by default (``--keep-runs``), as pytest keeps 3 ``tmp_path`` roots.
A run directory holds ~10 MB of its own (logs, records); its products are hard links into
the cache entries, and hold 0.4 GB alone once those entries are rebuilt or evicted
(`_private_bytes`, counted against the cache limit)."""


def prune_runs(root: Path, keep: int, current: Path, live: set[str]) -> list[Path]:
    """Delete all but the newest ``keep`` run directories under ``root``; never ``current``,
    the one ``LATEST`` names, nor a live session's (``live``: ``run-<uid>`` names, from
    `liveness.live_starts`). ``LATEST`` is rewritten to ``current`` if its run is gone."""
    latest = root / "LATEST"
    named = latest.read_text().strip() if latest.is_file() else None
    runs = sorted(root.glob("run-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for old in runs[max(keep, 1) :]:
        if old == current or old.name in (named, *live):
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    if current.is_dir() and (named is None or not (root / named).is_dir()):
        write_text_atomic(latest, current.name + "\n")
    return removed


def bound_disk(config) -> list[str]:
    """At the end of a session (controller or plain): remove its scratch directory unless
    ``--keep-scratch``, keep ``--keep-runs`` run directories, evict the cache down to
    ``--cache-size`` less what the older runs hold alone (`_private_bytes`), so that cache and
    runs together stay within the limit plus this run; return the lines to show."""
    from miri_background import cache_admin
    from miri_background.liveness import SESSION_ENV, live_starts

    root, tag, lines = cache_root(config), os.environ.get(SESSION_ENV, ""), []
    if config.getoption("keep_scratch"):
        if (root / SCRATCH / tag).is_dir():
            lines.append(f"scratch entries kept for a post-mortem: {root / SCRATCH / tag}")
    elif tag:
        cache_admin.remove_scratch(root, tag)
    live = {f"run-{t.split('-')[0]}" for t in live_starts(root) if t != tag}
    current = run_directory(config)
    gone = prune_runs(current.parent, config.getoption("keep_runs"), current, live)
    if gone:
        lines.append(f"deleted {len(gone)} old run directories (--keep-runs)")
    limit = cache_admin.max_bytes(config.getoption("cache_size"))
    private = sum(_private_bytes(run) for run in current.parent.glob("run-*") if run != current)
    removed = cache_admin.evict(root, limit - private)
    if removed:
        left = sum(e.size for e in cache_admin.entries(root)) / 1e6
        lines.append(
            f"cache: evicted {len(removed)} least recently used entries "
            f"({sum(e.size for e in removed) / 1e6:.0f} MB); {left:.0f} MB left, limit "
            f"{limit / 1e6:.0f} MB less {private / 1e6:.0f} MB that older runs hold alone"
        )
    return lines


def _private_bytes(run: Path) -> int:
    """Bytes of the files under ``run`` that no cache entry shares (one link: copies, or
    products whose entry was rebuilt or evicted since), which count against the limit."""
    return sum(
        st.st_size for p in run.rglob("*") if (st := p.lstat()).st_nlink == 1 and p.is_file()
    )


def record_stage(config, stage: str, value: dict) -> None:
    """Add ``value`` under ``stage`` to this process's stage record (`run_records`)."""
    run_records.write_stage(run_directory(config), worker_id(config), stage, value)
