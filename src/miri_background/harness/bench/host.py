"""The host a benchmark runs on: CPU steal time and the peak memory of a process tree.

The process tree, command lines and CPU times come from psutil. The peak resident set
is read from ``/proc/<pid>/status`` (``VmHWM``): psutil 7.2 reports only the current
``rss``, which a 0.5 s poll samples below the kernel's high-water mark.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil

POLL_S = 0.5
"""Seconds between two samples of the process tree."""


def steal_seconds() -> float | None:
    """CPU seconds the hypervisor ran other guests on this machine's CPUs (summed over
    CPUs, `psutil.cpu_times`); None where the platform does not report steal."""
    return getattr(psutil.cpu_times(), "steal", None)


def parse_vmhwm_kib(status: str) -> int | None:
    """``VmHWM`` (peak resident set, KiB) from the text of ``/proc/<pid>/status``."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def descendants(root: int) -> list[psutil.Process]:
    """``root`` and every process below it (an empty list once ``root`` has ended)."""
    try:
        process = psutil.Process(root)
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def role(cmdline: str, is_root: bool) -> str:
    """What a process of the pytest tree is, from its command line."""
    if is_root:
        return "pytest controller"
    if "sys.stdin.readline" in cmdline:
        return "xdist worker"
    if "multiprocessing" in cmdline:
        return "detector1 pool process"
    return cmdline[:60]


class TreeSampler(threading.Thread):
    """Polls the peak RSS (VmHWM) of every process under ``root`` until `stop`.

    Parameters
    ----------
    root : int
        Process id of the tree's root.
    """

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.peaks: dict[int, tuple[str, int]] = {}
        self._halt = threading.Event()

    def sample(self) -> None:
        """Record each process's VmHWM where it exceeds the peak seen so far."""
        for process in descendants(self.root):
            try:
                kib = parse_vmhwm_kib(Path(f"/proc/{process.pid}/status").read_text())
                cmd = " ".join(process.cmdline())
            except (OSError, psutil.Error):
                continue  # the process ended while being read
            if kib is not None and kib > self.peaks.get(process.pid, ("", 0))[1]:
                self.peaks[process.pid] = (role(cmd, process.pid == self.root), kib)

    def run(self) -> None:
        """Sample every `POLL_S` seconds until `stop`."""
        while not self._halt.wait(POLL_S):
            self.sample()

    def stop(self) -> dict[str, float]:
        """Stop polling; ``"<role> <pid>" -> peak RSS in MiB``."""
        self._halt.set()
        self.join()
        return {f"{r} {pid}": round(kib / 1024, 1) for pid, (r, kib) in sorted(self.peaks.items())}
