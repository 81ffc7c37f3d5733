"""The residual sky of a bsub exposure: its level and gradient, measured and bounded by
what the data set promises (`datasets.SkyStability`).

A correct background step leaves ``bsub - expected = S_sci - S_bkg + noise`` on sky pixels,
where ``S_sci - S_bkg`` is the sky change between the science and the background visits:
0 on the built-in data, on real data a level and a gentle gradient. It is measured by a
least-squares plane over the sky pixels of one region, in coordinates centred on their
centroid ``(x_c, y_c)`` and in units of 1000 px::

    r_i = L + g_x (x_i - x_c) / 1000 + g_y (y_i - y_c) / 1000 + e_i

``L`` is then the mean residual. Standard errors: ``s sqrt(diag((A^T A)^-1))`` with ``s`` the
robust std (`metrics.robust_std`) of the plane's residuals ``e_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miri_background.checks import metrics
from miri_background.observation.datasets import REFERENCE_POINT, DataSet

PER = 1000.0
"""pixels: the gradient's unit length (about the imager field's height, 1024 px)."""


@dataclass(frozen=True)
class SkyFit:
    """The fitted residual sky of one bsub exposure in one region (DN/s).

    Attributes
    ----------
    exposure, region : str
        Where.
    sigma : float
        The background step's clipping sigma.
    n_pixels : int
        Sky pixels fitted.
    level, level_se : float
        ``L`` (DN/s, the mean residual) and its standard error.
    gx, gy, gx_se, gy_se : float
        The gradient (DN/s per 1000 px) and its standard errors.
    xc, yc : float
        The sky pixels' centroid, where ``L`` applies.
    sky_rate : float
        The data set's sky (DN/s), what the percentages are of.
    """

    exposure: str
    region: str
    sigma: float
    n_pixels: int
    level: float
    level_se: float
    gx: float
    gy: float
    gx_se: float
    gy_se: float
    xc: float
    yc: float
    sky_rate: float

    @property
    def gradient(self) -> float:
        """``|g| = hypot(g_x, g_y)``, DN/s per 1000 px."""
        return float(np.hypot(self.gx, self.gy))

    @property
    def gradient_se(self) -> float:
        """The larger of the two components' standard errors, DN/s per 1000 px."""
        return max(self.gx_se, self.gy_se)

    def at(self, xs, ys) -> np.ndarray:
        """The fitted residual sky (DN/s) at pixels ``(xs, ys)``."""
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        return self.level + (self.gx * (xs - self.xc) + self.gy * (ys - self.yc)) / PER

    def record(self) -> dict:
        """The fit as the report's summary.json keeps it: DN/s and % of the sky."""
        pct = 100.0 / self.sky_rate
        return {
            "n_pixels": self.n_pixels,
            "level_dn_s": self.level,
            "level_se_dn_s": self.level_se,
            "level_percent_of_sky": self.level * pct,
            "gradient_dn_s_per_1000px": self.gradient,
            "gradient_se_dn_s_per_1000px": self.gradient_se,
            "gradient_percent_of_sky_per_1000px": self.gradient * pct,
        }


def fit_sky(resid: np.ndarray, xs, ys, *, exposure, region, sigma, sky_rate) -> SkyFit:
    """Least-squares plane through the residuals ``resid`` at pixels ``(xs, ys)`` (module
    docstring); non-finite residuals are left out."""
    resid = np.asarray(resid, float)
    use = np.isfinite(resid)
    r = resid[use]
    xs, ys = np.asarray(xs, float)[use], np.asarray(ys, float)[use]
    xc, yc = float(np.mean(xs)), float(np.mean(ys))
    a = np.column_stack([np.ones_like(r), (xs - xc) / PER, (ys - yc) / PER])
    inverse = np.linalg.inv(a.T @ a)  # normal equations: 3 x 3, well conditioned (centred)
    coef = inverse @ (a.T @ r)
    s = metrics.robust_std(r - a @ coef)
    se = s * np.sqrt(np.diag(inverse))
    return SkyFit(
        exposure, region, float(sigma), int(r.size), float(coef[0]), float(se[0]),
        float(coef[1]), float(coef[2]), float(se[1]), float(se[2]), xc, yc, float(sky_rate),
    )  # fmt: skip


@dataclass(frozen=True)
class SkyBounds:
    """What a correct step may leave, DN/s: noise bound plus the data set's promise.

    ``level = z se_L + allowance + promise_L``, ``z = metrics.z_bound()`` (false alarm
    ``metrics.CHECK_FALSE_ALARM``), with ``promise_L = S (L_p + G_p d / 1000)``: the promised
    level at the sky pixels' centroid, ``d`` px from the reference point where the data set
    promises ``L_p``; ``gradient = r se_g + S G_p`` with ``r = sqrt(-2 ln alpha)``, the
    radius a 2-D Gaussian of unit variance exceeds with probability ``alpha`` (5.12 at 2e-6).
    """

    level: float
    gradient: float
    promised_level: float
    promised_gradient: float


def bounds(fit: SkyFit, data_set: DataSet, allowance: float) -> SkyBounds:
    """`SkyBounds` of ``fit`` for ``data_set``; ``allowance`` (DN/s) is the detection-based
    sky's `DataSet.unresolved_allowance` (0 with the truth's sky)."""
    promise = data_set.sky_stability
    promised_gradient = promise.gradient * data_set.sky_rate
    x_r, y_r = REFERENCE_POINT
    away = float(np.hypot(fit.xc - x_r, fit.yc - y_r)) / PER
    promised_level = promise.level * data_set.sky_rate + promised_gradient * away
    radius = float(np.sqrt(-2.0 * np.log(metrics.CHECK_FALSE_ALARM)))
    return SkyBounds(
        metrics.z_bound() * fit.level_se + allowance + promised_level,
        radius * fit.gradient_se + promised_gradient,
        promised_level,
        promised_gradient,
    )


def promises_change(data_set: DataSet) -> bool:
    """Whether the data set allows a sky change between visits (then pixel checks compare
    bsub with the fitted residual sky, not with 0)."""
    return data_set.sky_stability.level > 0.0 or data_set.sky_stability.gradient > 0.0


def verdict(rule_breaks: int, data_set: DataSet) -> str:
    """Which failure it is: ``rule_breaks`` pixels where bsub != science - combined or the
    combined background != the oracle's clipped mean (the exact checks)."""
    if rule_breaks:
        return (
            f"the pipeline broke its rule: {rule_breaks} pixels of this exposure fail the "
            "exact checks (bsub = science - combined, combined = the oracle's clipped mean)"
        )
    return (
        "the sky differs more than the data set promises: the exact checks hold for this "
        f"exposure (bsub = science - combined, combined = the oracle's clipped mean); "
        f"{data_set.name}'s sky_stability: {data_set.sky_stability.source}"
    )


def promised_noise_excess(data_set: DataSet, sky_map: np.ndarray, on: np.ndarray, noise) -> float:
    """How much the data set's promised level change can raise the robust std of
    (bsub - expected - residual sky) / noise over the pixels ``on`` (``noise``: their
    per-pixel noise, DN/s).

    A sky that changes between visits reaches the detector as a scaled copy of the sky
    (zodiacal light and telescope emission pass the same optics and flat field; the
    stand-in's `realism.SkyChange` scales the map), so a level change ``L`` leaves
    ``L (C - P)`` in bsub beside the plane ``P`` the residual sky model takes up, ``C`` the
    combined background. Where the sky has sharp structure (the 4QPM and Lyot fields:
    pixels where ``C`` changes by > 10 DN/s per pixel, a few % of them) that term is
    several sigma, which raises the robust std although the plane fits the rest. The
    excess is computed, not assumed: ``max over +-L_p of r(n + L (C - P) / noise) - r(n)``,
    ``r`` the robust std, ``n`` standard normal draws (seed 0: the same for every call),
    ``L_p`` the promised level (0 on one sky: no excess). ``C``'s own noise stays in the
    term: it adds ``(L_p sigma_C)^2``, under 1e-4 of the variance at ``L_p`` = 1 %.
    """
    level = data_set.sky_stability.level
    if level == 0.0:
        return 0.0
    ys, xs = np.nonzero(on)
    values = np.asarray(sky_map, float)[ys, xs]
    use = np.isfinite(values)
    x, y, v = (xs[use] - xs[use].mean()) / PER, (ys[use] - ys[use].mean()) / PER, values[use]
    a = np.column_stack([np.ones_like(v), x, y])
    coef, *_ = np.linalg.lstsq(a, v, rcond=None)
    offset = (v - a @ coef) / np.asarray(noise, float)[use]
    n = np.random.default_rng(0).standard_normal(v.size)
    base = metrics.robust_std(n)
    return float(max(metrics.robust_std(n + sign * level * offset) - base for sign in (1, -1)))
