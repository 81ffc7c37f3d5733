"""Pixel sets for real data, where no catalog exists: photutils detection on the data.

For each rate image: a smooth background (photutils Background2D, 64 px boxes, 3x3 median
filter, 3-sigma clipped medians), then segments of >= 5 pixels above 3 sigma of the local
rms, dilated by 3 px at F770W (scaled with the data set's PSF:
`DataSet.detection_grow`). Sky = no segment in any exposure; background-star peaks = the
brightest pixel of each segment of a background exposure that no other exposure shares.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from astropy.stats import SigmaClip
from photutils.background import Background2D, MedianBackground
from photutils.segmentation import detect_sources
from photutils.utils.exceptions import NoDetectionsWarning
from scipy.ndimage import binary_dilation, median_filter

from miri_background.observation import instrument as mi

BOX, FILTER, NSIGMA, NPIXELS, GROW = 64, 3, 3.0, 5, 3
"""GROW: pixels a segment is dilated by at F770W (FWHM 2.45 px); `detect_sky_and_peaks`
takes the data set's (`DataSet.detection_grow`, scaled with the FWHM)."""


def _background(image: np.ndarray) -> Background2D:
    return Background2D(
        image,
        BOX,
        filter_size=FILTER,
        mask=~np.isfinite(image),
        sigma_clip=SigmaClip(sigma=3.0),
        bkg_estimator=MedianBackground(),
    )


def smooth_background(image: np.ndarray, size: int = 5) -> np.ndarray:
    """Reference for real data's combined background, DN/s: a ``size`` x ``size`` median
    filter of ``image`` (missing pixels filled from the Background2D model first)."""
    filled = np.where(np.isfinite(image), image, _background(image).background)
    return median_filter(filled, size=size, mode="nearest")


def source_segments(image: np.ndarray):
    """Segmentation of ``image - background`` at NSIGMA x local rms (None when empty)."""
    bkg = _background(image)
    residual = np.where(np.isfinite(image), image - bkg.background, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        # npixels positional: photutils 3 calls it n_pixels, photutils < 3 npixels
        return detect_sources(residual, NSIGMA * bkg.background_rms, NPIXELS), residual


class Peak(NamedTuple):
    """The brightest pixel of a detected segment: exposure, x, y, region, residual DN/s."""

    exposure: str
    x: int
    y: int
    region: str
    peak: float


def detect_sky_and_peaks(products, *, grow: int = GROW) -> tuple[dict[str, np.ndarray], list[Peak]]:
    """Sky masks per region and background-star peaks, from detection on the rates, the
    segments dilated by ``grow`` pixels.

    Returns
    -------
    sky : dict
        Region -> (NY, NX) bool: no segment in any exposure and finite everywhere.
    peaks : list of Peak
        Per background exposure, each segment's brightest pixel that no other exposure's
        segments cover, in an illuminated region.
    """
    masks, segs = {}, {}
    for name, img in products.rates.items():
        seg, residual = source_segments(img.data)
        segs[name] = (seg, residual)
        found = seg.data > 0 if seg is not None else np.zeros(img.data.shape, bool)
        masks[name] = binary_dilation(found, iterations=grow)
    unusable = np.logical_or.reduce([~np.isfinite(i.data) for i in products.rates.values()])
    any_source = np.logical_or.reduce(list(masks.values()))
    sky = {r: (~any_source & ~unusable & m) for r, m in mi.region_masks().items()}
    science_any = np.logical_or.reduce([masks[n] for n in products.science_names])
    stars = []
    for name in products.background_names:
        seg, residual = segs[name]
        if seg is None:
            continue
        others = np.logical_or.reduce([masks[n] for n in products.background_names if n != name])
        for s in seg.segments:
            ys, xs = np.nonzero(seg.data == s.label)
            i = np.argmax(residual[ys, xs])
            y, x = int(ys[i]), int(xs[i])
            region = mi.region_of(x, y)
            if region is None or others[y, x] or science_any[y, x] or unusable[y, x]:
                continue
            stars.append(Peak(name, x, y, region, float(residual[y, x])))
    return sky, stars
