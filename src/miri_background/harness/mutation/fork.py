"""pytest sessions in forked children of a warm harness process, serving mutated jwst modules.

A fresh interpreter spends seconds importing numpy, scipy, astropy, photutils, stdatamodels
and jwst before its first test, and pytest-xdist pays that once per worker. `preload`
imports them once in the harness; each session is then a ``fork`` of it (POSIX) that:

1. gets its own process group (``setpgid`` in both processes, so there is no window in
   which a kill of the group misses it): a timeout or the harness's exit kills it whole;
   on Linux it also dies with the harness, kill -9 included (``PR_SET_PDEATHSIG``);
2. drops every ``jwst`` and ``miri_background`` module from ``sys.modules``, so both are
   imported afresh in the child (what pytest imports is rewritten as usual, and nothing
   the parent bound stands in for a mutated module); the third-party libraries stay warm;
3. puts `serve.MutantFinder` first on ``sys.meta_path`` and sets the session's
   environment (``MUTANT_ENV`` among it), working directory and log (fd 1 and 2);
4. optionally measures, with coverage.py, which lines of the served copies run;
5. runs ``pytest.main(args)`` and leaves with its exit status (``os._exit``: no handler
   of the parent runs twice).

`run_chains` runs chains of sessions with at most ``slots`` children at once (one core
each): a chain's next session starts when its previous one ended and did not stop the
chain, e.g. the flight data set only for a mutant the MIRISim data set did not kill.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from miri_background.harness.mutation import serve

PRELOAD_CORE = ("numpy", "scipy.ndimage", "scipy.stats", "matplotlib", "pytest", "filelock")
"""Imported by the harness whatever it serves (none of them imports astropy or jwst)."""
PRELOAD = (
    *PRELOAD_CORE,
    "astropy.io.fits",
    "astropy.stats",
    "astropy.table",
    "photutils.segmentation",
    "photutils.background",
    "stdatamodels.jwst.datamodels",
    "crds",
    "asdf",
    "gwcs",
    "jwst.pipeline",
)
"""Imported once by the harness; the children inherit them (``jwst`` is re-imported)."""
FRESH = ("jwst", "miri_background")
"""Top-level packages every child imports afresh."""
PR_SET_PDEATHSIG = 1
"""prctl option (linux/prctl.h): the signal a process gets when its parent ends."""
CHILD_FAILED = 70
"""Exit status of a child whose set-up raised before pytest ran (traceback in its log)."""


def preload(served: Sequence[str] = ()) -> float:
    """Import `PRELOAD` in this process; its seconds. When a ``served`` module lies outside
    the `FRESH` packages (``astropy.stats.sigma_clipping``), its package must not be
    imported here, or the children would inherit the installed module and never ask the
    finder: only `PRELOAD_CORE` then (each child imports the rest), and RuntimeError if
    that package is imported already."""
    outside = {name.split(".")[0] for name in served} - set(FRESH)
    t0 = time.perf_counter()
    for name in PRELOAD_CORE if outside else PRELOAD:
        importlib.import_module(name)
    if found := sorted(outside & set(sys.modules)):
        raise RuntimeError(f"{found} imported in the harness: the served copies would be missed")
    return time.perf_counter() - t0


@dataclass(frozen=True)
class Session:
    """One pytest session of a chain.

    Attributes
    ----------
    label : str
        ``mirisim``, ``flight`` or ``jwst``.
    args : tuple of str
        pytest's arguments (``pytest.main(list(args))``).
    cwd : Path
    env : dict
        Set in the child's ``os.environ`` (`serve.MUTANT_ENV` among them).
    hook : Path
        The `serve.prepare` directory whose modules the child serves.
    log : Path
        The child's stdout and stderr.
    plugins : tuple
        Plugin objects for ``pytest.main``.
    coverage : Path or None
        Write ``{module: [executed line, ...]}`` of the served copies here.
    """

    label: str
    args: tuple[str, ...]
    cwd: Path
    env: dict
    hook: Path
    log: Path
    plugins: tuple = ()
    coverage: Path | None = None


@dataclass
class Chain:
    """Sessions run in order until ``stop(result)`` is true for one; ``results`` fills in."""

    name: str
    sessions: Sequence[Session]
    stop: Callable[[dict], bool]
    results: list[dict] = field(default_factory=list)


def _child(session: Session, parent: int) -> None:
    """The forked child: never returns."""
    code = CHILD_FAILED
    try:
        os.setpgid(0, 0)
        _die_with(parent)
        fd = os.open(session.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # not a capture of the parent
        os.chdir(session.cwd)
        for name in [n for n in sys.modules if n.split(".")[0] in FRESH]:
            del sys.modules[name]
        os.environ.update(session.env)
        serve.install(session.hook)
        code = _pytest(session)
    except BaseException:  # anything before pytest: the parent reads the log
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))


def _die_with(parent: int) -> None:
    """Linux: SIGKILL this child when the harness dies, even by kill -9 (``prctl``
    PR_SET_PDEATHSIG); elsewhere it runs to its end."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the harness died before prctl took effect
        os._exit(CHILD_FAILED)


def _pytest(session: Session) -> int:
    import pytest

    if session.coverage is None:
        return int(pytest.main(list(session.args), plugins=list(session.plugins)))
    import coverage

    served = serve.served_files(session.hook)
    cov = coverage.Coverage(data_file=None, include=list(served.values()), config_file=False)
    cov.start()
    try:
        code = int(pytest.main(list(session.args), plugins=list(session.plugins)))
    finally:
        cov.stop()
    data = cov.get_data()
    lines = {name: sorted(data.lines(path) or []) for name, path in served.items()}
    session.coverage.write_text(json.dumps(lines))
    return code


@dataclass
class _Running:
    chain: Chain
    session: Session
    pid: int
    t0: float


def run_chains(
    chains: Sequence[Chain],
    slots: int,
    timeout: Callable[[Session], float],
    finished: Callable[[Chain], None],
    outcome: Callable[[Session, int | None, float, int], dict],
) -> None:
    """Run every chain, at most ``slots`` children at once, in the order given.

    A session's result is ``outcome(session, exit status or None on timeout, seconds,
    pid)``;
    ``finished(chain)`` is called once its last session ended. A session past
    ``timeout(session)`` seconds is killed with its process group; so is every running
    session when this returns by an exception (Ctrl-C included).
    """
    parent = os.getpid()
    queue = list(chains)
    position = {id(c): 0 for c in queue}
    running: dict[int, _Running] = {}
    try:
        while queue or running:
            while queue and len(running) < slots:
                chain = queue.pop(0)
                session = chain.sessions[position[id(chain)]]
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _child(session, parent)
                try:
                    os.setpgid(pid, pid)
                except OSError:  # the child did it first (or already ended)
                    pass
                running[pid] = _Running(chain, session, pid, time.perf_counter())
            time.sleep(0.05)
            for pid, run in list(running.items()):
                seconds = time.perf_counter() - run.t0
                done, status = os.waitpid(pid, os.WNOHANG)
                if not done and seconds <= timeout(run.session):
                    continue
                if not done:
                    _kill_group(pid)
                    os.waitpid(pid, 0)
                del running[pid]
                code = os.waitstatus_to_exitcode(status) if done else None
                result = outcome(run.session, code, round(seconds, 1), pid)
                chain = run.chain
                chain.results.append(result)
                position[id(chain)] += 1
                if chain.stop(result) or position[id(chain)] == len(chain.sessions):
                    finished(chain)
                else:
                    queue.insert(0, chain)  # its next session goes first
    finally:
        for pid in running:
            _kill_group(pid)
            os.waitpid(pid, 0)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
