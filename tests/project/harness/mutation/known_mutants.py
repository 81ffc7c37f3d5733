"""The two mutants the mutation tests run by id, and a digest of a directory tree."""

from __future__ import annotations

import hashlib
from pathlib import Path

KILLABLE = "background_sub.py:core/NumberReplacer:76"
"""L306 ``mdata.mean(axis=0)`` -> ``axis= 1``: the combined background has the wrong shape."""
EQUIVALENT = "background_sub.py:core/ReplaceComparisonOperator_Eq_NotEq:3"
"""L48, the NIRCam-only 2048 x 2048 default: never runs for MIRI (equivalents file)."""


def tree_sha256(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }

