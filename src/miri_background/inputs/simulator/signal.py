"""Detector, scene and the signal of one exposure, with its noise (ramps or rates).

Ramp model (one integration, group g = 0 .. NGROUPS-1 read at t_g = (g + 1) t_frame)::

    e_g   = sum_{h<=g} Poisson(gain * (R_sky + R_src + R_dark) * t_frame)   electrons
    L_g   = bias + e_g / gain + CR_g + N(0, (RN_cds / sqrt 2)**2)            DN, linear
    raw_g = (sqrt(1 + 4 B L_g) - 1) / (2 B)                                 DN, the exact
            inverse of the linearity reference ``L = raw + B raw**2``; clipped at 65535.

Each purpose draws from its own child of ``numpy.random.SeedSequence(seed)`` (`purpose_rng`), so
the result does not depend on the order of work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from miri_background.inputs.simulator import scene
from miri_background.inputs.simulator.config import SimConfig
from miri_background.observation import instrument as mi
from miri_background.observation.notebook import Exposure


@dataclass(frozen=True)
class Detector:
    """The fixed detector realisation (same for every exposure).

    Attributes are (NY, NX) maps: ``bias`` (DN), ``dark`` (DN/s), ``readnoise`` (CDS, DN),
    ``dead`` and ``hot`` (bool).
    """

    bias: np.ndarray
    dark: np.ndarray
    readnoise: np.ndarray
    dead: np.ndarray
    hot: np.ndarray


def make_detector(cfg: SimConfig) -> Detector:
    """Draw the detector maps from the ``detector`` child of the seed."""
    rng = purpose_rng(cfg.seed, "detector")
    shape = (mi.NY, mi.NX)
    bias = mi.BIAS_LEVEL + rng.normal(0.0, 300.0, shape)
    dark = mi.DARK_RATE * (1.0 + 0.1 * rng.standard_normal(shape))
    readnoise = mi.READ_NOISE_CDS * (1.0 + 0.05 * rng.standard_normal(shape))
    bad = rng.uniform(size=shape) < cfg.bad_pixel_fraction
    bad[:, list(mi.REFERENCE_COLUMNS)] = False
    dead = bad & (rng.uniform(size=shape) < 0.5)
    hot = bad & ~dead
    dark[hot] = 30.0
    return Detector(
        bias.astype(np.float32),
        dark.astype(np.float32),
        readnoise.astype(np.float32),
        dead,
        hot,
    )


def purpose_rng(seed: int, purpose: str) -> np.random.Generator:
    """Independent generator for ``purpose``: SeedSequence(seed, spawn_key=crc of purpose)."""
    key = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:4], "little")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


@dataclass(frozen=True)
class Scene:
    """Catalogs at dither position 1 and the detector-fixed background (DN/s)."""

    science: dict
    background: dict
    background_rate: np.ndarray


def make_scene(cfg: SimConfig) -> Scene:
    """Draw the catalogs from the ``scene`` child of the seed."""
    rng = purpose_rng(cfg.seed, "scene")
    return Scene(
        scene.science_catalog(rng, cfg.scene),
        scene.background_catalog(rng, cfg.scene),
        scene.background_rate(cfg.scene.sky_rate),
    )


def source_rate(cfg: SimConfig, sc: Scene, exp: Exposure) -> tuple[np.ndarray, Table]:
    """Noise-free source image (DN/s) of one exposure and its catalog in detector pixels."""
    dx, dy = exp.offset
    cat = sc.science if exp.kind == "science" else sc.background
    image = np.zeros((mi.NY, mi.NX))
    x, y = cat["x"] + dx, cat["y"] + dy
    scene.add_stars(image, x, y, cat["flux"])
    table = Table(
        {"x": x, "y": y, "flux": cat["flux"], "region": cat["region"], "kind": ["star"] * len(x)}
    )
    if exp.kind == "science":
        gx, gy = scene.GALAXY_POSITION[0] + dx, scene.GALAXY_POSITION[1] + dy
        flux = cfg.scene.galaxy_flux
        scene.add_galaxy(image, gx, gy, flux)
        table.add_row({"x": gx, "y": gy, "flux": flux, "region": "imager", "kind": "galaxy"})
    table["exposure"] = exp.name
    return image, table


def simulate_ramp(
    cfg: SimConfig, det: Detector, rate: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, Table]:
    """Raw uint16 ramp (1, ngroups, NY, NX) for a signal ``rate`` in DN/s, and its CR list."""
    t = mi.FRAME_TIME
    signal = np.where(det.dead, 0.0, rate) + det.dark
    electrons = rng.poisson(np.broadcast_to(signal * (mi.GAIN * t), (cfg.ngroups, mi.NY, mi.NX)))
    # integer cumsum (exact, as a float64 one is below 2**53 e-) is 2-4x faster
    level = np.cumsum(electrons, axis=0, out=electrons) / mi.GAIN
    n_cr = rng.poisson(cfg.cr_rate * mi.NX * mi.NY * cfg.exposure_time)
    cr = Table(
        {
            "x": rng.integers(4, mi.NX - 4, n_cr),
            "y": rng.integers(0, mi.NY, n_cr),
            "group": rng.integers(1, cfg.ngroups, n_cr),
            "charge_e": np.exp(rng.uniform(np.log(300.0), np.log(30000.0), n_cr)),
        }
    )
    for x, y, g, q in cr.iterrows():
        level[g:, y, x] += q / mi.GAIN
    level += det.bias
    level += rng.standard_normal(level.shape) * (det.readnoise / np.sqrt(2.0))
    raw = (np.sqrt(1.0 + 4.0 * mi.LINEARITY_B * level) - 1.0) / (2.0 * mi.LINEARITY_B)
    np.clip(raw, 0.0, 65535.0, out=raw)
    return np.rint(raw).astype(np.uint16)[np.newaxis], cr


def ramp_fit_variance(cfg: SimConfig, det: Detector, rate: np.ndarray) -> tuple[np.ndarray, ...]:
    """Variances (DN/s)**2 an OLS ramp fit gives, with N = ngroups - 1 usable groups.

    (jwst >= 1.18 skips firstframe for MIRI by default; only the last group is flagged.)

    ``var_poisson = R / (gain (N - 1) t)`` and
    ``var_rnoise = 12 (RN_cds / sqrt 2)**2 / ((N**3 - N) t**2)`` (stcal's single segment).
    """
    n, t = cfg.ngroups - 1, mi.FRAME_TIME
    var_p = np.clip(rate, 0.0, None) / (mi.GAIN * (n - 1) * t)
    var_r = 12.0 * (det.readnoise.astype(np.float64) ** 2 / 2.0) / ((n**3 - n) * t**2)
    return var_p, var_r


STCAL_SNR_POWERS = (
    (5.0, 0.0),
    (10.0, 0.4),
    (20.0, 1.0),
    (50.0, 3.0),
    (100.0, 6.0),
    (np.inf, 10.0),
)
"""stcal's optimal weighting: (upper S/N limit, exponent P) of the group weights."""


def _slope_coefficients(n: int, power: float) -> tuple[float, float]:
    """``(sum c_i**2, sum_ij c_i c_j min(i, j))`` of stcal's weighted slope over n groups.

    The slope in DN per group is ``sum_i c_i y_i`` with ``c_i = w_i (i - xbar) /
    sum_j w_j (j - xbar)**2``, ``w_i = |(i - m) / m|**P``, ``m = (n - 1) / 2`` and ``xbar``
    the weighted mean of i.
    """
    i = np.arange(n, dtype=np.float64)
    mid = (n - 1) / 2.0
    w = np.abs((i - mid) / mid) ** power
    xbar = np.sum(w * i) / np.sum(w)
    c = w * (i - xbar) / np.sum(w * (i - xbar) ** 2)
    return float(np.sum(c**2)), float(c @ np.minimum.outer(i, i) @ c)


def slope_variance(cfg: SimConfig, det: Detector, rate: np.ndarray) -> np.ndarray:
    """Variance (DN/s)**2 of the slope stcal fits, which its VAR_* arrays understate.

    For cumulative reads ``y_i`` with read noise ``s = RN_cds / sqrt 2`` and Poisson counts
    (covariance ``(R t / gain) min(i, j)``, R including dark): ``var = (s**2 a_P +
    (R t / gain) b_P) / t**2`` with ``(a_P, b_P) = _slope_coefficients(N, P)``, N =
    ngroups - 1, and P from stcal's ``S/N = gain S / sqrt(s**2 + gain S)``, ``S = R (N - 1)
    t``. For the sky of the built-in data (P = 3) this is 8 % above var_p + var_r.
    """
    n, t = cfg.ngroups - 1, mi.FRAME_TIME
    signal = np.clip(rate + det.dark, 0.0, None)
    read_var = det.readnoise.astype(np.float64) ** 2 / 2.0
    counts = mi.GAIN * signal * (n - 1) * t
    snr = counts / np.sqrt(read_var + counts)
    var = np.empty_like(signal)
    lower = 0.0
    for upper, power in STCAL_SNR_POWERS:
        sel = (snr >= lower) & (snr < upper)
        a, b = _slope_coefficients(n, power)
        var[sel] = (read_var[sel] * a + signal[sel] * t / mi.GAIN * b) / t**2
        lower = upper
    return var


def simulate_rate(
    cfg: SimConfig, det: Detector, rate: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Rate-level mode: ``data = R + N(0, slope_variance)``; bad pixels NaN (DO_NOT_USE).

    The variance arrays are what stcal reports (`ramp_fit_variance`); the noise drawn is the
    scatter of stcal's slope (`slope_variance`). Cosmic rays are not drawn (jump detection
    removes the ones above threshold).
    """
    signal = np.where(det.dead, 0.0, rate)
    var_p, var_r = ramp_fit_variance(cfg, det, signal)
    noise = np.sqrt(slope_variance(cfg, det, signal))
    data = signal + noise * rng.standard_normal(signal.shape)
    data[det.dead | det.hot] = np.nan
    return data.astype(np.float32), var_p.astype(np.float32), var_r.astype(np.float32)


