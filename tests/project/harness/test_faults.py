"""Fault injection: SPEC errors, file faults, each catalog fault's effect, and the harness.

The catalog tests call what ``BackgroundStep.process`` calls, looked up the same way at
call time (``jwst.background.background_step.background_sub``), on a tiny synthetic case:
one 6 x 8 science image and 4 backgrounds at 10 DN/s + 0.1 DN/s per column, Gaussian noise
0.1 DN/s, ERR 0.5 DN/s, with

- a star of 100 DN/s in background 0 at [2, 3] (clipped at sigma=2, never at sigma=3);
- [4, 1] = (c, c, c + 1, c + 100) DN/s: the first pass at sigma=2 clips c + 100
  (z = 2.30), the second c + 1 (z = 2.12 among 3 values), so 1 pass != 3 passes;
- NaN in background 1 at [5, 6]; DQ 4 (JUMP_DET) in background 2 at [1, 1].
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from jwst.background import background_step as bstep
from jwst.background import background_sub as bsub
from stdatamodels.jwst import datamodels

from miri_background.harness import faults
from miri_background.harness.sweeps import sensitivity
from miri_background.observation.notebook import NOTEBOOK_MAXITERS, NOTEBOOK_SIGMA

SHAPE = (6, 8)
SIGMA, MAXITERS = NOTEBOOK_SIGMA, NOTEBOOK_MAXITERS

EXPECTED_CHANGE = {
    "sigma_ignored": "combined.data",
    "plain_mean": "combined.data",
    "median": "combined.data",
    "first_background_only": "combined.data",
    "misaligned_backgrounds": "combined.data",
    "dq_not_ored": "science.dq",
    "scaled_1p01": "combined.data",
    "nan_poisons": "combined.data",
    "err_not_divided": "combined.err",
    "skipped_but_complete": "science.data",
    "maxiters_ignored": "combined.data",
}
"""The product each catalog fault must change on the synthetic case."""


def _model(data: np.ndarray, name: str) -> datamodels.ImageModel:
    model = datamodels.ImageModel(
        data=data.astype(np.float32),
        err=np.full(SHAPE, 0.5, np.float32),
        dq=np.zeros(SHAPE, np.uint32),
    )
    model.meta.filename = f"{name}.fits"
    model.meta.instrument.name = "MIRI"
    sub = model.meta.subarray
    sub.xstart, sub.ystart, sub.xsize, sub.ysize = 1, 1, SHAPE[1], SHAPE[0]
    return model


@dataclass(frozen=True)
class Case:
    """The synthetic inputs, and the unpatched outputs of `run` on them."""

    science: np.ndarray
    backgrounds: tuple[str, ...]
    clean: dict[str, np.ndarray] = field(default_factory=dict)

    def run(self) -> dict[str, np.ndarray]:
        """background_sub as the step calls it (sigma=2, maxiters=3) on a fresh science."""
        combined, result = bstep.background_sub(
            _model(self.science, "science"), list(self.backgrounds), SIGMA, MAXITERS
        )
        return {
            "combined.data": combined.data.copy(),
            "combined.err": combined.err.copy(),
            "combined.dq": combined.dq.copy(),
            "science.data": result.data.copy(),
            "science.dq": result.dq.copy(),
        }

    def changed(self, outputs: dict[str, np.ndarray]) -> list[str]:
        """The products of ``outputs`` that differ from the clean ones (NaN == NaN)."""
        return [
            k for k, v in self.clean.items() if not np.array_equal(v, outputs[k], equal_nan=True)
        ]


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Case:
    out = tmp_path_factory.mktemp("background")
    rng = np.random.default_rng(5)
    sky = 10.0 + 0.1 * np.indices(SHAPE)[1]
    files = []
    for i in range(4):
        data = sky + rng.normal(0.0, 0.1, SHAPE)
        data[4, 1] = 10.0 + (0.0, 0.0, 1.0, 100.0)[i]
        model = _model(data, f"bkg{i}")
        if i == 0:
            model.data[2, 3] += 100.0
        if i == 1:
            model.data[5, 6] = np.nan
        if i == 2:
            model.dq[1, 1] = 4
        model.save(out / f"bkg{i}.fits")
        files.append(str(out / f"bkg{i}.fits"))
    unpatched = Case(sky + 5.0, tuple(files))
    return Case(unpatched.science, unpatched.backgrounds, unpatched.run())


@pytest.mark.parametrize("name", list(faults.CATALOG))
def test_catalog_fault_changes_background_sub(case, name):
    """The fault changes the product it models, and APPLIED names it while it is on."""
    with faults.applied(name) as spec:
        assert faults.APPLIED == [spec] == [name]
        changed = case.changed(case.run())
    key = EXPECTED_CHANGE[name]
    assert key in changed, f"{name}: expected {key} to change, changed: {changed or 'nothing'}"
    assert faults.APPLIED == [], f"APPLIED after the with block: {faults.APPLIED}"


def test_applied_undoes_every_catalog_fault(case):
    """After each fault's with block, jwst computes exactly the clean result again."""
    for name in faults.CATALOG:
        with faults.applied(name):
            pass
    changed = case.changed(case.run())
    assert not changed, f"after applying and undoing every fault, {changed} still differ"


def test_catalog_is_covered_and_documented():
    """Every catalog fault has an expected effect here and a docstring naming its bug."""
    assert set(faults.CATALOG) == set(EXPECTED_CHANGE)
    undocumented = [n for n, f in faults.CATALOG.items() if len(f.__doc__ or "") < 40]
    assert not undocumented, f"catalog faults without a docstring: {undocumented}"


FAULT_FILE = """
from jwst.background import background_sub as bsub

ORIGINAL = bsub.average_background


def fault_double():
    def average_background(*args):
        combined = ORIGINAL(*args)
        combined.data = combined.data * 2
        return combined

    bsub.average_background = average_background


def helper():
    pass


def fault_crash():
    bsub.average_background = None
    raise RuntimeError("fault_crash failed half way")
"""


@pytest.fixture
def fault_file(tmp_path) -> Path:
    path = tmp_path / "my_faults.py"
    path.write_text(FAULT_FILE)
    return path


def test_file_fault_applies_like_catalog(case, fault_file):
    with faults.applied(f"{fault_file}::fault_double"):
        faulty = case.run()
    np.testing.assert_allclose(
        faulty["combined.data"], 2 * case.clean["combined.data"], rtol=1e-6, err_msg="x2 fault"
    )
    assert not case.changed(case.run()), "the file fault was not undone"


def test_applied_restores_after_fault_raises(fault_file):
    original = bsub.average_background
    with pytest.raises(RuntimeError, match="fault_crash failed half way"):
        with faults.applied(f"{fault_file}::fault_crash"):
            pass
    assert bsub.average_background is original


def test_file_faults_lists_fault_functions_in_order(fault_file):
    assert faults.file_faults(fault_file) == [
        f"{fault_file}::fault_double",
        f"{fault_file}::fault_crash",
    ]


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("no_such_fault", ValueError, r"unknown fault 'no_such_fault': give one of sigma_ignored"),
        ("{dir}/missing.py::f", FileNotFoundError, r"fault file .*missing\.py not found"),
        ("{file}::no_such", AttributeError, r"has no function 'no_such' \(functions: fault_"),
        ("{file}::", ValueError, r"'' after '::' is not a function name"),
        ("{dir}/faults.txt::f", ValueError, r"faults\.txt is not a Python file"),
    ],
    ids=["unknown-name", "missing-file", "missing-function", "empty-function", "not-python"],
)
def test_apply_rejects_bad_spec(fault_file, spec, error, match):
    (fault_file.parent / "faults.txt").write_text("def f():\n    pass\n")
    original = bsub.average_background
    with pytest.raises(error, match=match):
        faults.apply(spec.format(dir=fault_file.parent, file=fault_file))
    assert bsub.average_background is original and faults.APPLIED == []


def test_file_without_fault_functions_is_rejected(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("def helper():\n    pass\n")
    with pytest.raises(ValueError, match=r"empty\.py defines no function named fault_\*"):
        faults.file_faults(path)


MINI_SUITE = """
from jwst.background import background_step, background_sub


def test_a_step_calls_jwsts_background_sub():
    assert background_step.background_sub.__module__ == "jwst.background.background_sub"


def test_b_sigma_clip_is_astropys():
    assert background_sub.sigma_clip.__module__.startswith("astropy")
"""


@pytest.mark.slow
def test_sensitivity_statuses_on_a_mini_suite(tmp_path, fault_file):
    """Killed, survived and first-caught-by through the plugin, on a 2-test suite.

    plain_mean replaces sigma_clip (test_b fails), fault_double patches neither name
    (survives), fault_crash makes the plugin's pytest_configure fail (harness error), so
    the exit status is 1.
    """
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n")  # rootdir = suite: short node ids
    (suite / "conftest.py").write_text('pytest_plugins = ("miri_background.pytest_plugin",)\n')
    (suite / "test_mini.py").write_text(MINI_SUITE)
    args = SimpleNamespace(
        out=tmp_path / "sensitivity.json",
        faults=[str(fault_file)],
        only=["plain_mean"],
        tests=str(suite),
        workers=0,
        work_dir=None,
        data_set="mirisim",
    )
    status = sensitivity.run(args)
    report = json.loads(args.out.read_text())
    got = {n: (f["status"], f["first_caught_by"]) for n, f in report["faults"].items()}
    assert got == {
        "plain_mean": ("killed", "test_mini.py::test_b_sigma_clip_is_astropys"),
        f"{fault_file}::fault_double": ("survived", None),
        f"{fault_file}::fault_crash": ("error", None),
    }, report
    caught = report["faults"]["plain_mean"]["caught_by"]
    assert caught == {"test_mini.py::test_b_sigma_clip_is_astropys": 1}, caught
    assert report["clean"]["status"] == "passed", report["clean"]["log_tail"]
    assert status == 1, f"exit status {status} with survivors and an error, expected 1"


@pytest.mark.slow
def test_sensitivity_kills_two_faults(request, tmp_path):
    """The harness on the regression suite's residual checks: the clean run passes, both
    faults are killed. (The residual checks catch both, as the full `make sensitivity` run
    shows; the other regression modules and the scenarios are left to that run, which
    keeps this one at a quarter of the suite.)"""
    root = Path(request.config.rootpath)
    args = SimpleNamespace(
        out=tmp_path / "sensitivity.json",
        faults=[],
        only=["scaled_1p01", "first_background_only"],
        tests=str(root / "tests" / "regression" / "test_bsub_residuals.py"),
        workers=0,
        work_dir=None,
        data_set="mirisim",
    )
    status = sensitivity.run(args)
    report = json.loads(args.out.read_text())
    assert report["clean"]["status"] == "passed", report["clean"]["log_tail"]
    survived = {n: f["status"] for n, f in report["faults"].items() if not f["killed"]}
    assert not survived, f"expected both faults killed, got {survived}"
    assert status == 0, f"exit status {status} with every fault killed"
    assert all(f["first_caught_by"] in report["collected"] for f in report["faults"].values())
