"""MIRI imager facts the simulator and the checks share (FULL array, F770W, FASTR1).

All pixel coordinates in this package are 0-based numpy indices, images are indexed
``[y, x]`` and catalogs store ``x, y``. Values come from ../shared/REFERENCE.md (JDox,
pysiaf, MIRISim); the ones marked *estimate* there are chosen here and documented.
"""

from __future__ import annotations

from functools import cache

import numpy as np

NX, NY = 1032, 1024
"""FULL array size in columns (x) and rows (y), reference columns included."""

REFERENCE_COLUMNS = (0, 1, 2, 3, 1028, 1029, 1030, 1031)
"""Columns without light: they carry bias, dark and read noise only (MIRI refpix uses them)."""

FRAME_TIME = 2.77504
"""FASTR1 FULL frame time in s; NFRAMES=1 and GROUPGAP=0 so group time = frame time."""

FWHM_PIX = 2.45
"""F770W PSF FWHM in pixels (0.269 arcsec / 0.11 arcsec)."""

GAIN = 5.5
"""e-/DN, the MIRISim value (flight is about 4)."""

READ_NOISE_CDS = 6.0
"""DN, correlated double sampling read noise; one read has READ_NOISE_CDS / sqrt(2)."""

DARK_RATE = 0.2 / GAIN
"""DN/s, dark current (0.2 e-/s)."""

BIAS_LEVEL = 11000.0
"""DN, mean bias pedestal (MIRI raw frames sit at ~1e4 DN)."""

SATURATION_DN = 58000.0
"""DN, raw level the saturation reference flags (estimate; ADC limit 65535)."""

LINEARITY_B = 1.5e-6
"""1/DN, the simulated non-linearity: corrected = raw + B * raw**2 (the linearity reference)."""

SKY_RATE = 16.0
"""DN/s/pixel, zodiacal background at 7.7 um in the imager field (estimate, 15-18)."""

DITHER_OFFSETS = ((0.0, 0.0), (-8.0, 39.5), (-37.5, 12.5), (-19.5, 25.0))
"""Recommended MIRI 4-point dither (start set 1): detector offsets of the scene, pixels."""

V2_REF, V3_REF, V3_YANGLE = -453.38, -373.81, 4.83
PIXEL_SCALE_ARCSEC = 0.11

REGIONS = ("imager", "lyot", "4qpm")


@cache
def region_masks() -> dict[str, np.ndarray]:
    """Boolean ``(NY, NX)`` masks of the illuminated regions (computed once, read-only).

    Returns
    -------
    masks : dict of str to ndarray of bool
        ``imager``: columns 360-1027, all rows (1-based); ``lyot``: columns 1-320, rows
        717-1020; ``4qpm``: three 288 x 224 boxes at rows 19, 245 and 467 from column 1.
        Reference columns are excluded from all of them.
    """
    masks = {name: np.zeros((NY, NX), bool) for name in REGIONS}
    masks["imager"][:, 359:1027] = True
    masks["lyot"][716:1020, 0:320] = True
    for row in (19, 245, 467):
        masks["4qpm"][row - 1 : row - 1 + 224, 0:288] = True
    for mask in masks.values():
        mask[:, list(REFERENCE_COLUMNS)] = False
        mask.flags.writeable = False
    return masks


def region_of(x: float, y: float) -> str | None:
    """Name of the region containing pixel ``(x, y)``, or None outside all of them."""
    masks = region_masks()
    xi, yi = int(round(x)), int(round(y))
    for name, mask in masks.items():
        if 0 <= yi < NY and 0 <= xi < NX and mask[yi, xi]:
            return name
    return None
