"""Mutants: enumeration, imaging scope and regions, sampling and shards, the one-line diff,
the declared equivalents, and serving a mutant (the installed jwst never written; a served
mutant enters every cache key on jwst's code)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.project.harness.mutation.known_mutants import EQUIVALENT, KILLABLE, tree_sha256
from tests.project.suite_runner import SRC

from miri_background.harness.mutation import mutants, report, serve, targets


def test_counts_and_imaging_scope(jwst_300):
    counts = mutants.enumerate_counts()
    assert counts["background_sub.py"] == {"cosmic_ray": 458, "in_scope": 458}, counts
    step = mutants.all_mutants("background_step.py")
    assert counts["background_step.py"]["in_scope"] == len(step) < 127, counts
    source = mutants.original_source("background_step.py").splitlines()
    for m in step:
        assert "subtract_wfss_bkg" not in source[m.line - 1], m
        assert "soss_bkg_percentile" not in source[m.line - 1], m
    lines = {m.line for m in step}
    wfss_soss = {*range(70, 114), *range(115, 139), *range(247, 260)}
    assert {69, 114} <= lines and not lines & wfss_soss, sorted(lines)


def test_regions_follow_the_definitions(jwst_300):
    by_line = {m.line: m.region for m in mutants.all_mutants("background_sub.py")}
    assert by_line[40] == mutants.SUBARRAY  # ImageSubsetArray.__init__
    assert by_line[285] == mutants.BRANCH_3D  # sigma_clip along integrations
    assert by_line[306] == mutants.COMBINE_2D  # mean of the clipped backgrounds
    assert set(by_line.values()) <= set(mutants.REGIONS)


def test_sample_is_deterministic_and_shards_partition_it():
    first = [m.id for m in mutants.select(sample=12, seed=3)]
    assert first == [m.id for m in mutants.select(sample=12, seed=3)]
    assert first != [m.id for m in mutants.select(sample=12, seed=4)]
    shards = [[m.id for m in mutants.select(sample=12, seed=3, shard=(i, 3))] for i in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(first) and all(shards)
    with pytest.raises(ValueError, match="unknown mutant id"):
        mutants.select(only=["background_sub.py:core/Nothing:0"])
    with pytest.raises(ValueError, match="need 1 <= i <= N"):
        mutants.select(shard=(4, 3))


def test_one_line_diff_and_source(jwst_300):
    (m,) = mutants.select(only=[KILLABLE])
    assert m.diff == (
        "L306: avg_bkg.data = mdata.mean(axis=0).data -> avg_bkg.data = mdata.mean(axis= 1).data"
    )
    assert "mean(axis= 1)" in m.source() and "mean(axis= 1)" not in mutants.original_source(m.file)


def test_equivalents_are_reasoned_and_in_range(jwst_300):
    found, _ = report.equivalents()
    assert EQUIVALENT in found and KILLABLE not in found
    assert all(len(reason) > 30 for reason in found.values())
    files = [f for t in targets.TARGETS for f in mutants.target_files(t)]
    every = {m.id for f in files for m in mutants.all_mutants(f)}
    assert set(found) <= every, set(found) - every


def test_hook_serves_the_mutant_and_leaves_jwst_alone(tmp_path):
    """A process with the finder installed imports the mutant from the copy; the rest of
    jwst is the installed one, and the installed files are unchanged."""
    installed = mutants.jwst_background_dir()
    before = tree_sha256(installed)
    (m,) = mutants.select(only=[KILLABLE])
    serve.prepare(tmp_path / "hook", {m.module: m.source()})
    probe = (
        "import inspect, pathlib, sys; from miri_background.harness.mutation import serve;"
        "serve.install(pathlib.Path(sys.argv[1]));"
        "import jwst.background.background_step as s, jwst.background.background_sub as b;"
        "print(b.__file__); print(s.__file__); print('axis= 1' in inspect.getsource(b))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "hook")],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONPATH": str(SRC)},  # this checkout's package, not the installed
    ).stdout.split()
    assert out == [
        str(tmp_path / "hook" / "served" / "jwst_background_background_sub.py"),
        str(installed / "background_step.py"),
        "True",
    ], out
    assert len(serve.loaded(tmp_path / "hook")) == 1
    assert tree_sha256(installed) == before


def test_served_mutant_enters_every_key_on_jwst_source(tmp_path):
    """A served mutant (the plugin tells `keys.override`) enters the keys of every stage
    that runs jwst: the hook's file is in no installed tree or trace; faults reach only the
    stages that run the background step."""
    from miri_background import keys, software

    (m,) = mutants.select(only=[KILLABLE])
    digest = serve.prepare(tmp_path / "hook", {m.module: m.source()})
    stages = ("detector1", "background", "scenario-run")
    assert all(keys.CODE_OVERRIDES not in keys.stage_parts(s) for s in stages)
    keys.override(software.OVERRIDES_KEY, digest)
    keys.override("faults", ["f"], stages=("background",))
    try:
        got = {s: keys.stage_parts(s).get(keys.CODE_OVERRIDES) for s in stages}
    finally:
        keys.override(software.OVERRIDES_KEY, None)
        keys.override("faults", None)
    assert got == {
        "detector1": {software.OVERRIDES_KEY: digest},
        "background": {software.OVERRIDES_KEY: digest, "faults": ["f"]},
        "scenario-run": {software.OVERRIDES_KEY: digest},
    }, got
    assert keys.CODE_OVERRIDES not in keys.stage_parts("background")


