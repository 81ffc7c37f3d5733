"""The flight set's offline stand-in: a program-2754-like F2550W observation at rate level.

No machine here reaches Box or Artifactory, so the flight path (rate files, no detector1,
detection-based pixel sets, a background-limited sky) is exercised on a simulation of it:

- the 8 files of `datasets.FLIGHT` under their flight names, FULL array, ``MIR_IMAGE``,
  filter F2550W, the MIRI 4-point dither (`instrument.DITHER_OFFSETS`);
- the detector-fixed background map of the built-in data (`scene.background_rate`: 5 %
  gradient, Lyot 0.75, 4QPM 0.6) at the F2550W level `datasets.F2550W_SKY_RATE`
  (1000 DN/s, 62 x F770W);
- rate-level noise as `signal.simulate_rate` draws it (stcal's slope scatter, ERR from
  its VAR_* arrays) for NGROUPS = 10 FASTR1 groups: ~2.9 DN/s per sky pixel;
- sources the detection path must handle, all with the F2550W PSF (pixel-integrated
  Gaussian, FWHM `datasets.F2550W_FWHM_PIX` = 7.3 px): the supernova and 60 field stars
  and an extended dust cloud in the science field; 30 stars in the background field, one
  of which sits on the notebook's background pixel (x=850, y=875) in the second background
  exposure, all separated by 4 FWHM at every pair of dithers (so at each pixel at most one
  background holds a star, the premise of the clipping);
- nothing within `KEEP_CLEAR` of the notebook's science (600, 600) and bsub (500, 850)
  pixels at any dither;
- what real sets have (`realism`): the background visit's sky changed by a level and a
  gradient (`StandinConfig.sky_change_level`, ``sky_change_gradient``: 80 % of what the
  flight set promises, `datasets.FLIGHT`'s ``sky_stability``; sign and direction from the
  seed), the scar's stripes, shorted columns 385-386 and clustered bad pixels.

It is served like the flight files (no catalog, no truth): the checks run on it as on the
real data. The truth (background map, catalog, source images) is kept beside, in
``sim_truth/``, for diagnosis only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table, vstack
from stdatamodels.jwst import datamodels

from miri_background.cache import ContentCache
from miri_background.files import file_sha256, link_atomic
from miri_background.frozen import FrozenMap
from miri_background.inputs import crds_local
from miri_background.inputs.real.manifest import load_manifest
from miri_background.inputs.records import Inputs
from miri_background.inputs.simulator import realism, scene
from miri_background.inputs.simulator.config import DEFAULT_SEED, SimConfig
from miri_background.inputs.simulator.signal import make_detector, purpose_rng, simulate_rate
from miri_background.inputs.simulator.writer import atomic_save, set_metadata
from miri_background.keys import stage_parts
from miri_background.observation import datasets
from miri_background.observation import instrument as mi
from miri_background.observation.notebook import EXPOSURES

FLIGHT = datasets.FLIGHT
KEEP_CLEAR = 6.0 * FLIGHT.fwhm_pix
"""pixels: no source centre this close to the named sky pixels at any dither (the PSF is
below 1e-5 of its peak beyond it)."""
MIN_SEPARATION = 4.0 * FLIGHT.fwhm_pix
"""pixels: background stars at least this far apart at every pair of dithers."""
PSF_HALF = int(np.ceil(5.0 * FLIGHT.fwhm_pix))
"""Half size of a star stamp (5 FWHM, 12 Gaussian sigma)."""


@dataclass(frozen=True)
class StandinConfig:
    """What the stand-in depends on (DN/s for rates, pixels for positions)."""

    seed: int = DEFAULT_SEED
    ngroups: int = 10
    sky_rate: float = datasets.F2550W_SKY_RATE
    n_science_stars: int = 60
    science_peak_min: float = 30.0
    science_peak_max: float = 3000.0
    supernova_peak: float = 2000.0
    dust_flux: float = 4.0e5
    dust_position: tuple[float, float] = (760.0, 430.0)
    n_background_stars: int = 30
    background_peak_min: float = 60.0
    background_peak_max: float = 400.0
    """Background-star peaks: 20-140 sigma of one sky pixel, clipped by sigma <= 2."""
    sky_change_level: float = 0.8 * FLIGHT.sky_stability.level
    """Level change of the background visit's sky, fraction of the sky (sign drawn)."""
    sky_change_gradient: float = 0.8 * FLIGHT.sky_stability.gradient
    """Gradient change of the background visit's sky, fraction of the sky per 1000 px."""
    defects: bool = True
    """The scar's stripes, shorted columns, clustered bad pixels and each exposure's
    jump flags (`realism`)."""

    @property
    def detector_config(self) -> SimConfig:
        """The built-in detector model (gain, read noise, dark, bad pixels) and ramp length."""
        return SimConfig(seed=self.seed, ngroups=self.ngroups)


def _rng(seed: int, purpose: str) -> np.random.Generator:
    return purpose_rng(seed, f"flight/{purpose}")


PEAK_FRACTION = scene.psf_peak_fraction(FLIGHT.fwhm_pix, PSF_HALF)
"""Fraction of a centred star's flux in its brightest pixel (0.0166)."""


def _clear_of_named(x: float, y: float) -> bool:
    """Whether a source at base (x, y) stays `KEEP_CLEAR` from the science and bsub
    pixels at every dither."""
    named = np.array([FLIGHT.science_pixel, FLIGHT.bsub_pixel], float)
    for dx, dy in mi.DITHER_OFFSETS:
        if np.min(np.hypot(named[:, 0] - (x + dx), named[:, 1] - (y + dy))) < KEEP_CLEAR:
            return False
    return True


def _imager_box() -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of base positions inside the imager field at every dither."""
    dx = [o[0] for o in mi.DITHER_OFFSETS]
    dy = [o[1] for o in mi.DITHER_OFFSETS]
    m = 3.0 * FLIGHT.fwhm_pix
    return 359 - min(dx) + m, 1026 - max(dx) - m, -min(dy) + m, mi.NY - 1 - max(dy) - m


def science_catalog(cfg: StandinConfig, rng: np.random.Generator) -> Table:
    """Science field at dither 1: the supernova at the reference point, field stars with
    log-uniform peaks in [science_peak_min, science_peak_max] DN/s, and the dust cloud."""
    xmin, xmax, ymin, ymax = _imager_box()
    xs, ys = [693.5], [511.5]  # the imager's reference point (1-based 694.5, 512.5)
    while len(xs) < cfg.n_science_stars + 1:
        x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        if _clear_of_named(x, y):
            xs.append(x)
            ys.append(y)
    lo, hi = np.log(cfg.science_peak_min), np.log(cfg.science_peak_max)
    peaks = np.r_[cfg.supernova_peak, np.exp(rng.uniform(lo, hi, cfg.n_science_stars))]
    table = Table({"x": xs, "y": ys, "flux": peaks / PEAK_FRACTION})
    table["kind"] = ["supernova"] + ["star"] * cfg.n_science_stars
    table.add_row({"x": cfg.dust_position[0], "y": cfg.dust_position[1], "flux": cfg.dust_flux})
    table["kind"][-1] = "dust"
    return table


def background_catalog(cfg: StandinConfig, rng: np.random.Generator) -> Table:
    """Background field at dither 1: the star put on the notebook's background pixel in
    the second background exposure, then stars drawn uniformly, each kept if it is
    `MIN_SEPARATION` from the others at every pair of dithers and clear of the named
    sky pixels."""
    offsets = np.array(mi.DITHER_OFFSETS)
    shifts = (offsets[:, None, :] - offsets[None, :, :]).reshape(-1, 2)
    bx, by = FLIGHT.background_pixel
    xs, ys = [bx - offsets[1, 0]], [by - offsets[1, 1]]
    xmin, xmax, ymin, ymax = _imager_box()
    while len(xs) < cfg.n_background_stars:
        x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        dx = np.subtract.outer(np.array(xs) - x, shifts[:, 0])
        dy = np.subtract.outer(np.array(ys) - y, shifts[:, 1])
        if np.min(np.hypot(dx, dy)) >= MIN_SEPARATION and _clear_of_named(x, y):
            xs.append(x)
            ys.append(y)
    lo, hi = np.log(cfg.background_peak_min), np.log(cfg.background_peak_max)
    peaks = np.exp(rng.uniform(lo, hi, cfg.n_background_stars))
    table = Table({"x": xs, "y": ys, "flux": peaks / PEAK_FRACTION})
    table["kind"] = "star"
    return table


def source_image(catalog: Table, dither: int) -> np.ndarray:
    """Noise-free sources of one exposure in DN/s: point sources, and the dust cloud as a
    Sersic profile (n = 1, r_eff = 25 px, ellipticity 0.3) normalised to its flux."""
    from astropy.modeling.models import Sersic2D

    dx, dy = mi.DITHER_OFFSETS[dither]
    image = np.zeros((mi.NY, mi.NX))
    points = catalog[catalog["kind"] != "dust"]
    scene.add_stars(
        image,
        points["x"] + dx,
        points["y"] + dy,
        points["flux"],
        fwhm_pix=FLIGHT.fwhm_pix,
        half=PSF_HALF,
    )
    for row in catalog[catalog["kind"] == "dust"]:
        yy, xx = np.mgrid[0 : mi.NY, 0 : mi.NX]
        model = Sersic2D(1.0, 25.0, 1.0, row["x"] + dx, row["y"] + dy, ellip=0.3, theta=0.8)
        cloud = model(xx, yy)
        image += row["flux"] * cloud / cloud.sum()
    return image


def _set_metadata(model, cfg: StandinConfig, kind: str, dither: int, name: str) -> None:
    """The built-in exposure's metadata (`writer.set_metadata`), with the flight set's
    file name, filter, program, observation and visit group."""
    twin = next(e for e in EXPOSURES if e.kind == kind and e.dither == dither)
    set_metadata(model, cfg.detector_config, twin)
    m = model.meta
    m.filename = f"{name}_rate.fits"
    m.instrument.filter = FLIGHT.filter
    m.observation.program_number = "02754"
    m.observation.observation_number = "001" if kind == "science" else "002"
    m.observation.visit_group = "06" if kind == "science" else "02"
    m.target.proposer_name = "SN2021AXDF" if kind == "science" else "BACKGROUND"


def write_exposure(cfg, det, background, catalog, kind, dither, name, out: Path, defects) -> Path:
    """Simulate and write one rate file and its noise-free source image; ``defects``
    ((NY, NX) bool) are DO_NOT_USE with no value, as the detector's dead and hot pixels;
    with ``cfg.defects`` the exposure's own jumps are flagged (`realism.jump_flags`)."""
    sources = source_image(catalog, dither)
    rng = _rng(cfg.seed, f"exposure/{name}")
    data, var_p, var_r = simulate_rate(cfg.detector_config, det, background + sources, rng)
    dq = np.where(det.dead | det.hot | defects, 1, 0).astype(np.uint32)
    data[defects] = np.nan
    if cfg.defects:  # cosmic rays the ramp fit recovered: flagged, value kept
        dq[realism.jump_flags(_rng(cfg.seed, f"jumps/{name}")) & (dq == 0)] |= realism.JUMP_DET
    err = np.sqrt(var_p + var_r).astype(np.float32)
    err[(dq & 1) > 0] = np.nan  # DO_NOT_USE: no value; a jump keeps its ERR
    model = datamodels.ImageModel(data=data, err=err, dq=dq, var_poisson=var_p, var_rnoise=var_r)
    model.meta.bunit_data = model.meta.bunit_err = "DN/s"
    _set_metadata(model, cfg, kind, dither, name)
    path = out / f"{name}_rate.fits"
    atomic_save(model, path)
    model.close()
    atomic_save(
        fits.HDUList([fits.PrimaryHDU(sources.astype(np.float32))]),
        out / "sim_truth" / f"{name}_sources.fits",
    )
    return path


def simulate_standin(out: Path, cfg: StandinConfig = StandinConfig()) -> dict[str, Path]:
    """Write the 8 rate files, ``sim_truth/`` and ``manifest.json`` (sha256 of each file).

    Returns
    -------
    dict of str to Path
        Exposure name -> rate file, science first.
    """
    out = Path(out)
    (out / "sim_truth").mkdir(parents=True, exist_ok=True)
    det = make_detector(cfg.detector_config)
    background = scene.background_rate(cfg.sky_rate).astype(np.float64)
    rng = _rng(cfg.seed, "scene")
    catalogs = {"science": science_catalog(cfg, rng), "background": background_catalog(cfg, rng)}
    real_rng = _rng(cfg.seed, "realism")
    change = realism.draw_sky_change(real_rng, cfg.sky_change_level, cfg.sky_change_gradient)
    defects = np.zeros(background.shape, bool)
    if cfg.defects:
        background = background * realism.scar_stripes()
        named = (FLIGHT.science_pixel, FLIGHT.background_pixel, FLIGHT.bsub_pixel)
        defects = realism.defect_mask(real_rng, clear=named)
    skies = {"science": background, "background": change.apply(background, cfg.sky_rate)}
    files, tables = {}, []
    for kind, names in (("science", FLIGHT.science_names), ("background", FLIGHT.background_names)):
        for dither, name in enumerate(names):
            files[name] = write_exposure(
                cfg, det, skies[kind], catalogs[kind], kind, dither, name, out, defects
            )
            dx, dy = mi.DITHER_OFFSETS[dither]
            table = catalogs[kind].copy()
            table["x"] += dx
            table["y"] += dy
            table["exposure"] = name
            tables.append(table)
    for kind, sky in skies.items():
        atomic_save(
            fits.HDUList([fits.PrimaryHDU(sky.astype(np.float32))]),
            out / "sim_truth" / f"{kind}_sky_rate.fits",
        )
    vstack(tables).write(out / "sim_truth" / ".catalog.ecsv", format="ascii.ecsv")
    os.replace(out / "sim_truth" / ".catalog.ecsv", out / "sim_truth" / "catalog.ecsv")
    written = sorted(p for p in out.rglob("*") if p.is_file())
    manifest = {
        "data_set": FLIGHT.name,
        "config": asdict(cfg),
        "sky_change": asdict(change),
        "files": {str(p.relative_to(out)): file_sha256(p) for p in written},
    }
    (out / ".manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(out / ".manifest.json", out / "manifest.json")
    return files


def key_parts(cfg: StandinConfig) -> dict:
    """What the stand-in's files depend on: configuration, simulator source, writers."""
    return stage_parts(
        "flight-standin",
        config=asdict(cfg),
        sources=(
            "inputs.simulator.flight_standin",
            "inputs.simulator.realism",
            "inputs.simulator.signal",
            "inputs.simulator.writer",
            "inputs.simulator.scene",
            "observation.datasets",
            "observation.artefacts",
            "observation.instrument",
        ),
        versions=("numpy", "astropy", "stdatamodels", "crds"),
    )


def prepare_standin(cache: ContentCache, cfg: StandinConfig):
    """The stand-in as `pipeline.Inputs` (cached): rate files, no truth (the checks treat
    it as the flight data), and a local CRDS context with every type N/A (image2's
    background step needs no reference file)."""

    def build(out: Path) -> None:
        simulate_standin(out / "data", cfg)
        crds_local.build_context(out / "crds", {})

    entry = cache.get_or_build("flight-standin", key_parts(cfg), build)
    files = {n: entry.path / "data" / f"{n}_rate.fits" for n in FLIGHT.names}
    return Inputs(
        source="simulated-flight",
        uncal=FrozenMap(),
        readnoise=None,
        sim_truth=None,
        crds_root=entry.path / "crds",
        sim_config=cfg,
        seconds=entry.seconds,
        hit=entry.hit,
        rates=FrozenMap(files),
        data_set=FLIGHT.name,
    )


def write_mirrors(files: dict[str, Path], root: Path, *, env: str = "dev") -> dict[str, Path]:
    """Lay the 8 files out as the remote sources hold them, under the flight manifest's
    names: ``<root>/bigdata/jwst-pipeline/<env>/<artifactory_path>`` (TEST_BIGDATA) and
    ``<root>/box/<box_id>.fits`` (MIRI_BACKGROUND_BOX_URL). Hard links where possible.

    Returns
    -------
    dict
        ``{"bigdata": ..., "box": ...}``: the two roots.
    """
    roots = {"bigdata": root / "bigdata", "box": root / "box"}
    for remote in load_manifest(FLIGHT.manifest):
        src = files[FLIGHT.exposure_name(remote.name)]
        for dest in (
            roots["bigdata"] / "jwst-pipeline" / env / remote.artifactory_path,
            roots["box"] / f"{remote.box_id}.fits",
        ):
            dest.parent.mkdir(parents=True, exist_ok=True)
            link_atomic(src, dest)
    return roots
