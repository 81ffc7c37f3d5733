"""``python -m miri_background bless``: rewrite ``truth/`` from a run on the built-in data
and show a reviewer what changed.

The truth tests (marker ``truth``: ``test_truth.py`` and the scenario defect fingerprints)
run in a subprocess (`pytest_run.pytest_command`) with ``--update-truth``, the pytest
option that rewrites the files, from the project checkout ``--root``::

    python -m pytest tests/regression -p no:cacheprovider -n 2 -m truth --update-truth

on the built-in data at the canonical seed (the data set the truth is for). Then the change,
for review before a commit (`diff_report`): in a git checkout, ``git diff HEAD --stat`` of
``truth/`` and the unified diff of each ``truth/*.json``; elsewhere a `difflib` diff of each
file of ``truth/`` against its content before the run (a binary file is named, not shown).
Each file's diff is cut after ``SHOWN_LINES`` lines.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
from pathlib import Path

from miri_background.harness.pytest_run import pytest_command

TESTS = "tests/regression"
PYTEST_ARGS = ("-m", "truth", "--update-truth")
SHOWN_LINES = 60
"""Lines of unified diff shown per truth file (the rest is counted, not shown)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (``--root``, ``--workers``, ``--cache-dir``)."""
    root_help = "the project checkout: its tests/regression run, its truth/ is rewritten"
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR", help=root_help)
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="pytest -n N")
    parser.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="the content cache (default: .cache/mb)"
    )


def snapshot(truth: Path) -> dict[str, bytes]:
    """{file name: content} of the files directly in ``truth`` (empty if it is missing)."""
    return {p.name: p.read_bytes() for p in sorted(truth.glob("*")) if p.is_file()}


def _clip(lines: list[str], shown: int) -> list[str]:
    if len(lines) <= shown:
        return lines
    return [*lines[:shown], f"... {len(lines) - shown} more lines of this file's diff"]


def text_diff(before: dict[str, bytes], after: dict[str, bytes], shown: int = SHOWN_LINES) -> str:
    """The change from ``before`` to ``after`` ({file name: content}, as `snapshot`).

    Parameters
    ----------
    before, after : dict of str to bytes
        The files of ``truth/`` before and after the run.
    shown : int, default SHOWN_LINES
        Lines of unified diff shown per file.

    Returns
    -------
    str
        Per file changed, added or removed (in name order): its unified diff (one line of
        context) when both versions are UTF-8 text, else one line naming it; ``"truth/
        unchanged"`` when no file changed.
    """
    out = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        try:
            a, b = ((v or b"").decode().splitlines() for v in (old, new))
        except UnicodeDecodeError:
            what = "added" if old is None else "removed" if new is None else "changed"
            out.append(f"truth/{name}: binary file {what}")
            continue
        diff = difflib.unified_diff(a, b, f"a/truth/{name}", f"b/truth/{name}", n=1, lineterm="")
        out += _clip(list(diff), shown)
    return "\n".join(out) if out else "truth/ unchanged"


def git_diff(root: Path, shown: int = SHOWN_LINES) -> str | None:
    """``git diff HEAD --stat -- truth`` and the unified diff of each ``truth/*.json`` (one
    line of context, ``shown`` lines per file) in the git checkout ``root``; None when git is
    missing or ``root`` is no checkout with a commit."""
    git = shutil.which("git")
    if git is None:
        return None

    def call(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([git, "-C", str(root), *args], capture_output=True, text=True)

    if call("rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        return None
    stat = call("diff", "HEAD", "--stat", "--", "truth").stdout.rstrip()
    out = [stat or "truth/ unchanged (git diff HEAD)"]
    for path in sorted((root / "truth").glob("*.json")):
        relative = str(path.relative_to(root))
        out += _clip(call("diff", "HEAD", "--unified=1", "--", relative).stdout.splitlines(), shown)
    return "\n".join(out)


def diff_report(root: Path, before: dict[str, bytes], shown: int = SHOWN_LINES) -> str:
    """What the run changed in ``root/truth``: `git_diff` in a git checkout, else
    `text_diff` of ``before`` (the `snapshot` taken before the run) and the files now."""
    from_git = git_diff(root, shown)
    if from_git is not None:
        return from_git
    return text_diff(before, snapshot(root / "truth"), shown)


def command(args: argparse.Namespace) -> list[str]:
    """The pytest command line that rewrites the truth (`PYTEST_ARGS` on `TESTS`)."""
    return pytest_command(TESTS, workers=args.workers, cache=args.cache_dir, extra=PYTEST_ARGS)


def run(args: argparse.Namespace) -> int:
    """Rewrite ``truth/``, print what changed; returns pytest's exit status."""
    root = args.root.resolve()
    before = snapshot(root / "truth")
    line = command(args)
    print(" ".join(line), flush=True)
    status = subprocess.run(line, cwd=root).returncode
    print(diff_report(root, before), flush=True)
    if status:
        print(f"pytest exited {status}: read its failures before committing truth/")
    return status
