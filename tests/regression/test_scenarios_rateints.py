"""rateints: science and backgrounds with NINTS > 1, backgrounds of different NINTS
(jwst #8326, #8830). Each background file is clipped over its integrations, then the files
over each other; every integration of ``bsubints`` is that integration minus the one 2-D
combined background. The 3-D ERR is checked as jwst 3.0.0's code does it (see
``scenario_oracle`` rule 2; its docs describe the error of the mean instead)."""

from __future__ import annotations

import pytest

from miri_background.scenarios.checks import combination_problems, subtraction_problems
from miri_background.scenarios.fixtures import params


@pytest.mark.parametrize("case", params("rateints"))
def test_rateints_combined_background_follows_3d_rule(case_products):
    """Combined data / ERR (2 float32 ulps) and DQ (OR over files and integrations)."""
    products = case_products
    assert products.combined.data.ndim == 2, (
        f"{products.name}: combined background has shape {products.combined.data.shape}, "
        "expected one 2-D image"
    )
    problems = combination_problems(products)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", params("rateints"))
def test_rateints_each_integration_minus_combined(case_products):
    """bsubints keeps the science's NINTS and each integration = science[k] - combined."""
    products = case_products
    nints = products.scenario.science_nints
    assert products.bsub.data.shape[0] == nints and products.bsub.data.ndim == 3, (
        f"{products.name}: bsubints shape {products.bsub.data.shape}, expected {nints} integrations"
    )
    problems = subtraction_problems(products)
    assert not problems, "\n".join(problems)
