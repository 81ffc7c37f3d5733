"""Regression against the blessed truth: fingerprints of every combined and bsub product.

Applies to the built-in data set at the canonical seed. ``--update-truth`` (the okify step)
rewrites truth/ from this run and prints what changed, for a reviewed commit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from filelock import FileLock

from miri_background.checks import fingerprints as truth
from miri_background.checks.ids import seq_params, sigma_params
from miri_background.inputs.simulator.config import DEFAULT_SEED
from miri_background.observation.notebook import NOTEBOOK_SIGMA


@pytest.fixture(scope="session")
def truth_dir(request) -> Path:
    return Path(request.config.rootpath) / "truth"


@pytest.fixture(scope="session")
def blessed(request, inputs, products, pixel_sets, truth_dir, note):
    """(this run's fingerprints, the truth's); with --update-truth the truth is this run."""
    if inputs.source != "simulated" or inputs.sim_config.seed != DEFAULT_SEED:
        pytest.skip(
            f"truth is for the built-in data at seed {DEFAULT_SEED}; this run is "
            f"{inputs.source} seed {inputs.sim_config.seed if inputs.sim_config else '-'}"
        )
    current = truth.fingerprint(products, pixel_sets)
    if request.config.getoption("update_truth"):
        with FileLock(str(truth_dir) + ".lock"):
            try:
                old, _ = truth.read(truth_dir)
            except FileNotFoundError:
                old = {}
            meta = truth.provenance(inputs) | {"summary": truth.summary(products, pixel_sets)}
            truth.write(truth_dir, current, meta)
        changed = truth.changes(old, current)
        note(f"--update-truth: {len(changed)} fingerprint arrays changed in {truth_dir}")
        for line in changed[:50]:
            note(f"  {line}")
    stored, meta = truth.read(truth_dir)
    return current, stored, meta


@pytest.mark.truth
def test_truth_provenance(blessed, inputs):
    """The truth was made from this data set's configuration (seed and parameters)."""
    _, _, meta = blessed
    assert meta["seed"] == inputs.sim_config.seed
    from dataclasses import asdict

    assert meta["config"] == asdict(inputs.sim_config), (
        "truth/ was blessed from another simulator configuration; rerun --update-truth"
    )


@pytest.mark.truth
@pytest.mark.parametrize("kind", truth.PRODUCTS)
@pytest.mark.parametrize("sigma", sigma_params())
def test_truth_fingerprints(blessed, kind, sigma):
    """Sampled pixels and block means of every exposure's product within rtol = atol = 1e-4
    (DN/s) of the truth (jwst's MIRI image regtest tolerance); every mismatch listed."""
    current, stored, meta = blessed
    problems = truth.compare(current, stored, f"{kind}/sigma{sigma:g}/")
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    assert not problems, (
        f"{len(problems)} {kind} sigma={sigma:g} fingerprints differ from truth/ (blessed with "
        f"{versions}); if the change is intended, rerun with --update-truth and commit:\n"
        + "\n".join(f"  {p}" for p in problems[:40])
    )


@pytest.mark.truth
@pytest.mark.bigdata
@pytest.mark.parametrize("kind", ["bsub", "combinedbackground"])
@pytest.mark.parametrize("name", seq_params(), indirect=True)
def test_truth_bigdata(run_background, run_dir, artifactory_tree, data_set, name, kind):
    """With --bigdata, the notebook's sigma=2 products against the FITS truth on Artifactory,
    compared like jwst's regtests: astropy FITSDiff ignoring the ASDF extension and the
    date / version / CRDS keywords, rtol = atol = 1e-4 (jwst's MIRI image tests). A data
    set whose manifest lists no truth (flight: none blessed yet) skips, saying so."""
    from astropy.io.fits import FITSDiff

    from miri_background.inputs.real.download import FetchError
    from miri_background.inputs.real.manifest import load_manifest
    from miri_background.inputs.real.sources import artifactory_truth

    if not any(f.role == "truth" for f in load_manifest(data_set.manifest)):
        pytest.skip(f"data set {data_set.name}: {data_set.manifest.name} lists no FITS truth")
    try:
        truth_files = artifactory_truth(run_dir / "truth", **artifactory_tree, data_set=data_set)
    except FetchError as exc:
        pytest.fail(f"truth from Artifactory: {exc}")
    notebook = run_background[NOTEBOOK_SIGMA]
    got = notebook.bsub[name] if kind == "bsub" else notebook.combined[name]
    diff = FITSDiff(
        str(got),
        str(truth_files[f"{name}_{kind}.fits"]),
        ignore_hdus=["ASDF"],
        # jwst's regtest list, plus the names that hold local paths (FILENAME, the readnoise
        # override R_READNO), which differ between any two machines
        ignore_keywords=[
            "DATE",
            "CAL_VER",
            "CAL_VCS",
            "CRDS_VER",
            "CRDS_CTX",
            "FILENAME",
            "R_READNO",
        ],
        rtol=1e-4,
        atol=1e-4,
    )
    assert diff.identical, diff.report()
