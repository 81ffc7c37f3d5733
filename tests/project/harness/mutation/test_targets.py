"""Mutation targets (``--target``): their modules found without importing them, the
executed-lines scope, regions by definition, and a harness that must not hold the package
whose module it serves."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.project.suite_runner import SRC

from miri_background.harness.mutation import fork, mutants, targets


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_target_modules_and_upstream_tests_are_installed(name):
    """Every target's modules and upstream test files exist where the harness will look."""
    target = targets.TARGETS[name]
    for module in target.modules:
        assert targets.module_path(module).is_file(), module
    site = targets.site_dir(target.modules[0])
    missing = [t for t in target.upstream if not (site / t).is_file()]
    assert not missing, f"{name}: upstream tests not installed: {missing}"
    assert target.upstream or name == "image2", f"{name} has no upstream side"


def test_paths_are_found_without_importing_the_package():
    """The harness serving astropy's sigma_clipping must not import astropy itself."""
    probe = (
        "import sys; from miri_background.harness.mutation import mutants;"
        "mutants.all_mutants('sigma_clipping.py')[0].diff;"
        "print(sorted({'astropy', 'jwst'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_preload_refuses_a_served_package_already_imported():
    """A child forked from a process holding astropy would never ask the finder for the
    served sigma_clipping: `fork.preload` says so instead of scoring the original."""
    import astropy.stats  # noqa: F401  (the state the harness must avoid)

    with pytest.raises(RuntimeError, match=r"\['astropy'\] imported in the harness"):
        fork.preload(targets.TARGETS["sigma_clipping"].modules)


def test_executed_scope_keeps_the_mutants_on_executed_statements():
    """An executed-lines target takes only mutants whose statement ran (the suite's clean
    pass); the background target keeps every in-scope mutant."""
    every = mutants.select(target="sigma_clipping")
    ran = set(mutants.statement_lines("sigma_clipping.py", every[0].line))
    kept = mutants.select(target="sigma_clipping", executed={every[0].module: ran})
    assert kept and len(kept) < len(every)
    assert {m.line for m in kept} <= ran, sorted(ran)
    background = mutants.select(executed={})
    assert len(background) == sum(len(mutants.all_mutants(f)) for f in mutants.FILES)


def _first_line(file: str, text: str) -> int:
    source = mutants.original_source(file).splitlines()
    return next(i for i, line in enumerate(source, 1) if text in line)


def test_regions_of_other_targets_are_their_definitions():
    regions, skipped = mutants.line_regions("calwebb_image2.py")
    line = _first_line("calwebb_image2.py", "def process(")
    assert regions[line] == "Image2Pipeline.process" and not skipped


def test_a_decorator_belongs_to_its_definition():
    """A mutant of ``@staticmethod`` runs when its ``def`` does: its statement is the
    decorated definition's header, not the whole class."""
    line = _first_line("sigma_clipping.py", "@staticmethod")
    lines = mutants.statement_lines("sigma_clipping.py", line)
    assert lines.start == line and len(lines) <= 4, lines
