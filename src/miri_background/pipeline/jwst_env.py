"""How the suite calls jwst: CRDS environment, log routing, garbage collector, guard.

`call_pipeline` is the one place a jwst pipeline is called: inside the data set's CRDS
environment (`crds_for`), with the collector frozen (`gc_frozen`), stpipe's
``configure_log`` off where it exists (`call_options`), and CRDS's ``sys.exit`` and jwst's
warnings turned into what the caller can handle (`call_guarded`).
"""

from __future__ import annotations

import gc
import logging
import os
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from miri_background.inputs import crds_local
from miri_background.inputs.records import Inputs


@contextmanager
def crds_for(inputs: Inputs):
    """The local CRDS environment of ``inputs``, or the caller's when it has none."""
    if inputs.crds_root is None:
        yield dict(os.environ)
        return
    crds_local.check_context(inputs.crds_root)
    with crds_local.crds_environment(inputs.crds_root) as env:
        yield env

JWST_LOGGERS = ("stpipe", "jwst", "stcal", "stdatamodels", "CRDS")
"""The loggers of a jwst pipeline call: stpipe's, jwst's own and the libraries it logs through."""


@contextmanager
def jwst_log_to(path: Path):
    """Send the jwst / stpipe / stcal / CRDS log records to ``path`` (and nowhere else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(n) for n in JWST_LOGGERS]
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
def warnings_logged(*names: str, named: bool = False):
    """The messages logged at WARNING or above by the loggers ``names`` and their children
    while the block runs (a list, filled in order); ``named``: each as ``"<logger>:
    <message>"``."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            text = record.getMessage()
            messages.append(f"{record.name}: {text}" if named else text)

    handler = Collect(logging.WARNING)
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


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

def call_guarded(fn: Callable, what: str):
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


def call_pipeline(pipeline_class, input_file: Path, output_dir: Path, steps: Mapping,
                  what: str, *, save_results: bool) -> None:
    """``pipeline_class.call(input_file, ...)`` as the notebook makes it, guarded.

    Parameters
    ----------
    pipeline_class : type
        A jwst pipeline class (``Detector1Pipeline``, ``Image2Pipeline``).
    input_file, output_dir : Path
        Input product or association; where the products are saved.
    steps : Mapping
        Step parameter overrides, ``{step: {parameter: value}}``.
    what : str
        Names the call in an error message.
    save_results : bool
        The pipeline's own ``save_results``.
    """
    with gc_frozen():
        call_guarded(
            lambda: pipeline_class.call(
                str(input_file),
                output_dir=str(output_dir),
                save_results=save_results,
                **call_options(),
                steps={k: dict(v) for k, v in steps.items()},
            ),
            what,
        )
