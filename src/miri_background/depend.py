"""Depend mode of the cache (as ccache's): an entry valid while the sources it ran still
hash the same.

A depend-mode build returns the source files its products depend on (absolute paths, e.g.
`pipeline.code_trace.Trace.files`). The manifest stores them by `source_name`: relative
to the package they belong to, ``jwst/jump/jump_step.py``, when the file is what that
package resolves to on import (its top-level package's location, by
`importlib.util.find_spec`, joined with the rest), else the absolute path. A lookup
resolves each name again (`source_path`) and hashes the file found, so

- an edit of a recorded file is a miss naming it;
- the same package imported from elsewhere (a copy of jwst earlier on ``PYTHONPATH``) is
  checked where it is now: files equal to the recorded ones keep the hit, an edited one
  is a miss, a package that is gone is a miss.

Hashes are memoised on (path, size, mtime_ns), so a warm check stats each file once and
hashes it once per process; package locations on (name, `sys.path`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from functools import lru_cache
from pathlib import Path

from miri_background.files import file_sha256

_HASHES: dict[tuple[str, int, int], str] = {}


def source_sha256(path: str) -> str | None:
    """sha256 of a file, memoised on (path, size, mtime_ns); None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = file_sha256(Path(path))
    return _HASHES[key]


@lru_cache(maxsize=4096)
def _locations(top: str, search_path: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """(package directories, module file) of top-level ``top`` as ``search_path`` (the
    current `sys.path`, part of the memo's key) resolves it; ``((), None)`` if it does not."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return (), None
    if spec is None:
        return (), None
    dirs = tuple(os.path.realpath(d) for d in spec.submodule_search_locations or ())
    return dirs, os.path.realpath(spec.origin) if spec.origin and not dirs else None


def source_path(name: str) -> str | None:
    """Where source ``name`` is now: an absolute name as it is; a package-relative one
    below its top-level package's current location (None if that is not importable)."""
    if name.startswith("/"):
        return name
    first, _, rest = name.partition("/")
    dirs, origin = _locations(first.split(".", 1)[0], tuple(sys.path))
    if rest and len(dirs) == 1:
        return os.path.join(dirs[0], rest)
    for directory in dirs if rest else ():  # a namespace package: the first that has it
        if os.path.exists(path := os.path.join(directory, rest)):
            return path
    if not rest and origin and os.path.basename(origin) == first:
        return origin
    return None


def source_name(path: str) -> str:
    """``path`` relative to the ``sys.path`` entry it lies under, if resolving that name
    (`source_path`) gives ``path`` back; else ``path``."""
    for entry in sorted({os.path.realpath(p or ".") for p in sys.path}, key=len, reverse=True):
        if path.startswith(entry + "/"):
            name = path[len(entry) + 1 :]
            if source_path(name) == path:
                return name
    return path


def recorded(files) -> dict[str, str]:
    """{`source_name`: sha256} of the files a depend-mode build returned."""
    return {source_name(f): source_sha256(f) for f in files}


def changed_source(sources: dict[str, str]) -> str | None:
    """Why the first of ``sources`` {name: sha256} no longer matches, else None."""
    for name, digest in sources.items():
        path = source_path(name)
        now = source_sha256(path) if path else None
        if now != digest:
            where = path or name
            return f"source {where} {'is gone' if now is None else 'changed'}"
    return None
