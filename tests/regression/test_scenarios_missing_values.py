"""Missing values: NaN / DO_NOT_USE pixels in some backgrounds only (a per-exposure
saturation), one pixel NaN in all of them, a flagged (DO_NOT_USE | JUMP_DET) but finite
outlier, and a background (SUB128) that misses the SUB64 science field.

jwst 3.0.0 masks NaN only; DQ is OR-ed but never a mask, so the flagged finite value is
averaged (sigma permitting). jwst #10538 / #10539 may change that: the check that says so
(`test_missing_values_dq_is_not_a_mask_in_3_0_0`) then fails, a visible diff.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.stats import sigma_clip

from miri_background.scenarios.checks import combination_problems, subtraction_problems
from miri_background.scenarios.data import DO_NOT_USE, FLAGGED_FINITE_RATE, MISSING_PIXELS
from miri_background.scenarios.fixtures import params
from miri_background.scenarios.model import MAXITERS


@pytest.mark.parametrize("case", params("missing_values"))
def test_missing_values_combination_and_subtraction(case_products):
    """Combined data / ERR / DQ against the rule (NaN not used; the background that misses
    the field contributes nothing); bsub = science - combined."""
    products = case_products
    problems = combination_problems(products) + subtraction_problems(products)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", params("missing_values"))
def test_missing_values_pixel_missing_everywhere(case_products):
    """Where every background is NaN: combined 0 +- 0 (3.0.0's convention), the science
    value unchanged, and the bsub pixel DO_NOT_USE (through the OR-ed DQ)."""
    products = case_products
    for x, y in MISSING_PIXELS["nan-all"]:
        got = (products.combined.data[y, x], products.combined.err[y, x])
        assert got == (0.0, 0.0), (
            f"{products.name} pixel (x={x}, y={y}): combined {got}, expected (0, 0) DN/s"
        )
        assert products.bsub.data[y, x] == products.science.data[y, x], (
            f"{products.name} pixel (x={x}, y={y}): bsub {products.bsub.data[y, x]:.6f} DN/s, "
            f"expected the science {products.science.data[y, x]:.6f} DN/s unchanged"
        )
        assert products.bsub.dq[y, x] & DO_NOT_USE, (
            f"{products.name} pixel (x={x}, y={y}): no background value, yet bsub DQ "
            f"{products.bsub.dq[y, x]} lacks DO_NOT_USE"
        )


@pytest.mark.parametrize("case", params("missing_values"))
def test_missing_values_dq_is_not_a_mask_in_3_0_0(case_products):
    """The flagged finite value (900 DN/s, DO_NOT_USE | JUMP_DET) among 4 covering values
    takes part in the clipping like any other: the combined value is the clipped mean of
    all 4 (sigma = 3 keeps it, z_max 2.31); a jwst that masks DO_NOT_USE (#10538 / #10539)
    gives the clipped mean of the other 3 instead. Both from astropy's sigma_clip (median
    centre, std, maxiters 3), within 1e-6 relative (float32)."""
    sigma = case_products.sigma
    products = case_products
    ((x, y),) = MISSING_PIXELS["flagged-finite"]
    values = np.array([b.data[y, x] for b in list(products.backgrounds.values())[:4]], float)
    others = values[values != FLAGGED_FINITE_RATE]

    def clipped_mean(v):
        return float(sigma_clip(v, sigma=sigma, maxiters=MAXITERS, cenfunc="median").mean())

    expected, masked = clipped_mean(values), clipped_mean(others)
    got = float(products.combined.data[y, x])
    assert got == pytest.approx(expected, rel=1e-6), (
        f"{products.name} pixel (x={x}, y={y}): combined {got:.4f} DN/s, expected "
        f"{expected:.4f} DN/s (DQ not a mask, as jwst 3.0.0; with DO_NOT_USE masked: "
        f"{masked:.4f} DN/s); see jwst #10538 / #10539"
    )
