"""The residual-sky fit and its bounds (`checks.sky`)."""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.checks import sky
from miri_background.observation import datasets


def _fit(resid, xs, ys, sky_rate=1000.0):
    return sky.fit_sky(resid, xs, ys, exposure="e", region="imager", sigma=2, sky_rate=sky_rate)


def test_fit_recovers_a_plane_and_states_honest_errors():
    """Level and gradient within 4.75 of their standard errors on 200 noise draws; the
    errors match the scatter of the estimates to 15 %."""
    rng = np.random.default_rng(3)
    ys, xs = np.mgrid[0:100, 300:500].reshape(2, -1) * np.array([[10], [1]])
    fits = [_fit(5.0 + 3.0 * (xs - 400) / 1000 - 2.0 * ys / 1000 + rng.normal(0, 3, xs.size),
                 xs, ys) for _ in range(200)]  # fmt: skip
    at_origin = np.array([f.at(400, 0) for f in fits])  # the plane's value there: 5
    gx = np.array([f.gx for f in fits])
    assert np.all(np.abs(gx - 3.0) <= 4.75 * np.array([f.gx_se for f in fits]))
    assert np.std(gx) == pytest.approx(np.mean([f.gx_se for f in fits]), rel=0.15)
    assert np.mean(at_origin) == pytest.approx(5.0, abs=0.1)


def test_record_states_dn_s_and_percent_of_sky():
    xs = np.tile(np.arange(100.0), 100)
    ys = np.repeat(np.arange(100.0) * 10, 100)
    rec = _fit(10.0 + 0 * xs, xs, ys).record()
    assert rec["level_dn_s"] == pytest.approx(10.0)
    assert rec["level_percent_of_sky"] == pytest.approx(1.0)


def test_bounds_add_the_promise_to_the_noise_bound():
    fit = sky.SkyFit("e", "imager", 2.0, 1000, 0.0, 0.01, 0.0, 0.0, 0.1, 0.2, 693.5, 911.5, 1000.0)
    flight = sky.bounds(fit, datasets.FLIGHT, 0.62)
    assert flight.level == pytest.approx(4.753 * 0.01 + 0.62 + 10.0 + 5.0 * 0.4, abs=1e-3)
    assert flight.gradient == pytest.approx(5.12 * 0.2 + 5.0, abs=0.01)
    same = sky.bounds(fit, datasets.MIRISIM, 0.0)
    assert (same.promised_level, same.promised_gradient) == (0.0, 0.0)
    assert not sky.promises_change(datasets.MIRISIM) and sky.promises_change(datasets.FLIGHT)


def test_verdict_names_the_pipeline_or_the_sky():
    assert sky.verdict(3, datasets.FLIGHT).startswith("the pipeline broke its rule: 3 pixels")
    assert sky.verdict(0, datasets.FLIGHT).startswith("the sky differs more than the data set")


def test_promised_noise_excess_grows_with_sharp_sky_structure():
    """A plane sky leaves nothing off the plane (no excess); a sharp feature 100 sigma deep
    on 5 % of the pixels, scaled by the promised 1 %, is 1 sigma there and raises the robust
    std; a data set with one sky allows none."""
    from miri_background.observation.datasets import FLIGHT, MIRISIM

    yy, xx = np.mgrid[0:200, 0:200]
    on = np.ones((200, 200), bool)
    noise = np.full(on.sum(), 2.0)
    plane = 600.0 + 0.01 * xx + 0.02 * yy
    feature = plane + 200.0 * ((xx % 20) == 0)
    assert sky.promised_noise_excess(FLIGHT, plane, on, noise) == pytest.approx(0.0, abs=1e-3)
    excess = sky.promised_noise_excess(FLIGHT, feature, on, noise)
    assert 0.005 < excess < 0.1, excess
    assert sky.promised_noise_excess(MIRISIM, feature, on, noise) == 0.0
