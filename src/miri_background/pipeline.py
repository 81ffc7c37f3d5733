"""The notebook's processing, stage by stage, each returning a frozen record.

``simulated.prepare_simulated`` (simulate + references + local CRDS) or
``sources.real_inputs`` -> ``run_detector1`` (8 uncal ->
rate, cached per exposure) -> ``make_associations`` (level-2b, one per science exposure)
-> ``run_backgrounds`` (Image2Pipeline with only bkg_subtract, per sigma; never cached, so an
in-process patch of ``jwst.background`` takes effect).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from filelock import FileLock, Timeout

from miri_background import crds_local, simulate
from miri_background.cache import ContentCache, Entry, each_once, file_sha256, write_json_atomic
from miri_background.frozen import FrozenMap

log = logging.getLogger(__name__)

SOFTWARE = ("jwst", "stcal", "stdatamodels", "stpipe", "crds")
SOURCE_SUFFIXES = (".py", ".so", ".pyx", ".c", ".h", ".yaml", ".json", ".asdf", ".cfg")
DETECTOR1_STEPS = FrozenMap({"jump": {"rejection_threshold": 10.0}, "refpix": {"skip": True}})
"""The notebook's detector1 settings; the readnoise override is added per data set."""
NOTEBOOK_MAXITERS = 3
SIGMAS = (1.0, 2.0, 3.0)
"""sigma=2 is the notebook's setting, 3 is jwst's default, 1 the notebook's advice for
bright background sources."""
IMAGE2_SKIPPED = ("assign_wcs", "flat_field", "photom", "resample")


@dataclass(frozen=True)
class Inputs:
    """The 8 uncal exposures and what they need.

    Attributes
    ----------
    source : str
        Data source: ``simulated``, ``artifactory``, ``box`` or ``dir:PATH``.
    uncal : Mapping[str, Path]
        Exposure name (notebook file name without ``_uncal.fits``) -> uncal file.
    readnoise : Path or None
        The readnoise override for jump and ramp_fit.
    sim_truth : Path or None
        The simulator's truth directory (None for real data).
    crds_root : Path or None
        Local CRDS cache; None means the caller's CRDS environment.
    sim_config : SimConfig or None
        The simulated data set's parameters.
    seconds : float
        Time spent preparing (0 on a cache hit).
    hit : bool
        Whether the inputs came from the cache.
    rates : Mapping[str, Path] or None
        Rate-level simulation (``--sim-level rate``): rate images with ramp-fit noise that
        stand in for detector1's output; ``uncal`` is then empty.
    exposures : Mapping[str, Mapping]
        Simulated data: exposure name -> {hit, seconds} of the exposures this process
        looked up or built (empty when the whole data set was a cache hit).
    """

    source: str
    uncal: Mapping[str, Path]
    readnoise: Path | None
    sim_truth: Path | None
    crds_root: Path | None
    sim_config: simulate.SimConfig | None = None
    seconds: float = 0.0
    hit: bool = False
    rates: Mapping[str, Path] | None = None
    exposures: Mapping[str, Mapping] = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class Detector1Products:
    """Rate files per exposure, and per exposure: cache entry (hit/miss) and pipeline s."""

    rates: Mapping[str, Path]
    entries: Mapping[str, Entry]
    steps: Mapping[str, dict]


@dataclass(frozen=True)
class Associations:
    """Level-2b association file per science exposure (members as absolute paths)."""

    files: Mapping[str, Path]
    backgrounds: tuple[str, ...]


@dataclass(frozen=True)
class BackgroundRun:
    """Products of the background step for one sigma.

    ``bsub`` and ``combined`` map the science exposure name to ``*_bsub.fits`` and
    ``*_combinedbackground.fits``; ``seconds`` is the pipeline time per exposure and
    ``workers`` the process (xdist worker id or ``main``) that made each call.
    """

    sigma: float
    maxiters: int | None
    bsub: Mapping[str, Path]
    combined: Mapping[str, Path]
    seconds: Mapping[str, float] = field(default_factory=dict)
    workers: Mapping[str, str] = field(default_factory=dict)


def _frozen(d: dict) -> Mapping:
    return FrozenMap(dict(d))


@cache
def software_fingerprint() -> dict[str, str]:
    """sha256 over the installed source of jwst, stcal, stdatamodels, stpipe and crds.

    Hashes each package's files with a source suffix (``SOURCE_SUFFIXES``), sorted by
    relative path, so an edit to a local (editable) checkout changes the fingerprint.
    """
    result = {}
    for pkg in SOFTWARE:
        spec = find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            result[pkg] = "not installed"
            continue
        result[pkg] = package_digest(Path(next(iter(spec.submodule_search_locations))))
    return result


def package_digest(root: Path) -> str:
    """sha256 of (relative path, sha256) for every source file under ``root``."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(file_sha256(path).encode())
    return h.hexdigest()


def _tree_digest(root: Path) -> str:
    """sha256 over (relative path, sha256) of every file under ``root``.

    Memoised on the files' (path, size, mtime) signature: the references (122 MB) are hashed
    once per process, yet a file edited in place is hashed again.
    """
    files = sorted(p for p in root.rglob("*") if p.is_file())
    signature = tuple(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in files
    )
    return _files_digest(root, signature)


@cache
def _files_digest(root: Path, signature: tuple) -> str:
    h = hashlib.sha256()
    for rel, _, _ in signature:
        h.update(rel.encode() + file_sha256(root / rel).encode())
    return h.hexdigest()


def _version(pkg: str) -> str:
    from importlib.metadata import version

    return version(pkg)


@contextmanager
def crds_for(inputs: Inputs):
    """The local CRDS environment of ``inputs``, or the caller's when it has none."""
    if inputs.crds_root is None:
        yield dict(os.environ)
        return
    crds_local.check_context(inputs.crds_root)
    with crds_local.crds_environment(inputs.crds_root) as env:
        yield env


@contextmanager
def jwst_log_to(path: Path):
    """Send the jwst / stpipe / stcal / CRDS log records to ``path`` (and nowhere else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(n) for n in ("stpipe", "jwst", "stcal", "stdatamodels", "CRDS")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
        lg.propagate = False
    try:
        yield
    finally:
        for lg, (level, propagate) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate
        handler.close()


@contextmanager
def gc_frozen():
    """Move the objects alive now out of the garbage collector's reach while jwst runs.

    stpipe calls ``gc.collect()`` after every step; in a test process holding the loaded
    products that full collection cost ~1 s per call (half of an image2 background call,
    measured). ``gc.freeze`` excludes the existing objects from it; jwst's own are still
    collected. Enter it per call, not around a series: the modules and caches a first call
    creates would otherwise be traversed by every later collection (image2 background
    calls 3.0-3.2 s instead of 1.9-2.2 s after a first call that imported jwst.pipeline,
    measured).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@cache
def call_options() -> dict:
    """``configure_log=False`` where stpipe's ``Step.call`` takes it (stpipe >= 1.0); the
    stpipe of jwst 1.16 (0.7) validates it as an unknown step parameter and fails."""
    from stpipe import Step

    code = Step.call.__func__.__code__
    return {"configure_log": False} if "configure_log" in code.co_consts else {}


def _call_guarded(fn: Callable, what: str):
    """Call ``fn``; turn CRDS's sys.exit into an error that says what to check.

    Warnings raised inside jwst are jwst's: they go to the stage's log (the ``jwst``
    logger) instead of meeting the caller's filters, which under pytest (``error``) would
    turn e.g. jwst 1.18's unfiltered astropy NaN warning into a failed stage.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn()
        log_jwst = logging.getLogger("jwst")
        for w in caught:
            log_jwst.warning("%s (%s:%d) %s", w.category.__name__, w.filename, w.lineno, w.message)
        return result
    except SystemExit as exc:
        raise RuntimeError(
            f"{what}: CRDS exited ({exc.code}). Check CRDS_PATH (and that "
            "$CRDS_PATH/config/jwst/server_config exists), CRDS_CONTEXT and CRDS_SERVER_URL; "
            "for the built-in data rerun with --no-cache to rebuild the local context."
        ) from exc


def detector1_steps(inputs: Inputs) -> dict[str, dict]:
    """The notebook's step overrides, with the data set's readnoise file when it has one."""
    steps = {k: dict(v) for k, v in DETECTOR1_STEPS.items()}
    if inputs.readnoise is not None:
        steps["jump"]["override_readnoise"] = str(inputs.readnoise)
        steps["ramp_fit"] = {"override_readnoise": str(inputs.readnoise)}
    return steps


def detector1_key_parts(inputs: Inputs, name: str) -> dict:
    """What a detector1 product depends on: input, parameters, references, software."""
    steps = detector1_steps(inputs)
    if inputs.readnoise is not None:
        steps["jump"]["override_readnoise"] = file_sha256(inputs.readnoise)
        steps["ramp_fit"]["override_readnoise"] = file_sha256(inputs.readnoise)
    if inputs.crds_root is not None:
        references = _tree_digest(inputs.crds_root / "references")
    else:
        references = "caller CRDS context " + os.environ.get("CRDS_CONTEXT", "(operational)")
    return {
        "stage": "detector1",
        "input": file_sha256(inputs.uncal[name]),
        "steps": steps,
        "references": references,
        "software": software_fingerprint(),
    }


def _detector1_one(name: str, inputs: Inputs, cache_root: Path, use_cache: bool, logs: Path):
    """Run (or reuse) detector1 on one exposure; safe to call from several processes."""
    cache = ContentCache(cache_root, enabled=use_cache)

    def build(out: Path) -> None:
        from jwst.pipeline import Detector1Pipeline

        with crds_for(inputs), jwst_log_to(logs / f"detector1_{name}.log"), gc_frozen():
            _call_guarded(
                lambda: Detector1Pipeline.call(
                    str(inputs.uncal[name]),
                    output_dir=str(out),
                    save_results=True,
                    **call_options(),
                    steps=detector1_steps(inputs),
                ),
                f"detector1 on {name}",
            )
        for extra in out.glob("*_rateints.fits"):
            extra.unlink()

    return cache.get_or_build("detector1", detector1_key_parts(inputs, name), build)


def run_detector1(
    inputs: Inputs,
    cache: ContentCache,
    run_dir: Path,
    *,
    processes: int = 1,
    order_offset: int = 0,
    note: Callable[[str], None] = log.info,
) -> Detector1Products:
    """Detector1 on the 8 exposures, each once per cache key.

    Parameters
    ----------
    processes, order_offset
        How the misses are built (`cache.each_once`): xdist workers pass 1 and their own
        offset, a plain session a process pool.
    note : callable
        Receives one progress line per exposure.
    """
    out = run_dir / "detector1"
    out.mkdir(parents=True, exist_ok=True)
    if inputs.rates is not None:
        note("detector1: rate-level data set, no ramps to fit")
        rates = {n: _link(p, out / f"{n}_rate.fits") for n, p in inputs.rates.items()}
        return Detector1Products(_frozen(rates), _frozen({}), _frozen({}))
    entries = each_once(
        "detector1",
        list(inputs.uncal),
        lambda n: cache.lookup("detector1", detector1_key_parts(inputs, n)),
        _detector1_one,
        (inputs, cache.root, cache.enabled, run_dir / "logs"),
        processes=processes,
        order_offset=order_offset,
        note=note,
    )
    rates = {}
    for n in inputs.uncal:
        rates[n] = _link(entries[n].path / f"{n}_rate.fits", out / f"{n}_rate.fits")
    return Detector1Products(_frozen(rates), _frozen(entries), _frozen(detector1_steps(inputs)))


def _link(src: Path, dst: Path) -> Path:
    """Hard-link (or copy) ``src`` to ``dst`` atomically."""
    tmp = dst.with_name(f".tmp{os.getpid()}.{dst.name}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    tmp.unlink(missing_ok=True)  # rename() does nothing when tmp and dst are one inode already
    return dst


def make_associations(rates: Mapping[str, Path], out: Path) -> Associations:
    """One level-2b association per science exposure, all backgrounds in each.

    Built with ``asn_from_list(rule=DMSLevel2bBase)`` like the notebook: the product's
    first member is the science rate (exptype ``science``), then the 4 background rates
    (exptype ``background``), all as absolute paths.
    """
    from jwst.associations import asn_from_list
    from jwst.associations.lib.rules_level2_base import DMSLevel2bBase

    out.mkdir(parents=True, exist_ok=True)
    science = [n for n in rates if n in simulate.SCIENCE_NAMES]
    backgrounds = tuple(n for n in rates if n in simulate.BACKGROUND_NAMES)
    files = {}
    for name in science:
        asn = asn_from_list.asn_from_list(
            [str(rates[name].resolve())], rule=DMSLevel2bBase, product_name=name
        )
        for bkg in backgrounds:
            asn["products"][0]["members"].append(
                {"expname": str(rates[bkg].resolve()), "exptype": "background"}
            )
        _, serialized = asn.dump()
        path = out / f"{name}_asn.json"
        tmp = path.with_name(f".tmp{os.getpid()}.{path.name}")
        tmp.write_text(serialized)
        os.replace(tmp, path)
        files[name] = path
    return Associations(_frozen(files), backgrounds)


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
                            with gc_frozen():  # per call: see gc_frozen
                                seconds = _background_one(
                                    associations, sigma, maxiters, name, run_dir
                                )
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
            _frozen({n: out / f"{n}_bsub.fits" for n in done}),
            _frozen({n: out / f"{n}_combinedbackground.fits" for n in done}),
            _frozen({n: d["seconds"] for n, d in done.items()}),
            _frozen({n: d["worker"] for n, d in done.items()}),
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
    _call_guarded(
        lambda: Image2Pipeline.call(
            str(associations.files[name]),
            output_dir=str(out),
            save_results=False,
            **call_options(),
            steps=steps,
        ),
        f"image2 background on {name} (sigma={sigma:g})",
    )
    seconds = time.perf_counter() - t0
    for suffix in ("bsub", "combinedbackground"):  # jwst names them after the asn product
        (made,) = out.glob(f"{name}*_{suffix}.fits")
        os.replace(made, out / f"{name}_{suffix}.fits")
    return seconds


def default_processes() -> int:
    """Processes for detector1 misses outside xdist: the CPUs, at most 4 (0.9 GB each)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))
