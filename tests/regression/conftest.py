"""Fixtures the regression checks share: reference maps, ERR calibration, clipping scatter.

Parametrize ids (seq1..seq4, sigma1/2/3, imager/lyot/4qpm) come from `miri_background.ids`.
"""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.checks import metrics, oracle
from miri_background.frozen import FrozenMap
from miri_background.observation.notebook import NOTEBOOK_MAXITERS, NOTEBOOK_SIGMA, SIGMAS


@pytest.fixture(scope="session")
def reference_background(products):
    """What the combined background should be, DN/s: the simulator's true background map,
    or for real data a 5 x 5 median filter of the sigma=2 combination (it keeps the Lyot
    and 4QPM edges; a star remnant covers < 9 of its 25 pixels)."""
    if products.true_background is not None:
        return products.true_background
    from miri_background.checks.detection import smooth_background

    return smooth_background(products.combined[NOTEBOOK_SIGMA][products.science_names[0]].data)


@pytest.fixture(scope="session")
def reference_noise(products) -> float:
    """Factor on the noise of (combined - reference): 1 for the true background; for the
    median-filter reference sqrt(1 + pi / (2 * 25)) = 1.031 (variance of a 25-pixel
    median of Gaussian noise is pi/2 sigma**2 / 25)."""
    return 1.0 if products.true_background is not None else float(np.sqrt(1 + np.pi / 50))


@pytest.fixture(scope="session")
def expected_science(products):
    """Noise-free science sources per exposure (DN/s): bsub should equal them; 0 for real
    data, where only sky pixels are then checked."""
    if products.true_sources is not None:
        return FrozenMap({n: products.true_sources[n] for n in products.science_names})
    zero = np.zeros_like(products.rates[products.science_names[0]].data)
    return FrozenMap({n: zero for n in products.science_names})


@pytest.fixture(scope="session")
def err_calibration(products, pixel_sets):
    """Per region: `metrics.Calibration` (k, its relative standard error), k = robust std of
    (r_1 - r_2) / sqrt(ERR_1**2 + ERR_2**2) over sky pixels, pairs (bkg1, bkg2), (bkg3, bkg4).

    The true background cancels in the difference, so this needs no reference. jwst's
    ramp-fit ERR is not exactly the scatter of the fitted rate (with these ramps it is ~4 %
    low: the Poisson term assumes the first-to-last estimator while the fit weights all
    groups); the checks of the combination compare with this measured input calibration,
    so they test the combination, not the ramp fit.
    """
    names = products.background_names
    rates = products.rates
    result = {}
    for region, sky in pixel_sets.sky.items():
        z = np.concatenate(
            [
                (rates[a].data[sky] - rates[b].data[sky])
                / np.hypot(rates[a].err[sky], rates[b].err[sky])
                for a, b in ((names[0], names[1]), (names[2], names[3]))
            ]
        )
        k = metrics.robust_std(z)
        result[region] = metrics.Calibration(k, metrics.robust_std_error(z.size))
    return FrozenMap(result)


@pytest.fixture(scope="session")
def clipping_scatter():
    """sigma -> robust std of the normalised residual of a 4-value clipped mean on pure
    Gaussian noise (oracle.normalised_scatter, Monte Carlo, maxiters as the notebook)."""
    return FrozenMap({s: oracle.normalised_scatter(s, NOTEBOOK_MAXITERS) for s in SIGMAS})
