"""How the backgrounds are supplied: Image2Pipeline on an association (the notebook's way),
BackgroundStep on the same association (also with decoy members it must ignore), the
``bkg_list`` parameter, a positional list (all the same observation), and an empty list
(S_BKDSUB = SKIPPED, science unchanged)."""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.scenarios.catalog import by_id
from miri_background.scenarios.checks import (
    combination_problems,
    mismatch,
    subtraction_problems,
)
from miri_background.scenarios.fixtures import params
from miri_background.scenarios.model import ASSOCIATION_WARNINGS, Case


@pytest.mark.parametrize("case", params("supply"))
def test_supply_products(case_products, scenario_stages):
    """Every way with backgrounds: the rule holds and the products equal those of
    ``bkg_list`` bit for bit (standalone step and Image2Pipeline alike); empty: SKIPPED."""
    products = case_products
    scenario = products.scenario
    if scenario.supply == "empty":
        assert products.bsub.status == "SKIPPED", (
            f"{products.name}: S_BKDSUB {products.bsub.status!r} with no backgrounds, "
            "expected 'SKIPPED'"
        )
        assert products.combined is None, f"{products.name}: a combined background was saved"
        problem = mismatch(
            products, "bsub", products.bsub.data, products.science.data, "skipped: unchanged"
        )
        assert problem is None, problem
        return
    problems = combination_problems(products) + subtraction_problems(products)
    reference = scenario_stages("products", Case(by_id()["supply-bkg_list"], products.sigma))
    for what in ("combined", "bsub"):
        got, want = getattr(products, what), getattr(reference, what)
        for array in ("data", "err", "dq"):
            if not np.array_equal(getattr(got, array), getattr(want, array), equal_nan=True):
                problems.append(
                    mismatch(
                        products,
                        f"{what} {array.upper()}",
                        getattr(got, array),
                        getattr(want, array),
                        f"the same as with bkg_list ({reference.name})",
                    )
                )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", params("supply", "n_backgrounds"))
def test_supply_warns_of_what_it_ignores(case_products):
    """The step warns that it uses only the first product and the first science member
    exactly when the association has more (``step-association-extras``); any other supply,
    one background in an association included, logs neither warning."""
    products = case_products
    scenario = products.scenario
    expected = scenario.supply == "step-association-extras"
    problems = [
        f"{products.name}: warning {text!r} {'missing' if expected else 'logged'} "
        f"(the step logged {list(products.run.warnings)})"
        for text in ASSOCIATION_WARNINGS.values()
        if any(m.startswith(text) for m in products.run.warnings) != expected
    ]
    assert not problems, "\n".join(problems)
