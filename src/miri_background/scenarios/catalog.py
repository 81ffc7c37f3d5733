"""Every `Scenario` the suite runs, by kind; each says in ``why`` which path of the step it
takes and which slip it exposes (the table in docs/scenarios.md is made from it: `table`).

Geometry is pysiaf's MIRI SIAF (`model.siaf_subarray`). The order here is the reading
order; a tool that needs another (the mutation harness's ``-x``) sorts for itself.
"""

from __future__ import annotations

from functools import cache

from miri_background.scenarios.model import (
    NOTEBOOK,
    SUPPLIES,
    Background,
    Case,
    Scenario,
    siaf_subarray,
)

PLACEMENT_DEFECT = (
    "jwst 3.0.0 ImageSubsetArray.get_subset_array pastes the overlap at [..., :h, :w] of "
    "the science frame instead of at its offset: wrong whenever the overlap does not start "
    "at the science frame's first pixel (no jwst issue yet)"
)
SMALL = "SUB64"
"""The cheapest real subarray (72 x 64): the scenarios whose geometry is not the point."""
N_BACKGROUNDS = (1, 2, 3, 5, 8)
KINDS = ("subarray", "rateints", "n_backgrounds", "missing_values", "supply")
"""``Scenario.kind``: the test module (``test_scenarios_<kind>.py``) that covers it."""


def _inside(science: str, background: str) -> bool:
    sci, bkg = siaf_subarray(science), siaf_subarray(background)
    return (
        bkg.xstart <= sci.xstart
        and sci.xstart + sci.xsize <= bkg.xstart + bkg.xsize
        and bkg.ystart <= sci.ystart
        and sci.ystart + sci.ysize <= bkg.ystart + bkg.ysize
    )


def _geometry(science: str, background: str, why: str, n: int = 3, **kwargs) -> Scenario:
    """Science ``science`` with ``n`` backgrounds of ``background``: id ``subarray-<sci>-
    in-<bkg>`` when the science lies inside the backgrounds' region, else ``-with-``."""
    name = f"subarray-{science}-{'in' if _inside(science, background) else 'with'}-{background}"
    return Scenario(name, "subarray", science, (Background(background),) * n, why, **kwargs)


def subarray() -> list[Scenario]:
    """Placement of each background by its own SUBSTRT/SUBSIZE (2-D)."""
    return [
        _geometry("SUB256", "FULL", "a subarray cut out of FULL backgrounds at its corner"),
        _geometry("BRIGHTSKY", "FULL", "a second corner and size cut out of FULL"),
        _geometry("MASKLYOT", "FULL", "a coronagraph readout cut out of FULL"),
        _geometry("SUB256", "SUB256", "equal frames: the cut-out is the whole background"),
        _geometry("BRIGHTSKY", "SUB256", "a background larger than the science on one side"),
        _geometry(
            "SUB256",
            "SUBSLIT",
            "SUBSLIT is the one SIAF subarray whose SUBSTRT2 (8) is even, its backgrounds "
            "start above-left of SUB256: with odd corners ystart - 1 = ystart ^ 1, so only "
            "this case tells such an arithmetic slip",
        ),
        _geometry(
            "MASK1140",
            "FULL",
            "MASK1140's corner row 242 shares bits with its 224 rows (224 ^ 242 = 18, "
            "224 + 242 = 466): '+' -> '^' in a subset's end row shows only here",
        ),
        _geometry(
            "FULL",
            "SUB256",
            "a background smaller than the science: the overlap starts at the science "
            "frame's offset (jwst 3.0.0 pastes it at the origin)",
            n=1,
            defect=PLACEMENT_DEFECT,
        ),
        _geometry(
            "SUB256",
            "BRIGHTSKY",
            "a partial overlap starting inside the science frame (jwst 3.0.0 pastes it at "
            "the origin)",
            defect=PLACEMENT_DEFECT,
        ),
        Scenario(
            "subarray-FULL-with-one-keyword-missing",
            "subarray",
            "FULL",
            (Background("FULL", omit=("xstart",)), Background("FULL", omit=("xsize",))),
            "a FULL file missing only SUBSTRT1 or only SUBSIZE1 is still MIRI's full frame "
            "(the step tests the four with 'or'; 'and' leaves the file's None in the "
            "arithmetic); one sigma, as four FULL frames cost ~5 s",
            sigmas=(3.0,),
        ),
    ]


def _rateints(science: str, backgrounds: tuple[Background, ...], why: str, **kwargs):
    """rateints ``science`` with 2 integrations (``science_nints`` overrides)."""
    nints = kwargs.pop("science_nints", 2)
    name = kwargs.pop("name")
    return Scenario(name, "rateints", science, backgrounds, why, science_nints=nints, **kwargs)


def _missed(science: str, sides: str, beside: tuple[str, ...], why: str) -> Scenario:
    """rateints ``science`` with two backgrounds of its own frame and one of each frame in
    ``beside`` (which miss it); id ``rateints-<science>-missed-<sides>``."""
    backgrounds = (Background(science, 2),) * 2 + tuple(Background(b, 2) for b in beside)
    return _rateints(science, backgrounds, why, name=f"rateints-{science}-missed-{sides}")


def rateints() -> list[Scenario]:
    """The 3-D branch: each file clipped over its integrations, then the files."""
    return [
        _rateints(
            SMALL,
            (Background(SMALL, 3),) * 3,
            "3-D science and backgrounds of one NINTS: clip within each file, then across",
            name="rateints-nints3-bkg-nints3",
            science_nints=3,
        ),
        _rateints(
            SMALL,
            tuple(
                Background(SMALL, k, missing=("flagged-finite",) if k == 3 else ())
                for k in (2, 3, 5)
            ),
            "backgrounds of different NINTS (jwst #8326, #8830); the 3-NINTS one has a "
            "flagged finite pixel, so the combined DQ must be the OR over integrations",
            name="rateints-nints2-bkg-nints2-3-5",
        ),
        _rateints(
            SMALL,
            (Background("MASKLYOT", 2),) * 3,
            "the 3-D cut out of backgrounds whose corner is not (1, 1), in rows (SUB64 at "
            "row 779 of MASKLYOT from row 719): with FULL backgrounds the offset is 0",
            name="rateints-SUB64-in-MASKLYOT",
        ),
        _rateints(
            "BRIGHTSKY",
            (Background("SUB256", 2),) * 3,
            "the 3-D cut's column offset (BRIGHTSKY at 457 from SUB256's 413)",
            name="rateints-BRIGHTSKY-with-SUB256",
        ),
        _rateints(
            "SLITLESSPRISM_IPS",
            (Background("SLITLESSPRISM_IP", 2),) * 3,
            "the 3-D cut's end column: 64 - 12 = 52 where 64 ^ 12 = 76",
            name="rateints-SLITLESSPRISM_IPS-in-SLITLESSPRISM_IP",
        ),
        # SUB128 rows 891-1018 above SUB64's 779-842, MASK1065 rows 21-244 below;
        # MASK1065 columns 1-288 left of SUBSLIT's 301-440, BRIGHTSKY 457-968 right.
        # No two MIRI readouts touch (test_no_two_miri_readouts_touch): "beside" is a gap.
        _missed(
            SMALL,
            "above-and-below",
            ("SUB128", "MASK1065"),
            "3-D backgrounds beside the science above and below must be left out: a miss "
            "taken for an overlap averages as 0 in 3-D (not NaN as in 2-D)",
        ),
        _missed(
            "SUBSLIT",
            "left-and-right",
            ("MASK1065", "BRIGHTSKY"),
            "3-D backgrounds beside the science left and right must be left out (the "
            "other axis of the step's overlap test)",
        ),
        _rateints(
            "FULL",
            (
                Background("FULL", 2, keywords=False),
                Background("FULL", 2),
                Background("FULL", 2, keywords=False),
            ),
            "FULL files without SUBSTRT/SUBSIZE are MIRI's full frame (corner (1, 1), "
            "1032 x 1024): only a cube's shape tells rows from columns; the backgrounds "
            "given as one comma-separated positional string",
            name="rateints-FULL-without-SUBSTRT",
            supply="positional-string",
            science_keywords=False,
        ),
    ]


def n_backgrounds() -> list[Scenario]:
    """1-8 backgrounds with a lone outlier: z_max = N / sqrt(N - 1) against sigma."""
    why = "a lone outlier reaches z = N / sqrt(N - 1): clipped at sigma 2 only from N = 3"
    scenarios = [
        Scenario(
            f"n_backgrounds-{n}",
            "n_backgrounds",
            SMALL,
            (Background(SMALL),) * n,
            why + ("; the one background named by a positional string" if n == 1 else ""),
            outlier=True,
            supply="positional-one-string" if n == 1 else "function",
        )
        for n in N_BACKGROUNDS
    ]
    scenarios.append(
        Scenario(
            "n_backgrounds-1-step-association",
            "n_backgrounds",
            SMALL,
            (Background(SMALL),),
            "one background in an association: the step must take it (not only 2 or more)",
            outlier=True,
            supply="step-association",
        )
    )
    return scenarios


def missing_values() -> list[Scenario]:
    """NaN and flagged values, a background that misses the science."""
    return [
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
            "NaN in some, all or no backgrounds is left out (0 where none is left); a "
            "flagged finite value is averaged (jwst 3.0.0 ignores DQ); a background that "
            "misses the science adds nothing",
        )
    ]


SUPPLY_WHY = {
    "association": "Image2Pipeline on a level-2b association, as the notebook",
    "step-association": "BackgroundStep on the association",
    "step-association-extras": "decoy second science member and second product: ignored, "
    "with a warning each",
    "bkg_list": "BackgroundStep's bkg_list parameter",
    "positional": "BackgroundStep's second positional argument, a list",
    "empty": "bkg_list=[]: the step skips (S_BKDSUB SKIPPED)",
}
"""Per `model.SUPPLIES`, the way in that its ``supply-<how>`` scenario takes."""


def supply() -> list[Scenario]:
    """The ways the backgrounds reach the step, on one observation."""
    return [
        Scenario(
            f"supply-{how}",
            "supply",
            SMALL,
            (Background(SMALL),) * 3,
            SUPPLY_WHY[how],
            supply=how,
        )
        for how in SUPPLIES
    ]


@cache
def all_scenarios() -> tuple[Scenario, ...]:
    """Every scenario, kind by kind (ids unique)."""
    scenarios = (*subarray(), *rateints(), *n_backgrounds(), *missing_values(), *supply())
    ids = [s.id for s in scenarios]
    if len(set(ids)) != len(ids):
        raise ValueError(f"scenario ids not unique: {ids}")
    return scenarios


def by_id() -> dict[str, Scenario]:
    """``{id: scenario}`` of `all_scenarios`."""
    return {s.id: s for s in all_scenarios()}


def cases(*kinds: str, defect: bool | None = None) -> list[Case]:
    """Every case of the scenarios of ``kinds``; ``defect`` True / False keeps only those
    jwst 3.0.0 is known to get wrong / right."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown scenario kinds {sorted(unknown)}; choose from {KINDS}")
    return [
        case
        for s in all_scenarios()
        if s.kind in kinds and (defect is None or (s.defect is not None) == defect)
        for case in s.cases()
    ]


def case_ids() -> list[str]:
    """Every ``<id>-sigma<s>`` and the ids themselves: the names ``--scenario`` accepts."""
    names = [NOTEBOOK]
    for s in all_scenarios():
        names += [s.id, *(c.id for c in s.cases())]
    return names
