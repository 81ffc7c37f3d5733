"""Realistic faults injected into jwst's background step, in process, to measure the suite.

A fault is a function with no argument that patches jwst in the current process. It patches
the names jwst looks up at call time (jwst 3.0.0):

- ``BackgroundStep.process`` calls ``jwst.background.background_step.background_sub``
  (imported by name), then sets ``cal_step.bkg_subtract = "COMPLETE"``;
- ``background_sub`` calls ``average_background`` from its module globals, subtracts
  ``data -= combined.data`` and ORs ``dq |= combined.dq``;
- ``average_background`` places every background with ``ImageSubsetArray.get_subset_array``,
  calls ``sigma_clip(cdata, sigma=, maxiters=, axis=0)`` from its module globals, and forms
  ``combined = mean(unclipped)``, ``err = sqrt(sum(err_i**2 over unclipped)) / n_unclipped``.

A SPEC is a `CATALOG` name or ``path/to/file.py::function``. `apply` runs one in this process
(the plugin's ``--inject-fault`` calls it in every process, xdist workers included, before
any background stage) and records it in `APPLIED`; `applied` does the same and undoes it.
Both keep `keys.override` told (`FAULTED_STAGES`), so no product made under a fault is
keyed as a clean one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from jwst.background import background_step as bstep
from jwst.background import background_sub as bsub

from miri_background import keys
from miri_background.files import file_sha256

APPLIED: list[str] = []
"""SPECs applied in this process, in order (the report names the fault from here)."""

FILE_FAULT_PREFIX = "fault_"
"""In a fault file given without ``::function``, the functions named ``fault_*`` are faults."""

FAULTED_STAGES = ("background", "scenario-run", "combination", "image2-way")
"""The cached stages whose products a fault can change: those that run the background step
(a fault patches the background step's path, Image2Pipeline's or astropy's sigma clipping
included; detector1 runs none of it)."""

PATCHABLE = (bsub, bstep, bsub.ImageSubsetArray, bstep.BackgroundStep)
"""Namespaces `applied` restores: both background modules and their helper/step classes."""

_MISSING = object()


def sigma_ignored() -> None:
    """The step ignores its ``sigma`` parameter and clips at jwst's default, 3.

    Models a parameter not forwarded from the step spec to ``background_sub``. With 4
    backgrounds, sigma=3 can never clip (a lone outlier reaches z <= 4 / sqrt(3) = 2.31).
    """
    original = bstep.background_sub

    def background_sub(model, bkg_list, sigma, maxiters):
        return original(model, bkg_list, 3.0, maxiters)

    bstep.background_sub = background_sub


def plain_mean() -> None:
    """No sigma clipping: the combined background is the plain mean of the backgrounds.

    Models the clipping call dropped in a refactor (only NaNs are still skipped), so a star
    in one background leaks into the combined background at 1/4 of its rate.
    """
    bsub.sigma_clip = lambda data, **kwargs: np.ma.masked_invalid(data)


def median() -> None:
    """The combined background is the median of the backgrounds, not the clipped mean.

    Models the centre function of the clipping (median) returned instead of the mean of the
    kept values: robust to the star, but noisier (x1.19 for 4 Gaussian values) and biased.
    """
    original = bsub.average_background

    def average_background(input_model, bkg_list, sigma, maxiters):
        combined = original(input_model, bkg_list, sigma, maxiters)
        target = bsub.ImageSubsetArray(input_model)
        stack = [target.get_subset_array(bsub.ImageSubsetArray(f))[0] for f in bkg_list]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixel -> NaN
            combined.data = np.nanmedian(stack, axis=0)
        return combined

    bsub.average_background = average_background


def first_background_only() -> None:
    """Only the first background of the association is used.

    Models an indexing bug (``bkg_list[:1]``, or a loop that returns early), so the combined
    background is one exposure: noise x2 for 4 backgrounds and its stars unclipped.
    """
    original = bstep.background_sub

    def background_sub(model, bkg_list, sigma, maxiters):
        return original(model, bkg_list[:1], sigma, maxiters)

    bstep.background_sub = background_sub


def misaligned_backgrounds() -> None:
    """Every background lands one column to the right (x + 1) of where it belongs.

    Models an off-by-one in the 1-based ``xstart`` to 0-based index conversion: the overlap
    loses its first column (NaN data and ERR, DQ 0, as for no overlap).
    """
    original = bsub.ImageSubsetArray.get_subset_array

    def get_subset_array(self, other):
        shifted = []
        for array, fill in zip(original(self, other), (np.nan, np.nan, 0), strict=True):
            out = np.full_like(array, fill)
            out[..., 1:] = array[..., :-1]
            shifted.append(out)
        return tuple(shifted)

    bsub.ImageSubsetArray.get_subset_array = get_subset_array


def dq_not_ored() -> None:
    """The combined background's DQ is not OR-ed into the science DQ.

    Models the ``input_model.dq |= bkg_model.dq`` line lost: pixels bad in a background
    (e.g. a jump or DO_NOT_USE there) are no longer flagged in the subtracted science.
    """
    original = bstep.background_sub

    def background_sub(model, bkg_list, sigma, maxiters):
        dq = model.dq.copy()
        combined, result = original(model, bkg_list, sigma, maxiters)
        result.dq = dq
        return combined, result

    bstep.background_sub = background_sub


def scaled_1p01() -> None:
    """The combined background is 1 % too high (x1.01).

    Models a stray normalisation, e.g. an exposure-time or gain ratio between science and
    background applied where it should be 1: bsub sky is then -0.01 x sky (~-0.16 DN/s).
    """
    original = bsub.average_background

    def average_background(input_model, bkg_list, sigma, maxiters):
        combined = original(input_model, bkg_list, sigma, maxiters)
        combined.data = combined.data * 1.01
        return combined

    bsub.average_background = average_background


def nan_poisons() -> None:
    """A NaN in one background makes the combined pixel NaN.

    Models a NaN-unaware mean: clipping still skips NaN, but the NaN values are not masked
    for the mean (``np.mean`` instead of the masked mean), so one bad background pixel
    wipes out the pixel in every science exposure.
    """
    original = bsub.sigma_clip

    def sigma_clip(data, **kwargs):
        clipped = original(data, **kwargs)
        return np.ma.masked_array(clipped.data, mask=clipped.mask & ~np.isnan(clipped.data))

    bsub.sigma_clip = sigma_clip


def err_not_divided() -> None:
    """Combined ERR is ``sqrt(sum err_i**2)``, not divided by the number of values kept.

    Models the error of the sum reported as the error of the mean: ERR is n_kept times too
    large (x4 for 4 backgrounds, x2 relative to the per-background error).
    """
    original_clip, original_average = bsub.sigma_clip, bsub.average_background
    kept = {}

    def sigma_clip(data, **kwargs):
        clipped = original_clip(data, **kwargs)
        kept["n"] = clipped.count(axis=0)
        return clipped

    def average_background(input_model, bkg_list, sigma, maxiters):
        combined = original_average(input_model, bkg_list, sigma, maxiters)
        combined.err = combined.err * kept["n"]
        return combined

    bsub.sigma_clip = sigma_clip
    bsub.average_background = average_background


def skipped_but_complete() -> None:
    """Nothing is subtracted, yet the step records ``S_BKDSUB = COMPLETE``.

    Models an early return on a wrongly evaluated condition: the combined background is
    still computed and saved (so checks of it pass) but the science is returned unchanged.
    """

    def background_sub(model, bkg_list, sigma, maxiters):
        return bsub.average_background(model, bkg_list, sigma, maxiters), model

    bstep.background_sub = background_sub


def maxiters_ignored() -> None:
    """The step ignores ``maxiters`` and clips in a single pass.

    Models a clipping loop that stops after its first pass. (Ignoring it in favour of
    unlimited iterations would not change anything with 4 backgrounds: each pass that
    changes the result clips at least one value, so 3 passes always converge.)
    """
    original = bstep.background_sub

    def background_sub(model, bkg_list, sigma, maxiters):
        return original(model, bkg_list, sigma, 1)

    bstep.background_sub = background_sub


CATALOG: dict[str, Callable[[], None]] = {
    f.__name__: f
    for f in (
        sigma_ignored,
        plain_mean,
        median,
        first_background_only,
        misaligned_backgrounds,
        dq_not_ored,
        scaled_1p01,
        nan_poisons,
        err_not_divided,
        skipped_but_complete,
        maxiters_ignored,
    )
}
"""The built-in faults by name."""


def load_file(path: str | Path):
    """Import the Python file ``path`` as a fresh module (a unique name per resolved path)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"fault file {path} not found (cwd {Path.cwd()})")
    resolved = path.resolve()
    name = "miri_background_fault_" + hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None:
        raise ValueError(f"fault file {path} is not a Python file (*.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _defined_in(obj, module) -> bool:
    return inspect.isfunction(obj) and obj.__module__ == module.__name__


def file_faults(path: str | Path) -> list[str]:
    """SPECs ``<path>::fault_*`` of the file's functions named ``fault_*``, in file order."""
    module = load_file(path)
    names = [
        name
        for name, obj in vars(module).items()
        if name.startswith(FILE_FAULT_PREFIX) and _defined_in(obj, module)
    ]
    if not names:
        raise ValueError(f"fault file {path} defines no function named {FILE_FAULT_PREFIX}*")
    return [f"{path}::{name}" for name in names]


def resolve(spec: str) -> Callable[[], None]:
    """The fault function a SPEC names, without calling it.

    Raises
    ------
    ValueError
        Unknown catalog name (the message lists the catalog), or an empty function name.
    FileNotFoundError
        ``file.py`` of ``file.py::function`` does not exist.
    AttributeError
        The file has no function of that name.
    """
    path, sep, name = spec.rpartition("::")
    if not sep:
        if spec in CATALOG:
            return CATALOG[spec]
        raise ValueError(
            f"unknown fault {spec!r}: give one of {', '.join(CATALOG)} or path/to/file.py::function"
        )
    if not name.isidentifier():
        raise ValueError(f"fault SPEC {spec!r}: {name!r} after '::' is not a function name")
    module = load_file(path)
    function = getattr(module, name, None)
    if not inspect.isfunction(function):
        defined = [n for n, o in vars(module).items() if _defined_in(o, module)]
        raise AttributeError(
            f"fault file {path} has no function {name!r} (functions: {', '.join(defined)})"
        )
    return function


def key_parts(spec: str) -> dict:
    """What the products of a run with fault ``spec`` depend on, for cache keys: the
    catalog name and this file's sha256, or the fault file's sha256 and the function."""
    path, sep, name = spec.rpartition("::")
    if not sep:
        return {"catalog": spec, "faults.py": file_sha256(Path(__file__))}
    return {"file": file_sha256(Path(path)), "function": name}


def apply(spec: str) -> str:
    """Patch jwst in this process with the fault ``spec``; record and return the SPEC."""
    resolve(spec)()
    APPLIED.append(spec)
    _tell_keys()
    return spec


def _tell_keys() -> None:
    """`keys.override` ``faults`` with `key_parts` of every fault in `APPLIED` (None: none)."""
    parts = [key_parts(s) for s in APPLIED] or None
    keys.override("faults", parts, stages=FAULTED_STAGES)


@contextmanager
def applied(spec: str) -> Iterator[str]:
    """`apply` ``spec`` for the ``with`` block, then restore `PATCHABLE` and `APPLIED`.

    Every attribute of those namespaces that the fault rebinds, adds or deletes is put back
    as it was, whichever way the fault patched (a file fault may use plain ``setattr``).
    """
    saved = [(owner, dict(vars(owner))) for owner in PATCHABLE]
    try:
        yield apply(spec)
    finally:
        for owner, before in saved:
            now = vars(owner)
            for name in set(now) - set(before):
                delattr(owner, name)
            for name, value in before.items():
                if now.get(name, _MISSING) is not value:
                    setattr(owner, name, value)
        if spec in APPLIED:
            APPLIED.remove(spec)
        _tell_keys()
