"""pytest plugin that forbids network access for a whole run (load it with ``-p``).

From ``pytest_configure`` on, in the controller and in every xdist worker (xdist passes
``-p`` on), ``socket.socket.connect``, ``socket.socket.connect_ex`` and
``socket.getaddrinfo`` raise `NetworkAttemptError` (an `OSError`, so code that falls back when
offline still does). Unix-domain sockets stay allowed: they are local pipes between
processes, not the network.

When the environment variable ``MB_NO_NETWORK_DIR`` names a directory, each process that
installs the guards writes ``installed-<pid>`` there, and every attempt is appended, with
its address and caller, to ``attempts.log`` there, so that a caller which swallows the
error is still caught.
"""

from __future__ import annotations

import os
import socket
import traceback
from pathlib import Path

import pytest

DIR_ENV = "MB_NO_NETWORK_DIR"
ATTEMPTS = "attempts.log"


class NetworkAttemptError(OSError):
    """Raised instead of opening a network connection."""


def _refuse(what: str, address) -> None:
    """Record the attempt (if ``MB_NO_NETWORK_DIR`` is set) and raise `NetworkAttemptError`."""
    folder = os.environ.get(DIR_ENV)
    if folder:
        caller = "".join(traceback.format_stack(limit=30)[:-2])
        with open(Path(folder) / ATTEMPTS, "a", encoding="utf-8") as f:
            f.write(f"pid {os.getpid()}: {what}({address!r}) from\n{caller}\n")
    raise NetworkAttemptError(
        f"network disabled by tests/project/_no_network.py: {what}({address!r})"
    )


def guard_connect(original):
    """Wrap a ``socket.socket`` connect method so that it refuses all but AF_UNIX."""

    def connect(self, address):
        if self.family == socket.AF_UNIX:
            return original(self, address)
        return _refuse(original.__name__, address)

    connect.__name__ = original.__name__
    return connect


def guard_getaddrinfo(host, port, *args, **kwargs):
    """Replacement of ``socket.getaddrinfo``: a name lookup is a network attempt too."""
    return _refuse("getaddrinfo", (host, port))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Install the guards before any fixture or test runs."""
    socket.socket.connect = guard_connect(socket.socket.connect)
    socket.socket.connect_ex = guard_connect(socket.socket.connect_ex)
    socket.getaddrinfo = guard_getaddrinfo
    folder = os.environ.get(DIR_ENV)
    if folder:
        worker = getattr(config, "workerinput", {}).get("workerid", "controller")
        (Path(folder) / f"installed-{os.getpid()}").write_text(worker + "\n")
