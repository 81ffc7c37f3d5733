"""The built-in data set (`miri_background.simulate`): determinism, metadata, content, noise.

- Determinism: the same seed and configuration give byte-identical files (sha256 of every
  file), in rate mode for a whole data set and in uncal mode for one exposure compared with
  the session's cached file (made by another process, possibly another day); another seed
  gives other files.
- Metadata: each uncal opens with stdatamodels under strict validation and carries what
  detector1 and image2 need, with pointings that follow the dither pattern.
- Content: >= 300 science stars (imager and Lyot), ~40 background stars, one galaxy, a few
  stars that saturate.
- Noise: the rate-level mode has the per-pixel scatter of detector1 run on the uncal mode.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import angular_separation
from astropy.io import fits
from astropy.table import Table
from stdatamodels.jwst import datamodels

from miri_background.cache import ContentCache
from miri_background.checks import metrics
from miri_background.files import file_sha256
from miri_background.inputs import built_in as simulated
from miri_background.inputs.simulator import signal, writer
from miri_background.observation import instrument as mi
from miri_background.observation import notebook

EXPOSURE_IDS = [f"{e.kind}-seq{e.dither + 1}" for e in notebook.EXPOSURES]
SKY_SEPARATION_TOL_ARCSEC = 1e-4
"""Pointing offsets must match the dither table to 1e-4 arcsec (0.001 px)."""


def _digests(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _differing(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


@pytest.fixture(scope="module")
def rate_mode(sim_config, tmp_path_factory) -> Path:
    """The data set of the session's seed simulated in rate mode (about 10 s)."""
    out = tmp_path_factory.mktemp("rate-mode")
    writer.simulate(out, sim_config, mode="rate")
    return out


@pytest.fixture(scope="module")
def simulated_inputs(inputs):
    """The session inputs, when they are the built-in simulator's uncal files."""
    if inputs.sim_truth is None or not inputs.uncal:
        pytest.skip(f"data source {inputs.source!r} is not the simulator's uncal level")
    return inputs


# --- determinism ---------------------------------------------------------------------------


def test_simulator_rate_mode_same_seed_identical(rate_mode, sim_config, tmp_path):
    """Simulating the rate-mode data set twice gives byte-identical files."""
    writer.simulate(tmp_path, sim_config, mode="rate")
    first, second = _digests(rate_mode), _digests(tmp_path)
    assert len(first) == 2 * 8 + 5, "expected 21 files (8 rates, 8 sources, 4 truth, manifest)"
    differ = _differing(first, second)
    assert not differ, (
        f"{len(differ)} of {len(first)} files differ for seed {sim_config.seed}: {differ}"
    )


def test_cached_data_set_is_the_one_go_simulation(rate_mode, sim_config, tmp_path):
    """The suite's data set, assembled from one cache entry per exposure (the xdist
    split), has the files ``writer.simulate`` writes in one go, byte for byte, plus the
    readnoise override."""
    inputs = simulated.prepare_simulated(ContentCache(tmp_path), sim_config, "rate")
    built = _digests(inputs.sim_truth.parent)
    assert built.pop(notebook.READNOISE_NAME, None), "no readnoise override in the data set"
    differ = _differing(_digests(rate_mode), built)
    assert not differ, f"{len(differ)} files differ from the one-go simulation: {differ}"
    made = sorted(n for n, e in inputs.exposures.items() if not e["hit"])
    assert made == sorted(e.name for e in notebook.EXPOSURES), f"simulated here: {made}"


def test_simulator_rate_mode_other_seed_differs(rate_mode, sim_config, tmp_path):
    """Another seed changes every exposure, the catalog and the bad-pixel map.

    Seed-independent: the detector-fixed background-rate map, and the cosmic-ray list,
    which the rate mode leaves empty.
    """
    writer.simulate(
        tmp_path, dataclasses.replace(sim_config, seed=sim_config.seed + 1), mode="rate"
    )
    first, second = _digests(rate_mode), _digests(tmp_path)
    same = sorted(k for k in first if first[k] == second.get(k))
    expected = ["sim_truth/background_rate.fits", "sim_truth/cosmic_rays.ecsv"]
    assert same == expected, f"files unchanged by the seed: {same}, expected only {expected}"


def test_simulator_uncal_exposure_reproduced(simulated_inputs, sim_config, tmp_path):
    """One uncal exposure re-simulated here is byte-identical to the session's cached one."""
    exp = notebook.EXPOSURES[1]
    (tmp_path / "sim_truth").mkdir()
    det, scene = signal.make_detector(sim_config), signal.make_scene(sim_config)
    path, _, _ = writer.simulate_exposure(sim_config, det, scene, exp, tmp_path, "uncal")
    cached = simulated_inputs.uncal[exp.name]
    assert file_sha256(path) == file_sha256(cached), f"{path.name} differs from {cached}"
    sources = f"{exp.name}_sources.fits"
    assert file_sha256(tmp_path / "sim_truth" / sources) == file_sha256(
        simulated_inputs.sim_truth / sources
    ), f"{sources} differs"


# --- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize("exp", notebook.EXPOSURES, ids=EXPOSURE_IDS)
def test_simulator_uncal_metadata_round_trip(simulated_inputs, sim_config, exp):
    """The uncal validates in stdatamodels and reads back what detector1 and image2 need."""
    with datamodels.open(
        simulated_inputs.uncal[exp.name], strict_validation=True, validate_arrays=True
    ) as model:
        m = model.meta
        got = {
            "model": type(model).__name__,
            "shape": model.data.shape,
            "dtype": str(model.data.dtype),
            "instrument": (m.instrument.name, m.instrument.detector, m.instrument.filter),
            "exposure": (m.exposure.type, m.exposure.readpatt, m.exposure.nints),
            "ngroups": (m.exposure.ngroups, m.exposure.nframes, m.exposure.groupgap),
            "group_time": m.exposure.group_time,
            "subarray": (m.subarray.name, m.subarray.xstart, m.subarray.ystart),
            "size": (m.subarray.xsize, m.subarray.ysize),
            "dither": (m.dither.position_number, m.dither.total_points),
            "v2v3": (m.wcsinfo.v2_ref, m.wcsinfo.v3_ref, m.wcsinfo.v3yangle, m.wcsinfo.vparity),
        }
        ref = (m.wcsinfo.ra_ref, m.wcsinfo.dec_ref)
        pointing = (m.pointing.ra_v1, m.pointing.dec_v1)
    n = sim_config.ngroups
    expected = {
        "model": "Level1bModel",
        "shape": (1, n, mi.NY, mi.NX),
        "dtype": "uint16",
        "instrument": ("MIRI", "MIRIMAGE", "F770W"),
        "exposure": ("MIR_IMAGE", "FASTR1", 1),
        "ngroups": (n, 1, 0),
        "group_time": mi.FRAME_TIME,
        "subarray": ("FULL", 1, 1),
        "size": (mi.NX, mi.NY),
        "dither": (exp.dither + 1, 4),
        "v2v3": (mi.V2_REF, mi.V3_REF, mi.V3_YANGLE, -1),
    }
    wrong = {k: f"got {got[k]!r}, expected {v!r}" for k, v in expected.items() if got[k] != v}
    assert not wrong, f"{exp.name}: {wrong}"
    offset = np.subtract(exp.offset, mi.DITHER_OFFSETS[0])
    expected_arcsec = float(np.hypot(*offset)) * mi.PIXEL_SCALE_ARCSEC
    got_arcsec = np.degrees(angular_separation(*np.radians([*ref, *pointing]))) * 3600.0
    assert abs(got_arcsec - expected_arcsec) < SKY_SEPARATION_TOL_ARCSEC, (
        f"{exp.name}: reference point {got_arcsec:.5f} arcsec from dither 1, expected "
        f"{expected_arcsec:.5f} arcsec ({offset} px at {mi.PIXEL_SCALE_ARCSEC} arcsec/px)"
    )


# --- content -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(simulated_inputs) -> Table:
    """The truth catalog of all 8 exposures, with the region at each dithered position."""
    table = Table.read(simulated_inputs.sim_truth / "catalog.ecsv")
    positions = zip(table["x"], table["y"], strict=True)
    table["region_at_position"] = [str(mi.region_of(x, y)) for x, y in positions]
    return table


def _rows(catalog: Table, name: str, kind: str) -> Table:
    return catalog[(catalog["exposure"] == name) & (catalog["kind"] == kind)]


@pytest.mark.parametrize("exp", notebook.EXPOSURES, ids=EXPOSURE_IDS)
def test_simulator_sources_in_field(catalog, exp):
    """Every source sits, at its dithered position, in the region the catalog names."""
    rows = catalog[catalog["exposure"] == exp.name]
    moved = rows[rows["region_at_position"] != rows["region"]]
    assert len(moved) == 0, f"{exp.name}: {len(moved)} sources outside their region:\n{moved}"


@pytest.mark.parametrize("name", notebook.SCIENCE_NAMES, ids=EXPOSURE_IDS[:4])
def test_simulator_science_source_counts(catalog, name):
    """>= 300 science stars, some in the Lyot area, and one galaxy in the imager field."""
    stars = _rows(catalog, name, "star")
    regions = dict(zip(*np.unique(stars["region_at_position"], return_counts=True), strict=True))
    galaxies = _rows(catalog, name, "galaxy")
    assert len(stars) >= 300, f"{name}: {len(stars)} stars, expected >= 300 ({regions})"
    assert regions.get("lyot", 0) >= 1, f"{name}: no star in the Lyot area ({regions})"
    assert list(galaxies["region_at_position"]) == ["imager"], f"{name}: galaxies {galaxies}"


@pytest.mark.parametrize("name", notebook.BACKGROUND_NAMES, ids=EXPOSURE_IDS[4:])
def test_simulator_background_source_counts(catalog, name):
    """About 40 (30 to 50) stars in each background exposure, and no galaxy."""
    stars = _rows(catalog, name, "star")
    assert 30 <= len(stars) <= 50, f"{name}: {len(stars)} stars, expected 30 to 50"
    assert len(_rows(catalog, name, "galaxy")) == 0, f"{name}: has a galaxy"


@pytest.mark.parametrize("name", notebook.SCIENCE_NAMES, ids=EXPOSURE_IDS[:4])
def test_simulator_a_few_stars_saturate(simulated_inputs, sim_config, catalog, name):
    """A few stars (1 to 5 % of them) reach saturation by the last group.

    Peak raw level of a star, from the truth: ``L = bias + (B + S + D) * ngroups * t_frame``
    (B background, S the star's brightest pixel, D dark, all DN/s), ``raw = (sqrt(1 + 4 b L)
    - 1) / (2 b)``; it saturates when ``raw > SATURATION_DN``.
    """
    truth = simulated_inputs.sim_truth
    det = signal.make_detector(sim_config)
    rate = fits.getdata(truth / "background_rate.fits") + fits.getdata(
        truth / f"{name}_sources.fits"
    )
    stars = _rows(catalog, name, "star")
    x = np.clip(np.rint(stars["x"]).astype(int), 1, mi.NX - 2)
    y = np.clip(np.rint(stars["y"]).astype(int), 1, mi.NY - 2)
    peak = np.array([rate[j - 1 : j + 2, i - 1 : i + 2].max() for i, j in zip(x, y, strict=True)])
    level = det.bias[y, x] + (peak + det.dark[y, x]) * sim_config.exposure_time
    raw = (np.sqrt(1.0 + 4.0 * mi.LINEARITY_B * level) - 1.0) / (2.0 * mi.LINEARITY_B)
    n_sat = int(np.sum(raw > mi.SATURATION_DN))
    assert 1 <= n_sat <= 0.05 * len(stars), (
        f"{name}: {n_sat} of {len(stars)} stars saturate, expected 1 to "
        f"{0.05 * len(stars):.0f} (brightest peak raw {raw.max():.0f} DN)"
    )


# --- noise of the rate-level mode ----------------------------------------------------------


@pytest.mark.parametrize("region", mi.REGIONS)
def test_simulator_rate_mode_noise_matches_detector1(
    rate_mode, sim_config, simulated_inputs, products, pixel_sets, region
):
    """The rate mode's per-pixel scatter equals detector1's on the same sky pixels.

    Statistic: ``s = robust_std((rate - truth) / sqrt(v))`` over the sky pixels of the
    region in all 8 exposures, with ``v`` the simulator's ramp-fit variance model, for
    detector1 on the uncal mode (``s_d``) and for the rate mode of the same seed (``s_r``,
    independent draws). Bound: ``|s_d / s_r - 1| <= z * sqrt(2) * e(n)``, ``e`` the relative
    standard error of `metrics.robust_std` for n values and ``z = metrics.z_bound(1)``:
    false-alarm probability ``metrics.CHECK_FALSE_ALARM`` (2e-6) on a correct simulator.
    """
    det = signal.make_detector(sim_config)
    sky = pixel_sets.sky[region]
    z_det, z_rate = [], []
    for name, image in products.rates.items():
        truth = products.true_background + products.true_sources[name]
        var_p, var_r = signal.ramp_fit_variance(sim_config, det, truth)
        scale = np.sqrt(var_p + var_r)[sky]
        with fits.open(rate_mode / f"{name}_rate.fits") as hdul:
            rate = hdul["SCI"].data[sky].astype(np.float64)
        z_det.append((image.data[sky] - truth[sky]) / scale)
        z_rate.append((rate - truth[sky]) / scale)
    z_det, z_rate = np.concatenate(z_det), np.concatenate(z_rate)
    s_det, s_rate = metrics.robust_std(z_det), metrics.robust_std(z_rate)
    bound = metrics.z_bound(1) * np.sqrt(2.0) * metrics.robust_std_error(z_det.size)
    ratio = s_det / s_rate
    assert abs(ratio - 1.0) <= bound, (
        f"{region}: detector1 scatter / rate-mode scatter = {ratio:.4f} ({s_det:.4f} / "
        f"{s_rate:.4f} of the model sigma, {z_det.size} sky pixels), expected 1 within "
        f"{bound:.4f}"
    )
