"""pytest plugin for the scenarios: ``--scenario NAME``, the ``case`` parametrization and
the session fixtures that run and load each case once.

A test takes the argument ``case`` and is marked ``@pytest.mark.scenarios(kind, ...)``
(``defect=True`` / ``False`` keeps only the cases jwst 3.0.0 is known to get wrong / right;
``xfail_defect=True`` marks those a strict xfail with ``raises=AssertionError``).
``--scenario`` (repeatable; a scenario id, a case id ``<id>-sigma<s>`` or ``notebook``)
selects what runs; by default everything, the notebook's tests included.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from filelock import FileLock

from miri_background.files import write_json_atomic
from miri_background.observation.catalog import all_scenarios, case_ids
from miri_background.observation.scenarios import NOTEBOOK
from miri_background.report.scenarios import record_case

FINGERPRINTS = "scenarios.json"
"""Under ``truth/``: today's output of the paths jwst 3.0.0 gets wrong (`record_fingerprint`)."""


def pytest_addoption(parser):
    group = parser.getgroup("miri_background")
    group.addoption(
        "--scenario",
        action="append",
        default=None,
        metavar="NAME",
        help="run only this scenario (repeatable): a scenario id such as "
        "subarray-SUB256-in-FULL, a case id such as subarray-SUB256-in-FULL-sigma2, or "
        "'notebook' for the notebook's data set; default: all",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "scenarios(*kinds, defect=None, xfail_defect=False): parametrize 'case'"
    )
    names = config.getoption("scenario", None)
    if names:
        known = case_ids()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise pytest.UsageError(
                f"--scenario {', '.join(unknown)}: unknown; choose from: {', '.join(known)}"
            )


def _selected(config, scenario, sigma) -> bool:
    names = config.getoption("scenario", None)
    return not names or scenario.id in names or scenario.case_id(sigma) in names


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("scenarios")
    if "case" not in metafunc.fixturenames or marker is None:
        return
    defect = marker.kwargs.get("defect")
    params = []
    for scenario in all_scenarios():
        if scenario.kind not in marker.args or (
            defect is not None and (scenario.defect is not None) != defect
        ):
            continue
        for sigma in scenario.sigmas:
            if not _selected(metafunc.config, scenario, sigma):
                continue
            marks = ()
            if marker.kwargs.get("xfail_defect") and scenario.defect:
                marks = pytest.mark.xfail(
                    strict=True, raises=AssertionError, reason=scenario.defect
                )
            params.append(pytest.param((scenario, sigma), id=scenario.case_id(sigma), marks=marks))
    metafunc.parametrize("case", params)


def pytest_collection_modifyitems(config, items):
    """Without ``notebook`` among ``--scenario`` names, deselect the notebook's tests."""
    names = config.getoption("scenario", None)
    if not names or NOTEBOOK in names:
        return
    notebook = [
        i
        for i in items
        if i.path.parent.name == "regression" and not i.path.name.startswith("test_scenarios_")
    ]
    if notebook:
        config.hook.pytest_deselected(items=notebook)
        items[:] = [i for i in items if i not in set(notebook)]


@pytest.fixture(scope="session")
def scenario_crds(content_cache) -> Path:
    """The reference-free local CRDS context the scenario runs use."""
    from miri_background.pipeline.scenarios import crds_context

    return crds_context(content_cache)


@pytest.fixture(scope="session")
def scenario_products(content_cache, scenario_crds, sim_config, run_dir, note):
    """``get((scenario, sigma)) -> CaseProducts``: each case run (or found in the cache)
    and loaded once per process."""
    from miri_background.checks.scenario_checks import load
    from miri_background.pipeline.scenarios import run_case

    loaded = {}

    def get(case):
        scenario, sigma = case
        key = scenario.case_id(sigma)
        if key not in loaded:
            t0 = time.perf_counter()
            run = run_case(
                content_cache,
                scenario,
                sigma,
                scenario_crds,
                run_dir / "logs",
                sim_seed=sim_config.seed,
            )
            loaded[key] = load(run)
            record_case(run_dir, key, _case_record(run), _difference(loaded[key]))
            what = "cache hit" if run.hit else f"jwst {run.seconds:.2f} s"
            note(f"scenario {key}: {what}, {time.perf_counter() - t0:.2f} s in all")
        return loaded[key]

    return get


def _case_record(run) -> dict:
    """What the report shows of a case (`report.scenarios`)."""
    scenario = run.scenario
    return {
        "scenario": scenario.id,
        "kind": scenario.kind,
        "sigma": run.sigma,
        "hit": run.hit,
        "seconds": run.seconds,
        "defect": scenario.defect,
    }


def _difference(products):
    """(combined - rule, science corner) of a known-defect case, else None."""
    scenario = products.run.scenario
    if not scenario.defect or products.combined is None:
        return None
    from miri_background.observation.scenarios import siaf_subarray

    frame = siaf_subarray(scenario.science)
    return products.combined.data - products.expected.data, (frame.xstart, frame.ystart)


@pytest.fixture(scope="session")
def scenario_truth(request) -> dict:
    """The committed fingerprints (``truth/scenarios.json``), empty if there are none."""
    path = Path(request.config.rootpath) / "truth" / FINGERPRINTS
    return json.loads(path.read_text()) if path.is_file() else {}


@pytest.fixture(scope="session")
def record_fingerprint(request, run_dir):
    """``record(case_id, fingerprint)`` under ``--update-truth``: merged into
    ``truth/scenarios.json`` at once (under a lock, so xdist workers do not lose entries)."""
    path = Path(request.config.rootpath) / "truth" / FINGERPRINTS

    def record(key: str, value: dict) -> None:
        with FileLock(str(run_dir / "scenario-truth.lock")):
            data = json.loads(path.read_text()) if path.is_file() else {}
            data[key] = value
            write_json_atomic(path, dict(sorted(data.items())))

    return record
