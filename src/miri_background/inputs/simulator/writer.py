"""Writes the simulated data set: the notebook's 8 level-1b ``uncal`` files (or, in
``rate`` mode, the rate images a ramp fit would give), the simulation's truth and a manifest.

The same seed and configuration give byte-identical files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from unittest import mock

import numpy as np
from astropy.io import fits
from astropy.table import Table
from stdatamodels import DataModel
from stdatamodels.jwst import datamodels
from stdatamodels.jwst.datamodels import JwstDataModel

from miri_background.files import atomic_target, file_sha256, write_json_atomic
from miri_background.inputs.simulator.config import FIXED_DATE, OBS_DATE, OBS_TIME, SimConfig
from miri_background.inputs.simulator.signal import (
    Detector,
    Scene,
    make_detector,
    make_scene,
    purpose_rng,
    simulate_ramp,
    simulate_rate,
    source_rate,
)
from miri_background.observation import instrument as mi
from miri_background.observation.notebook import EXPOSURES, Exposure


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
    beside it, then os.replace (not `files.atomic_target`: the file must be written under
    its final name, which stdatamodels records in FILENAME).

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
    rng = purpose_rng(cfg.seed, f"exposure/{exp.name}")
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
    cfg: SimConfig | None = None,
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
    cfg : SimConfig, optional
        Data-set parameters (default: ``SimConfig()``, the canonical data set).
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
    if cfg is None:
        cfg = SimConfig()
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
        with atomic_target(truth / f"{name}.ecsv") as tmp:
            vstack(tables).write(tmp, format="ascii.ecsv", overwrite=True)


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
    write_json_atomic(out / "manifest.json", manifest, sort_keys=True)
    return manifest
