"""Fixtures the regression checks share: reference maps, ERR calibration, clipping scatter,
the oracle's combination, the exact rule's breaks and the fitted residual sky.

Parametrize ids (seq1..seq4, sigma1/2/3, imager/lyot/4qpm) come from `miri_background.ids`.
"""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.checks import expectations, metrics, oracle, require
from miri_background.checks import sky as residual
from miri_background.frozen import FrozenMap
from miri_background.keys import arrays_digest
from miri_background.observation import instrument as mi
from miri_background.observation.notebook import NOTEBOOK_MAXITERS, NOTEBOOK_SIGMA, SIGMAS
from miri_background.pytest_plugin.session import record_stage


@pytest.fixture(scope="session")
def reference_background(products):
    """What the combined background should be, DN/s: the simulator's true background map,
    or for real data a 5 x 5 median filter of the sigma=2 combination (it keeps the Lyot
    and 4QPM edges; a star remnant covers < 9 of its 25 pixels). Pixels with no background
    value (jwst writes 0 +- 0 there: a bad-pixel cluster or column in every background) are
    missing to the filter, not zeros that pull its median down."""
    if products.true_background is not None:
        return products.true_background
    from miri_background.checks.detection import smooth_background

    combined = products.combined[NOTEBOOK_SIGMA][products.science_names[0]]
    return smooth_background(np.where(combined.err > 0, combined.data, np.nan))


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


@pytest.fixture(scope="session")
def background_stack(products):
    """The 4 background rates stacked on axis 0: data, err, dq."""
    names = products.background_names
    return tuple(
        np.stack([getattr(products.rates[n], a) for n in names]) for a in ("data", "err", "dq")
    )


@pytest.fixture(scope="session")
def oracle_combined(content_cache, background_stack):
    """``get(sigma)``: `oracle.combine` of the background stack (a cached product,
    `expectations`: keyed on the stack's content)."""
    values, errors, dqs = background_stack
    digest = arrays_digest(values, errors, dqs)

    def get(sigma: float) -> oracle.Combined:
        parts = {"stack": digest, "sigma": sigma, "maxiters": NOTEBOOK_MAXITERS}
        arrays = expectations.cached(
            content_cache,
            "notebook-oracle",
            parts,
            ("checks.oracle",),
            lambda: vars(oracle.combine(values, errors, dqs, sigma, NOTEBOOK_MAXITERS)),
        )
        return oracle.Combined(**arrays)

    return get


@pytest.fixture(scope="session")
def rule_breaks(products, oracle_combined):
    """``get(sigma, name)``: pixels of that bsub exposure where the exact checks fail, the
    sky checks' witness: bsub != float32(science) - float32(combined) (NaN equal to NaN),
    or combined != the oracle's clipped mean (2 float32 ulps, where a value was kept)."""

    def get(sigma: float, name: str) -> int:
        sci, comb = products.rates[name], products.combined[sigma][name]
        want = (sci.data.astype(np.float32) - comb.data.astype(np.float32)).astype(np.float64)
        got = products.bsub[sigma][name].data
        subtraction = ~((got == want) | (np.isnan(got) & np.isnan(want)))
        expected = oracle_combined(sigma)
        kept = expected.nkept > 0
        combination = np.zeros_like(kept)
        combination[kept] = require.float32_differs(comb.data[kept], expected.data[kept])
        return int(np.count_nonzero(subtraction | combination))

    return get


@pytest.fixture(scope="session")
def residual_sky(request, products, pixel_sets, expected_science, data_set):
    """(sigma, exposure, region) -> `residual.SkyFit` of (bsub - expected) over the region's sky
    pixels; written to the run's stage records (``sky``) for the report's summary.json."""
    fits = {}
    where = {region: np.nonzero(pixel_sets.sky[region]) for region in mi.REGIONS}
    for sigma in SIGMAS:
        for name in products.science_names:
            resid = products.bsub[sigma][name].data - expected_science[name]
            for region, (ys, xs) in where.items():
                fits[sigma, name, region] = residual.fit_sky(
                    resid[ys, xs],
                    xs,
                    ys,
                    exposure=name,
                    region=region,
                    sigma=sigma,
                    sky_rate=data_set.sky_rate,
                )
    promise = data_set.sky_stability
    record_stage(
        request.config,
        "sky",
        {
            "data_set": data_set.name,
            "sky_rate_dn_s": data_set.sky_rate,
            "promise": {
                "level_percent_of_sky": 100 * promise.level,
                "gradient_percent_of_sky_per_1000px": 100 * promise.gradient,
                "source": promise.source,
            },
            "fits": {f"sigma{s:g}/{n}/{r}": f.record() for (s, n, r), f in fits.items()},
        },
    )
    return FrozenMap(fits)


@pytest.fixture(scope="session")
def sky_model(residual_sky, data_set):
    """``at(sigma, name, region, xs, ys)``: the residual sky a correct step leaves at those
    pixels, DN/s: the fitted plane where the data set promises a changing sky
    (`residual.promises_change`), else 0 (the pixel checks then compare with ``expected``)."""
    changing = residual.promises_change(data_set)

    def at(sigma, name, region, xs, ys) -> np.ndarray:
        if not changing:
            return np.zeros(np.shape(xs))
        return residual_sky[sigma, name, region].at(xs, ys)

    return at
