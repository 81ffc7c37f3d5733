"""Synthetic MIRI reference files consistent with the simulator's detector.

Each file states in its DESCRIP what it models; values come from `simulate.Detector` and
`instrument`, so that detector1 undoes exactly what the simulator did:

- mask: DO_NOT_USE + DEAD / HOT for the simulated bad pixels, REFERENCE_PIXEL on the
  reference columns;
- saturation: ``SATURATION_DN`` raw DN everywhere;
- linearity: ``L = raw + B raw**2`` (coefficients [0, 1, B]);
- dark: ``dark_g = R_dark * (g + 1) * t_frame`` DN, 4-D (1, ngroups, NY, NX);
- gain: ``GAIN`` e-/DN; readnoise: the CDS read-noise map (DN).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels
from stdatamodels.jwst.datamodels import dqflags

from miri_background.inputs.simulator.config import SimConfig
from miri_background.inputs.simulator.signal import Detector
from miri_background.inputs.simulator.writer import atomic_save
from miri_background.observation import instrument as mi
from miri_background.observation.notebook import READNOISE_NAME

log = logging.getLogger(__name__)

USEAFTER = "2022-01-01T00:00:00"


def _common_meta(model, reftype: str, description: str) -> None:
    m = model.meta
    m.reftype = reftype.upper()
    m.author = "miri_background simulator"
    m.pedigree = "DUMMY"
    m.useafter = USEAFTER
    m.description = description
    m.telescope = "JWST"
    m.instrument.name, m.instrument.detector = "MIRI", "MIRIMAGE"
    m.subarray.name, m.subarray.xstart, m.subarray.ystart = "FULL", 1, 1
    m.subarray.xsize, m.subarray.ysize = mi.NX, mi.NY
    m.exposure.type = "MIR_IMAGE"
    m.date = "2026-01-01T00:00:00.000"


def _save(model, path: Path) -> Path:
    atomic_save(model, path)  # reproducible bytes (meta.date stays the fixed one)
    model.close()
    return path


def _mask(det: Detector) -> datamodels.MaskModel:
    f = dqflags.pixel
    dq = np.zeros((mi.NY, mi.NX), np.uint32)
    dq[det.dead] = f["DO_NOT_USE"] | f["DEAD"]
    dq[det.hot] = f["DO_NOT_USE"] | f["HOT"]
    dq[:, list(mi.REFERENCE_COLUMNS)] |= f["REFERENCE_PIXEL"]
    model = datamodels.MaskModel(dq=dq)
    _common_meta(model, "mask", "Simulated bad pixels: dead and hot, DO_NOT_USE")
    return model


def _saturation() -> datamodels.SaturationModel:
    model = datamodels.SaturationModel(data=np.full((mi.NY, mi.NX), mi.SATURATION_DN, np.float32))
    model.dq = np.zeros((mi.NY, mi.NX), np.uint32)
    _common_meta(model, "saturation", f"Simulated saturation at {mi.SATURATION_DN:.0f} raw DN")
    return model


def _linearity() -> datamodels.LinearityModel:
    coeffs = np.zeros((3, mi.NY, mi.NX), np.float32)
    coeffs[1], coeffs[2] = 1.0, mi.LINEARITY_B
    model = datamodels.LinearityModel(coeffs=coeffs, dq=np.zeros((mi.NY, mi.NX), np.uint32))
    _common_meta(model, "linearity", f"Simulated non-linearity L = raw + {mi.LINEARITY_B} raw^2")
    return model


def _dark(cfg: SimConfig, det: Detector) -> datamodels.DarkMIRIModel:
    t = (np.arange(cfg.ngroups, dtype=np.float32) + 1.0) * np.float32(mi.FRAME_TIME)
    data = (t[:, None, None] * det.dark[None])[None]
    model = datamodels.DarkMIRIModel(
        data=data, dq=np.zeros((1, 1, mi.NY, mi.NX), np.uint32), err=np.zeros_like(data)
    )
    _common_meta(model, "dark", "Simulated dark current accumulation per group")
    e = model.meta.exposure
    e.nframes, e.ngroups, e.nints, e.groupgap, e.readpatt = 1, cfg.ngroups, 1, 0, "FASTR1"
    return model


def _gain() -> datamodels.GainModel:
    model = datamodels.GainModel(data=np.full((mi.NY, mi.NX), mi.GAIN, np.float32))
    _common_meta(model, "gain", f"Simulated gain {mi.GAIN} e/DN")
    return model


def _readnoise(det: Detector) -> datamodels.ReadnoiseModel:
    model = datamodels.ReadnoiseModel(data=det.readnoise.copy())
    _common_meta(model, "readnoise", "Simulated CDS read noise (DN)")
    model.meta.exposure.readpatt = "FASTR1"
    return model


def write_references(out: Path, cfg: SimConfig, det: Detector) -> dict[str, Path]:
    """Write the 6 reference files and the readnoise override into ``out``.

    Returns
    -------
    paths : dict of str to Path
        Reference type -> file, plus ``readnoise_override`` -> ``jwst_mirisim_readnoise.fits``
        (the data set's own readnoise file, mirroring the notebook's MIRISim override).
    """
    out.mkdir(parents=True, exist_ok=True)
    models = {
        "mask": _mask(det),
        "saturation": _saturation(),
        "linearity": _linearity(),
        "dark": _dark(cfg, det),
        "gain": _gain(),
        "readnoise": _readnoise(det),
    }
    paths = {k: _save(m, out / f"jwst_miri_{k}_sim_{cfg.seed}.fits") for k, m in models.items()}
    paths["readnoise_override"] = _save(_readnoise(det), out / READNOISE_NAME)
    log.info("wrote %d reference files to %s", len(paths), out)
    return paths
