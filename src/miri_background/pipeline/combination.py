"""jwst's combination of backgrounds where values are missing: a cached product.

The built-in data set has no pixel that is missing in some backgrounds but not in others
(its bad pixels are bad in every exposure), so the NaN rule of the combination is checked
on synthetic backgrounds (`missing_backgrounds`): jwst's own combination code,
``background_sub.average_background``, on them, per sigma (`combined_with_missing`).

The call is a product like detector1's: cached in depend mode (`code_trace`), keyed on the
synthetic values (by content), sigma and maxiters; a fault or a served mutant enters its
key (`keys.override`, stage ``COMBINATION``), so it runs under ``--inject-fault``. A warm
run reads three small arrays instead of importing ``jwst.background`` and loading the
datamodel schemas (measured: 4.0 s + 2.4 s under load in the one worker that ran it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from miri_background.cache import ContentCache
from miri_background.keys import arrays_digest, stage_parts
from miri_background.pipeline import code_trace
from miri_background.pipeline.jwst_env import call_options

COMBINATION = "combination"
"""The stage name (its cache directory; faults name it to reach it)."""
MISSING_SHAPE = (5, 48)
"""Synthetic backgrounds: row k has k of the 4 values missing (NaN, DO_NOT_USE), 48 pixels."""
FILE = "combined.npz"


@dataclass(frozen=True)
class Backgrounds:
    """4 synthetic backgrounds of `MISSING_SHAPE` stacked on axis 0 (float64 ``values``
    as jwst's stack holds them, ``errors``, ``dqs``)."""

    values: np.ndarray
    errors: np.ndarray
    dqs: np.ndarray


def missing_backgrounds(seed: int = 1) -> Backgrounds:
    """10 DN/s + unit noise, a 60 DN/s star in one background at every 6th pixel, and in
    row k the first k backgrounds missing (NaN, DQ bit 0 DO_NOT_USE); DQ otherwise drawn
    from {0, 0, 4, 512}.

    The values go through float32 (the files' type) and back to float64 like jwst's
    stack: with sigma=1 two kept values sit exactly on the clipping bounds
    (|v - median| = std), so the precision decides which survive.
    """
    rng = np.random.default_rng(seed)
    ny, nx = MISSING_SHAPE
    values = 10.0 + rng.standard_normal((4, ny, nx))
    star = np.where(np.arange(nx) % 6 == 0, 60.0, 0.0)[:, None]
    values[np.arange(nx) % 4, :, np.arange(nx)] += star
    dqs = rng.choice(np.array([0, 0, 4, 512], np.uint32), size=values.shape)
    for k in range(ny):
        values[:k, k] = np.nan
        dqs[:k, k] |= 1
    values = values.astype(np.float32).astype(np.float64)
    return Backgrounds(values, np.ones_like(values), dqs)


def _models(backgrounds: Backgrounds) -> list:
    """The backgrounds as full-frame-described MIRI ImageModels (float32 data and err)."""
    from stdatamodels.jwst import datamodels

    ny, nx = MISSING_SHAPE
    models = []
    for values, errors, dq in zip(
        backgrounds.values, backgrounds.errors, backgrounds.dqs, strict=True
    ):
        m = datamodels.ImageModel(data=values.astype(np.float32))
        m.err, m.dq = errors.astype(np.float32), dq
        m.meta.instrument.name = "MIRI"
        m.meta.subarray.xstart, m.meta.subarray.ystart = 1, 1
        m.meta.subarray.xsize, m.meta.subarray.ysize = nx, ny
        models.append(m)
    return models


def combined_with_missing(
    cache: ContentCache, backgrounds: Backgrounds, sigma: float, maxiters: int
) -> dict[str, np.ndarray]:
    """``average_background``'s combined ``data``, ``err`` and ``dq`` of ``backgrounds``
    (the first one's model as the science exposure), through ``cache``. The arrays come
    back read-only."""

    def build(out: Path) -> list[str]:
        from jwst.background import background_sub  # (imported before the trace)

        call_options()
        with code_trace.traced() as trace:
            models = _models(backgrounds)
            got = background_sub.average_background(models[0].copy(), models, sigma, maxiters)
            np.savez(out / FILE, data=got.data, err=got.err, dq=got.dq)
        return trace.files

    parts = {
        "backgrounds": arrays_digest(backgrounds.values, backgrounds.errors, backgrounds.dqs),
        "sigma": sigma,
        "maxiters": maxiters,
    }
    key = stage_parts(COMBINATION, **parts, traced=True)
    entry = cache.get_or_build(COMBINATION, key, build, depend=True)
    with np.load(entry.path / FILE) as saved:
        result = {name: saved[name] for name in saved.files}
    for array in result.values():
        array.flags.writeable = False
    return result
