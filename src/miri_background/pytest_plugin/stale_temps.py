"""Remove the temporary files and folders that killed processes left behind.

Writers name their temporaries after their process id:

* cache builds: ``<cache>/<kind>/.tmp-<entry>-<pid>/`` (`cache.ContentCache.get_or_build`),
  built while holding ``<cache>/<kind>/<entry>.lock``, and evictions
  ``<cache>/<kind>/.evict-<entry>-<pid>/`` (`cache_admin.evict`);
* scratch directories ``<cache>/scratch/<tag>/`` and registrations
  ``<cache>/sessions/<tag>`` of sessions whose owner pid is gone (`liveness`);
* atomic writes and links: ``.tmp<pid>.<name>`` (`cache.write_json_atomic`,
  ``pipeline._link``), downloads ``.<name>.<pid>-<hex>.part`` (`download`).

At the start of a session (controller or plain) `remove_dead` deletes those whose process
is gone: ``os.kill(pid, 0)`` raises ProcessLookupError. A live process, or one of another
user (PermissionError), keeps its files. Since a pid says nothing about other hosts or pid
namespaces sharing the directory, a cache folder is removed only when its entry's lock is
free too, and a file only when it is older than `MIN_AGE_S`.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from filelock import FileLock, Timeout

from miri_background.cache_admin import dead_scratch
from miri_background.liveness import live_starts, pid_alive

__all__ = ["MIN_AGE_S", "pid_alive", "remove_dead"]  # pid_alive: from liveness

MIN_AGE_S = 60.0
"""A temporary file younger than this is kept whatever its pid (see the module docstring)."""

_CACHE_TMP = re.compile(r"\.(?:tmp|evict)-(?P<entry>[0-9a-f]+)-(?P<pid>\d+)")
_FILE_TMP = re.compile(r"\.tmp(?P<pid>\d+)\..+|\..+\.(?P<part>\d+)-[0-9a-f]+\.part")


def remove_dead(cache_root: Path, runs_root: Path) -> list[Path]:
    """Delete the temporaries of dead processes under both roots; return what was deleted."""
    removed = dead_scratch(cache_root)
    live_starts(cache_root)  # deletes the registrations of dead sessions
    for folder in sorted(Path(cache_root).glob("*/.*-*")):
        match = _CACHE_TMP.fullmatch(folder.name)
        if match and folder.is_dir() and not pid_alive(int(match["pid"])):
            try:
                with FileLock(str(folder.parent / match["entry"]) + ".lock", timeout=0):
                    shutil.rmtree(folder, ignore_errors=True)
            except (Timeout, OSError):
                continue
            removed.append(folder)
    now = time.time()
    for root in (Path(cache_root), Path(runs_root)):
        for path in sorted(root.rglob(".*")):
            match = _FILE_TMP.fullmatch(path.name)
            if not match or not path.is_file() or _CACHE_TMP.search(str(path.parent)):
                continue
            pid = int(match["pid"] or match["part"])
            try:
                if now - path.stat().st_mtime >= MIN_AGE_S and not pid_alive(pid):
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue
    return removed


def pytest_sessionstart(session) -> None:
    """Clean the cache and the runs directory once per session, before any worker starts."""
    config = session.config
    if hasattr(config, "workerinput"):
        return
    from miri_background.pytest_plugin.session import cache_root, run_directory

    removed = remove_dead(cache_root(config), run_directory(config).parent)
    if removed:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        line = (
            f"[miri_background] removed {len(removed)} temporary file(s)/folder(s) of dead "
            f"processes: {', '.join(p.name for p in removed[:5])}"
            + (" ..." if len(removed) > 5 else "")
        )
        if reporter is not None:
            reporter.write_line(line)
