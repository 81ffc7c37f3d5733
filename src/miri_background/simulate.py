"""A deterministic MIRISim-like simulator of the validation data set.

Writes the notebook's 8 level-1b ``uncal`` files (or, in ``rate`` mode, the rate images a
ramp fit would give), the truth of the simulation and a manifest. The same seed and
configuration give byte-identical files; each exposure draws from its own child of
``numpy.random.SeedSequence(seed)``, so the result does not depend on the order of work.

Ramp model (one integration, group g = 0 .. NGROUPS-1 read at t_g = (g + 1) t_frame)::

    e_g   = sum_{h<=g} Poisson(gain * (R_sky + R_src + R_dark) * t_frame)   electrons
    L_g   = bias + e_g / gain + CR_g + N(0, (RN_cds / sqrt 2)**2)            DN, linear
    raw_g = (sqrt(1 + 4 B L_g) - 1) / (2 B)                                 DN, the exact
            inverse of the linearity reference ``L = raw + B raw**2``; clipped at 65535.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from unittest import mock

import numpy as np
from astropy.io import fits
from astropy.table import Table
from stdatamodels import DataModel
from stdatamodels.jwst import datamodels
from stdatamodels.jwst.datamodels import JwstDataModel

from miri_background import instrument as mi
from miri_background import scene
from miri_background.cache import file_sha256

log = logging.getLogger(__name__)

DEFAULT_SEED = 20210609
"""The canonical seed: the truth files in ``truth/`` were blessed from it."""

SCIENCE_NAMES = tuple(f"starfield_med_seq{i}_MIRIMAGE_F770Wexp1" for i in range(1, 5))
BACKGROUND_NAMES = tuple(f"bkg_faint_seq{i}_MIRIMAGE_F770Wexp1" for i in range(1, 5))
READNOISE_NAME = "jwst_mirisim_readnoise.fits"
OBS_DATE, OBS_TIME = "2023-06-01", "12:00:00.000"
FIXED_DATE = "2026-01-01T00:00:00.000"
"""Written as the file creation date so that files are byte-identical across runs."""


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulated data set depends on.

    Parameters
    ----------
    seed : int, default DEFAULT_SEED
        Master seed.
    ngroups : int, default 10
        Groups per integration. The pipeline flags the first and last MIRI group, so 10
        leaves 8 for the fit: close to the notebook's MIRISim ramps, ~1 s per exposure.
    cr_rate : float, default 2e-5
        Cosmic-ray hits per pixel per second (about 580 per 27.8 s exposure), charge
        log-uniform in 300-30000 e-.
    bad_pixel_fraction : float, default 5e-4
        Fraction of pixels that are dead (no response) or hot (30 DN/s dark), half each;
        all are DO_NOT_USE in the mask reference.
    scene : SceneConfig
        Sky content.
    """

    seed: int = DEFAULT_SEED
    ngroups: int = 10
    cr_rate: float = 2e-5
    bad_pixel_fraction: float = 5e-4
    scene: scene.SceneConfig = field(default_factory=scene.SceneConfig)

    def __post_init__(self):
        if self.ngroups < 5:
            raise ValueError(
                f"ngroups={self.ngroups}: MIRI needs >= 5 (first and last groups are flagged)"
            )

    @property
    def exposure_time(self) -> float:
        """Integration time in s: ``ngroups * t_frame``."""
        return self.ngroups * mi.FRAME_TIME


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
    rng = _rng(cfg.seed, "detector")
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


def _rng(seed: int, purpose: str) -> np.random.Generator:
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
    rng = _rng(cfg.seed, "scene")
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


def set_metadata(model, cfg: SimConfig, exp: Exposure) -> None:
    """Fill the metadata detector1 and image2 need (instrument, exposure, subarray, WCS)."""
    m = model.meta
    m.date = FIXED_DATE
    m.filename = f"{exp.name}_uncal.fits"
    m.telescope = "JWST"
    m.instrument.name, m.instrument.detector = "MIRI", "MIRIMAGE"
    m.instrument.filter, m.instrument.band = "F770W", "N/A"
    m.observation.date, m.observation.time = OBS_DATE, OBS_TIME
    m.observation.program_number, m.observation.observation_number = "01024", "001"
    m.observation.visit_number, m.observation.visit_group = "001", "01"
    m.observation.sequence_id, m.observation.activity_id = "1", "01"
    m.observation.exposure_number = f"{exp.dither + 1:05d}"
    m.visit.type = "PRIME_TARGETED_FIXED"
    m.exposure.type, m.exposure.readpatt = "MIR_IMAGE", "FASTR1"
    m.exposure.nints, m.exposure.ngroups, m.exposure.nframes = 1, cfg.ngroups, 1
    m.exposure.groupgap, m.exposure.sample_time, m.exposure.nresets_at_start = 0, 10, 0
    m.exposure.frame_time = m.exposure.group_time = mi.FRAME_TIME
    m.exposure.integration_time = m.exposure.effective_exposure_time = cfg.exposure_time
    m.exposure.exposure_time = m.exposure.duration = cfg.exposure_time
    m.exposure.start_time = 60096.5 + 0.01 * len(EXPOSURES[: EXPOSURES.index(exp)])
    m.exposure.mid_time = m.exposure.start_time + cfg.exposure_time / 172800.0
    m.exposure.end_time = m.exposure.start_time + cfg.exposure_time / 86400.0
    m.subarray.name, m.subarray.xstart, m.subarray.ystart = "FULL", 1, 1
    m.subarray.xsize, m.subarray.ysize = mi.NX, mi.NY
    m.subarray.fastaxis, m.subarray.slowaxis = 1, 2
    m.dither.primary_type, m.dither.position_number = "4-POINT", exp.dither + 1
    m.dither.total_points = 4
    dx, dy = exp.offset
    ra0, dec0 = (80.5, -69.5) if exp.kind == "science" else (80.9, -69.2)
    scale = mi.PIXEL_SCALE_ARCSEC / 3600.0
    m.wcsinfo.ra_ref = ra0 - dx * scale / np.cos(np.radians(dec0))
    m.wcsinfo.dec_ref = dec0 - dy * scale
    m.wcsinfo.v2_ref, m.wcsinfo.v3_ref = mi.V2_REF, mi.V3_REF
    m.wcsinfo.v3yangle, m.wcsinfo.vparity, m.wcsinfo.roll_ref = mi.V3_YANGLE, -1, 0.0
    m.pointing.ra_v1, m.pointing.dec_v1, m.pointing.pa_v3 = ra0, dec0, 0.0
    m.target.ra, m.target.dec = ra0, dec0
    m.target.proposer_name = "starfield" if exp.kind == "science" else "background"


def atomic_save(model_or_hdul, path: Path) -> None:
    """Write ``path`` reproducibly: under its own name in a private temporary directory
    beside it, then os.replace.

    Datamodels are saved with stdatamodels' base ``on_save`` hook only (file name and model
    type): ``JwstDataModel.on_save`` would stamp ``meta.date`` (FITS DATE and the ASDF
    tree) with the current time, so that the same seed gave different bytes. The name
    stays the final one, so FILENAME does not carry a temporary name either.
    """
    tmpdir = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    tmp = tmpdir / path.name
    try:
        if isinstance(model_or_hdul, fits.HDUList):
            model_or_hdul.writeto(tmp)
        else:
            with mock.patch.object(JwstDataModel, "on_save", DataModel.on_save):
                model_or_hdul.save(tmp)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def simulate_exposure(
    cfg: SimConfig, det: Detector, sc: Scene, exp: Exposure, out: Path, mode: str
) -> tuple[Path, Table, Table]:
    """Simulate and write one exposure; returns its path, source catalog and CR list."""
    rng = _rng(cfg.seed, f"exposure/{exp.name}")
    sources, catalog = source_rate(cfg, sc, exp)
    rate = sc.background_rate + sources
    if mode == "uncal":
        ramp, cr = simulate_ramp(cfg, det, rate, rng)
        model = datamodels.Level1bModel(data=ramp)
        path = out / f"{exp.name}_uncal.fits"
    else:
        data, var_p, var_r = simulate_rate(cfg, det, rate, rng)
        dq = np.where(det.dead | det.hot, 1, 0).astype(np.uint32)
        err = np.sqrt(var_p + var_r).astype(np.float32)
        err[dq > 0] = np.nan
        model = datamodels.ImageModel(
            data=data, err=err, dq=dq, var_poisson=var_p, var_rnoise=var_r
        )
        model.meta.bunit_data = model.meta.bunit_err = "DN/s"
        path = out / f"{exp.name}_rate.fits"
        cr = Table(names=("x", "y", "group", "charge_e"), dtype=(int, int, int, float))
    set_metadata(model, cfg, exp)
    model.meta.filename = path.name
    atomic_save(model, path)
    model.close()
    atomic_save(
        fits.HDUList([fits.PrimaryHDU(sources.astype(np.float32))]),
        out / "sim_truth" / f"{exp.name}_sources.fits",
    )
    cr["exposure"] = exp.name
    return path, catalog, cr


def simulate(
    out: Path,
    cfg: SimConfig = SimConfig(),
    *,
    mode: str = "uncal",
    progress: Callable[[int, int, str], None] | None = None,
    processes: int = 1,
) -> dict:
    """Simulate the 8 exposures, the truth and the manifest into ``out``.

    Parameters
    ----------
    out : Path
        Output directory (created). Exposures go to ``out``, the truth to ``out/sim_truth``.
    cfg : SimConfig
        Data-set parameters.
    mode : {'uncal', 'rate'}
        ``uncal``: level-1b ramps for detector1; ``rate``: rate images with ramp-fit noise.
    progress : callable, optional
        Called as ``progress(done, total, name)`` after each exposure.
    processes : int, default 1
        Exposures simulated at once (spawned processes when > 1); each exposure draws from
        its own generator, so the files do not depend on it.

    Returns
    -------
    manifest : dict
        Parameters, seed, package versions and the sha256 of every file written.
    """
    if mode not in ("uncal", "rate"):
        raise ValueError(f"mode={mode!r}: choose 'uncal' or 'rate'")
    out = Path(out)
    (out / "sim_truth").mkdir(parents=True, exist_ok=True)
    det, sc = make_detector(cfg), make_scene(cfg)
    args = [(cfg, det, sc, exp, out, mode) for exp in EXPOSURES]
    with ExitStack() as stack:
        if processes > 1:
            pool = stack.enter_context(
                ProcessPoolExecutor(min(processes, len(args)), mp_context=get_context("spawn"))
            )
            results = (f.result() for f in [pool.submit(simulate_exposure, *a) for a in args])
        else:
            results = (simulate_exposure(*a) for a in args)
        catalogs, crs = [], []
        for i, (exp, (_, cat, cr)) in enumerate(zip(EXPOSURES, results, strict=True)):
            catalogs.append(cat)
            crs.append(cr)
            if progress:
                progress(i + 1, len(EXPOSURES), exp.name)
    return finish(out, cfg, mode, det, sc, catalogs, crs)


def finish(
    out: Path, cfg: SimConfig, mode: str, det: Detector, sc: Scene, catalogs, crs
) -> dict:
    """Write the truth shared by the exposures and the manifest, once all 8 are in
    ``out``; ``catalogs`` and ``crs`` are their tables in `EXPOSURES` order."""
    _write_truth(out / "sim_truth", det, sc, catalogs, crs)
    return _write_manifest(out, cfg, mode)


def _write_truth(truth: Path, det: Detector, sc: Scene, catalogs, crs) -> None:
    from astropy.table import vstack

    atomic_save(fits.HDUList([fits.PrimaryHDU(sc.background_rate)]), truth / "background_rate.fits")
    bad = (det.dead * 1 + det.hot * 2).astype(np.uint8)
    atomic_save(fits.HDUList([fits.PrimaryHDU(bad)]), truth / "bad_pixels.fits")
    for name, tables in (("catalog", catalogs), ("cosmic_rays", crs)):
        tmp = truth / f".{name}.ecsv.tmp"
        vstack(tables).write(tmp, format="ascii.ecsv", overwrite=True)
        os.replace(tmp, truth / f"{name}.ecsv")


def _write_manifest(out: Path, cfg: SimConfig, mode: str) -> dict:
    from importlib.metadata import version

    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "seed": cfg.seed,
        "mode": mode,
        "config": asdict(cfg),
        "versions": {p: version(p) for p in ("numpy", "astropy", "stdatamodels", "scipy")},
        "files": {str(p.relative_to(out)): file_sha256(p) for p in files},
    }
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, out / "manifest.json")
    return manifest
