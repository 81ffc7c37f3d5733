"""The suite's pytest plugin: options (`options`), the run directory and its records
(`session`), the session fixtures chained in stage order (`fixtures`) and every hook on
the tests' outcomes (`outcomes`).

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
    name,
    note,
    pixel_sets,
    products,
    pytest_sessionstart,
    run_background,
    run_detector1,
    run_dir,
    sim_config,
)
from miri_background.pytest_plugin.options import pytest_addoption, pytest_configure

# the outcome hooks (outcome record, set-up errors, cache repairs), dead processes' temporaries
pytest_plugins = (
    "miri_background.pytest_plugin.outcomes",
    "miri_background.pytest_plugin.stale_temps",
)

__all__ = [
    "artifactory_tree",
    "associations",
    "content_cache",
    "data_set",
    "data_source",
    "inputs",
    "name",
    "note",
    "pixel_sets",
    "products",
    "pytest_addoption",
    "pytest_configure",
    "pytest_sessionstart",
    "run_background",
    "run_detector1",
    "run_dir",
    "sim_config",
]
