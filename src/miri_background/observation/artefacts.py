"""Known MIRI imager artefacts that real exposures share (JDox, MIRI imaging known issues).

- Shorted columns 385 and 386 (1-based): DO_NOT_USE in the flight bad-pixel mask.
- The imager "scar": a diagonal scratch centred at pixel (428, 987) (1-based), 16 px long,
  top left of the imager; its pixels respond, but two stripes parallel to it, brighter than
  the local background, appear wherever the sky is uniform, at every pointing (their
  position and width change with wavelength).

Structure of the detector, not of the sky: every background exposure has it, so the
sigma-clipped mean keeps it, and a smoothness check against a median-filtered reference
must leave `SCAR_BOX_HALF` around the scar out.
"""

from __future__ import annotations

import numpy as np

from miri_background.observation import instrument as mi

SHORTED_COLUMNS = (384, 385)
"""0-based: JDox's shorted columns 385 and 386 (1-based)."""
SCAR_CENTRE = (427.0, 986.0)
"""0-based (x, y) of JDox's scar centre (428, 987)."""
SCAR_LENGTH = 16.0
"""pixels, JDox."""
SCAR_BOX_HALF = 24
"""pixels: half size of the box left out around the scar (its stripes as the stand-in
models them reach 14 px from the centre; JDox: their place changes with wavelength)."""


def scar_box() -> np.ndarray:
    """(NY, NX) bool: the `SCAR_BOX_HALF` box around the scar."""
    box = np.zeros((mi.NY, mi.NX), bool)
    x, y = int(SCAR_CENTRE[0]), int(SCAR_CENTRE[1])
    h = SCAR_BOX_HALF
    box[max(y - h, 0) : y + h + 1, max(x - h, 0) : x + h + 1] = True
    return box
