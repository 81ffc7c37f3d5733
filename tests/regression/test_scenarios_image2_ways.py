"""Image2Pipeline on a four-product association (`scenarios.image2_ways`): every product
processed with its own members (one with a single background, one with two science
members, one with none), one set of outputs per product, the warnings jwst documents for
it and no other, and bkg_subtract's parameters reaching the step whichever way they are
set (call keywords, a parameter file, strun-style arguments)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from miri_background.checks import pipeline_log
from miri_background.scenarios import oracle as scenario_oracle
from miri_background.scenarios.checks import (
    combination_problems,
    geometry_problems,
    load,
    placed,
    subtraction_problems,
)
from miri_background.scenarios.image2_ways import (
    ASSOCIATION,
    EXPECTED_WARNINGS,
    MAXITERS,
    NAMED,
    OUTPUT_NAME,
    SIGMA,
    SUBTRACTED,
    WAYS,
    product_case,
    products_of,
)
from miri_background.scenarios.model import JWST_DEFAULT_SIGMA

OUTPUTS = ("bsub", "cal", "combinedbackground")
"""The files Image2Pipeline writes per product with bkg_subtract's save_results and
save_combined_background and its own save_results (``<product>_<suffix>.fits``)."""


@pytest.fixture
def image2_way(run_image2_way, way):
    """The `image2_ways.WayRun` of ``way``."""
    return run_image2_way(way)


@pytest.mark.parametrize("way", WAYS)
def test_image2_writes_one_set_of_outputs_per_product(image2_way):
    """A bsub, a combined background and a cal file per product with backgrounds, only a
    cal for the product without (the background step is not called), each named after its
    product: none missing, none overwritten by another product's."""
    products = products_of(image2_way.way)
    want = sorted(
        [f"{p}_{s}.fits" for p in products if p in SUBTRACTED for s in OUTPUTS]
        + [f"{p}_cal.fits" for p in products if p not in SUBTRACTED]
    )
    assert list(image2_way.written) == want, (
        f"Image2Pipeline ({image2_way.way}) on {ASSOCIATION} with {len(products)} products "
        f"{list(products)}: wrote {list(image2_way.written)}, expected {want}"
    )


@pytest.mark.parametrize(
    ("way", "product"), [(w, p) for w in WAYS for p in products_of(w) if p in SUBTRACTED]
)
def test_image2_product_processed_with_its_own_members(image2_way, product, content_cache):
    """The product's combined background is the clipped mean (sigma 2, maxiters 1) of its
    own backgrounds, its bsub its own science minus it (the scenario rule, 2 float32 ulps;
    DQ, geometry exact), S_BKDSUB COMPLETE, and the bsub file names the product."""
    run = image2_way.product(product)
    name = product_case(image2_way.way, product).id
    missing = [p.name for p in (run.bsub, run.combined) if p is None or not p.is_file()]
    assert not missing and run.combined is not None, (
        f"{name}: no {missing or 'combined background'} written (wrote "
        f"{list(image2_way.written)})"
    )
    products = load(run, content_cache)
    problems = (
        combination_problems(products) + subtraction_problems(products)
        + geometry_problems(products)
    )  # fmt: skip
    header = fits.getheader(run.bsub)
    for key, want in (("FILENAME", f"{product}_bsub.fits"), ("ASNTABLE", ASSOCIATION)):
        if header.get(key) != want:
            problems.append(f"{name}: bsub {key} {header.get(key)!r}, expected {want!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("way", WAYS)
def test_image2_warns_only_as_documented(image2_way):
    """Each warning of `image2_ways.EXPECTED_WARNINGS` once (the two-science product; the
    ignored output name of the keywords way), and none beyond them and
    `pipeline_log.ALLOWED`: another would mean Image2Pipeline misread the association."""
    what = f"Image2Pipeline ({image2_way.way}) on {ASSOCIATION}"
    expected = EXPECTED_WARNINGS[image2_way.way]
    counts = {e: sum(e in m for m in image2_way.warnings) for e in expected}
    wrong = {e: n for e, n in counts.items() if n != 1}
    assert not wrong, f"{what}: documented warnings seen {wrong} times, expected once each"
    rest = [m for m in image2_way.warnings if not any(e in m for e in expected)]
    problem = pipeline_log.problem(what, rest)
    assert problem is None, problem


def test_image2_way_parameters_change_the_products(run_image2_way, content_cache):
    """The checks above can tell a lost parameter: on product ``sci`` the rule at sigma 2,
    maxiters 1 differs from the rule at jwst's default sigma (3) and at its default maxiters
    (None, until no change), so a way that drops either fails the product check."""
    products = load(run_image2_way(WAYS[0]).product("sci"), content_cache)
    backgrounds = list(placed(products.scenario, products.backgrounds))
    chosen = products.expected.data.astype(np.float32)
    unchanged = [
        f"{what}: the rule gives the same combined background as at sigma={SIGMA:g}, "
        f"maxiters={MAXITERS}"
        for what, sigma, maxiters in (
            (f"sigma={JWST_DEFAULT_SIGMA:g} (jwst's default)", JWST_DEFAULT_SIGMA, MAXITERS),
            ("maxiters=None (jwst's default)", SIGMA, None),
        )
        if np.array_equal(
            scenario_oracle.combine(backgrounds, sigma, maxiters).data.astype(np.float32),
            chosen,
        )
    ]
    assert not unchanged, "\n".join(unchanged)


def test_image2_single_product_outputs_take_the_output_file(run_image2_way):
    """On a one-product association ``output_file`` names the outputs
    (``<output_file>_<suffix>.fits``); with bkg_subtract's ``save_results`` False no bsub
    is written, the combined background (``save_combined_background``) and cal are."""
    run = run_image2_way(NAMED)
    want = sorted(f"{OUTPUT_NAME}_{s}.fits" for s in ("cal", "combinedbackground"))
    assert list(run.written) == want, (
        f"Image2Pipeline with output_file={OUTPUT_NAME!r} on a one-product association, "
        f"bkg_subtract save_results False: wrote {list(run.written)}, expected {want}"
    )
