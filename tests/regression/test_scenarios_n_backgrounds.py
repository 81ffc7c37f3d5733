"""N backgrounds = 1, 2, 3, 5, 8, with a lone bright outlier (5000 DN/s) at the science
frame's centre in the first background.

Theory (``test_oracle.test_theory_lone_outlier_bound``): a lone outlier among N values is
at most z = N / sqrt(N - 1) from their median (N = 3: 2.12, 5: 2.24, 8: 3.02), so sigma = 2
clips it for N >= 3 and sigma = 3 only for N = 8; for N = 2 both values sit exactly one std
from their median (z = 1), so no sigma >= 1 clips; N = 1 has nothing to clip. Checked on
jwst's products, not only on paper.
"""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.checks import metrics
from miri_background.scenarios.checks import combination_problems, subtraction_problems
from miri_background.scenarios.data import outlier_pixel
from miri_background.scenarios.fixtures import params
from miri_background.scenarios.model import siaf_subarray


@pytest.mark.parametrize("case", params("n_backgrounds"))
def test_n_backgrounds_combination_and_subtraction(case_products):
    """Combined data / ERR / DQ against the rule; bsub = science - combined."""
    products = case_products
    problems = combination_problems(products) + subtraction_problems(products)
    assert not problems, "\n".join(problems)


def clips_lone_outlier(n: int, sigma: float) -> bool:
    """Whether ``sigma`` clips a lone outlier among ``n`` values: z_max = n / sqrt(n - 1)
    (n >= 2; exactly 1 for n = 2) against sigma; never for n = 1."""
    return n >= 2 and sigma < n / np.sqrt(n - 1)


@pytest.mark.parametrize("case", params("n_backgrounds"))
def test_n_backgrounds_lone_outlier_clipped_as_theory_says(case_products):
    """At the outlier pixel the combined background is the mean of the other N - 1 values
    when theory says sigma clips it, else the mean of all N (within z_bound(1) = 4.75 of
    the combined ERR, false alarm 2e-6; the two predictions differ by ~5000 / N DN/s)."""
    scenario, sigma = case_products.scenario, case_products.sigma
    products = case_products
    x, y = outlier_pixel(siaf_subarray(scenario.science))
    values = np.array([b.data[y, x] for b in products.backgrounds.values()], float)
    n = values.size
    clipped = clips_lone_outlier(n, sigma)
    expected = values[1:].mean() if clipped else values.mean()
    got = float(products.combined.data[y, x])
    noise = float(products.combined.err[y, x])
    deviation = metrics.Deviation(
        f"{products.name} combined", f"N={n} outlier", x, y, expected, got, noise, metrics.z_bound()
    )
    assert abs(deviation.z) <= deviation.bound, (
        f"lone outlier {'should be clipped' if clipped else 'should be kept'} "
        f"(z_max = {n / np.sqrt(max(n - 1, 1)):.3f} vs sigma {sigma:g}): {deviation}"
    )
