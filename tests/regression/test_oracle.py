"""jwst's combined background equals an independent implementation of the documented rule,
and the clipping theory the notebook's choice of sigma=2 rests on."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.stats import sigma_clip
from numpy.testing import assert_array_equal

from miri_background.checks import metrics, oracle, require
from miri_background.checks.ids import seq_params, sigma_params
from miri_background.observation.notebook import NOTEBOOK_MAXITERS
from miri_background.pipeline import combination


@pytest.mark.parametrize("sigma", sigma_params())
def test_combined_background_matches_oracle(products, background_stack, oracle_combined, sigma):
    """data and ERR within 2 float32 ulps, DQ equal, for every pixel with a kept value.

    A pixel where no background value is finite has no defined mean: jwst 3.0.0 writes
    0 +- 0 there, the oracle NaN; the check only requires the science pixel to be flagged.
    """
    values = background_stack[0]
    expected = oracle_combined(sigma)
    combined = products.combined[sigma][products.science_names[0]]
    kept = expected.nkept > 0
    for what, got, want in (
        ("data", combined.data, expected.data),
        ("err", combined.err, expected.err),
    ):
        got32, want32 = got[kept].astype(np.float32), want[kept].astype(np.float32)
        bad = require.float32_differs(got32, want32)
        if bad.any():
            ys, xs = np.nonzero(kept)
            i = np.flatnonzero(bad)[:10]
            lines = [
                f"  pixel (x={xs[j]}, y={ys[j]}): expected {want32[j]:.6f} DN/s, got "
                f"{got32[j]:.6f} DN/s (values {np.round(values[:, ys[j], xs[j]], 3)})"
                for j in i
            ]
            pytest.fail(
                f"sigma={sigma:g} combined {what} differs from the documented clipped mean "
                f"at {bad.sum()} of {kept.sum()} pixels:\n" + "\n".join(lines)
            )
    assert_array_equal(combined.dq, expected.dq, err_msg="combined DQ != OR of background DQ")
    unflagged = ~kept & ((products.bsub[sigma][products.science_names[0]].dq & 1) == 0)
    assert not unflagged.any(), (
        f"{unflagged.sum()} pixels have no background value but are not DO_NOT_USE in bsub"
    )


@pytest.mark.parametrize("n", [3, 4, 8], ids=["N3", "N4", "N8"])
def test_theory_lone_outlier_bound(n):
    """A lone outlier among N values is at most z = N / sqrt(N - 1) from the median.

    With N - 1 equal values and one at A: median = 0, std = A sqrt(N - 1) / N, so
    z = A / std = N / sqrt(N - 1) whatever A (2.12, 2.31, 3.02). astropy's sigma_clip (what
    jwst calls) must therefore keep it for sigma just above z and clip it just below: with
    4 backgrounds, jwst's default sigma=3 can never clip a star present in one of them.
    """
    values = np.zeros(n)
    values[-1] = 100.0
    z_max = n / np.sqrt(n - 1)
    assert (values[-1] - np.median(values)) / np.std(values) == pytest.approx(z_max)
    assert not sigma_clip(values, sigma=z_max * 1.001, maxiters=None).mask.any()
    assert sigma_clip(values, sigma=z_max * 0.999, maxiters=None).mask[-1]


@pytest.mark.parametrize("name", seq_params(), indirect=True)
def test_theory_sigma3_leaves_holes(products, pixel_sets, expected_science, err_calibration, name):
    """With sigma=3 (jwst's default) background stars are not clipped: bsub has holes.

    Expected at each background-star peak: science - (background + A/4), A = the star's
    true peak rate, since nothing is clipped and the mean takes a quarter of it. Per star
    within ``z_bound(n_stars)`` of the noise; and the holes are real: > 5 sigma wherever
    A/4 > (5 + z_bound(n_stars)) sigma (about half of the stars: at least a quarter).
    """
    require.truth(pixel_sets.from_truth, "the stars' true peak rates are unknown")
    stars = pixel_sets.background_stars
    xs, ys = np.array([s.x for s in stars]), np.array([s.y for s in stars])
    peaks = np.array([s.peak for s in stars])
    k = np.array([err_calibration[s.region].k for s in stars])
    bsub = products.bsub[3.0][name]
    comb = products.combined[3.0][name]
    noise = k * np.sqrt(products.rates[name].err[ys, xs] ** 2 + comb.err[ys, xs] ** 2)
    expected = expected_science[name][ys, xs] - peaks / 4.0
    got = bsub.data[ys, xs]
    deviations = metrics.pixel_deviations(
        name, "bkgstar (sigma=3)", xs, ys, expected, got, noise, metrics.z_bound(len(stars))
    )
    assert not deviations, metrics.report(deviations, "holes not of depth A/4 at sigma=3")
    bright = peaks / 4.0 > (5.0 + metrics.z_bound(len(stars))) * noise
    depth = (expected_science[name][ys, xs] - got)[bright] / noise[bright]
    assert bright.sum() >= len(stars) // 4 and np.all(depth > 5.0), (
        f"{name}: sigma=3 should leave holes > 5 sigma at {bright.sum()} bright background "
        f"stars (of {len(stars)}); shallowest {depth.min():.1f} sigma"
    )


@pytest.mark.filterwarnings(  # NaN on purpose; jwst 1.20+ filters this itself, 1.18 not
    "ignore:Input data contains invalid values:astropy.utils.exceptions.AstropyUserWarning"
)
@pytest.mark.parametrize("sigma", sigma_params())
def test_jwst_combination_matches_oracle_where_backgrounds_are_missing(content_cache, sigma):
    """jwst's own combination code (``background_sub.average_background``; a product made
    in process and cached, `pipeline.combination`: ``--inject-fault`` enters its key) on
    values missing in 0-4 of the 4 backgrounds.

    The built-in data set has no such pixel (its bad pixels are bad in every exposure), so
    this is the check of the NaN rule: a value missing in k < 4 backgrounds is left out and
    the mean is taken over the others (2 float32 ulps, as above); with none left, jwst
    writes 0 +- 0 (the oracle: no value).
    """
    backgrounds = combination.missing_backgrounds()
    got = combination.combined_with_missing(content_cache, backgrounds, sigma, NOTEBOOK_MAXITERS)
    want = oracle.combine(
        backgrounds.values, backgrounds.errors, backgrounds.dqs, sigma, NOTEBOOK_MAXITERS
    )
    kept = want.nkept > 0
    for what, g, w in (("data", got["data"], want.data), ("err", got["err"], want.err)):
        g32, w32 = g[kept].astype(np.float32), w[kept].astype(np.float32)
        bad = require.float32_differs(g32, w32)
        ys, xs = np.nonzero(kept)
        assert not bad.any(), (
            f"sigma={sigma:g} combined {what} differs at {bad.sum()} of {kept.sum()} pixels; "
            + "; ".join(
                f"(x={xs[j]}, y={ys[j]}, {4 - ys[j]} of 4 finite): "
                f"expected {w32[j]:.5f}, got {g32[j]:.5f} DN/s"
                for j in np.flatnonzero(bad)[:5]
            )
        )
    assert_array_equal(got["dq"], want.dq, err_msg="combined DQ != OR of the backgrounds' DQ")
    none_left = got["data"][~kept], got["err"][~kept]
    assert np.all(none_left[0] == 0) and np.all(none_left[1] == 0), (
        f"no finite background value: expected 0 +- 0 (jwst 3.0.0), got {none_left}"
    )
