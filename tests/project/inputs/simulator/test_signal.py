"""The built-in data set after detector1: what was injected is what comes out.

Run on the session's detector1 rates and the simulator's truth: the sky rate per region,
star fluxes (aperture photometry), the read noise (from the ramps) and the dither offsets
(cross-correlation). Every bound is a Gaussian z bound from `metrics.z_bound`, with the
per-assertion false-alarm probability ``metrics.CHECK_FALSE_ALARM`` (2e-6) split over the
values an assertion covers (Bonferroni).
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from photutils.aperture import CircularAperture, aperture_photometry
from skimage.registration import phase_cross_correlation

from miri_background.checks import metrics
from miri_background.checks.pixelsets import APERTURE_RADIUS
from miri_background.observation import instrument as mi
from miri_background.observation import notebook

DITHER_TOL_PX = 0.05
"""Dither offsets must be recovered to 0.05 px (the issue's requirement)."""

MIN_STARS = 600
"""Stars measured over the 4 science exposures: at least 150 each (half the 300 injected
in the imager field survive the cuts for saturation, bad pixels and cosmic rays)."""

CDS_GROUPS = (1, 2)
"""0-based groups differenced for the read noise (group 0 is skipped, as real MIRI data need)."""


@pytest.fixture(scope="module")
def truth_products(inputs, products):
    """The session products, when detector1 ran on the simulator's uncal files."""
    if products.true_background is None or not inputs.uncal:
        pytest.skip(f"data source {inputs.source!r}: no detector1 run on simulated ramps")
    return products


@pytest.mark.parametrize("region", mi.REGIONS)
def test_detector1_recovers_sky_rate(truth_products, pixel_sets, region):
    """The mean of (rate - true background) over the region's sky pixels is 0.

    Per exposure: ``m = mean(r)``, ``SE = std(r) / sqrt(n)`` over the n sky pixels, and
    ``|m| <= z_bound(8) * SE`` for all 8 exposures (false alarm 2e-6 for the 8 together).
    """
    sky = pixel_sets.sky[region]
    bound = metrics.z_bound(len(truth_products.rates))
    lines, failed = [], False
    for name, image in truth_products.rates.items():
        resid = image.data[sky] - truth_products.true_background[sky]
        mean, se = resid.mean(), resid.std(ddof=1) / np.sqrt(resid.size)
        failed |= not abs(mean) <= bound * se
        lines.append(
            f"  {name}: mean {mean:+.5f} DN/s, SE {se:.5f} DN/s ({mean / se:+.1f} SE, "
            f"{resid.size} pixels, true rate {truth_products.true_background[sky].mean():.3f})"
        )
    assert not failed, f"{region} sky rate - truth, bound {bound:.2f} SE:\n" + "\n".join(lines)


@pytest.fixture(scope="module")
def photometry(truth_products, pixel_sets):
    """Per science star: measured and true aperture flux and its noise, in DN/s.

    ``measured = sum_A(rate - true background)``, ``true = sum_A(true source image)``,
    ``noise = sqrt(sum_A ERR**2)`` over the r = 4 px aperture A (exact overlap). Stars with
    a non-finite pixel in A are left out.
    """
    rows = []
    for name, stars in pixel_sets.science_stars.items():
        image = truth_products.rates[name]
        aperture = CircularAperture(np.c_[stars["x"], stars["y"]], r=APERTURE_RADIUS)
        finite = np.isfinite(image.data) & np.isfinite(image.err)
        blank = aperture_photometry((~finite).astype(float), aperture)["aperture_sum"]
        data = np.where(finite, image.data - truth_products.true_background, 0.0)
        got = aperture_photometry(data, aperture, error=np.where(finite, image.err, 0.0))
        true = aperture_photometry(truth_products.true_sources[name], aperture)["aperture_sum"]
        for i in np.flatnonzero(np.asarray(blank) == 0):
            rows.append(
                (
                    name,
                    float(stars["x"][i]),
                    float(stars["y"][i]),
                    float(got["aperture_sum"][i]),
                    float(true[i]),
                    float(got["aperture_sum_err"][i]),
                )
            )
    return rows


def test_detector1_recovers_star_fluxes_each(photometry):
    """Each star's aperture flux is its true flux within ``z_bound(n_stars)`` noise sigmas."""
    bound = metrics.z_bound(len(photometry))
    bad = [
        f"  {n} ({x:.1f}, {y:.1f}): measured {m:.2f} DN/s, true {t:.2f} DN/s, "
        f"{(m - t) / s:+.1f} sigma (sigma {s:.2f} DN/s)"
        for n, x, y, m, t, s in photometry
        if not abs(m - t) <= bound * s
    ]
    assert len(photometry) >= MIN_STARS, (
        f"{len(photometry)} stars measured, expected >= {MIN_STARS}"
    )
    assert not bad, f"{len(bad)} of {len(photometry)} stars off by > {bound:.2f} sigma:\n" + (
        "\n".join(bad[:20])
    )


def test_detector1_recovers_star_flux_scale(photometry):
    """The flux scale measured / true is 1 within ``z_bound(1)`` of its standard error.

    Inverse-variance weighted mean of ``f_i = measured_i / true_i - 1`` with
    ``sigma_i = noise_i / true_i``: ``F = sum(f / sigma**2) / sum(1 / sigma**2)``,
    ``SE = sum(1 / sigma**2) ** -0.5``.
    """
    _, _, _, measured, true, noise = (np.array(c) for c in zip(*photometry, strict=True))
    weight = (true / noise) ** 2
    scale = np.sum(weight * (measured / true - 1.0)) / weight.sum()
    se = weight.sum() ** -0.5
    bound = metrics.z_bound(1)
    assert abs(scale) <= bound * se, (
        f"measured / true flux - 1 = {scale:+.5f} +- {se:.5f} over {len(true)} stars "
        f"({scale / se:+.1f} SE, bound {bound:.2f} SE)"
    )


def test_simulated_read_noise_matches_reference(inputs):
    """Read noise per read from the ramps' reference columns matches the readnoise file.

    Reference columns carry no sky and no cosmic rays. Per pixel, the linearised CDS
    difference ``d = L(g2) - L(g1)``, ``L = raw + b raw**2`` (the linearity reference), has
    variance ``RN_cds**2 + 2 q`` with ``q = (1 + 2 b raw)**2 / 12`` the rounding of raw to
    integer DN. Measured ``sigma = std(d) / sqrt(2)`` (per read) over n pixel-exposures;
    expected ``sqrt(mean(RN_cds**2 + 2 q) / 2)`` with RN_cds from the readnoise file (the
    simulator's configured READ_NOISE_CDS = 6 DN with a 5 % pixel-to-pixel spread);
    bound ``z_bound(1) / sqrt(2 (n - 1))`` relative (the std's standard error).
    """
    if inputs.sim_truth is None or not inputs.uncal:
        pytest.skip(f"data source {inputs.source!r} is not the simulator's uncal level")
    cols = list(mi.REFERENCE_COLUMNS)
    rn = fits.getdata(inputs.readnoise, "SCI")[:, cols].astype(np.float64)
    diffs, expected_var = [], []
    for path in inputs.uncal.values():
        raw = fits.getdata(path, "SCI")[0][list(CDS_GROUPS)][:, :, cols].astype(np.float64)
        linear = raw + mi.LINEARITY_B * raw**2
        diffs.append((linear[1] - linear[0]).ravel())
        q = (1.0 + 2.0 * mi.LINEARITY_B * raw.mean(axis=0)) ** 2 / 12.0
        expected_var.append((rn**2 + 2.0 * q).ravel())
    d = np.concatenate(diffs)
    measured = d.std(ddof=1) / np.sqrt(2.0)
    expected = np.sqrt(np.mean(np.concatenate(expected_var)) / 2.0)
    rel_bound = metrics.z_bound(1) / np.sqrt(2.0 * (d.size - 1))
    assert abs(measured / expected - 1.0) <= rel_bound, (
        f"read noise per read {measured:.4f} DN, expected {expected:.4f} DN "
        f"(configured {mi.READ_NOISE_CDS / np.sqrt(2.0):.4f} DN), off by "
        f"{100 * (measured / expected - 1):+.2f} % (limit {100 * rel_bound:.2f} %, "
        f"{d.size} pixel-exposures)"
    )


@pytest.mark.parametrize("dither", [1, 2, 3], ids=[f"seq{k + 1}-vs-seq1" for k in (1, 2, 3)])
def test_detector1_dither_offsets(truth_products, dither):
    """Cross-correlating science rates recovers the dither offset within 0.05 px.

    ``skimage.registration.phase_cross_correlation`` (upsample 100, i.e. 0.01 px steps) on
    rate - true background in the imager field (columns 360-1027, 1-based), NaN set to 0;
    the scene offset is minus the returned registration shift.
    """
    names = notebook.SCIENCE_NAMES
    field = np.s_[:, 359:1027]

    def image(name):
        data = truth_products.rates[name].data - truth_products.true_background
        return np.nan_to_num(data[field], nan=0.0)

    shift, _, _ = phase_cross_correlation(
        image(names[0]), image(names[dither]), upsample_factor=100
    )
    got = (-shift[1], -shift[0])
    expected = tuple(np.subtract(mi.DITHER_OFFSETS[dither], mi.DITHER_OFFSETS[0]))
    err = np.hypot(got[0] - expected[0], got[1] - expected[1])
    assert err <= DITHER_TOL_PX, (
        f"{names[dither]}: offset (dx, dy) = ({got[0]:+.3f}, {got[1]:+.3f}) px, expected "
        f"({expected[0]:+.3f}, {expected[1]:+.3f}) px, off by {err:.3f} px "
        f"(limit {DITHER_TOL_PX} px)"
    )
