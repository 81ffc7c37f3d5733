"""The notebook's processing ran as configured: detector1, associations, background step."""

import json

import pytest
from astropy.io import fits

from miri_background.checks import pipeline_log, require
from miri_background.checks.ids import sigma_params

DETECTOR1_EXPECTED = {
    "S_DQINIT": "COMPLETE",
    "S_SATURA": "COMPLETE",
    "S_LINEAR": "COMPLETE",
    "S_DARK": "COMPLETE",
    "S_REFPIX": "SKIPPED",
    "S_JUMP": "COMPLETE",
    "S_RAMP": "COMPLETE",
}
"""Steps and their status with the notebook's settings (refpix skipped)."""


def test_miri_image_detector1_steps(inputs, run_detector1):
    """Every rate file records the detector1 steps COMPLETE / SKIPPED as configured."""
    require.ramps(inputs)
    wrong = []
    for name, path in run_detector1.rates.items():
        header = fits.getheader(path)
        for key, status in DETECTOR1_EXPECTED.items():
            if header.get(key) != status:
                wrong.append(f"{name}: {key}={header.get(key)!r}, expected {status!r}")
    assert not wrong, "\n".join(wrong)


def test_miri_image_detector1_parameters(inputs, run_detector1):
    """jump used rejection_threshold=10 and refpix was skipped, as in the notebook."""
    require.ramps(inputs)
    assert run_detector1.steps["jump"]["rejection_threshold"] == 10.0
    assert run_detector1.steps["refpix"] == {"skip": True}


def test_miri_image_associations(associations):
    """One level-2b association per science exposure: 1 science + 4 background members."""
    assert len(associations.files) == 4
    for name, path in associations.files.items():
        members = json.loads(path.read_text())["products"][0]["members"]
        types = [m["exptype"] for m in members]
        assert types == ["science"] + ["background"] * 4, f"{name}: {types}"
        assert name in members[0]["expname"]


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0], ids=["sigma1", "sigma2", "sigma3"])
def test_miri_image_image2_products(run_background, sigma):
    """The step wrote bsub and combinedbackground files with bkg_subtract COMPLETE."""
    run = run_background[sigma]
    for name in run.bsub:
        assert fits.getheader(run.bsub[name])["S_BKDSUB"] == "COMPLETE", name
        assert run.combined[name].is_file(), f"{run.combined[name]} missing"


@pytest.mark.parametrize("sigma", sigma_params())
def test_miri_image_image2_warnings(associations, run_background, sigma):
    """Image2Pipeline logs no warning beyond `pipeline_log.ALLOWED` on the notebook's
    associations (one science member, its backgrounds): a warning of the wrong number of
    science files, of several products or of an ignored output name means it misread them."""
    run = run_background[sigma]
    problems = [
        pipeline_log.problem(
            f"Image2Pipeline on {associations.files[name].name} (sigma={sigma:g})",
            run.warnings[name],
        )
        for name in run.bsub
    ]
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)
