"""The scenarios themselves (`observation.scenarios` defines what one is): every
`Scenario` the suite runs, in order, with a comment on what each one is for.

Their geometry is pysiaf's MIRI SIAF (`scenarios.siaf_subarray`)."""

from __future__ import annotations

from functools import cache

from miri_background.observation.scenarios import (
    NOTEBOOK,
    SUPPLIES,
    Background,
    Scenario,
    siaf_subarray,
)

PLACEMENT_DEFECT = (
    "jwst 3.0.0 ImageSubsetArray.get_subset_array pastes the overlap at [..., :h, :w] of "
    "the science frame instead of at its offset: wrong whenever the overlap does not start "
    "at the science frame's first pixel (no jwst issue yet)"
)


def _geometry(science: str, background: str, n: int = 3, defect: str | None = None):
    """Science ``science`` with ``n`` backgrounds of ``background``: id ``subarray-<sci>-
    in-<bkg>`` when the science lies inside the backgrounds' region, else ``-with-``."""
    sci, bkg = siaf_subarray(science), siaf_subarray(background)
    inside = (
        bkg.xstart <= sci.xstart
        and sci.xstart + sci.xsize <= bkg.xstart + bkg.xsize
        and bkg.ystart <= sci.ystart
        and sci.ystart + sci.ysize <= bkg.ystart + bkg.ysize
    )
    name = f"subarray-{science}-{'in' if inside else 'with'}-{background}"
    return Scenario(name, "subarray", science, (Background(background),) * n, defect=defect)


def _missed(science: str, sides: str, beside: tuple[str, ...]) -> Scenario:
    """rateints ``science`` (2 integrations) with two backgrounds of its own frame and one
    of each frame in ``beside`` (which miss it); id ``rateints-<science>-missed-<sides>``."""
    backgrounds = (Background(science, 2),) * 2 + tuple(Background(b, 2) for b in beside)
    return Scenario(
        f"rateints-{science}-missed-{sides}", "rateints", science, backgrounds, science_nints=2
    )


SMALL = "SUB64"
"""The cheapest real subarray (72 x 64): the scenarios whose geometry is not the point."""
N_BACKGROUNDS = (1, 2, 3, 5, 8)


@cache
def all_scenarios() -> tuple[Scenario, ...]:
    """Every scenario, in the order they run (ids unique)."""
    geometry = [
        _geometry("SUB256", "FULL"),
        _geometry("BRIGHTSKY", "FULL"),
        _geometry("MASKLYOT", "FULL"),
        _geometry("SUB256", "SUB256"),
        _geometry("BRIGHTSKY", "SUB256"),
        # SUBSLIT is the one SIAF subarray whose SUBSTRT2 (8) is even, and its backgrounds
        # start above and left of SUB256 (rows 51 - 8, columns 413 - 301 into them): with
        # odd corners or offsets whose bits are a subset of the ends, ystart - 1 = ystart ^ 1
        # and a - b = a ^ b, so the other scenarios cannot tell such an arithmetic slip
        _geometry("SUB256", "SUBSLIT"),
        # MASK1140's corner row 243 - 1 = 242 shares bits with its 224 rows (224 ^ 242 = 18,
        # 224 + 242 = 466): the corners of the other subarrays do not, so ``+`` -> ``^``
        # in the end row of a subset went unseen
        _geometry("MASK1140", "FULL"),
        _geometry("FULL", "SUB256", n=1, defect=PLACEMENT_DEFECT),
        _geometry("SUB256", "BRIGHTSKY", defect=PLACEMENT_DEFECT),
    ]
    rateints = [
        Scenario(
            "rateints-nints3-bkg-nints3",
            "rateints",
            SMALL,
            (Background(SMALL, 3),) * 3,
            science_nints=3,
        ),
        # the 3-NINTS background has a flagged, finite pixel (DO_NOT_USE | JUMP_DET in every
        # integration): the combined DQ must carry it (the OR over files and integrations)
        Scenario(
            "rateints-nints2-bkg-nints2-3-5",
            "rateints",
            SMALL,
            tuple(
                Background(SMALL, k, missing=("flagged-finite",) if k == 3 else ())
                for k in (2, 3, 5)
            ),
            science_nints=2,
        ),
        # the 3-D cut out of backgrounds whose own corner is not (1, 1): rows (SUB64 at row
        # 779 in MASKLYOT from row 719) and columns (BRIGHTSKY at 457 from SUB256's 413);
        # with FULL or equal backgrounds the cut's offsets are 0 and cannot be checked
        Scenario(
            "rateints-SUB64-in-MASKLYOT",
            "rateints",
            SMALL,
            (Background("MASKLYOT", 2),) * 3,
            science_nints=2,
        ),
        Scenario(
            "rateints-BRIGHTSKY-with-SUB256",
            "rateints",
            "BRIGHTSKY",
            (Background("SUB256", 2),) * 3,
            science_nints=2,
        ),
        # the 3-D cut's end column: SLITLESSPRISM_IPS ends at column 64 (0-based exclusive),
        # the backgrounds start at column 12, and 64 - 12 = 52 where 64 ^ 12 = 76
        Scenario(
            "rateints-SLITLESSPRISM_IPS-in-SLITLESSPRISM_IP",
            "rateints",
            "SLITLESSPRISM_IPS",
            (Background("SLITLESSPRISM_IP", 2),) * 3,
            science_nints=2,
        ),
        # full frames without SUBSTRT/SUBSIZE (an old or hand-made file, or one of another
        # tool) must be taken as MIRI's FULL, corner (1, 1), 1032 x 1024: science and two
        # backgrounds without them, one background with them, so that any other default
        # moves the science and two backgrounds against the third; rateints, because only a
        # cube's shape tells shape[1] (rows) from shape[-1] (columns); the backgrounds named
        # by one comma-separated string
        # backgrounds that miss the science frame must be left out of the 3-D combination
        # (in 2-D a missed one only adds NaN, which the clipping drops; in 3-D the clipped
        # mean of an all-NaN cut-out is 0, so a miss the step takes for an overlap pulls the
        # mean down): one beside the science on each side, overlapping it along the other
        # axis, as each side's test in the step needs. No two MIRI readouts touch
        # (test_no_two_miri_readouts_touch), so "beside" always leaves a gap.
        # SUB128 rows 891-1018 above SUB64's 779-842, MASK1065 rows 21-244 below
        _missed(SMALL, "above-and-below", ("SUB128", "MASK1065")),
        # MASK1065 columns 1-288 left of SUBSLIT's 301-440, BRIGHTSKY 457-968 right
        _missed("SUBSLIT", "left-and-right", ("MASK1065", "BRIGHTSKY")),
        Scenario(
            "rateints-FULL-without-SUBSTRT",
            "rateints",
            "FULL",
            (
                Background("FULL", 2, keywords=False),
                Background("FULL", 2),
                Background("FULL", 2, keywords=False),
            ),
            science_nints=2,
            supply="positional-string",
            science_keywords=False,
        ),
    ]
    counts = [
        Scenario(
            f"n_backgrounds-{n}",
            "n_backgrounds",
            SMALL,
            (Background(SMALL),) * n,
            outlier=True,
            supply="positional-one-string" if n == 1 else "bkg_list",
        )
        for n in N_BACKGROUNDS
    ]
    # one background in an association: the step must take it (not only 2 or more)
    counts.append(
        Scenario(
            "n_backgrounds-1-step-association",
            "n_backgrounds",
            SMALL,
            (Background(SMALL),),
            outlier=True,
            supply="step-association",
        )
    )
    missing = [
        Scenario(
            "missing_values-SUB64",
            "missing_values",
            SMALL,
            (
                Background(SMALL, missing=("nan-a", "nan-all")),
                Background(SMALL, missing=("nan-a", "nan-b", "nan-all")),
                Background(SMALL, missing=("flagged-finite", "nan-all")),
                Background(SMALL, missing=("nan-all",)),
                Background("SUB128"),  # rows 891-1018: misses SUB64 (rows 779-842)
            ),
        )
    ]
    supply = [
        Scenario(f"supply-{how}", "supply", SMALL, (Background(SMALL),) * 3, supply=how)
        for how in SUPPLIES
    ]
    # a full frame missing only one of SUBSTRT1/2, SUBSIZE1/2 is still taken as MIRI's full
    # frame (the step tests the four with ``or``; an ``and`` between two of them leaves the
    # file's None in the arithmetic): SUBSTRT1 missing in one background, SUBSIZE1 in the
    # other, which covers each pair of neighbours; one sigma, and last (the scenarios run
    # in this order under the mutation harness's -x), as four FULL frames cost ~5 s
    partial = Scenario(
        "subarray-FULL-with-one-keyword-missing",
        "subarray",
        "FULL",
        (Background("FULL", omit=("xstart",)), Background("FULL", omit=("xsize",))),
        sigmas=(3.0,),
    )
    scenarios = (*geometry, *rateints, *counts, *missing, *supply, partial)
    ids = [s.id for s in scenarios]
    if len(set(ids)) != len(ids):
        raise ValueError(f"scenario ids not unique: {ids}")
    return scenarios


def by_id() -> dict[str, Scenario]:
    """``{id: scenario}`` of `all_scenarios`."""
    return {s.id: s for s in all_scenarios()}


def case_ids() -> list[str]:
    """Every ``<id>-sigma<s>`` and the ids themselves: the names ``--scenario`` accepts."""
    names = [NOTEBOOK]
    for s in all_scenarios():
        names += [s.id, *(s.case_id(sigma) for sigma in s.sigmas)]
    return names
