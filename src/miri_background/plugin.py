"""pytest plugin: options, markers and the session fixtures chained in stage order.

``sim_config -> inputs -> run_detector1 -> associations -> run_background -> products``.
Each fixture returns a frozen record. Heavy work is cached by content (`cache`) and, under
pytest-xdist, shared between workers through file locks.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from miri_background.cache import write_json_atomic

DATA_SOURCES = ("simulated", "artifactory", "box", "dir:PATH")


def _data_source(value: str) -> str:
    """argparse type of --data-source: one of DATA_SOURCES (``dir:`` with a path)."""
    if value in ("simulated", "artifactory", "box") or (value.startswith("dir:") and value[4:]):
        return value
    raise pytest.UsageError(
        f"--data-source={value!r}: choose one of simulated, artifactory, box or dir:PATH"
    )


def pytest_addoption(parser):
    group = parser.getgroup("miri_background", "MIRI imaging background regression suite")
    group.addoption(
        "--data-source",
        type=_data_source,
        default="simulated",
        metavar="{simulated,artifactory,box,dir:PATH}",
        help="where the 8 uncal exposures come from (default: the built-in simulator); "
        "--bigdata implies artifactory",
    )
    group.addoption(
        "--sim-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the built-in data set (default: the canonical seed the truth is for)",
    )
    group.addoption(
        "--sim-level",
        choices=("uncal", "rate"),
        default="uncal",
        help="built-in data as ramps through detector1 (default) or as rate images with "
        "ramp-fit noise (fast, for sweeps over seeds)",
    )
    group.addoption(
        "--update-truth",
        action="store_true",
        help="rewrite truth/ from this run and print what changed (the okify step)",
    )
    group.addoption(
        "--inject-fault",
        default=None,
        metavar="SPEC",
        help="patch jwst before the background stage: a catalog name or path/to/file.py::func",
    )
    group.addoption(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="cache of simulated inputs and detector1 products (default: <rootdir>/.cache/mb)",
    )
    group.addoption("--no-cache", action="store_true", help="rebuild every cached product")
    parser.addini("miri_background_runs", "directory for run directories", default="runs")


def run_directory(config) -> Path:
    """``<rootdir>/runs/run-<testrunuid>``: the same for the controller and every worker."""
    uid = config.workerinput["testrunuid"] if _is_worker(config) else config.option.testrunuid
    root = Path(config.rootpath) / config.getini("miri_background_runs")
    return root / f"run-{uid[:12]}"


KEEP_RUNS = 5
"""Run directories kept (a run with all products is ~250 MB): beyond the newest 5, those
untouched for an hour (so never one a concurrent session is using) are deleted."""


def _prune_runs(root: Path) -> None:
    runs = sorted(root.glob("run-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[KEEP_RUNS - 1 :]:
        if time.time() - old.stat().st_mtime < 3600:
            continue
        shutil.rmtree(old, ignore_errors=True)
        logging.getLogger("miri_background").info("deleted old run directory %s", old)


def pytest_configure(config):
    if not _is_worker(config):
        # xdist hands this uid to its workers, so that all of them share one run directory
        config.option.testrunuid = getattr(config.option, "testrunuid", None) or uuid.uuid4().hex
        _prune_runs(run_directory(config).parent)
    wants_bigdata = config.getoption("bigdata", False) or (
        config.getoption("data_source", None) == "artifactory"
    )
    if wants_bigdata and not os.environ.get("TEST_BIGDATA"):
        raise pytest.UsageError(
            "TEST_BIGDATA is not set: --bigdata / --data-source artifactory read the inputs "
            "from $TEST_BIGDATA/<inputs_root>/<env>/miri/image/background/; set it to the "
            "Artifactory URL or a local mirror directory (or drop --bigdata for the built-in data)"
        )
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "truth: compares with the blessed truth files")
    spec = config.getoption("inject_fault", None)
    if spec:
        from miri_background import faults

        try:
            faults.apply(spec)
        except (ValueError, FileNotFoundError, AttributeError) as exc:
            raise pytest.UsageError(f"--inject-fault {spec}: {exc}") from exc


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


@pytest.fixture(scope="session")
def note(request):
    """Print one line to the terminal (controller only) and to the run log."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    log = logging.getLogger("miri_background")

    def _note(line: str) -> None:
        log.info(line)
        if reporter is not None and not _is_worker(request.config):
            capture = request.config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled():  # show stage lines live
                reporter.write_line(f"[miri_background] {line}")

    return _note


@pytest.fixture(scope="session")
def run_dir(request, note) -> Path:
    """This session's run directory (all products, logs, stage records), shared by workers."""
    path = run_directory(request.config)
    path.mkdir(parents=True, exist_ok=True)
    (path.parent / "LATEST").write_text(path.name + "\n")
    note(f"run directory {path}")
    return path


def _worker_id(config) -> str:
    """The xdist worker id (``gw0``...) or ``main`` outside xdist."""
    return config.workerinput["workerid"] if _is_worker(config) else "main"


def record_stage(config, stage: str, value: dict) -> None:
    """Add ``value`` under ``stage`` to this process's ``stages/<worker>.json`` record."""
    path = run_directory(config) / "stages" / f"{_worker_id(config)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[stage] = value
    write_json_atomic(path, data)


_OUTCOMES: list[dict] = []


def pytest_runtest_logreport(report):
    """Collect every test's outcome (controller: including the workers' reports)."""
    if report.when == "call" or report.outcome != "passed":
        _OUTCOMES.append(
            {
                "nodeid": report.nodeid,
                "when": report.when,
                "outcome": "xfailed"
                if hasattr(report, "wasxfail") and report.skipped
                else report.outcome,
                "duration_s": round(report.duration, 3),
                "message": report.longreprtext[-4000:] if report.failed else "",
            }
        )


def pytest_sessionfinish(session, exitstatus):
    """Write ``outcomes.json`` into the run directory (controller or plain session only)."""
    if _is_worker(session.config) or not _OUTCOMES:
        return
    path = run_directory(session.config)
    path.mkdir(parents=True, exist_ok=True)
    (path / "outcomes.json").write_text(
        json.dumps({"exitstatus": int(exitstatus), "tests": _OUTCOMES}, indent=1)
    )


@pytest.fixture(scope="session")
def content_cache(request):
    """The content cache (``--cache-dir``, ``--no-cache``)."""
    from miri_background.cache import ContentCache

    path = request.config.getoption("cache_dir") or Path(request.config.rootpath) / ".cache" / "mb"
    return ContentCache(Path(path), enabled=not request.config.getoption("no_cache"))


@pytest.fixture(scope="session")
def sim_config(request):
    """The built-in data set's configuration (``--sim-seed``)."""
    from miri_background.simulate import DEFAULT_SEED, SimConfig

    seed = request.config.getoption("sim_seed")
    return SimConfig(seed=DEFAULT_SEED if seed is None else seed)


@pytest.fixture(scope="session")
def data_source(request) -> str:
    """The chosen data source; --bigdata selects artifactory as in jwst's regtests."""
    if request.config.getoption("bigdata", False):
        return "artifactory"
    return request.config.getoption("data_source")


@pytest.fixture(scope="session")
def inputs(request, data_source, sim_config, content_cache, run_dir, note):
    """Stage 1: the 8 uncal exposures from the chosen data source."""
    from miri_background import simulated

    t0 = time.perf_counter()
    if data_source == "simulated":
        # as for detector1: xdist workers (one core each) split the exposures, a plain
        # session uses a process pool
        result = simulated.prepare_simulated(
            content_cache,
            sim_config,
            request.config.getoption("sim_level"),
            **_split_over_workers(request.config),
            note=note,
        )
    else:
        from miri_background import sources

        result = sources.real_inputs(request.config, data_source, run_dir / "data")
    seconds = time.perf_counter() - t0
    note(f"inputs ({result.source}): {'cache hit' if result.hit else 'built'} in {seconds:.1f} s")
    record_stage(
        request.config,
        "inputs",
        {
            "source": result.source,
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


def _split_over_workers(config) -> dict[str, int]:
    """How a stage built per exposure uses the CPUs: an xdist worker is one process and
    starts 4 exposures after the previous worker (they meet at the cache locks); a plain
    session runs a process pool over the CPUs."""
    from miri_background import pipeline

    if _is_worker(config):
        return {"processes": 1, "order_offset": 4 * int(_worker_id(config)[2:])}
    return {"processes": pipeline.default_processes(), "order_offset": 0}


@pytest.fixture(scope="session")
def run_detector1(request, inputs, content_cache, run_dir, note):
    """Stage 2: detector1 on all 8 exposures (cached; xdist workers split the misses)."""
    from miri_background import pipeline

    t0 = time.perf_counter()
    products = pipeline.run_detector1(
        inputs, content_cache, run_dir, **_split_over_workers(request.config), note=note
    )
    hits = sum(e.hit for e in products.entries.values()) if products.entries else "no"
    seconds = time.perf_counter() - t0
    note(f"detector1: {hits}/8 cache hits, {seconds:.1f} s")
    record_stage(
        request.config,
        "detector1",
        {
            "seconds": seconds,
            "exposures": {
                n: {"hit": e.hit, "seconds": e.seconds, "reason": e.reason, "key": e.key}
                for n, e in products.entries.items()
            },
        },
    )
    return products


@pytest.fixture(scope="session")
def associations(run_detector1, run_dir):
    """Stage 3: the level-2b associations, one per science exposure."""
    from miri_background import pipeline

    return pipeline.make_associations(run_detector1.rates, run_dir / "asn")


@pytest.fixture(scope="session")
def run_background(request, inputs, associations, run_dir, note):
    """Stage 4: the image2 background step for sigma 1, 2 and 3 (maxiters=3).

    The 12 calls are shared between xdist workers (each takes the free ones)."""
    from miri_background import pipeline

    t0 = time.perf_counter()
    runs = pipeline.run_backgrounds(
        inputs, associations, run_dir, worker=_worker_id(request.config), note=note
    )
    seconds = time.perf_counter() - t0
    note(f"background: {seconds:.1f} s for sigma {', '.join(f'{s:g}' for s in runs)}")
    record_stage(
        request.config,
        "background",
        {
            "seconds": seconds,
            "pipeline_seconds": {f"sigma{s:g}": dict(r.seconds) for s, r in runs.items()},
            "ran_by": {f"sigma{s:g}": dict(r.workers) for s, r in runs.items()},
            "fault": request.config.getoption("inject_fault"),
        },
    )
    return runs


@pytest.fixture(scope="session")
def products(inputs, run_detector1, run_background):
    """All rate, combined-background and bsub arrays, loaded once (read-only)."""
    from miri_background.products import load_products

    return load_products(inputs, run_detector1, run_background)


@pytest.fixture(scope="session")
def pixel_sets(inputs, products):
    """Sky / star / region pixel sets per exposure (truth catalogs or detection)."""
    from miri_background.pixelsets import build_pixel_sets

    return build_pixel_sets(inputs, products)
