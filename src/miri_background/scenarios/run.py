"""Run jwst's background step on a scenario case, through the entry point its ``supply`` names.

`case_inputs` (the scenario's files, cached: `data.write`) -> `run_case` (cached per case,
in depend mode) -> a frozen `ScenarioRun`. The calls are jwst's public ones, in process:
``background_sub.background_sub(model, [paths], sigma, maxiters)`` (`model.FUNCTION`, the
function the step calls for every imaging exposure: the cheapest way to the combination),
``Image2Pipeline.call(asn, steps=...)`` with only ``bkg_subtract`` (the notebook's),
``BackgroundStep.call(asn)``, ``BackgroundStep.call(sci, bkg_list=[...])``,
``BackgroundStep.call(sci, [...])``, and that positional list as one string,
``BackgroundStep.call(sci, "a,b,c,")`` or ``BackgroundStep.call(sci, "a")``. CRDS is the
suite's local context with no reference file (`crds_context`): for MIR_IMAGE the step asks
only for ``bkg`` and ``wavelengthrange``, both N/A, and opens no socket.

Keys come from `keys.stage_parts`: a run's entry records the source files its call ran
(`pipeline.code_trace`, depend mode), so an edit of jwst's background code reruns every
case and an edit of Image2Pipeline only those that call it; code overridden in this
process (a fault, a served mutant) is in the key, so such products never stand in for
clean ones.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from miri_background.cache import ContentCache
from miri_background.files import write_json_atomic
from miri_background.frozen import FrozenMap
from miri_background.inputs import crds_local
from miri_background.keys import stage_parts
from miri_background.observation.notebook import IMAGE2_SKIPPED
from miri_background.pipeline import code_trace
from miri_background.pipeline.jwst_env import (
    call_guarded,
    call_options,
    gc_frozen,
    jwst_log_to,
    warnings_logged,
)
from miri_background.scenarios import data as scenario_data
from miri_background.scenarios.model import FUNCTION, MAXITERS, Case


@dataclass(frozen=True)
class CaseInputs:
    """The rate-level files of a case's scenario.

    Attributes
    ----------
    case : Case
    paths : Mapping[str, Path]
        ``sci``, ``bkg1`` ... -> rate / rateints file (in the cache).
    key : str
        The ``scenario-inputs`` entry's key (a part of the run's key).
    hit : bool
        Whether the files came from the cache.
    """

    case: Case
    paths: Mapping[str, Path]
    key: str
    hit: bool


def crds_context(cache: ContentCache) -> Path:
    """A local CRDS cache with no reference file (every type N/A), built once."""
    parts = stage_parts("scenario-crds", sources=("inputs.crds_local",), versions=("crds",))
    entry = cache.get_or_build(
        "scenario-crds", parts, lambda out: crds_local.build_context(out, {})
    )
    return entry.path


def case_inputs(cache: ContentCache, case: Case, sim_seed: int) -> CaseInputs:
    """The files of ``case``'s scenario with the noise of ``sim_seed`` (`data.write`,
    cached by the observation: scenarios that differ only in supply share them)."""
    scenario = case.scenario
    parts = stage_parts(
        "scenario-inputs",
        observation=scenario_data.observation(scenario),
        seed=sim_seed,
        sources=("scenarios.model", "scenarios.data"),
        versions=("numpy", "stdatamodels", "pysiaf"),
    )
    entry = cache.get_or_build(
        "scenario-inputs", parts, lambda out: scenario_data.write(scenario, out, sim_seed)
    )
    paths = {
        e.name: entry.path / scenario_data.file_name(e)
        for e in scenario_data.exposures(scenario)
    }
    return CaseInputs(case, FrozenMap(paths), entry.key, entry.hit)


@dataclass(frozen=True)
class ScenarioRun:
    """The products of one case.

    Attributes
    ----------
    inputs : CaseInputs
    bsub : Path
        The output model (``S_BKDSUB`` says whether the step subtracted).
    combined : Path or None
        The saved combined background (None when the step skipped).
    warnings : tuple of str
        What jwst's background code logged at WARNING or above (logger ``jwst.background``).
    hit : bool
        Whether the products came from the cache.
    seconds : float
        jwst's time for the call (0 on a hit).
    """

    inputs: CaseInputs
    bsub: Path
    combined: Path | None
    warnings: tuple[str, ...]
    hit: bool
    seconds: float

    @property
    def case(self) -> Case:
        return self.inputs.case


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


def _imports(supply: str) -> None:
    """Import what the call of ``supply`` runs (before the trace, `code_trace`)."""
    if supply == FUNCTION:
        from jwst.background import background_sub  # noqa: F401
        from stdatamodels.jwst import datamodels  # noqa: F401
    else:
        from jwst.background import BackgroundStep  # noqa: F401
        from jwst.pipeline import Image2Pipeline  # noqa: F401


def _call(case: Case, paths: Mapping[str, Path], out: Path) -> None:
    """The jwst call of the scenario's ``supply``; leaves ``bsub.fits`` and, unless the
    step skipped, ``combinedbackground.fits`` in ``out``."""
    from jwst.background import BackgroundStep
    from jwst.pipeline import Image2Pipeline

    sigma, how = case.sigma, case.scenario.supply
    options = {"sigma": sigma, "maxiters": MAXITERS, "save_combined_background": True}
    backgrounds = [str(p) for n, p in paths.items() if n != "sci"]
    science = str(paths["sci"])
    if how == FUNCTION:
        from jwst.background.background_sub import background_sub
        from stdatamodels.jwst import datamodels

        with datamodels.open(science) as model:
            combined, result = background_sub(model, backgrounds, sigma, MAXITERS)
            result.save(out / "bsub.fits")
            combined.save(out / "combinedbackground.fits")
            combined.close()
    elif how == "association":
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
            raise ValueError(f"scenario {case.scenario.id}: unknown supply {how!r}")
        result.save(out / "bsub.fits")
        result.close()
    for made in out.glob("*_combinedbackground.fits"):
        os.replace(made, out / "combinedbackground.fits")


def run_case(
    cache: ContentCache, inputs: CaseInputs, crds_root: Path, logs: Path
) -> ScenarioRun:
    """The products of ``inputs.case`` (cached in depend mode; built by one process under a
    lock)."""
    case = inputs.case
    parts = stage_parts(
        "scenario-run",
        inputs=inputs.key,
        sigma=case.sigma,
        maxiters=MAXITERS,
        supply=case.scenario.supply,
        sources=("scenarios.run",),
        traced=True,
    )

    def build(out: Path) -> list[str]:
        _imports(case.scenario.supply)
        call_options()
        t0 = time.perf_counter()
        crds_local.check_context(crds_root)
        # stpipe collects garbage after every step: the step's calls run with the
        # collector frozen (`gc_frozen`); the function's, 0.15 s, would pay 0.13 s for it
        frozen = gc_frozen() if case.scenario.via_step else nullcontext()
        with (
            crds_local.crds_environment(crds_root),
            jwst_log_to(logs / f"scenario_{case.id}.log"),
            warnings_logged("jwst.background") as logged,
            frozen,
            code_trace.traced() as trace,
        ):
            call_guarded(lambda: _call(case, inputs.paths, out), case.id)
        seconds = time.perf_counter() - t0
        write_json_atomic(out / "call.json", {"seconds": seconds, "warnings": logged})
        return trace.files

    entry = cache.get_or_build("scenario-run", parts, build, depend=True)
    combined = entry.path / "combinedbackground.fits"
    record = json.loads((entry.path / "call.json").read_text())
    return ScenarioRun(
        inputs,
        entry.path / "bsub.fits",
        combined if combined.is_file() else None,
        tuple(record["warnings"]),
        entry.hit,
        0.0 if entry.hit else record["seconds"],
    )
