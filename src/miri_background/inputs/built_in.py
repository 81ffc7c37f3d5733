"""Stage 1 on the built-in data: the simulated data set, cached per exposure.

Each exposure is a cache entry of its own (``sim-exposure``: the exposure, its source
image and its catalog / cosmic-ray rows), so that xdist workers split the 8 exposures the
way they split detector1: a worker is one core and builds the exposures it reaches first,
waiting at the lock of one the other worker is building. Outside xdist the misses go to a
process pool. The data-set entry (``simulated``) then hard-links the 8 beside the shared
truth, the manifest, the reference files and the local CRDS context: the same files, byte
for byte, as ``writer.simulate`` writes in one go.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from astropy.table import Table

from miri_background.cache import (
    IN_PROCESS,
    ContentCache,
    Entry,
    Schedule,
    each_once,
    is_repair,
    repair_line,
)
from miri_background.files import link_atomic
from miri_background.frozen import FrozenMap
from miri_background.inputs import crds_local
from miri_background.inputs.records import Inputs
from miri_background.inputs.simulator import config, signal, writer
from miri_background.inputs.simulator import references as refs
from miri_background.keys import stage_parts
from miri_background.observation import notebook

log = logging.getLogger(__name__)

TABLES = ("catalog", "cosmic_rays")
"""Per-exposure truth tables kept in a ``sim-exposure`` entry as ECSV (exact floats)."""


SIMULATOR_SOURCE = (
    "observation.instrument",
    "observation.notebook",
    "inputs.simulator.config",
    "inputs.simulator.scene",
    "inputs.simulator.signal",
    "inputs.simulator.writer",
    "inputs.simulator.references",
    "inputs.crds_local",
)
"""The package's modules the simulated data set is made by."""


def dataset_key_parts(cfg: config.SimConfig, mode: str) -> dict:
    """What the simulated files depend on: configuration, simulator source, and the
    versions of the packages that draw (numpy) and write (stdatamodels, crds) them."""
    return stage_parts(
        f"simulated-inputs-{mode}",
        config=asdict(cfg),
        sources=SIMULATOR_SOURCE,
        versions=("numpy", "stdatamodels", "crds"),
    )


@lru_cache(maxsize=2)
def _detector_and_scene(cfg: config.SimConfig):
    return signal.make_detector(cfg), signal.make_scene(cfg)


def simulate_one(
    name: str, cfg: config.SimConfig, mode: str, parts: dict, cache: ContentCache
) -> Entry:
    """The ``sim-exposure`` entry of exposure ``name`` (built on a miss; process-safe),
    keyed by the data set's ``parts`` (`dataset_key_parts`) and the name."""
    exp = next(e for e in notebook.EXPOSURES if e.name == name)

    def build(out: Path) -> None:
        det, sc = _detector_and_scene(cfg)
        (out / "sim_truth").mkdir()
        _, catalog, cosmic_rays = writer.simulate_exposure(cfg, det, sc, exp, out, mode)
        for table, what in zip((catalog, cosmic_rays), TABLES, strict=True):
            table.write(out / f"{what}.ecsv", format="ascii.ecsv")

    return cache.get_or_build("sim-exposure", {**parts, "exposure": name}, build)


def _simulate_entry(name: str, cfg, mode: str, parts: dict, root: Path, enabled: bool) -> Entry:
    """`simulate_one` from picklable arguments (`cache.each_once` may run it in a pool)."""
    return simulate_one(name, cfg, mode, parts, ContentCache(root, enabled=enabled))


def prepare_simulated(
    cache: ContentCache,
    cfg: config.SimConfig,
    mode: str = "uncal",
    schedule: Schedule = IN_PROCESS,
) -> Inputs:
    """Simulate the data set with its references and local CRDS context (cached).

    Parameters
    ----------
    mode : {'uncal', 'rate'}
        ``rate`` simulates rate images instead of ramps (for sweeps over many seeds).
    schedule : cache.Schedule, default in this process
        How the exposures are built, and where their progress lines go; the files do not
        depend on it.
    """
    parts = dataset_key_parts(cfg, mode)
    entry = cache.lookup("simulated", parts)
    exposures: dict[str, Entry] = {}
    if entry is None:
        exposures = each_once(
            "simulate",
            [e.name for e in notebook.EXPOSURES],
            lambda n: cache.lookup("sim-exposure", {**parts, "exposure": n}),
            _simulate_entry,
            (cfg, mode, parts, cache.root, cache.enabled),
            schedule,
        )

        def build(out: Path) -> None:
            data = out / "data"
            (data / "sim_truth").mkdir(parents=True)
            tables: dict[str, list[Table]] = {what: [] for what in TABLES}
            for exp in notebook.EXPOSURES:
                src = exposures[exp.name].path
                link_atomic(src / f"{exp.name}_{mode}.fits", data / f"{exp.name}_{mode}.fits")
                sources = f"sim_truth/{exp.name}_sources.fits"
                link_atomic(src / sources, data / sources)
                for what in TABLES:
                    tables[what].append(Table.read(src / f"{what}.ecsv", format="ascii.ecsv"))
            det, sc = _detector_and_scene(cfg)
            writer.finish(data, cfg, mode, det, sc, *tables.values())
            paths = refs.write_references(out / "refs", cfg, det)
            shutil.move(paths.pop("readnoise_override"), data / notebook.READNOISE_NAME)
            crds_local.build_context(out / "crds", paths)
            shutil.rmtree(out / "refs")

        entry = cache.get_or_build("simulated", parts, build)
        if is_repair(entry.reason):
            schedule.note(repair_line("simulated", "data set", entry))
    data = entry.path / "data"
    files = {e.name: data / f"{e.name}_{mode}.fits" for e in notebook.EXPOSURES}
    return Inputs(
        source="simulated" if mode == "uncal" else "simulated-rate",
        uncal=FrozenMap(files if mode == "uncal" else {}),
        rates=FrozenMap(files) if mode == "rate" else None,
        readnoise=data / notebook.READNOISE_NAME,
        sim_truth=data / "sim_truth",
        crds_root=entry.path / "crds",
        sim_config=cfg,
        seconds=entry.seconds,
        hit=entry.hit,
        exposures=FrozenMap(
            {n: FrozenMap({"hit": e.hit, "seconds": e.seconds}) for n, e in exposures.items()}
        ),
    )
