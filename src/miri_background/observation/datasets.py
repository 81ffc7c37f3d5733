"""The observations the suite can validate: the notebook's 2021 MIRISim set and its 2023
flight set (program 2754, F2550W).

A `DataSet` says what the exposures are called, at which level they come (``uncal`` ramps
through detector1, or ``rate`` files that skip it), where the remote files are listed, and
which pixels the notebook inspected. Every real data source (Box, Artifactory, ``dir:PATH``)
and the built-in simulator serve either set (``--data-set``).

The flight set, as read in jwst_validation_notebooks at commit a13c5d1 (2023-03-29),
``background/jwst_background_miri_test/jwst_background_subtraction_miri_imaging_testing-
flight.ipynb``: ``file_urls`` and ``files`` are zipped in order, so the 8 Box ids are, in
``inputs/real/remote_manifest_flight.json`` order, science ``jw02754001001_06101_0000{1..4}`` =
j2f1klym, 64xsicjf, hnmt7i6q, 5m6n24qj and background ``jw02754002001_02101_0000{1..4}``
= 4x1z2t0j, p5co8n3p, 0czufens, z00chmeb (all ``_mirimage_rate.fits``). Its pixels (numpy
[y, x]): science rates [600, 600] ("background region values"), backgrounds and combined
[875, 850] ("a pixel that is on a source in at least one image"), bsub [850, 500] (the
uncatchable ``assert_allclose(..., 0.01, atol=0.8)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from miri_background.observation import instrument as mi
from miri_background.observation.notebook import (
    BACKGROUND_NAMES,
    NOTEBOOK_SKY,
    NOTEBOOK_STAR,
    SCIENCE_NAMES,
)

__all__ = ["DATA_SETS", "DataSet", "FLIGHT", "MIRISIM", "SkyStability", "get"]

MANIFEST_DIR = Path(__file__).parents[1] / "inputs" / "real"

UNRESOLVED_FRACTION = 0.01 / 16.0
"""Allowance on a detection-based sky mean, as a fraction of the sky level: stars under
the detection limit stay in the sky set (measured +0.004 DN/s on the F770W built-in data
run as real data). 1/16 of a 1 % background error: 0.01 DN/s at 16 DN/s, 0.62 DN/s at
1000 DN/s."""

F2550W_SKY_RATE = 1000.0
"""DN/s/pixel, the F2550W background of program 2754 (imager field). Source: the flight
notebook (jwst_validation_notebooks a13c5d1) shows every science, background and combined
rate image of this data set on a colour range of 800-1200 DN/s, centred on its sky, and its
bsub images on -10 to +5 DN/s. The rate files are in DN/s, so no conversion: 62 times the
F770W sky (`instrument.SKY_RATE`, 16 DN/s), so a 0.1 % error of the combined background
is 1 DN/s, ~0.35 of one pixel's noise and > 100 standard errors of a 5e5-pixel sky mean."""

F2550W_FWHM_PIX = 0.803 / mi.PIXEL_SCALE_ARCSEC
"""F2550W PSF FWHM in pixels: 0.803 arcsec (JDox, MIRI imager PSF table) / 0.11 = 7.3."""


REFERENCE_POINT = (693.5, 511.5)
"""0-based (x, y) of the imager's reference point (1-based 694.5, 512.5): where a data
set's promised sky level applies."""


@dataclass(frozen=True)
class SkyStability:
    """How far the background visits' sky may differ from the science visit's, as a data
    set promises it: the residual sky of a correct bsub is ``L + g . (r - r_0) / 1000``
    with ``|L| <= level * sky_rate``, ``|g| <= gradient * sky_rate`` and ``r_0`` the
    imager's reference point (`REFERENCE_POINT`).

    Attributes
    ----------
    level : float
        Largest sky level change between the visits, as a fraction of the sky.
    gradient : float
        Largest change of the sky gradient, as a fraction of the sky per 1000 px (about
        the imager field's height).
    source : str
        Where the numbers come from.
    """

    level: float
    gradient: float
    source: str


SAME_SKY = SkyStability(
    0.0,
    0.0,
    "one sky: MIRISim and the built-in simulator put the science and background visits on "
    "the same background map",
)
FLIGHT_SKY = SkyStability(
    0.01,
    0.005,
    "level: the flight notebook (jwst_validation_notebooks a13c5d1) shows its bsub images on "
    "-10 to +5 DN/s, so real residual skies of this set lie within 10 DN/s = 1 % of the "
    "1000 DN/s sky; gradient: assumed half of it per 1000 px (no public source gives a "
    "number; JDox, MIRI imaging recommended strategies, only says dithers at long "
    "wavelengths 'permit tracking of potential telescope thermal emission variations')",
)


@dataclass(frozen=True)
class DataSet:
    """One observation the notebook validated.

    Attributes
    ----------
    name : str
        ``--data-set`` value.
    title : str
        What the report calls it.
    science_names, background_names : tuple of str
        Exposure names (file name without ``.fits``, and without ``_rate`` for rate files).
    level : {'uncal', 'rate'}
        ``rate``: the files are detector1's output and skip it.
    manifest : Path
        Its remote manifest (`manifest.load_manifest`).
    filter : str
        MIRI imager filter.
    science_pixel, background_pixel, bsub_pixel : tuple of int
        The notebook's inspected pixels as (x, y), 0-based: a sky pixel of the science
        rates, a background-star pixel of the backgrounds and combined background, and the
        bsub pixel of its one numeric check.
    sky_rate : float
        Imager-field background in DN/s (what `UNRESOLVED_FRACTION` is a fraction of).
    fwhm_pix : float
        PSF FWHM in pixels.
    sky_stability : SkyStability
        The sky change between science and background visits the set can promise.
    """

    name: str
    title: str
    science_names: tuple[str, ...]
    background_names: tuple[str, ...]
    level: str
    manifest: Path
    filter: str
    science_pixel: tuple[int, int]
    background_pixel: tuple[int, int]
    bsub_pixel: tuple[int, int]
    sky_rate: float
    fwhm_pix: float
    sky_stability: SkyStability

    @property
    def names(self) -> tuple[str, ...]:
        """Science then background exposure names."""
        return self.science_names + self.background_names

    def exposure_name(self, file_name: str) -> str:
        """Exposure name of a listed file: ``x.fits`` -> ``x``, ``x_rate.fits`` -> ``x``
        for a rate-level set."""
        stem = Path(file_name).name.removesuffix(".fits")
        return stem.removesuffix("_rate") if self.level == "rate" else stem

    @property
    def unresolved_allowance(self) -> float:
        """DN/s a detection-based sky mean may keep from undetected sources."""
        return UNRESOLVED_FRACTION * self.sky_rate

    @property
    def detection_grow(self) -> int:
        """Pixels a detected segment is dilated by: 3 px at F770W (FWHM 2.45 px), scaled
        with the FWHM (9 px at F2550W) so that the same fraction of a PSF wing is cut."""
        return round(3 * self.fwhm_pix / mi.FWHM_PIX)


MIRISIM = DataSet(
    name="mirisim",
    title="2021 MIRISim F770W set (uncal ramps)",
    science_names=SCIENCE_NAMES,
    background_names=BACKGROUND_NAMES,
    level="uncal",
    manifest=MANIFEST_DIR / "remote_manifest.json",
    filter="F770W",
    science_pixel=NOTEBOOK_SKY,
    background_pixel=NOTEBOOK_STAR,
    bsub_pixel=NOTEBOOK_SKY,
    sky_rate=mi.SKY_RATE,
    fwhm_pix=mi.FWHM_PIX,
    sky_stability=SAME_SKY,
)

FLIGHT = DataSet(
    name="flight",
    title="2023 flight set, program 2754 F2550W (rate files)",
    science_names=tuple(f"jw02754001001_06101_0000{i}_mirimage" for i in range(1, 5)),
    background_names=tuple(f"jw02754002001_02101_0000{i}_mirimage" for i in range(1, 5)),
    level="rate",
    manifest=MANIFEST_DIR / "remote_manifest_flight.json",
    filter="F2550W",
    science_pixel=(600, 600),
    background_pixel=(850, 875),
    bsub_pixel=(500, 850),
    sky_rate=F2550W_SKY_RATE,
    fwhm_pix=F2550W_FWHM_PIX,
    sky_stability=FLIGHT_SKY,
)

DATA_SETS = {d.name: d for d in (MIRISIM, FLIGHT)}


def get(name: str) -> DataSet:
    """The data set called ``name``; ValueError listing the choices otherwise."""
    try:
        return DATA_SETS[name]
    except KeyError:
        raise ValueError(f"data set {name!r}: choose one of {', '.join(DATA_SETS)}") from None
