"""Statistics and bounds the checks share, with their false-alarm rates.

The whole run is designed for a false-alarm probability <= ``RUN_FALSE_ALARM`` on a correct
jwst: it is split evenly over at most ``CHECK_BUDGET`` assertions, and a check over many
pixels splits its share again over the pixels (Bonferroni), assuming Gaussian noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from astropy.stats import mad_std
from scipy.special import ndtri

RUN_FALSE_ALARM = 1e-3
CHECK_BUDGET = 500
CHECK_FALSE_ALARM = RUN_FALSE_ALARM / CHECK_BUDGET
"""2e-6 per assertion."""


def z_bound(n: int = 1, alpha: float = CHECK_FALSE_ALARM) -> float:
    """Two-sided Gaussian bound for ``n`` independent values at total false alarm ``alpha``.

    ``z = Phi^-1(1 - alpha / (2 n))``: 4.75 for n=1, 5.9 for n=1000.
    """
    return float(-ndtri(alpha / (2.0 * max(n, 1))))  # scipy.stats.norm.isf, 0.5 s lighter


def robust_std(x: np.ndarray) -> float:
    """`astropy.stats.mad_std`: ``1.4826 * median(|x - median(x)|)``, the std of Gaussian
    data, blind to outliers (NaN propagates)."""
    return float(mad_std(x))


def robust_std_error(n: int) -> float:
    """Relative standard error of `robust_std` (the MAD estimator) for n Gaussian values:
    ``sqrt(2.72 / (2 n)) = 1.166 / sqrt(n)``.

    The sample std has relative standard error ``1 / sqrt(2 n)``; the MAD estimator has
    36.8 % of its Gaussian efficiency, so its variance is 1 / 0.368 = 2.72 times larger.
    """
    return float(np.sqrt(2.72 / (2.0 * n)))


class Calibration(NamedTuple):
    """Ratio of the measured scatter to the ERR arrays, and its relative standard error."""

    k: float
    relative_error: float


@dataclass(frozen=True)
class Deviation:
    """One value outside its bound, in the words of a failure message."""

    exposure: str
    region: str
    x: int
    y: int
    expected: float
    got: float
    sigma: float
    bound: float

    @property
    def z(self) -> float:
        return (self.got - self.expected) / self.sigma

    def __str__(self) -> str:
        return (
            f"{self.exposure} {self.region} pixel (x={self.x}, y={self.y}): expected "
            f"{self.expected:.4f} DN/s, got {self.got:.4f} DN/s, {self.z:+.1f} sigma "
            f"(sigma {self.sigma:.4f} DN/s, bound {self.bound:.2f} sigma)"
        )


def pixel_deviations(exposure, region, xs, ys, expected, got, sigma, bound) -> list[Deviation]:
    """Every pixel with ``|got - expected| > bound * sigma`` (NaN counts as a deviation)."""
    expected, got, sigma = (np.asarray(a, float) for a in (expected, got, sigma))
    bad = ~(np.abs(got - expected) <= bound * sigma)
    return [
        Deviation(exposure, region, int(xs[i]), int(ys[i]), expected[i], got[i], sigma[i], bound)
        for i in np.flatnonzero(bad)
    ]


def report(deviations: list[Deviation], what: str, limit: int = 20) -> str:
    """Failure text: how many deviations, then the worst ``limit`` of them."""
    worst = sorted(deviations, key=lambda d: -abs(d.z) if np.isfinite(d.z) else -np.inf)
    lines = [f"{len(deviations)} {what}:"] + [f"  {d}" for d in worst[:limit]]
    if len(deviations) > limit:
        lines.append(f"  ... and {len(deviations) - limit} more")
    return "\n".join(lines)


def ramp_err_factor(n_groups: int) -> float:
    """Upper bound of (true scatter / jwst ERR) for a Poisson-dominated ramp of n groups.

    jwst's Poisson variance ``R / (gain (n - 1) t)`` is that of the first-to-last
    estimator; an equally weighted fit has ``6 (n**2 + 1) / (5 n (n**2 - 1))`` instead, so
    the ERR is low by at most ``sqrt(6 (n**2 + 1) (n - 1) / (5 n (n**2 - 1)))``
    (1.046 for the 9 fitted groups of the built-in data; optimal weights lie between).
    """
    n = n_groups
    return float(np.sqrt(6.0 * (n**2 + 1) * (n - 1) / (5.0 * n * (n**2 - 1))))
