"""Faults on the scenario paths: ``--inject-fault <this file>::NAME``.

Each patches jwst 3.0.0's background step in process (see harness/faults.py for the names
jwst looks up at call time); the scenario tests must fail under every one of them.
"""

from __future__ import annotations

import numpy as np
from jwst.background import background_step as bstep
from jwst.background import background_sub as bsub


def fault_err_halved() -> None:
    """The science ERR is halved after the subtraction (a stray rescaling of the output)."""
    original = bstep.background_sub

    def background_sub(model, bkg_list, sigma, maxiters):
        combined, result = original(model, bkg_list, sigma, maxiters)
        result.err = result.err / 2
        return combined, result

    bstep.background_sub = background_sub


def fault_var_rnoise_zeroed() -> None:
    """VAR_RNOISE of the science is zeroed by the step."""
    original = bstep.background_sub

    def background_sub(model, bkg_list, sigma, maxiters):
        combined, result = original(model, bkg_list, sigma, maxiters)
        result.var_rnoise = np.zeros_like(result.var_rnoise)
        return combined, result

    bstep.background_sub = background_sub


def fault_placed_at_own_offset() -> None:
    """Backgrounds pasted at their own offset in the science frame (jwst's defect fixed):
    the strict xfail must then XPASS, which fails the run."""

    def get_subset_array(self, other):
        data = np.full(other.data.shape[:-2] + self.data.shape[-2:], np.nan)
        err, dq = data.copy(), np.zeros(data.shape, np.uint32)
        j0, j1 = max(self.jmin, other.jmin), min(self.jmax, other.jmax)
        i0, i1 = max(self.imin, other.imin), min(self.imax, other.imax)
        to = (..., slice(j0 - self.jmin, j1 - self.jmin), slice(i0 - self.imin, i1 - self.imin))
        cut = (
            ...,
            slice(j0 - other.jmin, j1 - other.jmin),
            slice(i0 - other.imin, i1 - other.imin),
        )
        data[to], err[to], dq[to] = other.data[cut], other.err[cut], other.dq[cut]
        return data, err, dq

    bsub.ImageSubsetArray.get_subset_array = get_subset_array


def fault_no_3d_clipping() -> None:
    """rateints: each background file is the plain mean of its integrations (the per-file
    sigma_clip calls, the first 2 N of a 3-D average_background, return NaN masking only)."""
    original_clip, original_average = bsub.sigma_clip, bsub.average_background
    per_file = {"left": 0}

    def sigma_clip(data, **kwargs):
        if per_file["left"] > 0:
            per_file["left"] -= 1
            return np.ma.masked_invalid(data)
        return original_clip(data, **kwargs)

    def average_background(input_model, bkg_list, sigma, maxiters):
        per_file["left"] = 2 * len(bkg_list) if input_model.data.ndim == 3 else 0
        return original_average(input_model, bkg_list, sigma, maxiters)

    bsub.sigma_clip = sigma_clip
    bsub.average_background = average_background
