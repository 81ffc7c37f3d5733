"""What a real MIRI imaging set has and the built-in simulator lacks: a sky that changes
between the science and the background visits, and the detector's known defects.

Sky change. The background visit is taken at another time and pointing than the science:
zodiacal light differs with pointing and, at long wavelengths, the telescope's thermal
emission drifts. The background visit's sky is the science visit's map ``B`` changed by a
level and a plane::

    B_bkg(x, y) = B(x, y) (1 + s L) + S G (cos(t) (x - x_r) + sin(t) (y - y_r)) / 1000

with ``L`` the level change and ``G`` the gradient change (fractions of the sky ``S``, per
1000 px), ``s = +-1`` and the direction ``t`` drawn from the seed, ``(x_r, y_r)`` the
imager's reference point. Their sizes are the stand-in's configuration; what a data set
may promise is `datasets.SkyStability`.

Defects (JDox, MIRI imaging known issues), the same in every exposure:

- shorted columns 385 and 386 (1-based, `artefacts.SHORTED_COLUMNS`): DO_NOT_USE, no value;
- the imager "scar" (`artefacts`), centred at (428, 987), 16 px long, diagonal: its pixels respond,
  but two stripes parallel to it are brighter than the local background. Assumed here:
  2 px wide, 24 px long, 6 px either side of the scar, +2 % of the sky;
- bad pixels in clusters as a real mask has them, not uniform: ``N_CLUSTERS`` blobs of
  2-20 pixels (random walks) and ``N_SEGMENTS`` column segments of 5-60 pixels,
  DO_NOT_USE with no value (assumed counts: the mask's look, no published census).

Per exposure (`jump_flags`): cosmic-ray hits that ramp fitting recovered, as a real rate
file has them: JUMP_DET in DQ, the value kept. ``CR_HITS`` per exposure (the built-in
simulator's rate, 2e-5 per pixel per s, over a 27.8 s exposure), each a 1-4 pixel shower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miri_background.observation import instrument as mi
from miri_background.observation.artefacts import SCAR_CENTRE, SHORTED_COLUMNS
from miri_background.observation.datasets import REFERENCE_POINT

STRIPE_OFFSET, STRIPE_LENGTH, STRIPE_EXCESS = 6.0, 24.0, 0.02
N_CLUSTERS, N_SEGMENTS = 40, 10
CR_HITS = 580
JUMP_DET = 4
"""DQ bit of a detected jump (cosmic ray), jwst's JUMP_DET."""


@dataclass(frozen=True)
class SkyChange:
    """The background visit's sky relative to the science visit's (module docstring).

    Attributes
    ----------
    level : float
        ``s L``: signed level change, fraction of the sky.
    gradient : float
        ``G``: gradient change, fraction of the sky per 1000 px.
    angle : float
        ``t``: its direction, radians from +x.
    """

    level: float
    gradient: float
    angle: float

    def apply(self, background: np.ndarray, sky_rate: float) -> np.ndarray:
        """``B_bkg`` of the science visit's map ``background`` (DN/s)."""
        yy, xx = np.mgrid[0 : background.shape[0], 0 : background.shape[1]]
        x_r, y_r = REFERENCE_POINT
        along = np.cos(self.angle) * (xx - x_r) + np.sin(self.angle) * (yy - y_r)
        return background * (1.0 + self.level) + sky_rate * self.gradient * along / 1000.0


def draw_sky_change(rng: np.random.Generator, level: float, gradient: float) -> SkyChange:
    """A `SkyChange` of sizes ``level`` and ``gradient`` (fractions), its sign and
    direction drawn from ``rng``."""
    sign = 1.0 if rng.uniform() < 0.5 else -1.0
    return SkyChange(sign * level, gradient, float(rng.uniform(0.0, 2.0 * np.pi)))


def scar_stripes() -> np.ndarray:
    """(NY, NX) factor ``1 + 0.02`` on the two stripes parallel to the scar, 1 elsewhere."""
    yy, xx = np.mgrid[0 : mi.NY, 0 : mi.NX]
    u = np.array([1.0, -1.0]) / np.sqrt(2.0)  # along the scar (diagonal, top-left)
    dx, dy = xx - SCAR_CENTRE[0], yy - SCAR_CENTRE[1]
    along, across = dx * u[0] + dy * u[1], -dx * u[1] + dy * u[0]
    stripe = (np.abs(along) <= STRIPE_LENGTH / 2) & (np.abs(np.abs(across) - STRIPE_OFFSET) <= 1.0)
    return 1.0 + STRIPE_EXCESS * stripe


CLEAR_HALF = 2
"""Half-width (px) of the box kept free of defects around each pixel `defect_mask` clears."""


def defect_mask(
    rng: np.random.Generator, clear: tuple[tuple[int, int], ...] = ()
) -> np.ndarray:
    """(NY, NX) bool, pixels with no value: shorted columns, clustered bad pixels and
    column segments (module docstring), none in the reference columns, none within
    `CLEAR_HALF` px of the ``clear`` pixels ((x, y), 0-based: the notebook's inspected
    pixels, which are good pixels in the real set it stands in for; seed 1025 put a cluster
    on the science pixel). The draws do not depend on ``clear``."""
    bad = np.zeros((mi.NY, mi.NX), bool)
    bad[:, list(SHORTED_COLUMNS)] = True
    steps = np.array([(0, 1), (0, -1), (1, 0), (-1, 0)])
    for _ in range(N_CLUSTERS):
        y, x = int(rng.integers(0, mi.NY)), int(rng.integers(4, mi.NX - 4))
        for _ in range(int(rng.integers(2, 21))):
            bad[y, x] = True
            dy, dx = steps[rng.integers(0, 4)]
            y, x = int(np.clip(y + dy, 0, mi.NY - 1)), int(np.clip(x + dx, 4, mi.NX - 5))
    for _ in range(N_SEGMENTS):
        x, y0 = int(rng.integers(4, mi.NX - 4)), int(rng.integers(0, mi.NY))
        bad[y0 : y0 + int(rng.integers(5, 61)), x] = True
    bad[:, list(mi.REFERENCE_COLUMNS)] = False
    for x, y in clear:
        rows = slice(max(y - CLEAR_HALF, 0), y + CLEAR_HALF + 1)
        bad[rows, max(x - CLEAR_HALF, 0) : x + CLEAR_HALF + 1] = False
    return bad


def jump_flags(rng: np.random.Generator) -> np.ndarray:
    """(NY, NX) bool of one exposure: ``CR_HITS`` hits at uniform places, each flagging
    1-4 pixels (the hit and up to 3 of its 4-neighbours)."""
    hit = np.zeros((mi.NY, mi.NX), bool)
    ys = rng.integers(1, mi.NY - 1, CR_HITS)
    xs = rng.integers(5, mi.NX - 5, CR_HITS)
    hit[ys, xs] = True
    steps = np.array([(0, 1), (0, -1), (1, 0), (-1, 0)])
    for extra in range(1, 4):
        some = rng.uniform(size=CR_HITS) < 0.5 / extra
        dy, dx = steps[rng.integers(0, 4, CR_HITS)].T
        hit[(ys + dy)[some], (xs + dx)[some]] = True
    return hit
