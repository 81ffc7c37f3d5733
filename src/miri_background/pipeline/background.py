"""Stage 4: calwebb_image2 with only bkg_subtract, per sigma and science exposure.

Each (sigma, exposure) unit is a ``background`` cache entry in depend mode (`cache`): the
key (`keys.stage_parts`) holds the association's members by content, the step parameters,
references, the interpreter and the code overridden in this process (``--inject-fault``, a
served mutant: `keys.override`), so a fault run never reuses a clean run's products; the
entry records the source files the call ran
(`code_trace`), so an edit of jwst's background code (or of astropy's sigma clipping) is a
miss and a warm run makes no jwst call (jwst.pipeline is imported only on a miss). xdist
workers share the units through one lock per unit.

One Image2Pipeline call per sigma on one association holding the 4 products is not an
option: jwst names bkg_subtract's outputs after the association file, so the 4 products
overwrite each other (6 files instead of 24, measured with jwst 3.0.0).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from miri_background.cache import ContentCache
from miri_background.depend import source_sha256
from miri_background.files import link_atomic, write_json_atomic
from miri_background.frozen import FrozenMap
from miri_background.inputs.records import Inputs
from miri_background.keys import stage_parts
from miri_background.observation.notebook import IMAGE2_SKIPPED, NOTEBOOK_MAXITERS, SIGMAS
from miri_background.pipeline import code_trace
from miri_background.pipeline.jwst_env import (
    JWST_LOGGERS,
    call_options,
    call_pipeline,
    crds_for,
    jwst_log_to,
    warnings_logged,
)
from miri_background.pipeline.records import Associations, BackgroundRun
from miri_background.software import references_digest

log = logging.getLogger(__name__)

PRODUCTS = ("bsub", "combinedbackground")
"""The two files of a unit, ``<exposure>_<product>.fits``."""
WARNINGS = "warnings.json"
"""Beside a unit's products: what its pipeline call logged at WARNING or above (a list of
``"<logger>: <message>"``, `jwst_env.JWST_LOGGERS`)."""


def run_backgrounds(
    inputs: Inputs,
    associations: Associations,
    run_dir: Path,
    cache: ContentCache | None,
    sigmas: tuple[float, ...] = SIGMAS,
    *,
    maxiters: int | None = NOTEBOOK_MAXITERS,
    worker: str = "main",
    note: Callable[[str], None] = log.info,
) -> dict[float, BackgroundRun]:
    """Image2Pipeline with only bkg_subtract on each association, for each ``sigma``.

    assign_wcs, flat_field, photom and resample are skipped as in the notebook; the step
    saves ``*_bsub.fits`` and ``*_combinedbackground.fits``. Each (sigma, association)
    unit is got from ``cache`` (built on a miss; None: no cache and no trace, the bench's
    bare calls) and linked into the run directory once per run directory, whoever gets it:
    a process takes the units whose lock is free (non-blocking), skips those another
    process holds, then waits for them; so two xdist workers share the
    ``len(sigmas) x 4`` units instead of queueing on one. A unit's completion marker
    (``<name>.done``: pipeline seconds, hit, reason) is written last.
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
                            unit = _background_unit(
                                inputs, associations, sigma, maxiters, name, run_dir, cache
                            )
                            write_json_atomic(marker, {**unit, "worker": worker})
                            made += 1
                            note(_unit_line(made, sigma, name, unit))
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
            FrozenMap({n: d["hit"] for n, d in done.items()}),
            FrozenMap({n: tuple(d["warnings"]) for n, d in done.items()}),
        )
    return runs


def _unit_dir(run_dir: Path, sigma: float) -> Path:
    out = run_dir / "background" / f"sigma{sigma:g}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _unit_line(i: int, sigma: float, name: str, unit: dict) -> str:
    what = "cache hit" if unit["hit"] else f"ran in {unit['seconds']:.1f} s ({unit['reason']})"
    return f"background [{i}] sigma={sigma:g} {name}: {what}"


def image2_steps(sigma: float, maxiters: int | None) -> dict[str, dict]:
    """The notebook's image2 settings: only bkg_subtract, saving both products."""
    steps = {s: {"skip": True} for s in IMAGE2_SKIPPED}
    steps["bkg_subtract"] = {
        "sigma": sigma,
        "maxiters": maxiters,
        "save_combined_background": True,
        "save_results": True,
    }
    return steps


def background_key_parts(
    inputs: Inputs, association: Path, sigma: float, maxiters: int | None
) -> dict:
    """What one unit's products depend on (`keys.stage_parts`): the association's members
    by exptype and content (sha256, not path), the step parameters and references; the
    software is traced."""
    asn = json.loads(Path(association).read_text())
    members = [
        {"exptype": m["exptype"], "sha256": source_sha256(m["expname"])}
        for product in asn["products"]
        for m in product["members"]
    ]
    return stage_parts(
        "background",
        records=WARNINGS,
        members=members,
        steps=image2_steps(sigma, maxiters),
        references=references_digest(inputs),
        traced=True,
    )


def _background_unit(inputs, associations, sigma, maxiters, name, run_dir, cache) -> dict:
    """One unit's two products, got (or made) and linked into the run directory:
    {seconds (of the pipeline call, 0 on a hit), hit, reason, sources, warnings}."""
    out = _unit_dir(run_dir, sigma)
    if cache is None:
        seconds, logged = _background_one(associations, sigma, maxiters, name, out)
        return {
            "seconds": seconds,
            "hit": False,
            "reason": "not cached",
            "sources": 0,
            "warnings": logged,
        }
    seconds = []

    def build(tmp: Path) -> list[str]:
        from jwst.pipeline import Image2Pipeline  # noqa: F401  (imported before the trace)

        call_options()
        with code_trace.traced() as trace:
            took, logged = _background_one(associations, sigma, maxiters, name, tmp)
        seconds.append(took)
        write_json_atomic(tmp / WARNINGS, logged)
        return trace.files

    parts = background_key_parts(inputs, associations.files[name], sigma, maxiters)
    entry = cache.get_or_build("background", parts, build, depend=True)
    for suffix in PRODUCTS:
        link_atomic(entry.path / f"{name}_{suffix}.fits", out / f"{name}_{suffix}.fits")
    return {
        "seconds": seconds[0] if seconds else 0.0,
        "hit": entry.hit,
        "reason": entry.reason,
        "sources": entry.sources,
        "warnings": json.loads((entry.path / WARNINGS).read_text()),
    }


def _background_one(associations, sigma, maxiters, name, out: Path) -> tuple[float, list]:
    """One Image2Pipeline call (the notebook's) writing into ``out``; returns its seconds
    and what it logged at WARNING or above (`WARNINGS`)."""
    from jwst.pipeline import Image2Pipeline

    t0 = time.perf_counter()
    with warnings_logged(*JWST_LOGGERS, named=True) as logged:
        call_pipeline(
            Image2Pipeline,
            associations.files[name],
            out,
            image2_steps(sigma, maxiters),
            f"image2 background on {name} (sigma={sigma:g})",
            save_results=False,
        )
    seconds = time.perf_counter() - t0
    for suffix in PRODUCTS:  # jwst names them after the asn product
        (made,) = out.glob(f"{name}*_{suffix}.fits")
        os.replace(made, out / f"{name}_{suffix}.fits")
    return seconds, logged
