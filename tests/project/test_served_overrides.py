"""Which cached products a served module (the mutation harness's copies) reaches: an
untraced stage when it is keyed on that module's package, a traced (depend-mode) stage
unless its clean entry's trace shows it never ran the module's file."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from miri_background import keys, software
from miri_background.cache import SCRATCH_ENV, ContentCache

SIGMA_CLIPPING = "astropy/stats/sigma_clipping.py"


@pytest.fixture
def served():
    """A served astropy module, told to `keys` as the pytest plugin does."""
    digest, sources = software.decode_overrides(
        software.encode_overrides("d" * 64, [SIGMA_CLIPPING])
    )
    keys.override(software.OVERRIDES_KEY, digest, sources=sources)
    yield digest
    keys.override(software.OVERRIDES_KEY, None)


def test_untraced_stages_are_reached_through_their_package_versions(served):
    """The scenario oracle (keyed on astropy's version) gets the served digest; the
    simulation (numpy, stdatamodels, crds) does not; a traced stage always does."""
    oracle = keys.stage_parts("scenario-oracle", versions=("numpy", "astropy"))
    simulation = keys.stage_parts("simulated-inputs-rate", versions=("numpy", "stdatamodels"))
    traced = keys.stage_parts("detector1", traced=True)
    assert oracle[keys.CODE_OVERRIDES] == {software.OVERRIDES_KEY: served}
    assert keys.CODE_OVERRIDES not in simulation
    assert traced[keys.CODE_OVERRIDES] == {software.OVERRIDES_KEY: served}


def _build(out: Path, *, ran: list[str], log: list[str]) -> list[str]:
    log.append(out.name)
    (out / "product.fits").write_bytes(b"product")
    return ran


@pytest.mark.parametrize(("runs_it", "rebuilt"), [(False, False), (True, True)])
def test_a_traced_product_is_rebuilt_only_if_its_trace_ran_the_served_file(
    tmp_path, monkeypatch, runs_it, rebuilt
):
    """A clean depend-mode entry whose recorded sources hold the served file is rebuilt
    under the override (in the scratch root); one whose trace never ran it is reused."""
    cache = ContentCache(tmp_path / "cache")
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "scratch"))
    other = tmp_path / "jump.py"
    other.write_text("x = 1\n")
    mutated = tmp_path / "sigma_clipping.py"
    mutated.write_text("y = 2\n")
    ran = [str(other), *([str(mutated)] if runs_it else [])]
    log: list[str] = []
    build = functools.partial(_build, ran=ran, log=log)
    parts = keys.stage_parts("detector1", input="a" * 64, traced=True)
    clean = cache.get_or_build("detector1", parts, build, depend=True)
    keys.override(software.OVERRIDES_KEY, "d" * 64, sources=[str(mutated)])
    try:
        under = keys.stage_parts("detector1", input="a" * 64, traced=True)
        got = cache.get_or_build("detector1", under, build, depend=True)
    finally:
        keys.override(software.OVERRIDES_KEY, None)
    assert len(log) == (2 if rebuilt else 1), log
    assert (got.path == clean.path) is not rebuilt
    assert got.path.is_relative_to(tmp_path / "scratch") is rebuilt


def test_a_fault_is_never_taken_for_a_source_scoped_override():
    """An override without named files (an injected fault) gives no clean stand-in."""
    keys.override("faults", ["f"], stages=("background",))
    try:
        assert keys.clean_parts(keys.stage_parts("background", traced=True)) is None
    finally:
        keys.override("faults", None)
