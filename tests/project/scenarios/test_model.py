"""Scenario geometry comes from pysiaf's MIRI SIAF: the corners and sizes agree with the
SIAF table of PRDOPSSOC-075 (1-based), and every scenario id is unique and readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from miri_background.scenarios.catalog import all_scenarios, case_ids, cases
from miri_background.scenarios.model import (
    SIAF_SNAPSHOT,
    Background,
    Scenario,
    miri_readouts,
    prd_version,
    pysiaf_subarray,
    siaf_subarray,
)

SIAF_TABLE = {
    "FULL": (1, 1, 1032, 1024),
    "BRIGHTSKY": (457, 51, 512, 512),
    "SUB256": (413, 51, 256, 256),
    "SUB128": (1, 891, 136, 128),
    "SUB64": (1, 779, 72, 64),
    "MASKLYOT": (1, 719, 320, 304),
    "MASK1140": (1, 243, 288, 224),
    "SUBSLIT": (301, 8, 140, 384),
    "SLITLESSPRISM_IP": (13, 631, 68, 384),
    "SLITLESSPRISM_IPS": (13, 753, 52, 256),
}
"""(xstart, ystart, xsize, ysize) typed from the PRD's table (shared/REFERENCE.md), to
check the SIAF reading against, not used by the suite. The last three, which that table
lacks, from PRDOPSSOC-075's ``MIRI_SIAF.xml``: corner = ``(XDetRef - XSciRef + 1,
YDetRef - YSciRef + 1)``, e.g. SUBSLIT (326.13 - 26.13 + 1, 300.70 - 293.70 + 1)."""


def test_siaf_is_the_pinned_prd():
    """The table above is PRDOPSSOC-075's, the PRD pysiaf 0.29.0 (constraints.txt) ships."""
    assert prd_version() == "PRDOPSSOC-075", f"pysiaf ships {prd_version()}"


@pytest.mark.parametrize("name", list(SIAF_TABLE))
def test_subarray_geometry_is_the_siafs(name):
    got = siaf_subarray(name)
    assert (got.xstart, got.ystart, got.xsize, got.ysize) == SIAF_TABLE[name], (
        f"{name}: SIAF gives corner ({got.xstart}, {got.ystart}) size {got.xsize} x "
        f"{got.ysize}, the PRD table {SIAF_TABLE[name]}"
    )


def test_case_ids_are_unique_and_name_their_sigma():
    ids = case_ids()
    assert len(ids) == len(set(ids)), "duplicate scenario or case ids"
    for scenario in all_scenarios():
        for case, sigma in zip(scenario.cases(), scenario.sigmas, strict=True):
            assert str(case) == case.id == f"{scenario.id}-sigma{sigma:g}"


def test_every_scenario_says_why_and_takes_a_known_way_in():
    """A scenario without ``why`` or with an unknown supply is refused at definition."""
    with pytest.raises(ValueError, match=r"scenario bad: say in why="):
        Scenario("bad", "subarray", "FULL", (Background("FULL"),), " ")
    with pytest.raises(ValueError, match=r"scenario bad: unknown supply 'ftp'"):
        Scenario("bad", "subarray", "FULL", (Background("FULL"),), "why", supply="ftp")
    assert all(s.why for s in all_scenarios())


def test_cases_of_a_kind_and_of_the_defect():
    """`catalog.cases` keeps the kinds asked for, and the defect filter splits them."""
    subarray = cases("subarray")
    defect = cases("subarray", defect=True)
    assert {c.scenario.kind for c in subarray} == {"subarray"}
    assert defect and all(c.scenario.defect for c in defect)
    assert set(cases("subarray", defect=False)) | set(defect) == set(subarray)
    with pytest.raises(ValueError, match=r"unknown scenario kinds \['subarrays'\]"):
        cases("subarrays")


def test_only_full_frames_may_lack_subarray_keywords():
    """jwst raises ValueError for a non-full frame without SUBSTRT/SUBSIZE: not a scenario."""
    with pytest.raises(ValueError, match=r"only FULL frames may lack SUBSTRT/SUBSIZE.*SUB64"):
        Scenario("bad", "subarray", "FULL", (Background("SUB64", keywords=False),), "why")
    with pytest.raises(ValueError, match=r"only FULL frames.*SUB256"):
        Scenario("bad", "subarray", "SUB256", (Background("FULL"),), "why", science_keywords=False)


def test_no_two_miri_readouts_touch():
    """Two MIRI readouts side by side (disjoint along one axis, overlapping along the other)
    always leave a gap of at least one column or row. This is why the ``<`` mutants of
    BackgroundStep's ``overlaps()`` (``a.imax < b.imin`` for ``a.imax <= b.imin``), which
    differ only for frames that touch, are declared equivalent (equivalent_mutants.json)."""
    names = miri_readouts()
    assert {"SUB64", "SUBSLIT", "SLITLESSPRISM_IPS"} <= set(names), names
    touching = []
    for a in map(siaf_subarray, names):
        for b in map(siaf_subarray, names):
            a_end, b_end = a.xstart + a.xsize, b.xstart + b.xsize
            rows_overlap = a.ystart < b.ystart + b.ysize and b.ystart < a.ystart + a.ysize
            cols_overlap = a.xstart < b_end and b.xstart < a_end
            if (rows_overlap and a_end == b.xstart) or (
                cols_overlap and a.ystart + a.ysize == b.ystart
            ):
                touching.append((a.name, b.name))
    assert not touching, f"MIRI readouts that touch: {touching}"


def test_full_is_the_only_readout_1032_wide_or_1024_tall():
    """The claim behind the L40 equivalents of ``background_sub.py`` (its full-frame test
    ``shape[-1] == 1032 and shape[-2] == 1024``, mutated to ``or``, ``<=``, ``>=``)."""
    wide_or_tall = [
        s.name for s in map(siaf_subarray, miri_readouts()) if s.xsize == 1032 or s.ysize == 1024
    ]
    assert wide_or_tall == ["FULL"], wide_or_tall


def test_scenarios_doc_is_the_catalogs(request):
    """docs/scenarios.md is `table.markdown` of today's catalog (regenerate it with
    ``python -m miri_background scenarios``)."""
    from miri_background.scenarios import table

    path = Path(request.config.rootpath) / table.DOC
    assert path.is_file(), f"{path} missing: run python -m miri_background scenarios"
    assert path.read_text(encoding="utf-8") == table.markdown(), (
        f"{path} is stale: run python -m miri_background scenarios and commit it"
    )


def test_siaf_snapshot_is_the_installed_pysiafs():
    """`SIAF_SNAPSHOT` (what the suite reads instead of importing pysiaf, 2.4 s a process)
    is pysiaf's geometry of every MIRI readout, written by the installed pysiaf."""
    import json
    from importlib.metadata import version

    snapshot = json.loads(SIAF_SNAPSHOT.read_text(encoding="utf-8"))
    regenerate = "; run python -m miri_background scenarios"
    assert snapshot["pysiaf"] == version("pysiaf"), (
        f"snapshot of pysiaf {snapshot['pysiaf']}" + regenerate
    )
    assert sorted(snapshot["subarrays"]) == sorted(miri_readouts()), regenerate
    for name, geometry in snapshot["subarrays"].items():
        s = pysiaf_subarray(name)
        assert geometry == [s.xstart, s.ystart, s.xsize, s.ysize], (
            f"{name}: {geometry}" + regenerate
        )
        assert siaf_subarray(name) == s
