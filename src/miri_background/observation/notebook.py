"""The validation notebook's observation and settings (MIRISim version, 2021).

Four dithered F770W science exposures and four dithered background exposures (file names
as the notebook's Box files, without ``.fits``), the detector1 and image2 settings the
notebook uses, and the pixels it inspects.
"""

from __future__ import annotations

from dataclasses import dataclass

from miri_background.frozen import FrozenMap
from miri_background.observation import instrument as mi

SCIENCE_NAMES = tuple(f"starfield_med_seq{i}_MIRIMAGE_F770Wexp1" for i in range(1, 5))
BACKGROUND_NAMES = tuple(f"bkg_faint_seq{i}_MIRIMAGE_F770Wexp1" for i in range(1, 5))
READNOISE_NAME = "jwst_mirisim_readnoise.fits"
"""The readnoise override the notebook takes from Artifactory for jump and ramp_fit."""


@dataclass(frozen=True)
class Exposure:
    """One of the 8 exposures: ``kind`` is 'science' or 'background', ``dither`` 0..3."""

    name: str
    kind: str
    dither: int

    @property
    def offset(self) -> tuple[float, float]:
        """Detector offset (dx, dy) in pixels of the scene for this dither."""
        return mi.DITHER_OFFSETS[self.dither]


EXPOSURES = tuple(Exposure(n, "science", i) for i, n in enumerate(SCIENCE_NAMES)) + tuple(
    Exposure(n, "background", i) for i, n in enumerate(BACKGROUND_NAMES)
)

DETECTOR1_STEPS = FrozenMap({"jump": {"rejection_threshold": 10.0}, "refpix": {"skip": True}})
"""The notebook's detector1 settings; the readnoise override is added per data set."""
NOTEBOOK_MAXITERS = 3
SIGMAS = (1.0, 2.0, 3.0)
"""sigma=2 is the notebook's setting, 3 is jwst's default, 1 the notebook's advice for
bright background sources."""
NOTEBOOK_SIGMA = 2.0
IMAGE2_SKIPPED = ("assign_wcs", "flat_field", "photom", "resample")
"""image2 steps the notebook skips; only bkg_subtract runs."""

NOTEBOOK_SKY = (500, 850)
"""The notebook's sky pixel, numpy [850, 500], as (x, y)."""
NOTEBOOK_STAR = (615, 317)
"""The notebook's background star (x, y); the built-in data use the nearest background-star
peak to it."""
