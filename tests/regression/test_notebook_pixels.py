"""The pixels the notebook looked at, as named cases, for the chosen data set.

Flight notebook (numpy [y, x]): science rates [600, 600] ("background region values"),
backgrounds and combined [875, 850] ("a pixel that is on a source in at least one
background image"), bsub [850, 500] (test_bsub_residuals.test_bsub_notebook_sky_pixel).
The 2021 notebook: rates and bsub at [850, 500], its star near x=615, y=317. All values in
DN/s; bounds 4.75 sigma (false alarm 2e-6 each).
"""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.checks import metrics
from miri_background.checks.ids import CLIPPING_SIGMAS, seq_params, sigma_params
from miri_background.observation.notebook import NOTEBOOK_SIGMA

STAR_SNR = 5.0
"""A background "holds a source" at the pixel when it is > 5 sigma above the reference."""


@pytest.mark.parametrize("name", seq_params(), indirect=True)
def test_science_notebook_pixel_is_sky(
    products, data_set, reference_background, err_calibration, clipping_scatter, sky_model, name
):
    """The science rate at the notebook's science pixel equals the background there.

    Expected: the reference background (truth, or the filtered sigma=2 combination for real
    data) plus, where the data set promises a changing sky, the residual sky of this
    exposure's bsub there (`sky_model`: the science visit's sky minus the background
    visit's); noise ``k * sqrt(ERR_sci**2 + (s_clip ERR_comb)**2)`` (an upper bound for the
    truth reference, which has no noise of its own). A source or a bad pixel there would
    make the notebook's bsub pixel checks meaningless.
    """
    x, y = data_set.science_pixel
    rate, comb = products.rates[name], products.combined[NOTEBOOK_SIGMA][name]
    noise = err_calibration["imager"].k * np.hypot(
        rate.err[y, x], clipping_scatter[NOTEBOOK_SIGMA] * comb.err[y, x]
    )
    dev = metrics.pixel_deviations(
        name,
        f"imager ({data_set.name} notebook science pixel)",
        [x],
        [y],
        [reference_background[y, x] + sky_model(NOTEBOOK_SIGMA, name, "imager", x, y)],
        [rate.data[y, x]],
        [noise],
        metrics.z_bound(),
    )
    assert not dev, metrics.report(dev, "science rate at the notebook's pixel is not sky")


@pytest.mark.parametrize("sigma", sigma_params(CLIPPING_SIGMAS))
def test_combined_background_notebook_star_pixel(
    products,
    pixel_sets,
    data_set,
    reference_background,
    reference_noise,
    err_calibration,
    clipping_scatter,
    sigma,
):
    """At the notebook's background-star pixel (the nearest background-star peak to it) a
    background holds a source and the combination clipped it.

    One background is > 5 sigma above the reference there (the notebook's premise), and the
    combination is within ``4.75 k s_clip ERR_comb`` of the reference: an unclipped star
    of peak A sits A/4 above it.
    """
    star = pixel_sets.named_star
    x, y = star.x, star.y
    k = err_calibration[star.region].k
    names = products.background_names
    values = np.array([products.rates[n].data[y, x] for n in names])
    errors = np.array([products.rates[n].err[y, x] for n in names])
    snr = (values - reference_background[y, x]) / (k * errors)
    assert np.nanmax(snr) > STAR_SNR, (
        f"{data_set.name} notebook star pixel (x={x}, y={y}), nearest to "
        f"{data_set.background_pixel}: no background holds a source there "
        f"(values {np.round(values, 3)} DN/s, reference {reference_background[y, x]:.3f} DN/s, "
        f"max {np.nanmax(snr):+.1f} sigma, need > {STAR_SNR:g})"
    )
    combined = products.combined[sigma][products.science_names[0]]
    dev = metrics.pixel_deviations(
        f"{combined.name} (star from {star.exposure})",
        f"{star.region} (notebook star pixel)",
        [x],
        [y],
        [reference_background[y, x]],
        [combined.data[y, x]],
        [k * clipping_scatter[sigma] * reference_noise * combined.err[y, x]],
        metrics.z_bound(),
    )
    assert not dev, metrics.report(dev, f"notebook star not clipped at sigma={sigma:g}")
