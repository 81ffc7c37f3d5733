"""Deterministic rate-level files of a scenario: one science exposure and its backgrounds.

Every exposure is cut from one detector-fixed FULL-frame scene, so that a background put at
the wrong place shows (1-based detector column x, row y; frame size 1032 x 1024)::

    sky(x, y) = SKY_RATE * (1 + 0.05 (x - 516) / 516 + 0.03 (y - 512) / 512)       DN/s

plus, per exposure, `N_STARS` Gaussian stars (FWHM 2.45 px, peaks 40-280 DN/s) at positions
that differ between exposures (so clipping has stars to remove), and noise drawn from the
errors written beside it::

    VAR_POISSON = rate / (mi.GAIN * EXPOSURE_TIME),  VAR_RNOISE = RNOISE_VAR,
    VAR_FLAT = (FLAT_FRACTION * rate)**2,  ERR = sqrt(sum of the three),
    SCI = rate + ERR * N(0, 1)

drawn per integration for rateints (variances of integration k x (1 + 0.05 k)**2).
Positions of stars, the lone outlier and the `model.MISSING_PATTERNS` are
given in the science frame, so they land on the same science pixels whatever each
background's subarray is. The generator of each exposure is seeded from the observation,
the exposure name and the data set's seed (`seed`, ``--sim-seed``): the same scenario and
seed give the same values on every run, and ``make specificity`` draws other noise.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels
from stdatamodels.jwst.datamodels import dqflags

from miri_background.inputs.simulator.scene import add_stars, psf_peak_fraction
from miri_background.observation import instrument as mi
from miri_background.scenarios.model import Scenario, Subarray, siaf_subarray

FRAMES = 100
"""FASTR1 frames of an exposure: EXPOSURE_TIME = 100 x FRAME_TIME = 277.504 s."""
EXPOSURE_TIME = FRAMES * mi.FRAME_TIME
"""s; VAR_POISSON = SKY_RATE / (GAIN * EXPOSURE_TIME) = 16 / (5.5 * 277.5) = 0.0105
(DN/s)**2 on the sky (`instrument.SKY_RATE`, `instrument.GAIN`)."""
RNOISE_VAR = 0.002
"""(DN/s)**2, the read-noise variance of the rate."""
FLAT_FRACTION = 0.002
INTEGRATION_ERR_STEP = 0.05
"""Integration k of a rateints file has its variances x (1 + 0.05 k)**2, so that the 3-D
ERR rule (mean of the kept ERR**2 or that / n) shows in the combined ERR."""
N_STARS = 3
OUTLIER_RATE = 5000.0
"""DN/s added to one pixel of the first background (``Scenario.outlier``): with noise of
~0.1 DN/s its z is N / sqrt(N - 1) to 1e-4, far enough from sigma = 3 for N = 8 (3.02)."""
FLAGGED_FINITE_RATE = 900.0
"""DN/s of the ``flagged-finite`` pixels (a cosmic ray flagged but not blanked)."""

DO_NOT_USE = dqflags.pixel["DO_NOT_USE"]
SATURATED = dqflags.pixel["SATURATED"]
JUMP_DET = dqflags.pixel["JUMP_DET"]

MISSING_PIXELS = {
    "nan-a": ((5, 7), (20, 11)),
    "nan-b": ((30, 40),),
    "nan-all": ((10, 50),),
    "flagged-finite": ((40, 20),),
}
"""Pattern -> science-frame (x, y), 0-based, of `scenarios.MISSING_PATTERNS`."""


def outlier_pixel(science: Subarray) -> tuple[int, int]:
    """Science-frame (x, y) of the lone outlier: the frame's centre."""
    return science.xsize // 2, science.ysize // 2


def sky(region: Subarray) -> np.ndarray:
    """`sky` over ``region`` (DN/s, float64, shape ``region.shape``)."""
    y, x = np.mgrid[region.rows, region.columns] + 1.0
    return mi.SKY_RATE * (1 + 0.05 * (x - 516) / 516 + 0.03 * (y - 512) / 512)


def _stars(region: Subarray, science: Subarray, index: int) -> np.ndarray:
    """`N_STARS` stars of exposure ``index``, placed at science-frame fractions, drawn by
    the simulator's renderer (`scene.add_stars`): star k peaks at 40 (1 + 3 k) DN/s when
    centred on a pixel."""
    image = np.zeros(region.shape)
    k = np.arange(N_STARS)
    fx, fy = (0.2 + 0.23 * k + 0.071 * index) % 0.9, (0.15 + 0.27 * k + 0.113 * index) % 0.9
    x = science.xstart + fx * science.xsize - region.xstart
    y = science.ystart + fy * science.ysize - region.ystart
    add_stars(image, x, y, 40.0 * (1 + 3 * k) / psf_peak_fraction())
    return image


def _in_frame(region: Subarray, science: Subarray, x: int, y: int) -> tuple[int, int] | None:
    """Science-frame pixel (x, y) in ``region``'s array, or None where it is outside."""
    i, j = y + science.ystart - region.ystart, x + science.xstart - region.xstart
    return (i, j) if 0 <= i < region.ysize and 0 <= j < region.xsize else None


@dataclass(frozen=True)
class Exposure:
    """One file of a scenario: its role and name, geometry and integrations."""

    name: str
    region: Subarray
    nints: int
    missing: tuple[str, ...] = ()
    outlier: bool = False
    keywords: bool = True
    omit: tuple[str, ...] = ()


def exposures(scenario: Scenario) -> tuple[Exposure, ...]:
    """The science exposure (``sci``) and the backgrounds (``bkg1`` ...), in order."""
    science = Exposure(
        "sci",
        siaf_subarray(scenario.science),
        scenario.science_nints,
        keywords=scenario.science_keywords,
    )
    backgrounds = tuple(
        Exposure(
            f"bkg{i}",
            siaf_subarray(b.subarray),
            b.nints,
            b.missing,
            scenario.outlier and i == 1,
            b.keywords,
            b.omit,
        )
        for i, b in enumerate(scenario.backgrounds, start=1)
    )
    return (science, *backgrounds)


def file_name(exposure: Exposure) -> str:
    """``<name>_rate.fits`` or, with more than one integration, ``<name>_rateints.fits``."""
    return f"{exposure.name}_{'rateints' if exposure.nints > 1 else 'rate'}.fits"


def observation(scenario: Scenario) -> dict:
    """The scenario as a dict without ``id``, ``kind``, ``why`` and ``supply`` (what the
    files depend on: their seed and cache key), and without the
    keyword flags (``keywords``, ``science_keywords``, ``omit``) at their defaults: those
    were added later, and leaving their defaults out keeps every other scenario's noise (and
    ``truth/scenarios.json``) as it was."""
    result = {
        k: v for k, v in asdict(scenario).items() if k not in ("id", "kind", "why", "supply")
    }
    if result["science_keywords"]:
        del result["science_keywords"]
    for background in result["backgrounds"]:
        if background["keywords"]:
            del background["keywords"]
        if not background["omit"]:
            del background["omit"]
    return result


def seed(scenario: Scenario, exposure: Exposure, sim_seed: int) -> int:
    """The first 8 bytes of sha256(`observation` as JSON, exposure name, ``sim_seed``):
    scenarios that differ only in how the backgrounds are supplied get the same values."""
    text = json.dumps(observation(scenario), sort_keys=True) + exposure.name + f"/{sim_seed}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def make_model(scenario: Scenario, exposure: Exposure, index: int, sim_seed: int):
    """The rate (ImageModel) or rateints (CubeModel) of ``exposure`` (index 0 = science),
    its noise drawn from `seed`."""
    science = siaf_subarray(scenario.science)
    region = exposure.region
    rng = np.random.default_rng(seed(scenario, exposure, sim_seed))
    rate = sky(region) + _stars(region, science, index)
    var_poisson = rate / (mi.GAIN * EXPOSURE_TIME)
    var_rnoise = np.full(region.shape, RNOISE_VAR)
    var_flat = (FLAT_FRACTION * rate) ** 2
    shape = (exposure.nints, *region.shape)
    scale = (1 + INTEGRATION_ERR_STEP * np.arange(exposure.nints))[:, None, None] ** 2
    var_poisson, var_rnoise, var_flat = (scale * v for v in (var_poisson, var_rnoise, var_flat))
    err = np.sqrt(var_poisson + var_rnoise + var_flat)
    data = rate + err * rng.standard_normal(shape)
    dq = np.zeros(shape, np.uint32)
    if exposure.outlier and (at := _in_frame(region, science, *outlier_pixel(science))):
        data[(slice(None), *at)] += OUTLIER_RATE
    for pattern in exposure.missing:
        for x, y in MISSING_PIXELS[pattern]:
            if (at := _in_frame(region, science, x, y)) is None:
                continue
            where = (slice(None), *at)
            if pattern == "flagged-finite":
                data[where], dq[where] = FLAGGED_FINITE_RATE, DO_NOT_USE | JUMP_DET
            else:
                data[where], dq[where] = np.nan, DO_NOT_USE | SATURATED
    arrays = {
        "data": data,
        "dq": dq,
        "err": err,
        "var_poisson": var_poisson,
        "var_rnoise": var_rnoise,
        "var_flat": var_flat,
    }
    if exposure.nints == 1:
        model = datamodels.ImageModel(region.shape)
        arrays = {k: v[0] for k, v in arrays.items()}
    else:
        model = datamodels.CubeModel(shape)
    if index > 0:  # the step reads SCI, ERR and DQ of a background: half the bytes
        arrays = {k: v for k, v in arrays.items() if not k.startswith("var_")}
    for key, value in arrays.items():
        setattr(model, key, value.astype(np.uint32 if key == "dq" else np.float32))
    set_metadata(model, exposure, index)
    return model


def set_metadata(model, exposure: Exposure, index: int) -> None:
    """What the background step and Image2Pipeline read: MIRI imager, F770W, the subarray
    (SUBSTRT / SUBSIZE, left out where ``exposure.keywords`` is False and those in
    ``exposure.omit``), NINTS; dates fixed."""
    m = model.meta
    m.filename = file_name(exposure)
    m.telescope = "JWST"
    m.instrument.name, m.instrument.detector, m.instrument.filter = "MIRI", "MIRIMAGE", "F770W"
    m.observation.date, m.observation.time = "2023-06-01", "12:00:00.000"
    m.exposure.type, m.exposure.readpatt = "MIR_IMAGE", "FASTR1"
    m.exposure.nints, m.exposure.ngroups, m.exposure.nframes = exposure.nints, 100, 1
    m.exposure.start_time = 60096.5 + 0.01 * index
    m.exposure.exposure_time = m.exposure.effective_exposure_time = EXPOSURE_TIME
    region = exposure.region
    m.subarray.name = region.name
    m.subarray.fastaxis, m.subarray.slowaxis = 1, 2
    if exposure.keywords:
        m.subarray.xstart, m.subarray.ystart = region.xstart, region.ystart
        m.subarray.xsize, m.subarray.ysize = region.xsize, region.ysize
        for name in exposure.omit:
            setattr(m.subarray, name, None)


def write(scenario: Scenario, out: Path, sim_seed: int) -> dict[str, Path]:
    """Write the scenario's files (noise of ``sim_seed``) into ``out``; ``{name: path}``."""
    paths = {}
    for index, exposure in enumerate(exposures(scenario)):
        with make_model(scenario, exposure, index, sim_seed) as model:
            paths[exposure.name] = out / file_name(exposure)
            model.save(paths[exposure.name])
    return paths
