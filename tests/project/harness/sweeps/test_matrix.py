"""The jwst release matrix's bookkeeping (`miri_background.matrix`), on fabricated files.

Installing releases and running the suite in them is what ``python -m
miri_background.matrix`` does (minutes per release); here only what turns its outputs into
the table is checked: JUnit outcomes per check, the verdict, and the combined-background
difference against the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import mad_std

from miri_background.harness.sweeps import matrix, matrix_compare
from miri_background.run_records import read_junit

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="6">
 <testcase classname="tests.regression.test_a" name="test_sky[seq1-sigma1]" time="0.1"/>
 <testcase classname="tests.regression.test_a" name="test_sky[seq2-sigma1]" time="0.1">
  <failure message="sky mean 0.01 DN/s above 0 (limit 0.001 DN/s)&#10;more">trace</failure>
 </testcase>
 <testcase classname="tests.regression.test_a" name="test_noise" time="0.1">
  <error message="failed on setup with &quot;RuntimeError: detector1 on x&quot;">trace</error>
 </testcase>
 <testcase classname="tests.regression.test_b" name="test_err" time="0.1">
  <skipped type="pytest.xfail" message="jwst issue 8723"/>
 </testcase>
 <testcase classname="tests.regression.test_b" name="test_big" time="0.1">
  <skipped type="pytest.skip" message="needs --bigdata"/>
 </testcase>
</testsuite></testsuites>
"""


@pytest.fixture
def outcomes(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    return read_junit(path)


def test_junit_outcomes(outcomes):
    got = {test.split("::")[1]: o.outcome for test, o in outcomes.items()}
    assert all(t.startswith("tests/regression/test_") for t in outcomes), list(outcomes)
    expected = {
        "test_sky[seq1-sigma1]": "passed",
        "test_sky[seq2-sigma1]": "failed",
        "test_noise": "error",
        "test_err": "xfailed",
        "test_big": "skipped",
    }
    assert got == expected, f"outcomes: expected {expected}, got {got}"


def test_junit_keeps_the_first_message_line(outcomes):
    message = outcomes["tests/regression/test_a.py::test_sky[seq2-sigma1]"].first_line
    assert message == "sky mean 0.01 DN/s above 0 (limit 0.001 DN/s)", f"message: {message!r}"


def test_check_counts_group_cases_by_test_function(outcomes):
    got = matrix.check_counts(outcomes)
    expected = {
        "test_big": {"skipped": 1},
        "test_err": {"xfailed": 1},
        "test_noise": {"error": 1},
        "test_sky": {"passed": 1, "failed": 1},
    }
    assert got == expected, f"per check: expected {expected}, got {got}"


PASSED = {"t::a": ("passed", ""), "t::b": ("xfailed", "")}
FAILED = {"t::a": ("passed", ""), "t::b": ("failed", "off by 1 DN/s")}
SETUP_ERRORS = {f"t::c{i}": ("error", "failed on setup with KeyError") for i in range(3)}
SETUP_ERRORS |= {"t::theory": ("passed", ""), "t::known": ("xfailed", "")}
"""The pipeline fixture failed: only a check that needs no data passed."""


@pytest.mark.parametrize(
    ("installed", "exit_status", "outcomes", "expected"),
    [
        pytest.param(False, None, {}, "not installed", id="no-install"),
        pytest.param(True, 0, PASSED, "pass", id="pass"),
        pytest.param(True, 1, FAILED, "fail", id="fail"),
        pytest.param(True, 1, SETUP_ERRORS, "cannot run", id="fixture-error"),
        pytest.param(True, 4, {}, "cannot run", id="usage-error"),
        pytest.param(True, -1, PASSED, "cannot run", id="timeout"),
    ],
)
def test_verdict(installed, exit_status, outcomes, expected):
    got = matrix.verdict(installed, exit_status, outcomes)
    assert got == expected, f"installed={installed}, exit {exit_status}: expected {expected}"


def _sci_file(path, data):
    """A FITS file with ``data`` in its SCI extension (a combined background or a ramp)."""
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.asarray(data), name="SCI")]).writeto(path)
    return path


def test_combined_difference(tmp_path):
    reference = np.full((4, 5), 16.0)
    reference[0, 0] = np.nan
    release = reference + np.array([0.0, 0.01, -0.01, 0.02, 0.0])
    release[3, 4] = 20.0  # one pixel 4 DN/s off
    release[1, 1] = np.nan  # [0, 0] is NaN in both, [1, 1] in the release only
    got = matrix_compare.combined_difference(
        _sci_file(tmp_path / "r.fits", release), _sci_file(tmp_path / "ref.fits", reference)
    )
    d = (release - reference)[np.isfinite(release) & np.isfinite(reference)]
    expected = {
        "max_abs": pytest.approx(4.0),
        "robust_std": pytest.approx(mad_std(d)),
        "n_pixels": 18,
        "n_finite_in_one_only": 1,
    }
    assert got == expected, f"difference statistics (DN/s): expected {expected}, got {got}"


def test_combined_difference_refuses_other_shapes(tmp_path):
    a = _sci_file(tmp_path / "a.fits", np.zeros((4, 5)))
    b = _sci_file(tmp_path / "b.fits", np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"shapes differ: \(4, 5\)"):
        matrix_compare.combined_difference(a, b)


def test_ramp_difference_counts_samples_and_dn(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ramp = np.full((1, 3, 4, 5), 11000, dtype=np.uint16)
    moved = ramp.copy()
    moved[0, 2, 1, 1] -= 1  # a rounding difference: 1 DN below (uint16 must not wrap)
    names = ("x_uncal.fits", "y_uncal.fits")
    ours = [_sci_file(tmp_path / "a" / n, r) for n, r in zip(names, (ramp, moved), strict=True)]
    theirs = [_sci_file(tmp_path / "b" / n, ramp) for n in names]
    got = matrix_compare.ramp_difference(ours, theirs)
    expected = {"samples_differing": 1, "samples": 120, "max_abs_dn": 1}
    assert got == expected, f"expected {expected}, got {got}"


def test_ramp_difference_needs_the_same_exposures(tmp_path):
    got = matrix_compare.ramp_difference([str(tmp_path / "a_uncal.fits")], [])
    assert "uncal files differ" in got.get("error", ""), f"got {got}"


def test_compare_without_reference_run_says_so():
    result = {"release": "1.16.1", "run": {"run_dir": "/somewhere"}}
    got = matrix_compare.compare_with_reference(result, None)
    assert got == {"reference": None, "error": "reference (none) has no run directory"}, got
