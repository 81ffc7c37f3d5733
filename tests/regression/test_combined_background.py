"""The combined background is smooth: the background stars were clipped away.

The notebook's check "the averaged background image shows a smooth background with the
sources removed", as tests. All values in DN/s.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from photutils.segmentation import detect_sources
from photutils.utils.exceptions import NoDetectionsWarning
from scipy.ndimage import binary_dilation

from miri_background.checks import metrics, oracle, require
from miri_background.checks.ids import CLIPPING_SIGMAS, region_params, sigma_params
from miri_background.observation import artefacts
from miri_background.observation import instrument as mi

DETECT_SNR = 5.0
DETECT_NPIXELS = 5
"""A source is >= 5 connected pixels above 5 sigma. On Gaussian noise one such group has a
probability < 1e-30 per position (p(z > 5) = 2.9e-7 per pixel, 5 at once): the false-alarm
rate is set by the budget of the other checks, not by this one."""


def _unfiltered(products, combined) -> np.ndarray:
    """Real data: where the median-filtered reference is not the background, the box
    around the imager scar (`artefacts.scar_box`: its stripes are in every background, so
    the clipped mean rightly keeps them, and the 5 x 5 median filter does not) and the
    pixels whose 5 x 5 footprint holds a pixel with no background value (a bad cluster or
    column in every background: the filter's median is made of fill values); simulated
    data (a true background): none."""
    if products.true_background is not None:
        return np.zeros(combined.data.shape, bool)
    no_value = ~np.isfinite(combined.data) | (combined.err <= 0)
    return artefacts.scar_box() | binary_dilation(no_value, np.ones((5, 5), bool))


@pytest.mark.parametrize("region", region_params())
@pytest.mark.parametrize("sigma", sigma_params(CLIPPING_SIGMAS))
def test_combined_background_is_smooth(
    products, reference_background, reference_noise, err_calibration, region, sigma
):
    """No source is detected in (combined - reference) / ERR above 5 sigma (5 pixels).

    Real data (a median-filtered reference) leave out where that reference is not the
    background (`_unfiltered`: the imager scar's box, the footprints of no-value pixels).
    """
    combined = products.combined[sigma][products.science_names[0]]
    k = err_calibration[region].k * reference_noise
    inside = mi.region_masks()[region] & np.isfinite(combined.data) & (combined.err > 0)
    inside &= ~_unfiltered(products, combined)
    snr = np.zeros(combined.data.shape)
    snr[inside] = (combined.data[inside] - reference_background[inside]) / (
        k * combined.err[inside]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)  # no detection is the pass case
        # the pixel count positionally: photutils < 3 calls it npixels, 3 n_pixels
        segments = detect_sources(snr, DETECT_SNR, DETECT_NPIXELS)
    if segments is None:
        return
    lines = []
    for seg in segments.segments[:20]:
        ys, xs = np.nonzero(segments.data == seg.label)
        i = np.argmax(snr[ys, xs])
        y, x = ys[i], xs[i]
        lines.append(
            f"  {combined.name} {region} pixel (x={x}, y={y}): expected "
            f"{reference_background[y, x]:.3f} DN/s, got {combined.data[y, x]:.3f} DN/s, "
            f"{snr[y, x]:+.1f} sigma ({seg.area} pixels above {DETECT_SNR:g} sigma)"
        )
    pytest.fail(
        f"{segments.n_labels} source(s) left in the sigma={sigma:g} combined background "
        f"({region}):\n" + "\n".join(lines)
    )


@pytest.mark.parametrize("sigma", sigma_params(CLIPPING_SIGMAS))
def test_combined_background_at_background_stars(
    products,
    pixel_sets,
    reference_background,
    reference_noise,
    err_calibration,
    clipping_scatter,
    background_stack,
    sigma,
):
    """At every background-star peak bright enough for the rule to clip it, |combined -
    reference| is within the noise.

    Bright enough: peak ``A >= R s`` with ``s`` the largest calibrated ERR of the N
    backgrounds there and ``R = oracle.sure_clip_ratio(N, sigma, z_bound(N n_stars))``
    (18.3 at sigma 1, 46.8 at sigma 2 for N = 4): a fainter star may stay below sigma
    standard deviations of its 4 values and is kept by the documented rule (F2550W's noise
    makes most flight stars such at sigma 2). Bound: ``z_bound(n_stars) * k * s_clip * ERR``
    with ``k`` the measured ERR calibration and ``s_clip`` the clipped mean's scatter (Monte
    Carlo); false alarm 2e-6 for all stars, plus below 2e-6 that a bright star escapes the
    clip. A star that was not clipped sits A/4 above: over R/4 = 11 sigma of one value.
    Real data leave out the stars where the median-filtered reference is not the
    background (`_unfiltered`).
    """
    combined = products.combined[sigma][products.science_names[0]]
    errors = background_stack[1]
    n = errors.shape[0]
    ratio = oracle.sure_clip_ratio(n, sigma, metrics.z_bound(n * len(pixel_sets.background_stars)))
    unfiltered = _unfiltered(products, combined)
    stars = [
        s
        for s in pixel_sets.background_stars
        if s.peak >= ratio * err_calibration[s.region].k * np.max(errors[:, s.y, s.x])
        and not unfiltered[s.y, s.x]
    ]
    if not stars:
        pytest.skip(
            f"no background star bright enough to be clipped surely at sigma={sigma:g} "
            f"(peak >= {ratio:.1f} x its backgrounds' noise) of "
            f"{len(pixel_sets.background_stars)}"
        )
    bound = metrics.z_bound(len(stars))
    deviations = []
    for region in {s.region for s in stars}:
        sel = [s for s in stars if s.region == region]
        xs, ys = np.array([s.x for s in sel]), np.array([s.y for s in sel])
        k = err_calibration[region].k * clipping_scatter[sigma] * reference_noise
        deviations += metrics.pixel_deviations(
            f"{combined.name} (star from {', '.join(sorted({s.exposure[:13] for s in sel}))})",
            region,
            xs,
            ys,
            reference_background[ys, xs],
            combined.data[ys, xs],
            k * combined.err[ys, xs],
            bound,
        )
    assert not deviations, metrics.report(
        deviations, f"of {len(stars)} background-star peaks not clipped at sigma={sigma:g}"
    )


@pytest.mark.parametrize("region", region_params())
@pytest.mark.parametrize("sigma", sigma_params())
def test_combined_background_noise(
    products,
    pixel_sets,
    reference_background,
    err_calibration,
    clipping_scatter,
    region,
    sigma,
):
    """The normalised residual (combined - reference) / ERR has the scatter the documented
    clipping predicts: robust std = k * s_clip(sigma).

    ``k``: measured ERR calibration of the input rates; ``s_clip``: Monte-Carlo scatter of a
    4-value clipped mean (1.038 at sigma=2). Tolerance: ``z_bound() = 4.75`` times the
    quadrature sum of the relative standard errors of the three robust stds (false alarm
    2e-6). A combined ERR off by 1 % or a wrong clipping rule fails.
    """
    require.truth(
        products.true_background is not None,
        "needs the true background (a filtered reference has its own)",
    )
    combined = products.combined[sigma][products.science_names[0]]
    sky = pixel_sets.sky[region]
    z = (combined.data[sky] - reference_background[sky]) / combined.err[sky]
    got = metrics.robust_std(z)
    k, k_err = err_calibration[region]
    expected = k * clipping_scatter[sigma]
    rel = np.sqrt(metrics.robust_std_error(z.size) ** 2 + k_err**2 + 0.0026**2)
    tol = metrics.z_bound() * rel * expected
    assert abs(got - expected) <= tol, (
        f"{combined.name} {region} sky ({z.size} pixels), sigma={sigma:g}: robust std of "
        f"(combined - reference) / ERR expected {expected:.4f} (ERR calibration {k:.4f} x "
        f"clipping {clipping_scatter[sigma]:.4f}), got {got:.4f}, "
        f"{(got - expected) / (rel * expected):+.1f} sigma (bound {metrics.z_bound():.2f})"
    )


@pytest.mark.parametrize("sigma", sigma_params())
def test_combined_background_same_for_every_science(products, sigma):
    """The 4 associations list the same 4 backgrounds: their combinations are identical."""
    first, *others = (products.combined[sigma][n] for n in products.science_names)
    for other in others:
        assert_array_equal(
            other.data,
            first.data,
            err_msg=f"sigma={sigma:g}: {other.name} combined differs from {first.name}",
        )
