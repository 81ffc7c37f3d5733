"""The session fixtures, chained in stage order, each returning a frozen record, and the
real data sources resolved once at the session's start.

``sim_config -> inputs -> run_detector1 -> associations -> run_background -> products ->
pixel_sets``. Heavy work is cached by content (`miri_background.cache`) and, under
pytest-xdist, shared between workers through file locks. jwst is imported only inside the
stages that call it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from miri_background.cache import REPAIR_PREFIX, Schedule, default_processes
from miri_background.frozen import FrozenMap
from miri_background.observation.notebook import EXPOSURES
from miri_background.pytest_plugin.preflight import wants_real_data
from miri_background.pytest_plugin.session import (
    cache_root,
    is_worker,
    record_stage,
    run_directory,
    worker_id,
    worker_share,
)
from miri_background.run_records import relative


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session) -> None:
    """Resolve a real data source (``--bigdata``, ``--data-source artifactory|box|dir:PATH``)
    once on the controller (or the plain session), before xdist starts its workers: files
    fetched or checked, a problem raised as one `pytest.UsageError` (pytest prints ``ERROR:
    <message>`` and exits with status 4). The workers' `inputs` then find them in place."""
    config = session.config
    source = wants_real_data(config)
    if is_worker(config) or source is None or config.option.collectonly:
        return
    real_data_inputs(config, source, run_directory(config) / "data")


def artifactory_tree_of(config) -> dict[str, str]:
    """``env`` (ci-watson's ``--env``) and ``inputs_root`` (ini key) of the Artifactory tree
    ``$TEST_BIGDATA/<inputs_root>/<env>/``, as keyword arguments of `inputs.real.sources`."""
    return {
        "env": config.getoption("env"),
        "inputs_root": (config.getini("inputs_root") or ["jwst-pipeline"])[0],
    }


def real_data_inputs(config, source: str, dest):
    """`inputs.real.sources.real_inputs` for the session's data set; a problem the user
    must fix is one `pytest.UsageError` naming the options, with no chained cause (its
    frames would show the URL's credentials)."""
    from miri_background.inputs.real.download import FetchError
    from miri_background.inputs.real.sources import real_inputs

    data_set = session_data_set(config)
    try:
        return real_inputs(source, dest, **artifactory_tree_of(config), data_set=data_set)
    except FetchError as exc:
        what = "--bigdata" if source == "artifactory" else f"--data-source {source}"
        raise pytest.UsageError(f"{what} --data-set {data_set.name}: {exc}") from None


@pytest.fixture(scope="session")
def note(request):
    """Print one line to the terminal (controller only) and to the run log."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    log = logging.getLogger("miri_background")

    def _note(line: str) -> None:
        if line.startswith(REPAIR_PREFIX):
            from miri_background.pytest_plugin.outcomes import announce

            return announce(request.config, line)
        log.info(line)
        if reporter is not None and not is_worker(request.config):
            capture = request.config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled():  # show stage lines live
                reporter.write_line(f"[miri_background] {line}")

    return _note


@pytest.fixture(scope="session")
def run_dir(request, note) -> Path:
    """This session's run directory (all products, logs, stage records), shared by workers."""
    path = run_directory(request.config)
    path.mkdir(parents=True, exist_ok=True)
    record_stage(request.config, "run", {"started": datetime.now(timezone.utc).isoformat()})
    (path.parent / "LATEST").write_text(path.name + "\n")
    note(f"run directory {path}")
    return path


@pytest.fixture(scope="session")
def content_cache(request):
    """The content cache (``--cache-dir``, ``--no-cache``); the traces' parses are kept
    beside it (`code_trace.keep_parses_in`)."""
    from miri_background.cache import ContentCache
    from miri_background.pipeline import code_trace

    path = Path(cache_root(request.config))
    code_trace.keep_parses_in(path / "trace-imports")
    return ContentCache(path, enabled=not request.config.getoption("no_cache"))


@pytest.fixture(scope="session")
def sim_config(request):
    """The built-in data set's configuration (``--sim-seed``)."""
    from miri_background.inputs.simulator.config import DEFAULT_SEED, SimConfig

    seed = request.config.getoption("sim_seed")
    return SimConfig(seed=DEFAULT_SEED if seed is None else seed)


@pytest.fixture(scope="session")
def data_source(request) -> str:
    """The chosen data source; --bigdata selects artifactory as in jwst's regtests."""
    if request.config.getoption("bigdata", False):
        return "artifactory"
    return request.config.getoption("data_source")


@pytest.fixture(scope="session")
def artifactory_tree(request):
    """``env`` (ci-watson's ``--env``) and ``inputs_root`` (ini key) of the Artifactory tree
    ``$TEST_BIGDATA/<inputs_root>/<env>/``, as keyword arguments of `inputs.real.sources`."""
    return FrozenMap(artifactory_tree_of(request.config))


def session_data_set(config):
    """The session's observation (`DataSet`: names, level, the notebook's pixels), as
    ``--data-set`` names it: the one place the data set is kept."""
    from miri_background.observation import datasets

    return datasets.get(config.getoption("data_set"))


@pytest.fixture(scope="session")
def data_set(request):
    """The session's observation (`session_data_set`)."""
    return session_data_set(request.config)


@pytest.fixture
def name(request, data_set) -> str:
    """The science exposure at the position a check is parametrized with
    (`checks.ids.seq_params`, ``indirect``: ids seq1..seq4) in the session's data set."""
    return data_set.science_names[request.param]


@pytest.fixture(scope="session")
def inputs(request, data_source, data_set, sim_config, content_cache, run_dir, note):
    """Stage 1: the 8 exposures of the chosen data set from the chosen data source."""
    from miri_background.inputs import built_in as simulated

    t0 = time.perf_counter()
    if data_source == "simulated" and data_set.name == "flight":
        from miri_background.inputs.simulator import flight_standin

        seed, change = request.config.getoption("sim_seed"), request.config.getoption("sky_change")
        config = flight_standin.StandinConfig(
            **({} if seed is None else {"seed": seed}),
            **(
                {}
                if change is None
                else {"sky_change_level": change[0] / 100, "sky_change_gradient": change[1] / 100}
            ),
        )
        result = flight_standin.prepare_standin(content_cache, config)
    elif data_source == "simulated":
        # as for detector1: xdist workers (one core each) split the exposures, a plain
        # session uses a process pool
        result = simulated.prepare_simulated(
            content_cache,
            sim_config,
            request.config.getoption("sim_level"),
            _schedule(request.config, note),
        )
    else:
        result = real_data_inputs(request.config, data_source, run_dir / "data")
    seconds = time.perf_counter() - t0
    note(
        f"inputs ({result.source}, data set {data_set.name}: {data_set.title}): "
        f"{'cache hit' if result.hit else 'built'} in {seconds:.1f} s"
    )
    record_stage(
        request.config,
        "inputs",
        {
            "source": result.source,
            "data_set": data_set.name,
            "data_set_title": data_set.title,
            "level": "rate" if result.rates is not None else "uncal",
            "sim_truth": str(result.sim_truth) if result.sim_truth else None,
            "seed": result.sim_config.seed if result.sim_config else None,
            "uncal": {n: str(p) for n, p in result.uncal.items()},
            "exposures": {n: dict(e) for n, e in result.exposures.items()},
            "hit": result.hit,
            "seconds": seconds,
            "build_seconds": result.seconds,
        },
    )
    return result


def _schedule(config, note) -> Schedule:
    """How a stage built per exposure uses the CPUs: an xdist worker is one process and
    starts at its share of the exposures (they meet at the cache locks); a plain session
    runs a process pool over the CPUs."""
    if is_worker(config):
        return Schedule(1, worker_share(config, len(EXPOSURES)), note)
    return Schedule(default_processes(), 0, note)


@pytest.fixture(scope="session")
def run_detector1(request, inputs, content_cache, run_dir, note):
    """Stage 2: detector1 on all 8 exposures (cached; xdist workers split the misses)."""
    from miri_background.pipeline.detector1 import run_detector1 as pipeline_detector1

    t0 = time.perf_counter()
    products = pipeline_detector1(
        inputs, content_cache, run_dir, _schedule(request.config, note)
    )
    hits = sum(e.hit for e in products.entries.values()) if products.entries else "no"
    seconds = time.perf_counter() - t0
    if inputs.rates is None:
        note(f"detector1: {hits}/8 cache hits, {seconds:.1f} s")
    else:
        note(f"detector1: skipped (rate inputs, data set {inputs.data_set}), {seconds:.1f} s")
    record_stage(
        request.config,
        "detector1",
        {
            "skipped": inputs.rates is not None,
            "seconds": seconds,
            "rates": {n: relative(run_dir, p) for n, p in products.rates.items()},
            "exposures": {
                n: {
                    "hit": e.hit,
                    "seconds": e.seconds,
                    "reason": e.reason,
                    "key": e.key,
                    "sources": e.sources,
                }
                for n, e in products.entries.items()
            },
        },
    )
    return products


@pytest.fixture(scope="session")
def associations(data_set, run_detector1, run_dir):
    """Stage 3: the level-2b associations, one per science exposure."""
    from miri_background.pipeline.associations import make_associations

    return make_associations(run_detector1.rates, run_dir / "asn", data_set)


@pytest.fixture(scope="session")
def run_background(request, inputs, associations, content_cache, run_dir, note):
    """Stage 4: the image2 background step for sigma 1, 2 and 3 (maxiters=3).

    The 12 units (cached; the injected fault is in their key) are shared between xdist
    workers (each takes the free ones)."""
    from miri_background.pipeline.background import run_backgrounds

    t0 = time.perf_counter()
    runs = run_backgrounds(
        inputs, associations, run_dir, content_cache, worker=worker_id(request.config), note=note
    )
    seconds = time.perf_counter() - t0
    hits = sum(sum(r.hits.values()) for r in runs.values())
    units = sum(len(r.hits) for r in runs.values())
    note(
        f"background: {hits}/{units} cache hits, {seconds:.1f} s for sigma "
        f"{', '.join(f'{s:g}' for s in runs)}"
    )
    record_stage(
        request.config,
        "background",
        {
            "seconds": seconds,
            "pipeline_seconds": {f"sigma{s:g}": dict(r.seconds) for s, r in runs.items()},
            "ran_by": {f"sigma{s:g}": dict(r.workers) for s, r in runs.items()},
            "hits": {f"sigma{s:g}": dict(r.hits) for s, r in runs.items()},
            "products": {
                f"{s:g}": {
                    kind: {n: relative(run_dir, p) for n, p in paths.items()}
                    for kind, paths in (("bsub", r.bsub), ("combinedbackground", r.combined))
                }
                for s, r in runs.items()
            },
            "fault": request.config.getoption("inject_fault"),
        },
    )
    return runs


@pytest.fixture(scope="session")
def products(request, inputs, run_detector1, run_background):
    """All rate, combined-background and bsub arrays, loaded once (read-only); the load's
    seconds go into the stage record (``products``: the benchmark's floor)."""
    from miri_background.checks.products import load_products

    t0 = time.perf_counter()
    loaded = load_products(
        run_detector1.rates,
        {s: run.bsub for s, run in run_background.items()},
        {s: run.combined for s, run in run_background.items()},
        inputs.sim_truth,
    )
    record_stage(request.config, "products", {"seconds": time.perf_counter() - t0})
    return loaded


@pytest.fixture(scope="session")
def pixel_sets(inputs, data_set, products):
    """Sky / star / region pixel sets per exposure (truth catalogs or detection)."""
    from miri_background.checks.pixelsets import build_pixel_sets

    return build_pixel_sets(products, inputs.sim_truth, data_set)
