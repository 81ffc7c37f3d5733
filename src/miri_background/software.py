"""Installed software: versions, the interpreter, and digests of the source and reference
files a stage's products depend on (detector1 and background key their software by the
sources they ran instead: `pipeline.code_trace`)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from functools import cache
from pathlib import Path

from miri_background.files import file_sha256

OVERRIDES_ENV = "MIRI_BACKGROUND_JWST_OVERRIDES"
"""Set by the mutation harness (`encode_overrides`) when it serves modules from a copy (an
import hook: not in the installed tree, so no source digest or trace sees them); the
plugin passes it to `keys.override` under `OVERRIDES_KEY`."""
OVERRIDES_KEY = "jwst_overrides"


def encode_overrides(digest: str, sources) -> str:
    """The value of `OVERRIDES_ENV`: the sha256 of the served sources and the names of the
    installed files they stand for (package-relative, as `depend.source_name` records
    them: ``astropy/stats/sigma_clipping.py``)."""
    return json.dumps({"sha256": digest, "sources": sorted(sources)})


def decode_overrides(value: str) -> tuple[str, frozenset[str]]:
    """(sha256, source names) of an `encode_overrides` value."""
    data = json.loads(value)
    return data["sha256"], frozenset(data["sources"])


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

def interpreter() -> str:
    """The Python the traced code ran on (its standard library is not traced)."""
    return f"{platform.python_implementation()} {sys.version.split()[0]} {platform.machine()}"


def references_digest(inputs) -> str:
    """`tree_digest` of the local CRDS references, or the caller's CRDS context's name."""
    if inputs.crds_root is not None:
        return tree_digest(inputs.crds_root / "references")
    return "caller CRDS context " + os.environ.get("CRDS_CONTEXT", "(operational)")
