"""Stage 4: calwebb_image2 with only bkg_subtract, per sigma and science exposure.

Never cached, so an in-process patch of ``jwst.background`` (``--inject-fault``) takes
effect; xdist workers share the calls through one lock per (sigma, exposure) unit.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from miri_background.files import write_json_atomic
from miri_background.frozen import FrozenMap
from miri_background.inputs.records import Inputs
from miri_background.observation.notebook import IMAGE2_SKIPPED, NOTEBOOK_MAXITERS, SIGMAS
from miri_background.pipeline.jwst_env import call_pipeline, crds_for, jwst_log_to
from miri_background.pipeline.records import Associations, BackgroundRun

log = logging.getLogger(__name__)


def run_backgrounds(
    inputs: Inputs,
    associations: Associations,
    run_dir: Path,
    sigmas: tuple[float, ...] = SIGMAS,
    *,
    maxiters: int | None = NOTEBOOK_MAXITERS,
    worker: str = "main",
    note: Callable[[str], None] = log.info,
) -> dict[float, BackgroundRun]:
    """Image2Pipeline with only bkg_subtract on each association, for each ``sigma``.

    assign_wcs, flat_field, photom and resample are skipped as in the notebook; the step
    saves ``*_bsub.fits`` and ``*_combinedbackground.fits``. Each (sigma, association)
    unit runs once per run directory, whoever runs it: a process takes the units whose
    lock is free (non-blocking), skips those another process holds, then waits for them;
    so two xdist workers share the ``len(sigmas) x 4`` calls instead of queueing on one.
    A unit's completion marker (``<name>.done``, its pipeline seconds) is written last.
    """
    units = [(sigma, name) for sigma in sigmas for name in associations.files]
    made = 0
    log_file = run_dir / "logs" / f"background_{worker}.log"
    with crds_for(inputs), jwst_log_to(log_file):
        for blocking in (False, True):  # first the free units, then wait for the others
            for sigma, name in units:
                marker = _unit_dir(run_dir, sigma) / f"{name}.done"
                try:
                    with FileLock(str(marker.with_suffix(".lock")), timeout=-1 if blocking else 0):
                        if not marker.is_file():
                            seconds = _background_one(associations, sigma, maxiters, name, run_dir)
                            write_json_atomic(marker, {"seconds": seconds, "worker": worker})
                            made += 1
                            note(_unit_line(made, sigma, name, seconds))
                except Timeout:
                    continue
    runs = {}
    for sigma in sigmas:
        out = _unit_dir(run_dir, sigma)
        done = {n: json.loads((out / f"{n}.done").read_text()) for n in associations.files}
        runs[sigma] = BackgroundRun(
            sigma,
            maxiters,
            FrozenMap({n: out / f"{n}_bsub.fits" for n in done}),
            FrozenMap({n: out / f"{n}_combinedbackground.fits" for n in done}),
            FrozenMap({n: d["seconds"] for n, d in done.items()}),
            FrozenMap({n: d["worker"] for n, d in done.items()}),
        )
    return runs

def _unit_dir(run_dir: Path, sigma: float) -> Path:
    out = run_dir / "background" / f"sigma{sigma:g}"
    out.mkdir(parents=True, exist_ok=True)
    return out

def _unit_line(i: int, sigma: float, name: str, seconds: float) -> str:
    return f"background [{i}] sigma={sigma:g} {name}: ran in {seconds:.1f} s"

def _background_one(associations, sigma, maxiters, name, run_dir) -> float:
    """One Image2Pipeline call (the notebook's); returns its seconds."""
    from jwst.pipeline import Image2Pipeline

    steps = {s: {"skip": True} for s in IMAGE2_SKIPPED}
    steps["bkg_subtract"] = {
        "sigma": sigma,
        "maxiters": maxiters,
        "save_combined_background": True,
        "save_results": True,
    }
    out = _unit_dir(run_dir, sigma)
    t0 = time.perf_counter()
    call_pipeline(
        Image2Pipeline,
        associations.files[name],
        out,
        steps,
        f"image2 background on {name} (sigma={sigma:g})",
        save_results=False,
    )
    seconds = time.perf_counter() - t0
    for suffix in ("bsub", "combinedbackground"):  # jwst names them after the asn product
        (made,) = out.glob(f"{name}*_{suffix}.fits")
        os.replace(made, out / f"{name}_{suffix}.fits")
    return seconds
