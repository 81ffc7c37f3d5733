"""Subarrays: each background placed by its own SUBSTRT / SUBSIZE into the science frame.

Geometry from pysiaf's MIRI SIAF (``scenarios.siaf_subarray``). Where the overlap starts at
the science frame's first pixel (subarray science in FULL backgrounds, equal subarrays,
BRIGHTSKY science with SUB256 backgrounds) jwst 3.0.0 follows the rule; where it does not
(FULL science with a SUB256 background, SUB256 science with BRIGHTSKY backgrounds) it pastes
the overlap at the science frame's origin: a strict xfail, plus a fingerprint of today's
output in ``truth/scenarios.json`` so that any change of this path is reported.
"""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.inputs.simulator.config import DEFAULT_SEED
from miri_background.scenarios.checks import (
    combination_problems,
    placement_problem,
    subtraction_problems,
)
from miri_background.scenarios.fixtures import params

FINGERPRINT_RTOL, FINGERPRINT_ATOL = 1e-4, 1e-4
"""As truth.py (jwst's MIRI image regtests): relative, and DN/s."""


@pytest.mark.parametrize("case", params("subarray", defect=False))
def test_subarray_combined_background_placed_by_own_corner(case_products):
    """Combined data, ERR and DQ equal the placement rule + clipped mean (oracle)."""
    problems = combination_problems(case_products)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", params("subarray"))
def test_subarray_bsub_is_science_minus_combined(case_products):
    """bsub = science - (jwst's) combined, DQ OR-ed, S_BKDSUB COMPLETE (defects included)."""
    problems = subtraction_problems(case_products)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", params("subarray", defect=True, xfail_defect=True))
def test_subarray_offset_background_placement_jwst_defect(case_products):
    """jwst 3.0.0 misplaces a background whose overlap starts after the science's corner.

    ``ImageSubsetArray.get_subset_array`` cuts the right overlap out of the background but
    pastes it at ``[..., :h, :w]`` of the science frame. Reproduction (jwst 3.0.0, checked)::

        import numpy as np
        from stdatamodels.jwst import datamodels
        from jwst.background.background_sub import average_background
        sci, bkg = datamodels.ImageModel((1024, 1032)), datamodels.ImageModel((256, 256))
        bkg.data[:], bkg.err, bkg.dq = 7.0, np.ones((256, 256), "f4"), np.zeros((256, 256), "u4")
        for m, (x, y, nx, ny) in ((sci, (1, 1, 1032, 1024)), (bkg, (413, 51, 256, 256))):
            m.meta.subarray.xstart, m.meta.subarray.ystart = x, y
            m.meta.subarray.xsize, m.meta.subarray.ysize = nx, ny
        comb = average_background(sci, [bkg], 3.0, None)
        print(comb.data[0, 0], comb.data[50, 412])  # 7.0 0.0; the rule: 0.0 (no value), 7.0
    """
    problem = placement_problem(case_products)
    assert problem is None, problem


def fingerprint(products) -> dict:
    """Where the combined background is non-zero (0-based row / column extent) and its
    value at the first pixel, at the first pixel the rule covers and at the frame's centre."""
    data = products.combined.data
    rows, cols = np.nonzero(data)
    ys, xs = np.nonzero(products.expected.covered)
    ny, nx = data.shape
    at = {"origin": (0, 0), "rule_first": (int(ys[0]), int(xs[0])), "centre": (ny // 2, nx // 2)}
    return {
        "nonzero_rows": [int(rows.min()), int(rows.max())] if rows.size else None,
        "nonzero_cols": [int(cols.min()), int(cols.max())] if cols.size else None,
        "values_dn_per_s": {k: float(data[y, x]) for k, (y, x) in at.items()},
    }


@pytest.mark.truth
@pytest.mark.parametrize("case", params("subarray", defect=True))
def test_subarray_defect_fingerprint(
    request, case_products, scenario_truth, record_fingerprint, sim_config
):
    """Today's (wrong) combined background of the defect cases, as committed in truth/.

    A fix, or another change of this path, fails here naming what moved; bless a new
    output with ``--update-truth`` after review (it rewrites ``truth/scenarios.json``).
    """
    if sim_config.seed != DEFAULT_SEED:
        pytest.skip(f"truth is for seed {DEFAULT_SEED}; this run is seed {sim_config.seed}")
    products = case_products
    got = fingerprint(products)
    if request.config.getoption("update_truth"):
        record_fingerprint(products.name, got)
        return
    assert products.name in scenario_truth, (
        f"{products.name}: no fingerprint in truth/scenarios.json; run with --update-truth"
    )
    want = scenario_truth[products.name]
    problems = [
        f"{k}: truth {want[k]}, got {got[k]}"
        for k in ("nonzero_rows", "nonzero_cols")
        if want[k] != got[k]
    ]
    for k, v in want["values_dn_per_s"].items():
        g = got["values_dn_per_s"][k]
        if not abs(g - v) <= FINGERPRINT_ATOL + FINGERPRINT_RTOL * abs(v):
            problems.append(f"value at {k}: truth {v:.6f} DN/s, got {g:.6f} DN/s")
    assert not problems, f"{products.name}: the combined background changed:\n  " + "\n  ".join(
        problems
    )
