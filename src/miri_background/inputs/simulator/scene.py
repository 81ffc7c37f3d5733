"""The simulated sky and detector: catalogs, the background-rate map and the PSF.

Nothing here draws detector noise; `miri_background.simulate` does that. Every function is
deterministic given a `numpy.random.Generator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.modeling.models import Sersic2D
from astropy.stats import gaussian_fwhm_to_sigma
from scipy.special import erf

from miri_background.observation import instrument as mi

PSF_HALF = 8
"""Half size of a star stamp in pixels: the Gaussian is < 1e-12 of its peak beyond it."""


@dataclass(frozen=True)
class SceneConfig:
    """Parameters of the simulated observation.

    Parameters
    ----------
    n_imager_stars : int, default 300
        Science stars in the imager field.
    n_lyot_stars : int, default 40
        Science stars in the Lyot area.
    n_background_stars : int, default 40
        Faint stars of the (different) background field, imager and Lyot.
    flux_min, flux_max : float, default 12, 1e5
        Science star total fluxes in DN/s; 12 DN/s is S/N ~ 5 in an r = 3 px aperture,
        and stars above ~1.3e4 DN/s saturate within 10 groups.
    flux_index : float, default 1.5
        Science fluxes follow dN/dF ~ F**-flux_index (a few saturating stars).
    background_peak_min, background_peak_max : float, default 8, 60
        Peak pixel rates of the background-field stars in DN/s (17 to 130 sigma of one
        background pixel): bright enough for sigma=2 clipping, faint next to the science.
    galaxy_flux : float, default 8000
        Total galaxy flux in DN/s (Sersic n=1.5, r_eff=12 px).
    sky_rate : float, default 16
        Imager-field background in DN/s/pixel.
    """

    n_imager_stars: int = 300
    n_lyot_stars: int = 40
    n_background_stars: int = 40
    flux_min: float = 12.0
    flux_max: float = 1.0e5
    flux_index: float = 1.5
    background_peak_min: float = 8.0
    background_peak_max: float = 60.0
    galaxy_flux: float = 8000.0
    sky_rate: float = mi.SKY_RATE


def psf_peak_fraction(fwhm_pix: float = mi.FWHM_PIX, half: int = PSF_HALF) -> float:
    """Fraction of a centred star's flux in its brightest pixel (0.14 for FWHM 2.45 px)."""
    return float(_pixel_integrated_gaussian(0.0, fwhm_pix, half)[half] ** 2)


def _pixel_integrated_gaussian(offset: float, fwhm_pix: float, half: int) -> np.ndarray:
    """1-D Gaussian integrated over pixels ``-half..half`` for a centre at ``offset``.

    The flux in pixel i is ``0.5 * [erf((i + 0.5 - offset) / (sqrt(2) s)) -
    erf((i - 0.5 - offset) / (sqrt(2) s))]`` with ``s = FWHM * gaussian_fwhm_to_sigma``
    (`astropy.stats`, 1 / 2.3548).
    """
    sigma = fwhm_pix * gaussian_fwhm_to_sigma
    edges = np.arange(-half - 0.5, half + 1.0) - offset
    return np.diff(0.5 * erf(edges / (np.sqrt(2.0) * sigma)))


def add_stars(
    image: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    flux: np.ndarray,
    *,
    fwhm_pix: float = mi.FWHM_PIX,
    half: int = PSF_HALF,
) -> None:
    """Add pixel-integrated Gaussian stars to ``image`` in place: the project's one star
    renderer (the simulator's scene, the scenarios' exposures). A star whose stamp lies
    wholly outside ``image`` adds nothing.

    Parameters
    ----------
    image : ndarray, shape (NY, NX)
        Rate image in DN/s.
    x, y : ndarray
        Star centres in 0-based pixels; sub-pixel positions are honoured.
    flux : ndarray
        Total flux of each star in DN/s.
    fwhm_pix : float, optional
        FWHM of the Gaussian in pixels; default the built-in F770W PSF (`instrument.FWHM_PIX`).
    half : int, optional
        Half size of a star's stamp in pixels (``2 half + 1`` square); default `PSF_HALF`.
    """
    ny, nx = image.shape
    for xc, yc, f in zip(x, y, flux, strict=True):
        ix, iy = int(np.round(xc)), int(np.round(yc))
        stamp = np.outer(
            _pixel_integrated_gaussian(yc - iy, fwhm_pix, half),
            _pixel_integrated_gaussian(xc - ix, fwhm_pix, half),
        )
        y0, x0 = iy - half, ix - half
        ys = slice(max(y0, 0), min(y0 + stamp.shape[0], ny))
        xs = slice(max(x0, 0), min(x0 + stamp.shape[1], nx))
        if ys.start >= ys.stop or xs.start >= xs.stop:
            continue
        image[ys, xs] += f * stamp[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]


def add_galaxy(image: np.ndarray, x: float, y: float, flux: float) -> None:
    """Add the Sersic galaxy (n=1.5, r_eff=12 px, ellipticity 0.4) centred at (x, y)."""
    half = 60
    ix, iy = int(np.round(x)), int(np.round(y))
    yy, xx = np.mgrid[iy - half : iy + half + 1, ix - half : ix + half + 1]
    model = Sersic2D(amplitude=1.0, r_eff=12.0, n=1.5, x_0=x, y_0=y, ellip=0.4, theta=0.6)
    stamp = model(xx, yy)
    image[iy - half : iy + half + 1, ix - half : ix + half + 1] += flux * stamp / stamp.sum()


def background_rate(sky_rate: float = mi.SKY_RATE) -> np.ndarray:
    """Detector-fixed background rate in DN/s, shape (NY, NX), float32.

    Imager field: ``sky * (1 + 0.03 (x - 693.5) / 668 + 0.02 (y - 511.5) / 1024)`` (a 5 %
    gradient end to end). Lyot area: 0.75 sky with the occulting spot (radius 12 px at
    (160, 868)) at 0.3 sky. 4QPMs: 0.6 sky with their phase boundaries (2 px wide cross at
    each box centre) at 0.35 sky. Other light-sensitive pixels: 1 DN/s of stray light;
    reference columns: 0.
    """
    yy, xx = np.mgrid[0 : mi.NY, 0 : mi.NX].astype(np.float64)
    masks = mi.region_masks()
    rate = np.full((mi.NY, mi.NX), 1.0)
    gradient = 1.0 + 0.03 * (xx - 693.5) / 668.0 + 0.02 * (yy - 511.5) / 1024.0
    rate[masks["imager"]] = (sky_rate * gradient)[masks["imager"]]
    lyot = masks["lyot"]
    rate[lyot] = 0.75 * sky_rate
    spot = lyot & ((xx - 160.0) ** 2 + (yy - 868.0) ** 2 < 12.0**2)
    rate[spot] = 0.3 * sky_rate
    qpm = masks["4qpm"]
    rate[qpm] = 0.6 * sky_rate
    for row in (19, 245, 467):
        cy, cx = row - 1 + 112, 144
        cross = np.zeros_like(qpm)
        cross[cy - 1 : cy + 1, 0:288] = True
        cross[row - 1 : row - 1 + 224, cx - 1 : cx + 1] = True
        rate[cross & qpm] = 0.35 * sky_rate
    rate[:, list(mi.REFERENCE_COLUMNS)] = 0.0
    return rate.astype(np.float32)


def _placement_box(region: str) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of base positions that stay in ``region`` for every dither."""
    dx = [o[0] for o in mi.DITHER_OFFSETS]
    dy = [o[1] for o in mi.DITHER_OFFSETS]
    margin = PSF_HALF + 2
    limits = {"imager": (359, 1026, 0, mi.NY - 1), "lyot": (4, 319, 716, 1019)}[region]
    return (
        limits[0] - min(dx) + margin,
        limits[1] - max(dx) - margin,
        limits[2] - min(dy) + margin,
        limits[3] - max(dy) - margin,
    )


def _positions(rng: np.random.Generator, region: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = _placement_box(region)
    return rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)


MIN_DITHERED_SEPARATION = 4.0 * mi.FWHM_PIX
"""pixels: no two background stars come closer than this in any pair of dithers, so at
every pixel at most one background exposure holds a star (the notebook's premise)."""


def _separated_positions(
    rng: np.random.Generator, region: str, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform positions, redrawn until every star, at every dither, is at least
    ``MIN_DITHERED_SEPARATION`` from every other star at every dither."""
    offsets = np.array(mi.DITHER_OFFSETS)
    shifts = (offsets[:, None, :] - offsets[None, :, :]).reshape(-1, 2)
    xmin, xmax, ymin, ymax = _placement_box(region)
    xs, ys = [], []
    while len(xs) < n:
        x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        if xs:
            dx = np.subtract.outer(np.array(xs) - x, shifts[:, 0])
            dy = np.subtract.outer(np.array(ys) - y, shifts[:, 1])
            if np.min(np.hypot(dx, dy)) < MIN_DITHERED_SEPARATION:
                continue
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)


def science_catalog(rng: np.random.Generator, cfg: SceneConfig) -> dict[str, np.ndarray]:
    """Science stars at dither position 1: ``x, y`` (pixels), ``flux`` (DN/s), ``region``.

    Fluxes are drawn by inverting the CDF of dN/dF ~ F**-a between flux_min and flux_max:
    ``F = (Fmin**(1-a) + u (Fmax**(1-a) - Fmin**(1-a)))**(1 / (1-a))`` with u ~ U(0, 1).
    """
    xi, yi = _positions(rng, "imager", cfg.n_imager_stars)
    xl, yl = _positions(rng, "lyot", cfg.n_lyot_stars)
    n = cfg.n_imager_stars + cfg.n_lyot_stars
    p = 1.0 - cfg.flux_index
    u = rng.uniform(0.0, 1.0, n)
    flux = (cfg.flux_min**p + u * (cfg.flux_max**p - cfg.flux_min**p)) ** (1.0 / p)
    region = np.array(["imager"] * cfg.n_imager_stars + ["lyot"] * cfg.n_lyot_stars)
    return {"x": np.r_[xi, xl], "y": np.r_[yi, yl], "flux": flux, "region": region}


def background_catalog(rng: np.random.Generator, cfg: SceneConfig) -> dict[str, np.ndarray]:
    """Background-field stars at dither position 1, 80 % imager and 20 % Lyot.

    Peak rates are log-uniform in [background_peak_min, background_peak_max] DN/s; the
    total flux is ``peak / psf_peak_fraction()``.
    """
    n_lyot = cfg.n_background_stars // 5
    n_img = cfg.n_background_stars - n_lyot
    xi, yi = _separated_positions(rng, "imager", n_img)
    xl, yl = _separated_positions(rng, "lyot", n_lyot)
    lo, hi = np.log(cfg.background_peak_min), np.log(cfg.background_peak_max)
    peak = np.exp(rng.uniform(lo, hi, cfg.n_background_stars))
    region = np.array(["imager"] * n_img + ["lyot"] * n_lyot)
    return {
        "x": np.r_[xi, xl],
        "y": np.r_[yi, yl],
        "flux": peak / psf_peak_fraction(),
        "region": region,
    }


GALAXY_POSITION = (760.0, 430.0)
"""Galaxy centre at dither position 1 (imager field), pixels."""
