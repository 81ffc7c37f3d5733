"""Which sessions are alive: the registry a cache root keeps of the processes using it.

A session is named by a tag ``<name>-<pid>``: a pytest session's is
``<testrunuid[:12]>-<controller pid>`` (`SESSION_ENV`, set by the controller before xdist
starts its workers, which inherit it with every process they spawn); a process using the
cache outside pytest gets ``proc-<pid>`` and exports it the same way. `register` writes
``<root>/sessions/<tag>`` once per root, its mtime the session's start. A session is alive
while its pid is (``os.kill(pid, 0)``); its registration then protects the entries it used
from eviction (`cache_admin`), and its scratch directory ``<root>/scratch/<tag>/`` from the
stale-temporaries clean-up.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

__all__ = ["SESSION_ENV", "live_starts", "pid_alive", "register", "session_tag", "tag_pid"]

SESSION_ENV = "MIRI_BACKGROUND_SESSION"
"""The current session's tag (see the module docstring)."""

SESSIONS = "sessions"
"""Folder of a cache root holding one registration file per session."""

_TAG = re.compile(r"[0-9A-Za-z_.]+-(?P<pid>\d+)")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (signal 0 probes without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def session_tag() -> str:
    """This process's session tag: `SESSION_ENV`, else ``proc-<pid>``, then exported."""
    tag = os.environ.get(SESSION_ENV) or f"proc-{os.getpid()}"
    os.environ[SESSION_ENV] = tag  # processes spawned from here share the session
    return tag


def tag_pid(tag: str) -> int | None:
    """The owner pid of a tag (a registration or scratch folder name), None if malformed."""
    match = _TAG.fullmatch(tag)
    return int(match["pid"]) if match else None


def register(root: Path) -> float:
    """Register the current session under ``root`` (once); return its start (epoch s)."""
    path = Path(root) / SESSIONS / session_tag()
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{time.time():.3f}\n")
        return path.stat().st_mtime


def live_starts(root: Path) -> dict[str, float]:
    """{tag: start} of the sessions registered under ``root`` whose owner is alive; the
    registrations of dead owners are deleted."""
    starts = {}
    for path in (Path(root) / SESSIONS).glob("*"):
        pid = tag_pid(path.name)
        try:
            if pid is not None and pid_alive(pid):
                starts[path.name] = path.stat().st_mtime
            else:
                path.unlink()
        except FileNotFoundError:
            continue
    return starts
