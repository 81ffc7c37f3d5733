"""Fixtures the regression checks share: reference maps, ERR calibration, clipping scatter.

Parametrize ids (seq1..seq4, sigma1/2/3, imager/lyot/4qpm) come from `miri_background.ids`.
"""

from __future__ import annotations

import numpy as np
import pytest

from miri_background import metrics, oracle
from miri_background.frozen import FrozenMap
from miri_background.pipeline import NOTEBOOK_MAXITERS, SIGMAS
from miri_background.simulate import SCIENCE_NAMES


@pytest.fixture(scope="session")
def reference_background(products, pixel_sets):
    """What the combined background should be, DN/s: the simulator's true background map,
    or for real data a smooth photutils Background2D model of the sigma=2 combination."""
    if products.true_background is not None:
        return products.true_background
    from miri_background.detection import smooth_background

    return smooth_background(products.combined[2.0][SCIENCE_NAMES[0]].data)


@pytest.fixture(scope="session")
def expected_science(products):
    """Noise-free science sources per exposure (DN/s): bsub should equal them; 0 for real
    data, where only sky pixels are then checked."""
    if products.true_sources is not None:
        return FrozenMap({n: products.true_sources[n] for n in products.science_names})
    zero = np.zeros_like(products.rates[SCIENCE_NAMES[0]].data)
    return FrozenMap({n: zero for n in products.science_names})


@pytest.fixture(scope="session")
def err_calibration(products, pixel_sets, reference_background):
    """Per region: robust std of (rate - reference) / ERR over the 4 background rates at
    sky pixels, with its relative standard error.

    jwst's ramp-fit ERR is not exactly the scatter of the fitted rate (with these ramps it
    is ~4 % low: the Poisson term assumes the first-to-last estimator while the fit uses
    optimal weights). The checks of the combination compare with this measured input
    calibration, so they test the combination, not the ramp fit.
    """
    result = {}
    for region, sky in pixel_sets.sky.items():
        z = np.concatenate(
            [
                (products.rates[n].data[sky] - reference_background[sky])
                / products.rates[n].err[sky]
                for n in products.background_names
            ]
        )
        result[region] = (metrics.robust_std(z), metrics.robust_std_error(z.size))
    return FrozenMap(result)


@pytest.fixture(scope="session")
def clipping_scatter():
    """sigma -> robust std of the normalised residual of a 4-value clipped mean on pure
    Gaussian noise (oracle.normalised_scatter, Monte Carlo, maxiters as the notebook)."""
    return FrozenMap({s: oracle.normalised_scatter(s, NOTEBOOK_MAXITERS) for s in SIGMAS})
