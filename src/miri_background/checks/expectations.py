"""Oracle expectations kept as cache products, so that a warm run reads them instead of
computing them again; the comparisons with jwst's products still run on every run.

An oracle is a deterministic function of its inputs, so its output is a product like any
other: keyed (`keys.stage_parts`) on the inputs (by content), the parameters, the oracle's
own modules and the numpy version it computes with. Measured on the built-in
data: the notebook's clipped mean of 4 FULL frames 0.25-0.75 s per sigma, the scenarios'
2.3 s in all; read back from ``.npz``, a few ms each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from miri_background.cache import ContentCache
from miri_background.keys import stage_parts

FILE = "expected.npz"


def cached(
    cache: ContentCache | None,
    stage: str,
    parts: Mapping,
    oracle_modules: tuple[str, ...],
    compute: Callable[[], Mapping[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """``compute()`` ({name: array}) through ``cache`` (None: computed here), keyed on
    ``parts``, the sha256 of ``oracle_modules`` (this package's, dotted) and numpy's
    version (the oracles compute with numpy only). The arrays come back read-only."""
    if cache is None:
        result = dict(compute())
    else:
        key = stage_parts(stage, **parts, sources=oracle_modules, versions=("numpy",))

        def build(out: Path) -> None:
            np.savez(out / FILE, **compute())

        entry = cache.get_or_build(stage, key, build)
        with np.load(entry.path / FILE) as saved:
            result = {name: saved[name] for name in saved.files}
    for array in result.values():
        array.flags.writeable = False
    return result
