"""A scenario case's products, loaded once, beside what the rule expects; and the wording
of a mismatch: case, exposure, first pixel (x, y) in the science frame and on the detector
(1-based), expected and got in DN/s, the noise sigma there, and the rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from astropy.io import fits

from miri_background.cache import ContentCache
from miri_background.checks import expectations
from miri_background.checks.require import FLOAT32_RTOL
from miri_background.frozen import FrozenMap
from miri_background.scenarios import oracle as scenario_oracle
from miri_background.scenarios.model import Scenario, Subarray, siaf_subarray
from miri_background.scenarios.run import ScenarioRun

ARRAYS = ("data", "err", "dq", "var_poisson", "var_rnoise", "var_flat")
GEOMETRY_KEYWORDS = ("SUBSTRT1", "SUBSTRT2", "SUBSIZE1", "SUBSIZE2")
ORACLE_MODULES = ("scenarios.oracle", "checks.oracle")
"""The modules the scenario oracle computes with (its placement, the clipped-mean rule)."""


@dataclass(frozen=True)
class Arrays:
    """One file's arrays (read-only), its ``S_BKDSUB`` and its `GEOMETRY_KEYWORDS` (None
    where absent)."""

    arrays: Mapping[str, np.ndarray]
    status: str | None
    keywords: Mapping[str, int | None]

    def __getattr__(self, name):
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None


@cache
def read(path: Path) -> Arrays:
    """The `ARRAYS` a file has, and its SUBSTRT / SUBSIZE and S_BKDSUB keywords.

    Read with astropy.io.fits (jwst's files are FITS with one extension per array), not
    through a datamodel: opening a datamodel validates its schema, ~20 ms a file, which
    over the scenarios' ~150 reads was most of a warm run. Memoised per path: the inputs
    are shared by a scenario's sigmas (the cached files are never rewritten in place).
    """
    with fits.open(path, memmap=False) as hdul:
        arrays = {}
        for name in ARRAYS:
            if name.upper() in hdul or name == "data":
                value = hdul["SCI" if name == "data" else name.upper()].data
                value.flags.writeable = False
                arrays[name] = value
        h = hdul[0].header
        keywords = FrozenMap({k: h.get(k) for k in GEOMETRY_KEYWORDS})
        return Arrays(FrozenMap(arrays), h.get("S_BKDSUB"), keywords)


@dataclass(frozen=True)
class CaseProducts:
    """Inputs, products and the oracle's expectation of one case."""

    run: ScenarioRun
    science: Arrays
    backgrounds: Mapping[str, Arrays]
    bsub: Arrays
    combined: Arrays | None
    expected: scenario_oracle.Expected

    @property
    def name(self) -> str:
        return self.run.case.id

    @property
    def scenario(self) -> Scenario:
        return self.run.case.scenario

    @property
    def sigma(self) -> float:
        return self.run.case.sigma


def science_frame(scenario: Scenario) -> Subarray:
    """Where the science exposure lies on the detector (oracle rule 1)."""
    return scenario_oracle.geometry(siaf_subarray(scenario.science), scenario.science_keywords)


def placed(scenario: Scenario, backgrounds: Mapping[str, Arrays]) -> tuple:
    """Each background in the science frame (`oracle.place`, rule 1)."""
    frame = science_frame(scenario)
    return tuple(
        scenario_oracle.place(
            frame,
            scenario_oracle.geometry(siaf_subarray(b.subarray), not b.full_frame_default),
            a.data,
            a.err,
            a.dq,
        )
        for b, a in zip(scenario.backgrounds, backgrounds.values(), strict=True)
    )


def load(run: ScenarioRun, cache: ContentCache | None = None) -> CaseProducts:
    """Read a run's files and apply the oracle to its backgrounds (its expectation a
    product of ``cache``, keyed on the inputs' entry: `checks.expectations`)."""
    scenario = run.case.scenario
    science = read(run.inputs.paths["sci"])
    backgrounds = FrozenMap({n: read(p) for n, p in run.inputs.paths.items() if n != "sci"})

    def compute() -> dict:
        expected = scenario_oracle.combine(
            list(placed(scenario, backgrounds)), run.case.sigma, run.case.maxiters
        )
        return vars(expected)

    parts = {"inputs": run.inputs.key, "sigma": run.case.sigma, "maxiters": run.case.maxiters}
    expected = scenario_oracle.Expected(
        **expectations.cached(cache, "scenario-oracle", parts, ORACLE_MODULES, compute)
    )
    combined = read(run.combined) if run.combined is not None else None
    return CaseProducts(run, science, backgrounds, read(run.bsub), combined, expected)


def mismatch(
    case: CaseProducts,
    what: str,
    got: np.ndarray,
    want: np.ndarray,
    rule: str,
    *,
    rtol: float = 0.0,
    noise: np.ndarray | None = None,
    where: np.ndarray | None = None,
) -> str | None:
    """None if ``got`` equals ``want`` within ``rtol`` (NaN = NaN) where ``where``, else the
    failure message naming the first differing pixel (row-major; ``[k, y, x]`` for cubes).

    An exact rule (``rtol`` 0, everywhere) first compares the stored bytes: bit-identical
    arrays of one dtype are equal (NaN = NaN included) at the cost of a copy and a memcmp,
    1.3 ms against 16 ms for the float64 comparison of a FULL frame (measured); any other
    pair takes the comparison below."""
    exact = rtol == 0 and where is None
    if exact and _same_bytes(got, want):
        return None
    got, want = np.asarray(got, float), np.asarray(want, float)
    bad = ~np.isclose(got, want, rtol=rtol, atol=0.0, equal_nan=True)
    if where is not None:
        bad &= np.broadcast_to(where, bad.shape)
    if not bad.any():
        return None
    index = np.unravel_index(np.flatnonzero(bad)[0], bad.shape)
    y, x = index[-2:]
    frame = science_frame(case.scenario)
    integration = f" integration {index[0]}" if len(index) == 3 else ""
    sigma = (
        ""
        if noise is None
        else f", noise sigma {np.broadcast_to(noise, bad.shape)[index]:.4f} DN/s"
    )
    tolerance = f"within {rtol:.2g} relative" if rtol else "exactly"
    return (
        f"{case.name}: {what} differs from the rule at {bad.sum()} of {bad.size} values; first "
        f"at pixel (x={x}, y={y}){integration} (detector x={x + frame.xstart}, "
        f"y={y + frame.ystart}, 1-based): expected {want[index]:.6f} DN/s, got "
        f"{got[index]:.6f} DN/s{sigma} (required {tolerance}). Rule: {rule}"
    )


def _same_bytes(a, b) -> bool:
    """Whether ``a`` and ``b`` have one dtype and shape and the same bytes."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


PLACEMENT_RULE = (
    "each background placed by its own SUBSTRT/SUBSIZE (1-based): detector pixel (X, Y) at "
    "science index [Y - SUBSTRT2_sci, X - SUBSTRT1_sci]; not used where it does not cover; "
    "then the sigma-clipped mean (median centre, std) over the backgrounds, 0 where none is kept"
)
ERR_RULE = "combined ERR = sqrt(sum of the kept backgrounds' err**2) / n_kept"
ERR_RULE_3D = (
    ERR_RULE + "; rateints: a file's err**2 is its ERR**2 sigma-clipped over the "
    "integrations and averaged (jwst 3.0.0's code; its docs describe the error of the mean)"
)


MAX_BORDERLINE = 20
"""Differing pixels beyond which none is taken for a threshold case: values within the band
of `scenario_oracle.threshold_margin` are rare (2 pixels seen in 5 seeds x
44 cases), so more differences are a real one, and are not searched one by one."""


def borderline(case: CaseProducts) -> np.ndarray:
    """``(ny, nx)`` bool: pixels whose combined data and ERR differ from the rule at
    ``sigma`` but equal it (2 float32 ulps) with the threshold moved by
    `scenario_oracle.threshold_margin`: a value that sits on the threshold, kept by one
    arithmetic and clipped by the other (rule 3). None when more than `MAX_BORDERLINE`
    pixels differ."""
    combined, expected = case.combined, case.expected

    def close(got, want):
        return np.isclose(got, np.asarray(want, np.float32), rtol=FLOAT32_RTOL, atol=0.0)

    data, err = np.asarray(combined.data, float), np.asarray(combined.err, float)
    result = np.zeros(expected.data.shape, bool)
    off = ~(close(data, expected.data) & close(err, expected.err))
    if not off.any() or off.sum() > MAX_BORDERLINE:
        return result
    in_frame = placed(case.scenario, case.backgrounds)
    for y, x in zip(*np.nonzero(off), strict=True):
        for alt in scenario_oracle.either_side(
            list(in_frame), case.sigma, case.run.case.maxiters, y, x
        ):
            if close(data[y, x], alt.data[0, 0]) and close(err[y, x], alt.err[0, 0]):
                result[y, x] = True
    return result


def placement_problem(case: CaseProducts, *, where: np.ndarray | None = None) -> str | None:
    """The combined background's data against `PLACEMENT_RULE` (2 float32 ulps) where
    ``where`` (default everywhere): None, or the failure message naming the first pixel."""
    expected = case.expected
    return mismatch(
        case,
        "combined background",
        case.combined.data,
        expected.data.astype(np.float32),
        PLACEMENT_RULE,
        rtol=FLOAT32_RTOL,
        noise=expected.err,
        where=where,
    )


def combination_problems(case: CaseProducts) -> list[str]:
    """The combined background's data, ERR (2 float32 ulps) and DQ (exact) against the rule,
    a value on the clipping threshold (`borderline`) taking either decision."""
    combined, expected = case.combined, case.expected
    if combined is None:
        return [f"{case.name}: no combined background was saved"]
    three_d = case.scenario.science_nints > 1
    decided = ~borderline(case)
    problems = [
        placement_problem(case, where=decided),
        mismatch(
            case,
            "combined ERR",
            combined.err,
            expected.err.astype(np.float32),
            ERR_RULE_3D if three_d else ERR_RULE,
            rtol=FLOAT32_RTOL,
            where=decided,
        ),
        mismatch(case, "combined DQ", combined.dq, expected.dq, "DQ = OR of the backgrounds' DQ"),
    ]
    return [p for p in problems if p]


def subtraction_problems(case: CaseProducts) -> list[str]:
    """``S_BKDSUB`` COMPLETE where the step ran (`model.Scenario.via_step`: the step sets
    it, not the function it calls); bsub = science - combined (every integration, exact
    float32); bsub DQ = science DQ | combined DQ."""
    if case.scenario.via_step and case.bsub.status != "COMPLETE":
        return [f"{case.name}: S_BKDSUB is {case.bsub.status!r}, expected 'COMPLETE'"]
    combined = case.combined
    problems = [
        mismatch(
            case,
            "bsub",
            case.bsub.data,
            np.asarray(case.science.data, np.float32) - combined.data,
            "bsub[k] = science[k] - combined for every integration k (float32)",
            noise=case.science.err,
        ),
        mismatch(
            case,
            "bsub DQ",
            case.bsub.dq,
            case.science.dq | combined.dq,
            "bsub DQ = science DQ | combined DQ",
        ),
    ]
    return [p for p in problems if p]


def geometry_problems(case: CaseProducts) -> list[str]:
    """bsub's SUBSTRT1/2, SUBSIZE1/2 describe the science frame (`science_frame`, rule 1
    read backwards): all four equal to its corner and size, or, for a full frame only, none
    of them. (jwst 3.0.0 saves the combined background as a new model with none of them,
    also for subarray science, where that reads as a full frame: not checked here.)"""
    frame = science_frame(case.scenario)
    want = (frame.xstart, frame.ystart, frame.xsize, frame.ysize)
    full = frame == scenario_oracle.FULL_FRAME
    got = tuple(case.bsub.keywords.values())
    if got == want or (full and got == (None,) * 4):
        return []
    return [
        f"{case.name}: bsub has SUBSTRT1/2, SUBSIZE1/2 = {got}, expected the science "
        f"frame's {want}{' or none' if full else ''} ({frame.name}, 1-based corner and size)"
    ]
