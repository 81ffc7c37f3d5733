"""The suite's pytest plugin: options (`options`), the run directory and its records
(`session`), and the session fixtures chained in stage order (`fixtures`).

Loaded by the suite's ``conftest.py`` (``pytest_plugins``); pytest finds the hooks and
fixtures re-exported here.
"""

from miri_background.pytest_plugin.fixtures import (
    artifactory_tree,
    associations,
    content_cache,
    data_set,
    data_source,
    inputs,
    note,
    pixel_sets,
    products,
    run_background,
    run_detector1,
    run_dir,
    sim_config,
)
from miri_background.pytest_plugin.options import pytest_addoption, pytest_configure
from miri_background.pytest_plugin.session import pytest_runtest_logreport, pytest_sessionfinish

# set-up errors once (exit 4), dead processes' temporaries, cache repairs under xdist
pytest_plugins = (
    "miri_background.pytest_plugin.setup_errors",
    "miri_background.pytest_plugin.stale_temps",
    "miri_background.pytest_plugin.notices",
)

__all__ = [
    "artifactory_tree",
    "associations",
    "content_cache",
    "data_set",
    "data_source",
    "inputs",
    "note",
    "pixel_sets",
    "products",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_logreport",
    "pytest_sessionfinish",
    "run_background",
    "run_detector1",
    "run_dir",
    "sim_config",
]
