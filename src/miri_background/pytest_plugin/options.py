"""The suite's command-line options and configure-time checks."""

from __future__ import annotations

import os
import uuid

import pytest

from miri_background import keys
from miri_background.liveness import SESSION_ENV, register
from miri_background.pytest_plugin import preflight
from miri_background.pytest_plugin.session import KEEP_RUNS, cache_root, is_worker, run_directory
from miri_background.software import OVERRIDES_ENV, OVERRIDES_KEY, decode_overrides

DATA_SOURCES = ("simulated", "artifactory", "box", "dir:PATH")


def _data_source(value: str) -> str:
    """argparse type of --data-source: one of DATA_SOURCES (``dir:`` with a path)."""
    if value in ("simulated", "artifactory", "box") or (value.startswith("dir:") and value[4:]):
        return value
    raise pytest.UsageError(
        f"--data-source={value!r}: choose one of simulated, artifactory, box or dir:PATH"
    )


def _cache_size(value: str) -> str:
    """argparse type of --cache-size: a size `cache_admin.parse_size` reads."""
    from miri_background.cache_admin import parse_size

    try:
        parse_size(value)
    except ValueError as exc:
        raise pytest.UsageError(f"--cache-size: {exc}") from None
    return value


def _keep_runs(value: str) -> int:
    """argparse type of --keep-runs: an integer >= 1 (the current run is always kept)."""
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(f"--keep-runs={value!r}: give a whole number of runs, >= 1")
    return int(value)


def _sky_change(value: str) -> tuple[float, float]:
    """argparse type of --sky-change: ``LEVEL,GRADIENT`` in % of the sky (>= 0)."""
    try:
        level, gradient = (float(v) for v in value.split(","))
    except ValueError:
        level = gradient = -1.0
    if level < 0 or gradient < 0:
        raise pytest.UsageError(
            f"--sky-change={value!r}: give LEVEL,GRADIENT in % of the sky, both >= 0 (e.g. 0.8,0.4)"
        )
    return level, gradient


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
        "--data-set",
        choices=("mirisim", "flight"),
        default="mirisim",
        help="the observation: the notebook's 2021 MIRISim F770W uncal set (default) or its "
        "2023 flight set, program 2754 F2550W rate files (skip detector1); with "
        "--data-source simulated, flight is the built-in high-background stand-in",
    )
    group.addoption(
        "--sim-seed",
        type=preflight.nonnegative_int,
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
        "--sky-change",
        type=_sky_change,
        default=None,
        metavar="LEVEL,GRADIENT",
        help="the flight stand-in's background visits get a sky changed by LEVEL %% of the "
        "sky and GRADIENT %% of the sky per 1000 px (default 0.8,0.4: 80 %% of the flight "
        "set's promise; 0,0: the science visit's sky)",
    )
    group.addoption(
        "--update-truth",
        action="store_true",
        help="rewrite truth/ from this run and print what changed (the okify step; "
        "`python -m miri_background bless` runs it and shows the diff)",
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
    group.addoption(
        "--cache-size",
        type=_cache_size,
        default=None,
        metavar="SIZE",
        help="evict least recently used cache entries down to SIZE at the session's end "
        "(default: $MIRI_BACKGROUND_CACHE_SIZE or 4GB)",
    )
    group.addoption(
        "--keep-runs",
        type=_keep_runs,
        default=KEEP_RUNS,
        metavar="N",
        help=f"run directories kept under runs/ (default {KEEP_RUNS}; the current one always)",
    )
    group.addoption(
        "--keep-scratch",
        action="store_true",
        help="keep the scratch entries of --inject-fault or mutants for a post-mortem "
        "(<cache>/scratch/<session>/; removed at the session's end otherwise)",
    )
    parser.addini("miri_background_runs", "directory for run directories", default="runs")


@pytest.hookimpl(tryfirst=True)  # before pytest's junitxml reads --junitxml (`default_junit`)
def pytest_configure(config):
    from miri_background.pytest_plugin.outcomes import default_junit

    if config.getoption("sky_change", None) is not None and (
        (config.getoption("data_set", None) or "mirisim") != "flight"
        or config.getoption("data_source") != "simulated"
        or config.getoption("bigdata", False)
    ):
        raise pytest.UsageError(
            "--sky-change: only the flight stand-in simulates a changing sky "
            "(--data-source simulated --data-set flight)"
        )
    if not is_worker(config):
        # xdist hands this uid to its workers, so that all of them share one run directory
        config.option.testrunuid = getattr(config.option, "testrunuid", None) or uuid.uuid4().hex
        # the session's tag (liveness): its workers and their processes inherit it
        os.environ[SESSION_ENV] = f"{config.option.testrunuid[:12]}-{os.getpid()}"
        preflight.check(config, cache_root(config), run_directory(config).parent)
        default_junit(config)
        register(cache_root(config))
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "truth: compares with the blessed truth files")
    served = os.environ.get(OVERRIDES_ENV)
    if served:  # a mutant the mutation harness serves from a copy, by an import hook
        digest, sources = decode_overrides(served)
        keys.override(OVERRIDES_KEY, digest, sources=sources)
    spec = config.getoption("inject_fault", None)
    if spec:
        from miri_background.harness import faults

        try:
            faults.apply(spec)
        except (ValueError, FileNotFoundError, AttributeError) as exc:
            raise pytest.UsageError(f"--inject-fault {spec}: {exc}") from exc
