"""pytest plugin of the scenarios: ``--scenario NAME``, the case parameters, and the fixtures
chained in stage order as jwst's regression tests chain theirs::

    case -> case_inputs -> case_run -> case_products

A test file parametrizes ``case`` itself, so it shows what it runs on::

    @pytest.mark.parametrize("case", params("rateints"), ids=str)
    def test_...(case_products): ...

Each stage is made (or found in the cache) once per process, whichever test asks first, and
returned as a frozen record (`run.CaseInputs`, `run.ScenarioRun`, `checks.CaseProducts`).
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
from miri_background.scenarios.catalog import case_ids, cases
from miri_background.scenarios.model import NOTEBOOK, Case
from miri_background.scenarios.report import record_case

FINGERPRINTS = "scenarios.json"
"""Under ``truth/``: today's output of the paths jwst 3.0.0 gets wrong (`record_fingerprint`)."""


def params(*kinds: str, defect: bool | None = None, xfail_defect: bool = False) -> list:
    """``pytest.param`` of every case of ``kinds`` (`catalog.cases`), id the case id;
    ``xfail_defect``: a known-defect case is a strict xfail (``raises=AssertionError``)."""
    result = []
    for case in cases(*kinds, defect=defect):
        marks = ()
        if xfail_defect and case.scenario.defect:
            marks = pytest.mark.xfail(
                strict=True, raises=AssertionError, reason=case.scenario.defect
            )
        result.append(pytest.param(case, id=case.id, marks=marks))
    return result


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
    names = config.getoption("scenario", None)
    if names:
        known = case_ids()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise pytest.UsageError(
                f"--scenario {', '.join(unknown)}: unknown; choose from: {', '.join(known)}"
            )


def _case(item) -> Case | None:
    return getattr(getattr(item, "callspec", None), "params", {}).get("case")


def pytest_collection_modifyitems(config, items):
    """With ``--scenario``, keep the cases it names, and the notebook's tests only if it
    names ``notebook``."""
    names = config.getoption("scenario", None)
    if not names:
        return

    def selected(item) -> bool:
        case = _case(item)
        if isinstance(case, Case):
            return case.scenario.id in names or case.id in names
        notebook = item.path.parent.name == "regression" and not item.path.name.startswith(
            "test_scenarios_"
        )
        return not notebook or NOTEBOOK in names

    dropped = [i for i in items if not selected(i)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if selected(i)]


@pytest.fixture(scope="session")
def scenario_crds(content_cache) -> Path:
    """The reference-free local CRDS context the scenario runs use."""
    from miri_background.scenarios.run import crds_context

    return crds_context(content_cache)


@pytest.fixture(scope="session")
def scenario_stages(request, content_cache, scenario_crds, sim_config, run_dir, note):
    """``get(stage, case)`` for stage ``inputs``, ``run`` or ``products``: each made once
    per process, in stage order (a later stage asks for the earlier ones). At the end, the
    process's cases go into its stage record (``scenarios``: per case, whether this process
    built it, jwst's seconds and the seconds of everything else: the benchmark's costs);
    each case loaded goes into it at once (``scenario_cases``: the report's rows)."""
    from miri_background.pytest_plugin.session import record_stage
    from miri_background.scenarios.checks import load
    from miri_background.scenarios.run import case_inputs, run_case

    loaded: dict[str, dict] = {}
    made: dict[tuple[str, Case], object] = {}
    seconds: dict[Case, float] = {}
    depth: list[str] = []

    def make(stage: str, case: Case):
        if stage == "inputs":
            return case_inputs(content_cache, case, sim_config.seed)
        if stage == "run":
            run = run_case(content_cache, get("inputs", case), scenario_crds, run_dir / "logs")
            what = "cache hit" if run.hit else f"jwst {run.seconds:.2f} s"
            note(f"scenario {case.id}: {what}")
            return run
        products = load(get("run", case), content_cache)
        loaded[case.id] = record_case(
            run_dir, case.id, _case_record(products.run), _difference(products)
        )
        record_stage(request.config, "scenario_cases", loaded)
        return products

    def get(stage: str, case: Case):
        if (stage, case) not in made:
            t0, outermost = time.perf_counter(), not depth
            depth.append(stage)
            try:
                made[stage, case] = make(stage, case)
            finally:
                depth.pop()
            if outermost:  # the earlier stages it asked for are inside
                seconds[case] = seconds.get(case, 0.0) + time.perf_counter() - t0
        return made[stage, case]

    _make_runs_first(request, run_dir, get, lambda c: ("run", c) in made)
    yield get
    runs = {c: made["run", c] for c in seconds if ("run", c) in made}
    if runs:
        record_stage(
            request.config,
            "scenarios",
            {
                c.id: {
                    "built": not r.hit,
                    "jwst_s": r.seconds,
                    "other_s": max(0.0, seconds[c] - r.seconds),
                }
                for c, r in runs.items()
            },
        )


def _make_runs_first(request, run_dir: Path, get, done) -> None:
    """jwst's products of every case the session selected, made before any test asks.

    Tests of one case reach both xdist workers at once, so making runs in test order
    makes one worker wait at each case's lock while the other builds it (after an edit:
    57 of 61 cases built by one worker, measured). Here a process takes the cases whose
    lock is free (non-blocking), starting at its share of the list (`worker_share`), then
    waits for the others: the workers build disjoint parts. A warm run only looks up. In
    one process (no xdist, the mutation harness's ``-x`` sessions) nothing is gained, and
    a case is made when its first test asks, so the first failing check stops the run
    before the other cases are made.
    """
    from filelock import Timeout

    from miri_background.pytest_plugin.session import is_worker, worker_share

    if not is_worker(request.config):
        return

    cases_of_items = dict.fromkeys(map(_case, request.session.items))
    selected = [c for c in cases_of_items if isinstance(c, Case)]  # not another 'case'
    k = worker_share(request.config, len(selected))
    order = selected[k:] + selected[:k]
    locks = run_dir / "scenario-locks"
    locks.mkdir(parents=True, exist_ok=True)
    for blocking in (False, True):
        for case in order:
            if done(case):
                continue
            try:
                with FileLock(str(locks / f"{case.id}.lock"), timeout=-1 if blocking else 0):
                    get("run", case)
            except Timeout:
                continue


@pytest.fixture(scope="session")
def run_image2_way(content_cache, scenario_crds, scenario_stages, run_dir, note):
    """``get(way)``: Image2Pipeline on the four-product association with bkg_subtract's
    parameters set by ``way`` (`image2_ways.WayRun`), made once per process."""
    from miri_background.scenarios.catalog import by_id
    from miri_background.scenarios.image2_ways import SOURCE, run_way

    inputs = scenario_stages("inputs", by_id()[SOURCE].cases()[0])
    made = {}

    def get(way: str):
        if way not in made:
            run = run_way(content_cache, inputs, scenario_crds, run_dir / "logs", way)
            note(f"image2 {way}: {'cache hit' if run.hit else f'jwst {run.seconds:.2f} s'}")
            made[way] = run
        return made[way]

    return get


@pytest.fixture
def case_inputs(scenario_stages, case):
    """The case's rate-level files (`run.CaseInputs`)."""
    return scenario_stages("inputs", case)


@pytest.fixture
def case_run(scenario_stages, case_inputs):
    """jwst's products of the case (`run.ScenarioRun`)."""
    return scenario_stages("run", case_inputs.case)


@pytest.fixture
def case_products(scenario_stages, case_run):
    """The case's inputs and products loaded, beside the oracle's (`checks.CaseProducts`)."""
    return scenario_stages("products", case_run.case)


def _case_record(run) -> dict:
    """What the report shows of a case (`report`)."""
    scenario = run.case.scenario
    return {
        "scenario": scenario.id,
        "kind": scenario.kind,
        "sigma": run.case.sigma,
        "hit": run.hit,
        "seconds": run.seconds,
        "defect": scenario.defect,
    }


def _difference(products):
    """(combined - rule, science corner) of a known-defect case, else None."""
    scenario = products.scenario
    if not scenario.defect or products.combined is None:
        return None
    from miri_background.scenarios.checks import science_frame

    frame = science_frame(scenario)
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
