"""What a mutation run mutates (``--target``): the modules, the scope of their mutants, and
the upstream tests that score the same mutants beside the suite.

==============  ===============================================  ==========================
target          modules (installed, read only)                   upstream tests
==============  ===============================================  ==========================
background      jwst.background.background_sub, background_step  jwst/background/tests/
(default)       (imaging path: `mutants.line_regions`)           test_background.py
image2          jwst.pipeline.calwebb_image2                     none runnable offline
                                                                 (`IMAGE2_UPSTREAM`)
associations    jwst.associations.asn_from_list,                 jwst/associations/tests/
                jwst.associations.lib.rules_level2_base          (`ASSOCIATION_TESTS`)
sigma_clipping  astropy.stats.sigma_clipping                     astropy/stats/tests/
                                                                 test_sigma_clipping.py
==============  ===============================================  ==========================

The background target takes every mutant of the imaging path (a mutant no clean session
runs is scored without a session). The others are code the suite reaches through the
notebook's path (Image2Pipeline, ``asn_from_list(..., rule=DMSLevel2bBase)``, the
``sigma_clip`` of the combination): their mutants are those on the statements a clean
session of the suite executes (coverage.py, ``executed_only``), the rest of those modules
serving other instruments and modes.

Paths are found without importing the packages (`module_path`: ``find_spec`` of the
top-level name only), so the harness process can stay free of a package whose module it
serves (`fork.preload`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

ASSOCIATION_TESTS = (
    "jwst/associations/tests/test_asn_from_list.py",
    "jwst/associations/tests/test_level2_basics.py",
    "jwst/associations/tests/test_level2_background.py",
)
"""jwst's tests of ``asn_from_list`` and of the level-2 rules' base (the ones of
``jwst/associations/tests`` that call them; the pool-generation tests exercise the
level-2b rules of ``rules_level2b.py`` through ``generate``)."""
IMAGE2_UPSTREAM = (
    "jwst 3.0.0 ships jwst/pipeline/tests/test_calwebb_image2.py, but its 4 tests run "
    "Image2Pipeline on a NIRCam rate file with NIRCam reference files from the CRDS server "
    "(and the asn_from_list console script): offline they fail in the clean pass; no other "
    "unit test of jwst calls Image2Pipeline, so this target has no upstream side"
)
"""Why the image2 target runs the suite side only."""
ASSOCIATION_RULE = "test_association_rule.py"
"""The suite's checks of ``asn_from_list(..., rule=DMSLevel2bBase)`` alone (milliseconds)."""
IMAGE2_WAYS = "test_scenarios_image2_ways.py"
"""The suite's Image2Pipeline calls on a SUB64 association (three, a few seconds each),
run first for the targets no scenario case reaches (the cases call the step itself)."""


@dataclass(frozen=True)
class Target:
    """One ``--target``.

    Attributes
    ----------
    name : str
        The option's value.
    modules : tuple of str
        Dotted names of the mutated modules.
    upstream : tuple of str
        The upstream test files, relative to the directory holding the top-level package
        (none: the run has no upstream side).
    executed_only : bool
        Only mutants on statements a clean suite session executes (else every in-scope one).
    first_tests : tuple of str
        Suite test files run first under ``-x`` (`sessions.ScenariosFirst`).
    """

    name: str
    modules: tuple[str, ...]
    upstream: tuple[str, ...]
    executed_only: bool
    first_tests: tuple[str, ...] = ()


TARGETS = {
    t.name: t
    for t in (
        Target(
            "background",
            ("jwst.background.background_sub", "jwst.background.background_step"),
            ("jwst/background/tests/test_background.py",),
            executed_only=False,
        ),
        Target(
            "image2",
            ("jwst.pipeline.calwebb_image2",),
            (),
            executed_only=True,
            first_tests=(IMAGE2_WAYS,),
        ),
        Target(
            "associations",
            ("jwst.associations.asn_from_list", "jwst.associations.lib.rules_level2_base"),
            ASSOCIATION_TESTS,
            executed_only=True,
            first_tests=(ASSOCIATION_RULE, IMAGE2_WAYS),
        ),
        Target(
            "sigma_clipping",
            ("astropy.stats.sigma_clipping",),
            ("astropy/stats/tests/test_sigma_clipping.py",),
            executed_only=True,
        ),
    )
}
DEFAULT = "background"


def site_dir(module: str) -> Path:
    """The directory holding ``module``'s top-level package (site-packages, or a checkout
    for an editable install), found without importing the package."""
    top = module.split(".")[0]
    spec = find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{top} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).parent


def source_name(module: str) -> str:
    """``module``'s file relative to `site_dir` (``astropy/stats/sigma_clipping.py``): the
    name depend mode records it under (`depend.source_name`)."""
    return module.replace(".", "/") + ".py"


def module_path(module: str) -> Path:
    """The installed file of ``module``."""
    return site_dir(module) / source_name(module)


def file_modules() -> dict[str, str]:
    """{file name: module} of every target's modules (the names are unique)."""
    return {module_path(m).name: m for t in TARGETS.values() for m in t.modules}
