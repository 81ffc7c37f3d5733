"""The host a benchmark runs on: CPU steal time and the peak memory of a process tree."""

from __future__ import annotations

import os
import threading
from pathlib import Path

POLL_S = 0.5
"""Seconds between two samples of the process tree."""


def parse_steal_seconds(stat: str, ticks_per_s: int) -> float:
    """CPU seconds the hypervisor ran other guests on this machine's CPUs: ``steal``, the
    8th value of the ``cpu`` line of /proc/stat (USER_HZ ticks, summed over CPUs)."""
    fields = stat.splitlines()[0].split()
    if fields[0] != "cpu":
        raise ValueError(f"not the first line of /proc/stat: {stat[:80]!r}")
    return int(fields[8]) / ticks_per_s

def steal_seconds() -> float | None:
    """`parse_steal_seconds` of this machine now; None where /proc/stat has no steal."""
    try:
        return parse_steal_seconds(Path("/proc/stat").read_text(), os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return None

def parse_stat_ppid(stat: str) -> int:
    """Parent pid from the text of ``/proc/<pid>/stat`` (the name in parentheses may hold
    spaces and parentheses: fields are counted after the last ``)``)."""
    return int(stat[stat.rindex(")") + 2 :].split()[1])

def parse_vmhwm_kib(status: str) -> int | None:
    """``VmHWM`` (peak resident set, KiB) from the text of ``/proc/<pid>/status``."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None

def descendants(root: int) -> list[int]:
    """``root`` and every process below it, from ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(parse_stat_ppid(stat.read_text()), []).append(int(stat.parent.name))
        except (OSError, ValueError):
            continue  # the process ended while being read
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found

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
    """Polls the peak RSS (VmHWM) of every process under ``root`` until `stop`."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.peaks: dict[int, tuple[str, int]] = {}
        self._halt = threading.Event()

    def sample(self) -> None:
        for pid in descendants(self.root):
            try:
                kib = parse_vmhwm_kib(Path(f"/proc/{pid}/status").read_text())
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if kib is not None and kib > self.peaks.get(pid, ("", 0))[1]:
                self.peaks[pid] = (role(cmd, pid == self.root), kib)

    def run(self) -> None:
        while not self._halt.wait(POLL_S):
            self.sample()

    def stop(self) -> dict[str, float]:
        """Stop polling; ``"<role> <pid>" -> peak RSS in MiB``."""
        self._halt.set()
        self.join()
        return {f"{r} {pid}": round(kib / 1024, 1) for pid, (r, kib) in sorted(self.peaks.items())}
