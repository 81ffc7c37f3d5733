"""The combined background of a scenario from the documented rule, independent of jwst.

Written from the background step's documentation (and, where it says nothing, from jwst
3.0.0's observed behaviour, marked *3.0.0* below), never from its code:

1. Placement: each background is put into the science frame by its own corner and size
   (SUBSTRT1/2, SUBSIZE1/2, 1-based): detector pixel (X, Y) of the background, at array
   index ``[Y - ystart_b, X - xstart_b]``, lands at ``[Y - ystart_s, X - xstart_s]`` of the
   science frame, for every (X, Y) both cover. Where a background does not cover the
   science frame its value is missing (NaN) and its DQ 0. A file without SUBSTRT/SUBSIZE
   is a MIRI full frame (jwst's docs: "full-frame defaults"): `FULL_FRAME`, corner (1, 1),
   1032 columns x 1024 rows.
2. rateints (3-D) backgrounds: per file, per pixel, the integrations are sigma-clipped and
   averaged first; *3.0.0 code, not its docs*: ERR**2 is clipped over the integrations on
   its own values and averaged, i.e. the file's variance is ``mean_k(err_k**2)`` over the
   kept ERR**2 values (the docs speak of the error of the mean, which would be that / n).
3. Per pixel over the N files (values ``v_i``, variances ``e_i**2``, NaN = missing):
   the clipped mean of `miri_background.checks.oracle` (the rule of astropy's
   ``sigma_clip`` docstring with jwst's settings, written there once with numpy only):
   keep the finite values; repeat at most ``maxiters`` times until nothing changes:
   ``m = median(v kept)``, ``s = std(v kept)``, keep ``m - sigma s <= v_i <= m + sigma s``;
   then ``combined = mean(v_i kept)``, ``ERR = sqrt(sum(e_i**2 kept)) / n_kept``;
   ``DQ = OR`` of every background's placed DQ over all integrations (clipped or not).
   *3.0.0*: where no value is kept, combined = 0 and ERR = 0 (`Expected.nkept` = 0 there).
   A value within `threshold_margin` of the threshold may be kept or clipped: the rule is
   evaluated in float64, jwst in float32, so either decision is the rule (`either_side`).
4. Subtraction: ``bsub[k] = science[k] - combined`` for every integration k (float32, as
   the files store them); ``bsub DQ = science DQ | combined DQ``; the science ERR and
   VAR_* arrays are not changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miri_background.checks import oracle as clipping
from miri_background.scenarios.model import Subarray

FULL_FRAME = Subarray("FULL", 1, 1, 1032, 1024)
"""The MIRI imager's full frame (1032 x 1024 with its reference columns, corner (1, 1)):
the geometry of a file without SUBSTRT1/2 and SUBSIZE1/2 (rule 1)."""
FLOAT32_EPS = float(np.finfo(np.float32).eps)
ROUNDINGS = 8
"""Roundings a value's z = (v - median) / std goes through in float32 (per-file mean,
median, mean and square of the std): each moves the values by up to ``eps |v|``."""


def threshold_margin(values: np.ndarray) -> float:
    """Half-width in z of the band around the clipping threshold where float32 (jwst) and
    float64 (this rule) may decide differently: ``ROUNDINGS eps32 max|v| / std(v)`` over the
    finite values of one pixel (0 if they are all equal). The std of close values amplifies
    the roundings: 3 values near 16 DN/s with std 0.02 give 7e-4 (measured: z = -1.99998 in
    float64 is -2.00001 in float32)."""
    v = values[np.isfinite(values)]
    spread = float(np.std(v)) if v.size else 0.0
    return ROUNDINGS * FLOAT32_EPS * float(np.max(np.abs(v))) / spread if spread > 0 else 0.0


@dataclass(frozen=True)
class Placed:
    """One background in the science frame: ``data`` and ``var`` (ERR**2) ``(nints, ny,
    nx)`` with NaN where it does not cover, ``dq`` with 0 there; ``covers`` ``(ny, nx)``."""

    data: np.ndarray
    var: np.ndarray
    dq: np.ndarray
    covers: np.ndarray


@dataclass(frozen=True)
class Expected:
    """The rule's combined background: ``data``, ``err`` (DN/s), ``dq``, ``nkept`` (number
    of files kept per pixel) and ``covered`` (some background covers the pixel)."""

    data: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    nkept: np.ndarray
    covered: np.ndarray


def geometry(region: Subarray, keywords: bool) -> Subarray:
    """Where a file lies on the detector (rule 1): ``region`` when it carries SUBSTRT /
    SUBSIZE (``keywords``), else `FULL_FRAME`."""
    return region if keywords else FULL_FRAME


def overlap(frame: Subarray, region: Subarray) -> tuple[slice, slice, slice, slice] | None:
    """``(rows, cols)`` in ``frame`` then in ``region`` of the detector pixels both cover,
    or None when they do not overlap (rule 1)."""
    x0, y0 = max(frame.xstart, region.xstart), max(frame.ystart, region.ystart)
    x1 = min(frame.xstart + frame.xsize, region.xstart + region.xsize)
    y1 = min(frame.ystart + frame.ysize, region.ystart + region.ysize)
    if x1 <= x0 or y1 <= y0:
        return None
    return (
        slice(y0 - frame.ystart, y1 - frame.ystart),
        slice(x0 - frame.xstart, x1 - frame.xstart),
        slice(y0 - region.ystart, y1 - region.ystart),
        slice(x0 - region.xstart, x1 - region.xstart),
    )


def place(frame: Subarray, region: Subarray, data, err, dq) -> Placed:
    """Rule 1 for one background (2-D arrays are treated as one integration)."""
    data, err, dq = (
        np.asarray(a)[None] if np.ndim(a) == 2 else np.asarray(a) for a in (data, err, dq)
    )
    shape = (data.shape[0], *frame.shape)
    out = Placed(
        np.full(shape, np.nan),
        np.full(shape, np.nan),
        np.zeros(shape, np.uint32),
        np.zeros(frame.shape, bool),
    )
    where = overlap(frame, region)
    if where is not None:
        fr, fc, rr, rc = where
        out.covers[fr, fc] = True
        out.data[:, fr, fc] = data[:, rr, rc]
        out.var[:, fr, fc] = err[:, rr, rc].astype(float) ** 2
        out.dq[:, fr, fc] = dq[:, rr, rc]
    return out


def _clipped_mean(values: np.ndarray, sigma: float, maxiters: int | None) -> np.ndarray:
    """Rule 3's clipped mean over axis 0 (NaN where no value is kept)."""
    return clipping.kept_mean(values, clipping.clipped_mask(values, sigma, maxiters))


def per_file(placed: Placed, sigma: float, maxiters: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Rule 2: a file's ``(value, variance)`` per pixel (2-D: its only integration)."""
    if placed.data.shape[0] == 1:
        return placed.data[0], placed.var[0]
    return _clipped_mean(placed.data, sigma, maxiters), _clipped_mean(
        placed.var, sigma, maxiters
    )


def combine(placed: list[Placed], sigma: float, maxiters: int | None) -> Expected:
    """Rules 2 and 3 over the placed backgrounds (0 and ERR 0 where no value is kept)."""
    files = [per_file(p, sigma, maxiters) for p in placed]
    values = np.stack([v for v, _ in files])
    errors = np.sqrt(np.stack([e for _, e in files]))
    dqs = np.concatenate([p.dq for p in placed])
    rule = clipping.combine(values, errors, dqs, sigma, maxiters)
    none = rule.nkept == 0
    data, err = np.where(none, 0.0, rule.data), np.where(none, 0.0, rule.err)
    covered = np.logical_or.reduce([p.covers for p in placed])
    return Expected(data, err, rule.dq, rule.nkept, covered)


def either_side(
    placed: list[Placed], sigma: float, maxiters: int | None, y: int, x: int
) -> tuple[Expected, Expected]:
    """Rules 2 and 3 at pixel ``(y, x)`` only, with the threshold moved down and up by
    `threshold_margin` of the files' values there; each result's arrays have shape (1, 1)."""
    subset = [
        Placed(p.data[:, y : y + 1, x : x + 1], p.var[:, y : y + 1, x : x + 1],
               p.dq[:, y : y + 1, x : x + 1], p.covers[y : y + 1, x : x + 1])
        for p in placed
    ]  # fmt: skip
    values = np.array([per_file(p, sigma, maxiters)[0][0, 0] for p in subset])
    margin = threshold_margin(values)
    return tuple(combine(subset, sigma + s * margin, maxiters) for s in (-1, 1))


def subtract(science: np.ndarray, combined: np.ndarray) -> np.ndarray:
    """Rule 4: ``science[k] - combined`` in float32 for every integration."""
    return np.asarray(science, np.float32) - np.asarray(combined, np.float32)
