"""Pass-through: the step leaves the science's ERR, VAR_POISSON, VAR_RNOISE and VAR_FLAT
exactly as they were, in every scenario (its subtraction touches only SCI and DQ; the
missing ERR propagation is the separate strict xfail, jwst #8723 / #10566), and its
output says which frame it is (SUBSTRT / SUBSIZE)."""

from __future__ import annotations

import pytest

from miri_background.scenarios.catalog import KINDS
from miri_background.scenarios.checks import geometry_problems, mismatch
from miri_background.scenarios.fixtures import params


@pytest.mark.parametrize("array", ["err", "var_poisson", "var_rnoise", "var_flat"])
@pytest.mark.parametrize("case", params(*KINDS))
def test_science_error_arrays_unchanged(case_products, array):
    """bsub.<array> == science.<array>, bit for bit (NaN where it was NaN)."""
    products = case_products
    got = getattr(products.bsub, array, None)
    assert got is not None, f"{products.name}: bsub has no {array.upper()} array"
    problem = mismatch(
        products,
        f"bsub {array.upper()}",
        got,
        getattr(products.science, array),
        f"the background step does not change the science {array.upper()}",
    )
    assert problem is None, problem


@pytest.mark.parametrize("case", params(*KINDS))
def test_bsub_describes_the_science_frame(case_products):
    """bsub carries the science frame's SUBSTRT / SUBSIZE (or, for a full frame, none):
    the frame its pixels are, whatever the inputs lacked."""
    problems = geometry_problems(case_products)
    assert not problems, "\n".join(problems)
