"""Which pixels each check looks at: sky, background-star peaks, science stars, regions.

From the simulator's truth by default; from photutils detection on the data when the data
source has no catalog (real data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from miri_background.frozen import FrozenMap
from miri_background.observation import instrument as mi
from miri_background.observation.datasets import MIRISIM, DataSet

SOURCE_FREE_RATE = 1e-4
"""DN/s: a pixel is sky when every exposure's noise-free source rate is below this, 4000x
under one pixel's noise (0.43 DN/s), so contamination shifts a sky mean of 1e5 pixels by
< 0.1 of its standard error."""

APERTURE_RADIUS = 4.0
"""pixels: encloses 99.94 % of the F770W Gaussian (1 - exp(-r**2 / 2 s**2), s = 1.04 px)."""


@dataclass(frozen=True)
class StarPixel:
    """Peak pixel of a background star in the exposure where it sits (DN/s)."""

    exposure: str
    x: int
    y: int
    region: str
    peak: float


@dataclass(frozen=True)
class PixelSets:
    """Pixel sets shared by the checks (all masks are (NY, NX) bool, read-only).

    Attributes
    ----------
    sky : Mapping[str, ndarray]
        Region -> pixels with no source in any of the 8 exposures, no bad pixel and no
        cosmic ray in any exposure.
    background_stars : tuple of StarPixel
        Peaks of background stars that sit in exactly one background at that pixel.
    science_stars : Mapping[str, Table]
        Per science exposure: ``x, y, flux`` (DN/s) of unsaturated stars whose aperture has
        no bad pixel or cosmic ray.
    named_sky, named_star : tuple / StarPixel
        The notebook's sky pixel and its star (nearest background-star peak).
    from_truth : bool
        Whether the sets come from the simulator's truth (else from detection).
    """

    sky: Mapping[str, np.ndarray]
    background_stars: tuple[StarPixel, ...]
    science_stars: Mapping[str, Table]
    named_sky: tuple[int, int]
    named_star: StarPixel
    from_truth: bool


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def build_pixel_sets(products, sim_truth: Path | None, data_set: DataSet = MIRISIM) -> PixelSets:
    """Pixel sets from the simulator's truth directory ``sim_truth``, or from detection
    when there is none (real data); the named pixels are ``data_set``'s (default the 2021
    MIRISim notebook's), and detected segments are grown by its ``detection_grow``."""
    if sim_truth is not None:
        return _from_truth(products, sim_truth, data_set)
    return _from_detection(products, data_set)


def nearest_star(stars, pixel: tuple[int, int]) -> StarPixel:
    """The star pixel nearest to ``pixel`` (x, y), in squared pixel distance."""
    return min(stars, key=lambda s: (s.x - pixel[0]) ** 2 + (s.y - pixel[1]) ** 2)


def _from_detection(products, data_set: DataSet) -> PixelSets:
    # imported here: photutils costs 0.85 s a process, and only real data are detected
    from miri_background.checks.detection import detect_sky_and_peaks

    sky, peaks = detect_sky_and_peaks(products, grow=data_set.detection_grow)
    stars = tuple(StarPixel(*p) for p in peaks)
    empty = Table(names=("x", "y", "flux", "region"), dtype=(float, float, float, str))
    return PixelSets(
        FrozenMap({r: _readonly(m) for r, m in sky.items()}),
        stars,
        FrozenMap({n: empty for n in products.science_names}),
        data_set.bsub_pixel,
        nearest_star(stars, data_set.background_pixel),
        False,
    )


def _unusable_from_truth(sim_truth: Path) -> np.ndarray:
    from astropy.io import fits

    bad = fits.getdata(sim_truth / "bad_pixels.fits") > 0
    cr = Table.read(sim_truth / "cosmic_rays.ecsv")
    bad[np.asarray(cr["y"]), np.asarray(cr["x"])] = True
    return bad


def _from_truth(products, sim_truth: Path, data_set: DataSet) -> PixelSets:
    unusable = _unusable_from_truth(sim_truth)
    for img in products.rates.values():
        unusable |= ~np.isfinite(img.data)
    src = products.true_sources
    source_max = np.max(np.stack(list(src.values())), axis=0)
    free = (source_max < SOURCE_FREE_RATE) & ~unusable
    masks = mi.region_masks()
    sky = {r: _readonly(free & masks[r]) for r in mi.REGIONS}

    catalog = Table.read(sim_truth / "catalog.ecsv")
    stars = []
    bkg_names = products.background_names
    for row in catalog[np.isin(catalog["exposure"], bkg_names)]:
        x, y = int(round(row["x"])), int(round(row["y"]))
        others = sum(src[n][y, x] for n in bkg_names if n != row["exposure"])
        if unusable[y, x] or others > SOURCE_FREE_RATE * 100:
            continue
        stars.append(
            StarPixel(
                str(row["exposure"]), x, y, str(row["region"]), float(src[row["exposure"]][y, x])
            )
        )
    named = nearest_star(stars, data_set.background_pixel)

    science = {}
    yy, xx = np.mgrid[-5:6, -5:6]
    disk = xx**2 + yy**2 <= (APERTURE_RADIUS + 1) ** 2
    for name in products.science_names:
        rows = catalog[(catalog["exposure"] == name) & (catalog["kind"] == "star")]
        dq = products.rates[name].dq
        keep = []
        for row in rows:
            x, y = int(round(row["x"])), int(round(row["y"]))
            box = (slice(y - 5, y + 6), slice(x - 5, x + 6))
            saturated = np.any(dq[box][disk] & 2)  # SATURATED
            keep.append(not saturated and not np.any(unusable[box][disk]))
        science[name] = rows[np.array(keep, bool)]["x", "y", "flux", "region"]
    return PixelSets(
        FrozenMap(sky),
        tuple(stars),
        FrozenMap(science),
        data_set.bsub_pixel,
        named,
        True,
    )
