"""The scenario observations beside the notebook's data set: what each one is, not its data.

Each `Scenario` is a small observation (one science exposure, N backgrounds) that takes the
background step down a path the notebook's data set (FULL frames, 2-D, 4 equal backgrounds,
all overlapping) cannot reach: subarrays, rateints, 1-8 backgrounds, missing values, the
ways of supplying the backgrounds. Ids are readable (``subarray-SUB256-in-FULL``); a case
is a scenario at one clipping threshold (``subarray-SUB256-in-FULL-sigma2``).

Geometry comes from the MIRI SIAF that pysiaf ships (`PRD_VERSION`): ``dms_corner()`` (the
1-based SUBSTRT1/2 corner) and ``XSciSize`` / ``YSciSize`` (SUBSIZE1/2) of ``MIRIM_<name>``.
Importing pysiaf asks GitHub whether its PRD is the newest; the suite makes no network
attempt, so `siaf_subarray` refuses that request in process (pysiaf then logs that the
PRD could not be checked, which it tolerates by design).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from unittest import mock

NOTEBOOK = "notebook"
"""The notebook's data set: the tests outside ``test_scenarios_*``, unchanged."""

SIGMAS = (2.0, 3.0)
"""The notebook's setting and jwst's default."""
MAXITERS = 3
"""The notebook's maxiters."""

MISSING_PATTERNS = ("nan-a", "nan-b", "nan-all", "flagged-finite")
"""Named pixel sets a background can have missing (positions in `inputs.scenarios`):
``nan-a`` / ``nan-b``: NaN with DO_NOT_USE | SATURATED (a per-exposure saturation);
``nan-all``: NaN in every background that has it (give it to all: missing everywhere);
``flagged-finite``: DO_NOT_USE | JUMP_DET with a finite, wrong value (a flagged cosmic ray
that ramp fitting did not blank): jwst 3.0.0 does not use DQ as a mask, so it is averaged."""

SUPPLIES = (
    "association",
    "step-association",
    "step-association-extras",
    "bkg_list",
    "positional",
    "empty",
)
"""How the backgrounds reach the step: ``association``: Image2Pipeline on a level-2b
association (as the notebook); ``step-association``: BackgroundStep on that association;
``step-association-extras``: BackgroundStep on that association with a second science member
in its product and a second product after it (decoys the step must ignore, warning of each:
`ASSOCIATION_WARNINGS`); ``bkg_list``: BackgroundStep with the ``bkg_list`` parameter;
``positional``: BackgroundStep with the list as its second positional argument; ``empty``:
``bkg_list=[]`` (SKIPPED). Each has a ``supply-<how>`` scenario of the same observation."""
ASSOCIATION_WARNINGS = {
    "products": "Multiple products in input association. Using only the first one.",
    "science": "Wrong number of science exposures found in",
}
"""The warnings BackgroundStep logs (jwst 3.0.0, logger ``jwst.background``) when it ignores
part of an association: products after the first, science members after the first."""
STRING_SUPPLIES = ("positional-string", "positional-one-string")
"""The positional background list given as one string, which the step splits at commas:
``positional-string``: the file names joined by commas with a trailing comma
(``"a.fits,b.fits,c.fits,"``, the empty last name dropped); ``positional-one-string``: one
file name, no comma. (The ``bkg_list`` parameter takes no such string from Python: jwst
3.0.0 opens ``"a.fits,b.fits"`` as one file name.) Used by scenarios of other kinds, the
second by the one with a single background."""


@dataclass(frozen=True)
class Subarray:
    """A MIRI imager readout region, 1-based and inclusive like SUBSTRT / SUBSIZE.

    Attributes
    ----------
    name : str
        SUBARRAY keyword (``FULL``, ``SUB256``, ...).
    xstart, ystart : int
        1-based detector column and row of the first pixel (SUBSTRT1, SUBSTRT2).
    xsize, ysize : int
        Columns and rows (SUBSIZE1, SUBSIZE2).
    """

    name: str
    xstart: int
    ystart: int
    xsize: int
    ysize: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(ysize, xsize)``: numpy shape of one integration."""
        return self.ysize, self.xsize

    @property
    def columns(self) -> slice:
        """0-based detector columns ``xstart - 1 .. xstart + xsize - 2``."""
        return slice(self.xstart - 1, self.xstart - 1 + self.xsize)

    @property
    def rows(self) -> slice:
        """0-based detector rows ``ystart - 1 .. ystart + ysize - 2``."""
        return slice(self.ystart - 1, self.ystart - 1 + self.ysize)


@cache
def _siaf():
    """The MIRI SIAF of the installed pysiaf, and its PRD version (offline import)."""
    quiet = logging.getLogger("pysiaf")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with mock.patch("requests.get", side_effect=OSError("the suite runs offline")):
            import pysiaf
    finally:
        quiet.setLevel(level)
    return pysiaf.Siaf("MIRI"), pysiaf.JWST_PRD_VERSION


def prd_version() -> str:
    """The PRD release of the SIAF pysiaf ships (pysiaf 0.29.0: ``PRDOPSSOC-075``)."""
    return _siaf()[1]


@cache
def siaf_subarray(name: str) -> Subarray:
    """The SIAF geometry of subarray ``name`` (aperture ``MIRIM_<name>``)."""
    aperture = _siaf()[0][f"MIRIM_{name}"]
    xstart, ystart = (int(v) for v in aperture.dms_corner())
    return Subarray(name, xstart, ystart, int(aperture.XSciSize), int(aperture.YSciSize))


SUBARRAY_KEYWORDS = ("xstart", "ystart", "xsize", "ysize")
"""``meta.subarray`` attributes of SUBSTRT1, SUBSTRT2, SUBSIZE1, SUBSIZE2."""

@dataclass(frozen=True)
class Background:
    """One background exposure of a scenario.

    Attributes
    ----------
    subarray : str
        Its readout region (SIAF name).
    nints : int, default 1
        Integrations; 1 writes a 2-D rate (ImageModel), more a rateints cube (CubeModel).
    missing : tuple of str, default ()
        `MISSING_PATTERNS` it has.
    keywords : bool, default True
        Whether its file carries SUBSTRT1/2 and SUBSIZE1/2. False (FULL only): a full
        frame written without them, which the step must take as MIRI's full frame.
    omit : tuple of str, default ()
        `SUBARRAY_KEYWORDS` left out of a file that carries the others (FULL only): one
        missing keyword is enough for the step to take the file as MIRI's full frame.
    """

    subarray: str
    nints: int = 1
    missing: tuple[str, ...] = ()
    keywords: bool = True
    omit: tuple[str, ...] = ()

    def __post_init__(self):
        if not set(self.omit) <= set(SUBARRAY_KEYWORDS):
            raise ValueError(f"omit {self.omit}: only {SUBARRAY_KEYWORDS} can be left out")

    @property
    def full_frame_default(self) -> bool:
        """Whether the file lacks some SUBSTRT / SUBSIZE keyword (rule 1: MIRI's FULL)."""
        return not self.keywords or bool(self.omit)


@dataclass(frozen=True)
class Scenario:
    """One small observation run through jwst's background step.

    Attributes
    ----------
    id : str
        Readable id, the ``--scenario`` name.
    kind : str
        Which test module covers it: ``subarray``, ``rateints``, ``n_backgrounds``,
        ``missing_values`` or ``supply``.
    science : str
        The science exposure's subarray (SIAF name).
    backgrounds : tuple of Background
    science_nints : int, default 1
        1: a 2-D rate; more: rateints (the step's 3-D branch, output ``bsubints``).
    supply : str, default ``bkg_list``
        One of `SUPPLIES` or `STRING_SUPPLIES`. ``BackgroundStep.call(sci, bkg_list=...)``
        costs 0.25 s a call where Image2Pipeline costs 0.7 s (measured), so only the supply
        scenarios use the others; the notebook's tests run Image2Pipeline.
    outlier : bool, default False
        A lone bright outlier (`inputs.scenarios.OUTLIER_RATE`) in the first background at
        the scenario's outlier pixel: the N-backgrounds theory.
    defect : str or None
        Set where jwst 3.0.0 is known to break the documented rule: the defect, in words.
    sigmas : tuple of float, default `SIGMAS`
    science_keywords : bool, default True
        As `Background.keywords`, for the science exposure.
    """

    id: str
    kind: str
    science: str
    backgrounds: tuple[Background, ...]
    science_nints: int = 1
    supply: str = "bkg_list"
    outlier: bool = False
    defect: str | None = None
    sigmas: tuple[float, ...] = SIGMAS
    science_keywords: bool = True

    def __post_init__(self):
        bare = [self.science] * (not self.science_keywords) + [
            b.subarray for b in self.backgrounds if b.full_frame_default
        ]
        if any(name != "FULL" for name in bare):
            raise ValueError(
                f"scenario {self.id}: only FULL frames may lack SUBSTRT/SUBSIZE (jwst raises "
                f"ValueError for any other frame without them), got {bare}"
            )

    def case_id(self, sigma: float) -> str:
        """``<id>-sigma<s>``."""
        return f"{self.id}-sigma{sigma:g}"


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
        # axis, as each side's test in the step needs. No two MIRI readouts touch (checked
        # in test_scenario_geometry), so "beside" always leaves a gap.
        Scenario(
            "rateints-SUB64-missed-above-and-below",
            "rateints",
            SMALL,
            (
                Background(SMALL, 2),
                Background(SMALL, 2),
                Background("SUB128", 2),  # rows 891-1018, above SUB64's 779-842
                Background("MASK1065", 2),  # rows 21-244, below; columns overlap
            ),
            science_nints=2,
        ),
        Scenario(
            "rateints-SUBSLIT-missed-left-and-right",
            "rateints",
            "SUBSLIT",
            (
                Background("SUBSLIT", 2),
                Background("SUBSLIT", 2),
                Background("MASK1065", 2),  # columns 1-288, left of SUBSLIT's 301-440
                Background("BRIGHTSKY", 2),  # columns 457-968, right; rows overlap
            ),
            science_nints=2,
        ),
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
