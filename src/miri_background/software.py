"""Installed software: versions, and digests of the source and reference files a stage's
products depend on."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

from miri_background.files import file_sha256

SOFTWARE = ("jwst", "stcal", "stdatamodels", "stpipe", "crds")
SOURCE_SUFFIXES = (".py", ".so", ".pyx", ".c", ".h", ".yaml", ".json", ".asdf", ".cfg")


@cache
def software_fingerprint() -> dict[str, str]:
    """sha256 over the installed source of jwst, stcal, stdatamodels, stpipe and crds.

    Hashes each package's files with a source suffix (``SOURCE_SUFFIXES``), sorted by
    relative path, so an edit to a local (editable) checkout changes the fingerprint.
    """
    result = {}
    for pkg in SOFTWARE:
        spec = find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            result[pkg] = "not installed"
            continue
        result[pkg] = package_digest(Path(next(iter(spec.submodule_search_locations))))
    return result

def package_digest(root: Path) -> str:
    """sha256 of (relative path, sha256) for every source file under ``root``."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(file_sha256(path).encode())
    return h.hexdigest()

def tree_digest(root: Path) -> str:
    """sha256 over (relative path, sha256) of every file under ``root``.

    Memoised on the files' (path, size, mtime) signature: the references (122 MB) are hashed
    once per process, yet a file edited in place is hashed again.
    """
    files = sorted(p for p in root.rglob("*") if p.is_file())
    signature = tuple(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in files
    )
    return _files_digest(root, signature)

@cache
def _files_digest(root: Path, signature: tuple) -> str:
    h = hashlib.sha256()
    for rel, _, _ in signature:
        h.update(rel.encode() + file_sha256(root / rel).encode())
    return h.hexdigest()

def package_version(pkg: str) -> str:
    return version(pkg)
