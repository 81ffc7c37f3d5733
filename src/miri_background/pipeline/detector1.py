"""Stage 2: calwebb_detector1 on each uncal exposure, cached per exposure by content.

Depend mode (`cache`): the key holds the input, parameters, references and interpreter;
the entry records the source files the call ran (`code_trace`), so an edit of code a
detector1 call does not run (``jwst.background``) keeps it a hit.
"""

from __future__ import annotations

import logging
from pathlib import Path

from miri_background.cache import IN_PROCESS, ContentCache, Schedule, each_once
from miri_background.files import file_sha256, link_atomic
from miri_background.frozen import FrozenMap
from miri_background.inputs.records import Inputs
from miri_background.keys import stage_parts
from miri_background.observation.notebook import DETECTOR1_STEPS
from miri_background.pipeline import code_trace
from miri_background.pipeline.jwst_env import call_options, call_pipeline, crds_for, jwst_log_to
from miri_background.pipeline.records import Detector1Products
from miri_background.software import references_digest

log = logging.getLogger(__name__)


def detector1_steps(inputs: Inputs) -> dict[str, dict]:
    """The notebook's step overrides, with the data set's readnoise file when it has one."""
    steps = {k: dict(v) for k, v in DETECTOR1_STEPS.items()}
    if inputs.readnoise is not None:
        steps["jump"]["override_readnoise"] = str(inputs.readnoise)
        steps["ramp_fit"] = {"override_readnoise": str(inputs.readnoise)}
    return steps


def detector1_key_parts(inputs: Inputs, name: str) -> dict:
    """What a detector1 product depends on: input, parameters, references, interpreter;
    the software is the entry's traced sources (depend mode)."""
    steps = detector1_steps(inputs)
    if inputs.readnoise is not None:
        steps["jump"]["override_readnoise"] = file_sha256(inputs.readnoise)
        steps["ramp_fit"]["override_readnoise"] = file_sha256(inputs.readnoise)
    return stage_parts(
        "detector1",
        input=file_sha256(inputs.uncal[name]),
        steps=steps,
        references=references_digest(inputs),
        traced=True,
    )


def _detector1_one(name: str, inputs: Inputs, cache_root: Path, use_cache: bool, logs: Path):
    """Run (or reuse) detector1 on one exposure; safe to call from several processes."""
    cache = ContentCache(cache_root, enabled=use_cache)

    def build(out: Path) -> list[str]:
        from jwst.pipeline import Detector1Pipeline

        call_options()
        with crds_for(inputs), jwst_log_to(logs / f"detector1_{name}.log"):
            with code_trace.traced() as trace:  # after the imports
                call_pipeline(
                    Detector1Pipeline,
                    inputs.uncal[name],
                    out,
                    detector1_steps(inputs),
                    f"detector1 on {name}",
                    save_results=True,
                )
        for extra in out.glob("*_rateints.fits"):
            extra.unlink()
        return trace.files

    return cache.get_or_build("detector1", detector1_key_parts(inputs, name), build, depend=True)


def run_detector1(
    inputs: Inputs,
    cache: ContentCache,
    run_dir: Path,
    schedule: Schedule = IN_PROCESS,
) -> Detector1Products:
    """Detector1 on the 8 exposures, each once per cache key.

    Parameters
    ----------
    schedule : cache.Schedule, default in this process
        How the misses are built and noted: xdist workers one process from their own
        offset, a plain session a process pool.
    """
    out = run_dir / "detector1"
    out.mkdir(parents=True, exist_ok=True)
    if inputs.rates is not None:
        schedule.note(
            f"detector1: skipped, the {inputs.source} inputs of data set {inputs.data_set} "
            "are rate files"
        )
        rates = {n: link_atomic(p, out / f"{n}_rate.fits") for n, p in inputs.rates.items()}
        return Detector1Products(FrozenMap(rates), FrozenMap({}), FrozenMap({}))
    entries = each_once(
        "detector1",
        list(inputs.uncal),
        lambda n: cache.lookup("detector1", detector1_key_parts(inputs, n)),
        _detector1_one,
        (inputs, cache.root, cache.enabled, run_dir / "logs"),
        schedule,
    )
    rates = {}
    for n in inputs.uncal:
        rates[n] = link_atomic(entries[n].path / f"{n}_rate.fits", out / f"{n}_rate.fits")
    steps = FrozenMap(detector1_steps(inputs))
    return Detector1Products(FrozenMap(rates), FrozenMap(entries), steps)
