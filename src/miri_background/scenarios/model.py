"""What a scenario is (not its data): the observation beside the notebook's data set.

Each `Scenario` is a small observation (one science exposure, N backgrounds) that takes the
background step down a path the notebook's data set (FULL frames, 2-D, 4 equal backgrounds,
all overlapping) cannot reach: subarrays, rateints, 1-8 backgrounds, missing values, the
ways of supplying the backgrounds. `scenarios.catalog` lists them. Ids are readable
(``subarray-SUB256-in-FULL``); a `Case` is a scenario at one clipping threshold
(``subarray-SUB256-in-FULL-sigma2``).

Geometry comes from the MIRI SIAF that pysiaf ships (`prd_version`): ``dms_corner()`` (the
1-based SUBSTRT1/2 corner) and ``XSciSize`` / ``YSciSize`` (SUBSIZE1/2) of ``MIRIM_<name>``.
Importing pysiaf asks GitHub whether its PRD is the newest; the suite makes no network
attempt, so `siaf_subarray` refuses that request in process (pysiaf then logs that the
PRD could not be checked, which it tolerates by design).

Importing pysiaf and reading its MIRI SIAF costs 2.4 s per process (measured), paid by
every xdist worker of every run for 20 numbers per subarray. So `siaf_subarray` reads
`SIAF_SNAPSHOT`, pysiaf's answer for the MIRI readouts written by
``python -m miri_background scenarios`` (`write_siaf_snapshot`), while the installed pysiaf
is the version that wrote it; with any other pysiaf it asks pysiaf itself. A project test
keeps the snapshot equal to the installed pysiaf.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from unittest import mock

from miri_background.observation.notebook import NOTEBOOK_MAXITERS, NOTEBOOK_SIGMA

NOTEBOOK = "notebook"
"""The notebook's data set: the tests outside ``test_scenarios_*``, unchanged."""

JWST_DEFAULT_SIGMA = 3.0
"""BackgroundStep's default ``sigma`` (its spec: ``float(default=3.0)``)."""
SIGMAS = (NOTEBOOK_SIGMA, JWST_DEFAULT_SIGMA)
"""The clipping thresholds a scenario runs at: the notebook's setting and jwst's default."""
MAXITERS = NOTEBOOK_MAXITERS
"""The notebook's maxiters, for every case."""

MISSING_PATTERNS = ("nan-a", "nan-b", "nan-all", "flagged-finite")
"""Named pixel sets a background can have missing (positions in `inputs.scenarios`):
``nan-a`` / ``nan-b``: NaN with DO_NOT_USE | SATURATED (a per-exposure saturation);
``nan-all``: NaN in every background that has it (give it to all: missing everywhere);
``flagged-finite``: DO_NOT_USE | JUMP_DET with a finite, wrong value (a flagged cosmic ray
that ramp fitting did not blank): jwst 3.0.0 does not use DQ as a mask, so it is averaged."""

FUNCTION = "function"
"""The supply of the scenarios that exist for the combination, not for the step's handling
of its input: ``jwst.background.background_sub.background_sub(science_model, [paths],
sigma, maxiters)``, the function ``BackgroundStep.process`` calls for every imaging
exposure with the list it resolved (jwst 3.0.0; the step adds only ``S_BKDSUB`` and the
save). It costs a few ms on a SUB64 case where ``BackgroundStep.call`` costs 0.25 s
(stpipe's set-up), and after an edit of jwst every case is such a call."""
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
``bkg_list=[]`` (SKIPPED). Each has a ``supply-<how>`` scenario of the same observation.
These, `STRING_SUPPLIES` and `FUNCTION` are the values of ``Scenario.supply``."""
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


SIAF_SNAPSHOT = Path(__file__).with_name("siaf_miri.json")
"""pysiaf's geometry of the MIRI readouts: ``{"pysiaf": version, "prd": PRD release,
"subarrays": {name: [xstart, ystart, xsize, ysize]}}`` (`write_siaf_snapshot`)."""


@cache
def _snapshot() -> dict[str, list[int]]:
    """The snapshot's subarrays if the installed pysiaf wrote it, else {}."""
    try:
        data = json.loads(SIAF_SNAPSHOT.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data["subarrays"] if data.get("pysiaf") == version("pysiaf") else {}


def siaf_subarray(name: str) -> Subarray:
    """The SIAF geometry of subarray ``name`` (aperture ``MIRIM_<name>``)."""
    known = _snapshot().get(name)
    return Subarray(name, *known) if known else pysiaf_subarray(name)


@cache
def pysiaf_subarray(name: str) -> Subarray:
    """`siaf_subarray` as pysiaf answers it (imports pysiaf)."""
    aperture = _siaf()[0][f"MIRIM_{name}"]
    xstart, ystart = (int(v) for v in aperture.dms_corner())
    return Subarray(name, xstart, ystart, int(aperture.XSciSize), int(aperture.YSciSize))


def miri_readouts() -> list[str]:
    """The MIRI subarray names stdatamodels' core schema allows (``meta.subarray.name``),
    plus FULL, that pysiaf's SIAF places (SUBPRISM*, obsolete, has no aperture)."""
    import yaml

    schema = yaml.safe_load(
        files("stdatamodels.jwst.datamodels").joinpath("schemas/core.schema.yaml").read_text()
    )
    found = []

    def walk(node):
        if isinstance(node, dict):
            enum = node.get("enum")
            if isinstance(enum, list) and "BRIGHTSKY" in enum and "MASKLYOT" in enum:
                found.extend(enum)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return ["FULL", *(n for n in found if not n.startswith("SUBPRISM"))]


def write_siaf_snapshot(path: Path = SIAF_SNAPSHOT) -> None:
    """Write `SIAF_SNAPSHOT` for `miri_readouts` from the installed pysiaf."""
    from miri_background.files import write_json_atomic

    subarrays = {}
    for name in miri_readouts():
        s = pysiaf_subarray(name)
        subarrays[name] = [s.xstart, s.ystart, s.xsize, s.ysize]
    write_json_atomic(
        path, {"pysiaf": version("pysiaf"), "prd": prd_version(), "subarrays": subarrays}
    )
    _snapshot.cache_clear()


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
    why : str
        Which path of the step it takes and which slip it exposes (docs/scenarios.md).
    supply : str, default `FUNCTION`
        One of `SUPPLIES`, `STRING_SUPPLIES` or `FUNCTION`: the cheapest public entry point
        that still takes the path the scenario exists for. ``BackgroundStep.call`` costs
        0.25 s a call and Image2Pipeline 0.7 s (measured), against a few ms for the
        function, so only the scenarios of the step's input handling call the step; the
        notebook's tests run Image2Pipeline.
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
    why: str
    science_nints: int = 1
    supply: str = FUNCTION
    outlier: bool = False
    defect: str | None = None
    sigmas: tuple[float, ...] = SIGMAS
    science_keywords: bool = True

    def __post_init__(self):
        if not self.why.strip():
            raise ValueError(f"scenario {self.id}: say in why= which path it takes and why")
        if self.supply not in (FUNCTION, *SUPPLIES, *STRING_SUPPLIES):
            raise ValueError(f"scenario {self.id}: unknown supply {self.supply!r}")
        bare = [self.science] * (not self.science_keywords) + [
            b.subarray for b in self.backgrounds if b.full_frame_default
        ]
        if any(name != "FULL" for name in bare):
            raise ValueError(
                f"scenario {self.id}: only FULL frames may lack SUBSTRT/SUBSIZE (jwst raises "
                f"ValueError for any other frame without them), got {bare}"
            )

    @property
    def via_step(self) -> bool:
        """Whether the backgrounds reach jwst through BackgroundStep or Image2Pipeline
        (which set ``S_BKDSUB``), rather than through `FUNCTION`."""
        return self.supply != FUNCTION

    def case_id(self, sigma: float) -> str:
        """``<id>-sigma<s>``."""
        return f"{self.id}-sigma{sigma:g}"

    def cases(self) -> tuple[Case, ...]:
        """This scenario at each of its ``sigmas``."""
        return tuple(Case(self, sigma) for sigma in self.sigmas)


@dataclass(frozen=True)
class Case:
    """A scenario at one clipping threshold: the unit that is run, cached and checked.

    Its string is its id, ``<scenario id>-sigma<s>`` (the pytest parameter id); ``maxiters``
    is the notebook's (`MAXITERS`) but for a run that sets another one on purpose."""

    scenario: Scenario
    sigma: float
    maxiters: int | None = MAXITERS

    @property
    def id(self) -> str:
        return self.scenario.case_id(self.sigma)

    def __str__(self) -> str:
        return self.id
