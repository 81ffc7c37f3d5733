"""The real-data paths end to end, offline: --bigdata against a local Artifactory mirror
served on 127.0.0.1, and dir:PATH, with the caller's CRDS environment.

The served "real" files are the built-in data set renamed to the notebook's file names;
the caller's CRDS environment is the built-in local context. Pixel sets then come from
photutils detection (no catalog), and truth from the served FITS files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.project.inputs.real.fault_server import directory_server

from miri_background.inputs import crds_local
from miri_background.observation.notebook import READNOISE_NAME
from miri_background.pipeline import detector1
from miri_background.run_records import read_run

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
LAYOUT = "jwst-pipeline/dev/miri/image/background"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, inputs, run_background):
    """A local Artifactory layout: the 8 notebook files, the readnoise file, and as FITS
    truth this session's sigma=2 products (same ramps, same references, same jwst)."""
    if inputs.source != "simulated":
        pytest.skip("needs the built-in ramps to serve")
    root = tmp_path_factory.mktemp("bigdata")
    data = root / LAYOUT
    (data / "truth").mkdir(parents=True)
    for name, path in inputs.uncal.items():
        os.link(path, data / f"{name}.fits")
    shutil.copyfile(inputs.readnoise, data / READNOISE_NAME)
    run = run_background[2.0]
    for name in run.bsub:
        shutil.copyfile(run.bsub[name], data / "truth" / f"{name}_bsub.fits")
        shutil.copyfile(run.combined[name], data / "truth" / f"{name}_combinedbackground.fits")
    return root


@pytest.fixture(scope="module")
def server(mirror):
    """http://127.0.0.1:<port> serving ``mirror`` (stopped after the module)."""
    with directory_server(mirror).running() as httpd:
        yield httpd.url


def _suite(args, tmp_path, env_extra):
    env = os.environ.copy() | crds_local.environment(env_extra.pop("crds_root")) | env_extra
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests/regression",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        f"--cache-dir={tmp_path / 'cache'}",
        "-o",
        f"miri_background_runs={tmp_path / 'runs'}",
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)


def test_bigdata_end_to_end(server, mirror, inputs, tmp_path):
    """The whole suite with --bigdata against the local server passes, each exposure went
    through detector1 exactly once over the two workers, and the FITS truth matched."""
    run = _suite(["--bigdata"], tmp_path, {"TEST_BIGDATA": server, "crds_root": inputs.crds_root})
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").glob("run-*")
    misses = [
        name
        for stage in (run_dir / "stages").glob("gw*.json")
        for name, e in json.loads(stage.read_text())["detector1"]["exposures"].items()
        if not e["hit"]
    ]
    assert sorted(misses) == sorted(inputs.uncal), f"detector1 misses {misses}"
    outcomes = [{"nodeid": t, "outcome": o.outcome} for t, o in read_run(run_dir).tests.items()]
    truth = [t for t in outcomes if "test_truth_bigdata" in t["nodeid"]]
    assert len(truth) == 8 and all(t["outcome"] == "passed" for t in truth), truth


def test_bigdata_without_test_bigdata_is_a_usage_error(tmp_path, inputs):
    """--bigdata with no TEST_BIGDATA stops with a usage error naming the variable."""
    env = {"crds_root": inputs.crds_root}
    saved = os.environ.pop("TEST_BIGDATA", None)
    try:
        run = _suite(["--bigdata", "-k", "detector1_steps"], tmp_path, env)
    finally:
        if saved is not None:
            os.environ["TEST_BIGDATA"] = saved
    assert run.returncode == 4, run.stdout[-3000:] + run.stderr[-3000:]
    assert "TEST_BIGDATA is not set" in run.stderr + run.stdout


def test_dir_source_uses_the_files(mirror, inputs, tmp_path):
    """dir:PATH finds the 8 notebook files and builds the real-data inputs from them."""
    from miri_background.inputs.real.sources import real_inputs

    result = real_inputs(f"dir:{mirror / LAYOUT}", tmp_path, env="dev", inputs_root="jwst-pipeline")
    assert sorted(result.uncal) == sorted(inputs.uncal)
    assert result.crds_root is None and result.sim_truth is None
    assert result.readnoise is None  # dir: takes the notebook's 8 files only
    assert detector1.detector1_key_parts(result, next(iter(result.uncal)))["references"].startswith(
        "caller CRDS context"
    )
