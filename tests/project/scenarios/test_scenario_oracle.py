"""The scenario oracle on arrays small enough to work out by hand: placement by each
background's own corner, the clipped mean, ERR and DQ, rateints, and the threshold margin."""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.scenarios import oracle
from miri_background.scenarios.model import Subarray, siaf_subarray

SCIENCE = Subarray("SCI", 11, 21, 4, 3)
"""A 4 x 3 science frame whose first pixel is detector (11, 21)."""


def test_background_lands_at_its_own_offset():
    """A 2 x 2 background at detector (13, 22) covers science columns 2-3 of row 1-2."""
    background = Subarray("BKG", 13, 22, 2, 2)
    data = np.array([[1.0, 2.0], [3.0, 4.0]])
    placed = oracle.place(SCIENCE, background, data, np.ones((2, 2)), np.full((2, 2), 4))
    want = np.full((3, 4), np.nan)
    want[1:3, 2:4] = data
    np.testing.assert_array_equal(placed.data[0], want)
    assert placed.covers.sum() == 4 and placed.dq[0, 1, 2] == 4 and placed.dq[0, 0, 0] == 0


def test_a_file_without_keywords_is_the_full_frame():
    """Rule 1's full frame, typed from the documented meaning, is the SIAF's FULL."""
    full = siaf_subarray("FULL")
    assert oracle.FULL_FRAME == full, f"FULL_FRAME {oracle.FULL_FRAME}, SIAF {full}"
    assert oracle.geometry(SCIENCE, keywords=False) == oracle.FULL_FRAME
    assert oracle.geometry(SCIENCE, keywords=True) == SCIENCE


def test_no_overlap_is_missing_everywhere():
    far = Subarray("FAR", 100, 100, 2, 2)
    placed = oracle.place(SCIENCE, far, np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)))
    assert np.isnan(placed.data).all() and not placed.covers.any()


def _full(value: float, err: float = 1.0, dq: int = 0) -> oracle.Placed:
    shape = (3, 4)
    return oracle.place(
        SCIENCE, SCIENCE, np.full(shape, value), np.full(shape, err), np.full(shape, dq)
    )


def test_lone_outlier_clipped_at_sigma2_kept_at_sigma3():
    """Among 4 values a lone outlier reaches z = 4 / sqrt(3) = 2.31: clipped at sigma=2, kept
    at 3; ERR = sqrt(sum err**2 of the kept) / n_kept; DQ is the OR of all four."""
    placed = [_full(10.0), _full(10.0), _full(10.0, dq=2), _full(100.0, err=2.0, dq=8)]
    at2, at3 = oracle.combine(placed, 2.0, 3), oracle.combine(placed, 3.0, 3)
    np.testing.assert_allclose(at2.data, 10.0)
    np.testing.assert_allclose(at2.err, np.sqrt(3.0) / 3)
    np.testing.assert_allclose(at3.data, 32.5)
    np.testing.assert_allclose(at3.err, np.sqrt(7.0) / 4)
    assert (at2.dq == 10).all() and (at2.nkept == 3).all() and (at3.nkept == 4).all()


def test_nothing_kept_is_zero():
    placed = [oracle.place(SCIENCE, Subarray("FAR", 100, 100, 2, 2), *([np.ones((2, 2))] * 3))]
    got = oracle.combine(placed, 3.0, 3)
    assert (got.data == 0).all() and (got.err == 0).all() and (got.nkept == 0).all()


def test_rateints_clip_each_file_over_its_integrations_first():
    """One file's integrations [10, 10, 10, 100]: the 100 is clipped inside the file at
    sigma=2, so the file contributes 10 and its variance mean(err**2 kept)."""
    cube = np.stack([np.full((3, 4), v) for v in (10.0, 10.0, 10.0, 100.0)])
    errs = np.stack([np.full((3, 4), e) for e in (1.0, 1.0, 1.0, 3.0)])
    placed = oracle.place(SCIENCE, SCIENCE, cube, errs, np.zeros(cube.shape, int))
    value, variance = oracle.per_file(placed, 2.0, 3)
    np.testing.assert_allclose(value, 10.0)
    np.testing.assert_allclose(variance, 1.0)


def test_either_side_moves_the_threshold_by_the_margin():
    """Values [0, 0, 0, 1] at sigma = z_max = 4 / sqrt(3) sit on the threshold: just below
    it the outlier is clipped (mean 0), just above it kept (mean 0.25)."""
    placed = [_full(0.0), _full(0.0), _full(0.0), _full(1.0)]
    z_max = 4 / np.sqrt(3)
    low, high = oracle.either_side(placed, z_max, 3, 0, 0)
    assert low.data[0, 0] == 0.0 and high.data[0, 0] == 0.25, (low.data, high.data)


def test_threshold_margin_grows_as_the_values_crowd():
    """``8 eps32 max|v| / std``: 16 DN/s values 1 DN/s apart get a margin 50x smaller than
    values 0.02 DN/s apart; equal values have none."""
    wide, close = np.array([15.0, 16.0, 17.0]), np.array([15.98, 16.0, 16.02])
    ratio = oracle.threshold_margin(close) / oracle.threshold_margin(wide)
    assert ratio == pytest.approx(np.std(wide) / np.std(close) * 16.02 / 17.0, rel=1e-12)
    assert oracle.threshold_margin(np.full(3, 16.0)) == 0.0
