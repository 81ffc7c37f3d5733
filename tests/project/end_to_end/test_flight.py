"""The flight data set (program 2754, F2550W rate files), offline: its manifest against the
notebook, and its F2550W stand-in served as Box and Artifactory would serve the real files,
from a local server on 127.0.0.1.

The end-to-end case runs the whole regression suite with ``--bigdata --data-set flight``
against that server: rate inputs, detector1 skipped, detection-based pixel sets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from tests.project.inputs.real.fault_server import directory_server

from miri_background.files import file_sha256
from miri_background.inputs import crds_local
from miri_background.inputs.real import fetch, manifest
from miri_background.inputs.real.sources import real_inputs
from miri_background.inputs.simulator import flight_standin
from miri_background.observation import datasets
from miri_background.run_records import read_run

ROOT = Path(__file__).resolve().parents[3]

NOTEBOOK_FILES = [
    ("j2f1klymtj8yfy3ryqsficy2js4q68xc", "jw02754001001_06101_00001_mirimage_rate.fits"),
    ("64xsicjfdqnp2y70htwkqfpbp6hn664r", "jw02754001001_06101_00002_mirimage_rate.fits"),
    ("hnmt7i6qomluigg6gxwlf4zvifg98uno", "jw02754001001_06101_00003_mirimage_rate.fits"),
    ("5m6n24qjv2xzyn87dxufwuidful0f805", "jw02754001001_06101_00004_mirimage_rate.fits"),
    ("4x1z2t0ji9je2o5qvisojl3m3nqi8vnl", "jw02754002001_02101_00001_mirimage_rate.fits"),
    ("p5co8n3pjjq7ecv45klaekkryoii3gcv", "jw02754002001_02101_00002_mirimage_rate.fits"),
    ("0czufensqnvz1m05o4jknt9dh7pv6g3t", "jw02754002001_02101_00003_mirimage_rate.fits"),
    ("z00chmebwzw8us8e7q0un4sj6y1yy5p3", "jw02754002001_02101_00004_mirimage_rate.fits"),
]
"""``zip(file_urls, files)`` of the flight notebook (jwst_validation_notebooks a13c5d1)."""


def test_flight_manifest_is_the_notebooks_list():
    """The flight manifest pairs each Box id with the file the notebook saved it as, in
    the notebook's order, in the Artifactory tree beside the MIRISim files."""
    files = manifest.load_manifest(datasets.FLIGHT.manifest)
    assert [(f.box_id, f.name) for f in files] == NOTEBOOK_FILES
    assert [f.role for f in files] == ["science"] * 4 + ["background"] * 4
    assert all(f.artifactory_path == f"miri/image/background_flight/{f.name}" for f in files)
    names = [datasets.FLIGHT.exposure_name(f.name) for f in files]
    assert tuple(names) == datasets.FLIGHT.names


@pytest.fixture(scope="module")
def standin(content_cache):
    """The stand-in's Inputs (cached in the session's cache)."""
    return flight_standin.prepare_standin(content_cache, flight_standin.StandinConfig())


def test_standin_is_f2550w_rate_files_at_the_flight_sky(standin):
    """8 rate files named as the flight ones, F2550W, the 4-point dither, a 1000 DN/s sky,
    and the notebook's background pixel on a star in exactly one background."""
    assert standin.rates is not None and not standin.uncal
    assert tuple(standin.rates) == datasets.FLIGHT.names
    bx, by = datasets.FLIGHT.background_pixel
    above = []
    for name, path in standin.rates.items():
        with fits.open(path) as hdul:
            header, data = hdul[0].header, hdul["SCI"].data
            assert (header["FILTER"], header["EXP_TYPE"]) == ("F2550W", "MIR_IMAGE"), name
            assert header["PATT_NUM"] == datasets.FLIGHT.names.index(name) % 4 + 1, name
            sky = np.nanmedian(data[100:900, 400:1000])
            assert abs(sky - datasets.F2550W_SKY_RATE) < 10.0, f"{name}: sky {sky:.1f} DN/s"
            above.append(data[by, bx] - sky)
    excess = dict(zip(standin.rates, above, strict=True))
    stars = [name for name, a in excess.items() if a > 30.0]
    assert stars == [datasets.FLIGHT.background_names[1]], excess


@pytest.fixture(scope="module")
def mirrors(standin, tmp_path_factory):
    return flight_standin.write_mirrors(dict(standin.rates), tmp_path_factory.mktemp("flight"))


@pytest.fixture(scope="module")
def server(mirrors):
    """http://127.0.0.1:<port> serving ``/bigdata`` and ``/box`` (stopped after the module)."""
    with directory_server(mirrors["box"].parent).running() as httpd:
        yield httpd.url


TREE = {"env": "dev", "inputs_root": "jwst-pipeline"}


@pytest.mark.parametrize("source", ["box", "artifactory", "dir"])
def test_flight_sources_give_rate_inputs(source, server, mirrors, standin, tmp_path, monkeypatch):
    """Box (shared-link ids), Artifactory (TEST_BIGDATA URL) and dir:PATH all give the 8
    flight files, byte for byte, as rate inputs (no uncal, so detector1 is skipped)."""
    monkeypatch.setenv(fetch.BOX_URL_ENV, f"{server}/box")
    monkeypatch.setenv(fetch.BIGDATA_ENV, f"{server}/bigdata")
    if source == "dir":
        source = f"dir:{mirrors['bigdata'] / 'jwst-pipeline/dev/miri/image/background_flight'}"
    result = real_inputs(source, tmp_path / "data", **TREE, data_set=datasets.FLIGHT)
    assert result.data_set == "flight" and not result.uncal and result.sim_truth is None
    assert tuple(result.rates) == datasets.FLIGHT.names
    assert {n: file_sha256(p) for n, p in result.rates.items()} == {
        n: file_sha256(p) for n, p in standin.rates.items()
    }


def test_flight_box_without_the_files_names_the_first(server, tmp_path, monkeypatch):
    """A Box mirror without the flight ids fails naming the flight file it could not get."""
    monkeypatch.setenv(fetch.BOX_URL_ENV, f"{server}/nothing-here")
    with pytest.raises(fetch.FetchError, match="jw02754001001_06101_00001_mirimage_rate"):
        real_inputs("box", tmp_path / "data", **TREE, data_set=datasets.FLIGHT)


@pytest.mark.slow
def test_bigdata_flight_end_to_end(server, standin, tmp_path):
    """``--bigdata --data-set flight`` against the local server: the suite passes, and each
    worker's stage record says the flight data set came at rate level and detector1 was
    skipped (xdist workers' stage lines go to the run log, not the terminal)."""
    env = (
        os.environ.copy()
        | crds_local.environment(standin.crds_root)
        | {fetch.BIGDATA_ENV: f"{server}/bigdata"}
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests/regression",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--bigdata",
        "--data-set=flight",
        f"--cache-dir={tmp_path / 'cache'}",
        "-o",
        f"miri_background_runs={tmp_path / 'runs'}",
    ]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").glob("run-*")
    stages = [json.loads(p.read_text()) for p in (run_dir / "stages").glob("gw*.json")]
    recorded = {
        (s["inputs"]["source"], s["inputs"]["data_set"], s["inputs"]["level"]) for s in stages
    }
    assert recorded == {("artifactory", "flight", "rate")}, recorded
    assert all(s["detector1"]["skipped"] for s in stages)
    outcomes = [{"nodeid": t, "outcome": o.outcome} for t, o in read_run(run_dir).tests.items()]
    named = [t for t in outcomes if "notebook" in t["nodeid"]]
    assert named and all(t["outcome"] == "passed" for t in named), named
