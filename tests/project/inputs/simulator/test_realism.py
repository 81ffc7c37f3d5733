"""The stand-in's real-data effects: the sky change between visits and the known defects."""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.checks import sky
from miri_background.inputs.simulator import realism
from miri_background.observation import instrument as mi


def test_sky_change_is_the_stated_level_and_plane():
    """B_bkg - B (1 + L) is a plane of slope S G per 1000 px along the drawn direction,
    0 at the reference point; the fitted residual sky recovers L S and S G."""
    change = realism.SkyChange(level=-0.008, gradient=0.004, angle=np.pi / 3)
    background = np.full((mi.NY, mi.NX), 1000.0)
    changed = change.apply(background, 1000.0)
    x_r, y_r = realism.REFERENCE_POINT
    x, y = int(x_r + 0.5), int(y_r + 0.5)
    assert changed[y, x] == pytest.approx(992.0, abs=4 * 0.002)
    ys, xs = np.nonzero(mi.region_masks()["imager"])
    fit = sky.fit_sky(
        (background - changed)[ys, xs], xs, ys, exposure="e", region="imager", sigma=2,
        sky_rate=1000.0,
    )  # fmt: skip
    assert fit.gradient == pytest.approx(4.0, rel=1e-9)
    assert np.arctan2(-fit.gy, -fit.gx) == pytest.approx(np.pi / 3)
    assert fit.at(x_r, y_r) == pytest.approx(8.0, abs=1e-9)


def test_draw_sky_change_signs_both_ways_and_keeps_the_sizes():
    rng = np.random.default_rng(0)
    drawn = [realism.draw_sky_change(rng, 0.01, 0.005) for _ in range(40)]
    assert {np.sign(c.level) for c in drawn} == {-1.0, 1.0}
    assert all(abs(c.level) == 0.01 and c.gradient == 0.005 for c in drawn)


def test_defects_hold_the_shorted_columns_and_clusters_but_no_reference_column():
    bad = realism.defect_mask(np.random.default_rng(1))
    assert bad[:, 384].all() and bad[:, 385].all()
    assert not bad[:, list(mi.REFERENCE_COLUMNS)].any()
    others = bad.copy()
    others[:, [384, 385]] = False
    assert 40 <= others.sum() <= realism.N_CLUSTERS * 20 + realism.N_SEGMENTS * 60


def test_scar_stripes_are_two_lines_beside_the_scar():
    """+2 % on two stripes 6 px either side of the scar centre (428, 987), not on it."""
    factor = realism.scar_stripes()
    x, y = realism.SCAR_CENTRE
    assert factor[int(y), int(x)] == 1.0
    lifted = np.argwhere(factor > 1.0)
    assert factor.max() == pytest.approx(1.02)
    distance = np.hypot(lifted[:, 1] - x, lifted[:, 0] - y)
    assert distance.min() >= 5.0 and distance.max() <= 14.0


def test_jump_flags_are_showers_of_one_to_four_pixels_per_hit():
    """CR_HITS hits, each 1-4 flagged pixels, none in the reference columns."""
    hit = realism.jump_flags(np.random.default_rng(2))
    assert realism.CR_HITS * 0.9 <= hit.sum() <= realism.CR_HITS * 4
    assert not hit[:, list(mi.REFERENCE_COLUMNS)].any()


def test_defects_keep_clear_of_the_named_pixels_without_changing_the_draws():
    """The notebook's inspected pixels are good pixels in the real set: the mask keeps a
    box of CLEAR_HALF px around each cleared pixel, and is otherwise the same seed's mask."""
    plain = realism.defect_mask(np.random.default_rng(1))
    others = plain.copy()
    others[:, [384, 385]] = False
    y, x = np.argwhere(others)[0]  # a clustered defect of this seed
    cleared = realism.defect_mask(np.random.default_rng(1), clear=((int(x), int(y)),))
    h = realism.CLEAR_HALF
    box = (slice(max(y - h, 0), y + h + 1), slice(max(x - h, 0), x + h + 1))
    assert plain[y, x] and not cleared[box].any()
    plain[box] = False
    np.testing.assert_array_equal(cleared, plain)
