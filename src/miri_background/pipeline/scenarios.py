"""Run jwst's background step on a scenario, through the entry point its ``supply`` names.

``scenario_inputs`` (cached: `inputs.scenarios.write`) -> ``run_case`` (cached per scenario,
sigma, software and injected faults) -> a frozen `ScenarioRun`. The calls are jwst's public
ones, in process: ``Image2Pipeline.call(asn, steps=...)`` with only ``bkg_subtract`` (the
notebook's), ``BackgroundStep.call(asn)``, ``BackgroundStep.call(sci, bkg_list=[...])``,
``BackgroundStep.call(sci, [...])``, and that positional list as one string,
``BackgroundStep.call(sci, "a,b,c,")`` or ``BackgroundStep.call(sci, "a")``. CRDS is the
suite's local context with no reference file (`crds_context`): for MIR_IMAGE the step asks
only for ``bkg`` and ``wavelengthrange``, both N/A, and opens no socket.

A run's cache key holds a digest of the installed code on the background path (`code_
fingerprint`) and of every fault injected in this process (`faults.APPLIED`), so an edit of
jwst reruns it and a faulty product never stands in for a clean one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

from miri_background.cache import ContentCache
from miri_background.files import file_sha256, write_json_atomic
from miri_background.frozen import FrozenMap
from miri_background.harness import faults
from miri_background.inputs import crds_local
from miri_background.inputs import scenarios as scenario_data
from miri_background.observation.notebook import IMAGE2_SKIPPED
from miri_background.observation.scenarios import MAXITERS, Scenario
from miri_background.pipeline.jwst_env import (
    call_guarded,
    call_options,
    gc_frozen,
    jwst_log_to,
    warnings_logged,
)
from miri_background.software import package_digest, served_overrides

CODE_PATHS = (
    "jwst.background",
    "jwst.pipeline",
    "jwst.stpipe",
    "jwst.associations",
    "stpipe",
    "stdatamodels",
)
"""Packages whose installed source a scenario run depends on (hashed, 0.03 s)."""


@dataclass(frozen=True)
class ScenarioRun:
    """The products of one case (a scenario at one sigma).

    Attributes
    ----------
    scenario : Scenario
    sigma : float
    inputs : Mapping[str, Path]
        ``sci``, ``bkg1`` ... -> rate / rateints file.
    bsub : Path
        The step's output model (``S_BKDSUB`` says whether it subtracted).
    combined : Path or None
        The saved combined background (None when the step skipped).
    warnings : tuple of str
        What the background step logged at WARNING or above (logger ``jwst.background``).
    hit : bool
        Whether the products came from the cache.
    seconds : float
        jwst's time for the call (0 on a hit).
    """

    scenario: Scenario
    sigma: float
    inputs: Mapping[str, Path]
    bsub: Path
    combined: Path | None
    warnings: tuple[str, ...]
    hit: bool
    seconds: float


@cache
def code_fingerprint() -> dict[str, str]:
    """sha256 of the installed source of `CODE_PATHS`, and the astropy / numpy versions
    (astropy's sigma_clip does the clipping); plus `software.served_overrides` (a mutant)."""
    result = {}
    for name in CODE_PATHS:
        spec = find_spec(name)
        result[name] = package_digest(Path(next(iter(spec.submodule_search_locations))))
    return result | {p: version(p) for p in ("astropy", "numpy")} | served_overrides()


def fault_digests() -> list[str]:
    """The faults injected in this process, each with the sha256 of the file defining it."""
    digests = []
    for spec in faults.APPLIED:
        path, sep, _ = spec.rpartition("::")
        source = Path(path) if sep else Path(faults.__file__)
        digests.append(f"{spec} {file_sha256(source)}")
    return digests


def crds_context(cache: ContentCache) -> Path:
    """A local CRDS cache with no reference file (every type N/A), built once."""
    parts = {
        "stage": "scenario-crds",
        "crds": version("crds"),
        "source": _source("inputs.crds_local"),
    }
    entry = cache.get_or_build(
        "scenario-crds", parts, lambda out: crds_local.build_context(out, {})
    )
    return entry.path


def _source(module: str) -> str:
    """sha256 of this package's module ``module`` (dotted, under miri_background)."""
    root = Path(__file__).parents[1]
    return file_sha256(root.joinpath(*module.split(".")).with_suffix(".py"))


def scenario_inputs(cache: ContentCache, scenario: Scenario, sim_seed: int):
    """The cache entry holding the scenario's files (`inputs.scenarios.write`)."""
    parts = {
        "stage": "scenario-inputs",
        "scenario": asdict(scenario),
        "seed": sim_seed,
        "source": [_source("observation.scenarios"), _source("inputs.scenarios")],
        "versions": {p: version(p) for p in ("numpy", "stdatamodels", "pysiaf")},
    }
    return cache.get_or_build(
        "scenario-inputs", parts, lambda out: scenario_data.write(scenario, out, sim_seed)
    )


def _association(paths: Mapping[str, Path], out: Path, *, extras: bool = False) -> Path:
    """A level-2b association like the notebook's: ``sci`` then the backgrounds. With
    ``extras`` (supply ``step-association-extras``) also two decoys that would change the
    result if used: ``bkg1`` as a second science member after ``sci``, and a second product
    that names ``bkg1`` its science and ``sci`` its background."""
    from jwst.associations import asn_from_list
    from jwst.associations.lib.rules_level2_base import DMSLevel2bBase

    science, decoy = str(paths["sci"].resolve()), str(paths["bkg1"].resolve())
    asn = asn_from_list.asn_from_list([science], rule=DMSLevel2bBase, product_name="sci")
    members = asn["products"][0]["members"]
    if extras:
        members.append({"expname": decoy, "exptype": "science"})
    for name, path in paths.items():
        if name != "sci":
            members.append({"expname": str(path.resolve()), "exptype": "background"})
    if extras:
        asn["products"].append(
            {
                "name": "decoy",
                "members": [
                    {"expname": decoy, "exptype": "science"},
                    {"expname": science, "exptype": "background"},
                ],
            }
        )
    path = out / "sci_asn.json"
    path.write_text(asn.dump()[1])
    return path


def _call(scenario: Scenario, sigma: float, paths: Mapping[str, Path], out: Path) -> None:
    """The jwst call of ``scenario.supply``; leaves ``bsub.fits`` and, unless the step
    skipped, ``combinedbackground.fits`` in ``out``."""
    from jwst.background import BackgroundStep
    from jwst.pipeline import Image2Pipeline

    options = {"sigma": sigma, "maxiters": MAXITERS, "save_combined_background": True}
    backgrounds = [str(p) for n, p in paths.items() if n != "sci"]
    science = str(paths["sci"])
    how = scenario.supply
    if how == "association":
        steps = {s: {"skip": True} for s in IMAGE2_SKIPPED}
        steps["bkg_subtract"] = {**options, "save_results": True}
        asn = str(_association(paths, out))
        Image2Pipeline.call(
            asn, output_dir=str(out), save_results=False, steps=steps, **call_options()
        )
        (made,) = (p for p in out.glob("*_bsub*.fits"))
        os.replace(made, out / "bsub.fits")
    else:
        step = {**options, "output_dir": str(out), **call_options()}
        if how in ("step-association", "step-association-extras"):
            asn = _association(paths, out, extras=how.endswith("extras"))
            result = BackgroundStep.call(str(asn), **step)
        elif how == "bkg_list":
            result = BackgroundStep.call(science, bkg_list=backgrounds, **step)
        elif how == "positional-string":
            result = BackgroundStep.call(science, ",".join(backgrounds) + ",", **step)
        elif how == "positional-one-string":
            (one,) = backgrounds
            result = BackgroundStep.call(science, one, **step)
        elif how == "positional":
            result = BackgroundStep.call(science, backgrounds, **step)
        elif how == "empty":
            result = BackgroundStep.call(science, bkg_list=[], **step)
        else:
            raise ValueError(f"scenario {scenario.id}: unknown supply {how!r}")
        result.save(out / "bsub.fits")
        result.close()
    for made in out.glob("*_combinedbackground.fits"):
        os.replace(made, out / "combinedbackground.fits")


def run_case(
    cache: ContentCache,
    scenario: Scenario,
    sigma: float,
    crds_root: Path,
    logs: Path,
    *,
    sim_seed: int,
) -> ScenarioRun:
    """The products of ``scenario`` at ``sigma`` with the noise of ``sim_seed`` (cached;
    built by one process under a lock)."""
    inputs = scenario_inputs(cache, scenario, sim_seed)
    paths = {
        e.name: inputs.path / scenario_data.file_name(e) for e in scenario_data.exposures(scenario)
    }
    parts = {
        "stage": "scenario-run",
        "inputs": inputs.key,
        "sigma": sigma,
        "maxiters": MAXITERS,
        "supply": scenario.supply,
        "code": code_fingerprint(),
        "faults": fault_digests(),
        "runner": _source("pipeline.scenarios"),
    }

    def build(out: Path) -> None:
        t0 = time.perf_counter()
        log = logs / f"scenario_{scenario.case_id(sigma)}.log"
        crds_local.check_context(crds_root)
        with (
            crds_local.crds_environment(crds_root),
            jwst_log_to(log),
            warnings_logged("jwst.background") as logged,
            gc_frozen(),
        ):
            call_guarded(lambda: _call(scenario, sigma, paths, out), scenario.case_id(sigma))
        seconds = time.perf_counter() - t0
        write_json_atomic(out / "call.json", {"seconds": seconds, "warnings": logged})

    entry = cache.get_or_build("scenario-run", parts, build)
    combined = entry.path / "combinedbackground.fits"
    record = json.loads((entry.path / "call.json").read_text())
    return ScenarioRun(
        scenario,
        sigma,
        FrozenMap(paths),
        entry.path / "bsub.fits",
        combined if combined.is_file() else None,
        tuple(record["warnings"]),
        entry.hit,
        0.0 if entry.hit else record["seconds"],
    )
