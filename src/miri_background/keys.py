"""The one builder of cache keys: what a stage's product depends on, as `cache` keys it.

Every stage (simulation, the flight stand-in, detector1, the notebook's background, the
scenarios' inputs, CRDS context and runs) describes its product by `stage_parts`::

    {"stage": <name>, <its inputs and parameters>,
     "source":   {module: sha256} of this project's modules that make the product,
     "versions": {package: version} of the libraries whose output it is (not traced),
     "software": "traced sources (package-relative)", "python": <interpreter>
                 (depend mode: the code that ran is recorded with the entry, `depend`)}
    | {"code_overrides": {name: value}}   (only while code is overridden in this process)

Code overrides. A product made while this process runs other code than the installed
code must never stand in for a clean one, and no source digest or trace sees such code
(a fault patches functions in memory; a mutant is served by an import hook from a copy).
Whoever overrides code says so once, through `override` (the pytest plugin, for
``--inject-fault`` and for a mutant the mutation harness serves: `software.OVERRIDES_ENV`),
and every key built after it carries the override under `CODE_OVERRIDES`, for the stages
it names. `cache` keeps entries with that part in a scratch area, not in the main cache.
This module imports nothing of the tools that override code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from miri_background.files import file_sha256
from miri_background.software import interpreter

CODE_OVERRIDES = "code_overrides"
"""The key part naming the code overridden in this process (`cache` scratch rule)."""
TRACED = "traced sources (package-relative)"

_OVERRIDES: dict[str, tuple[object, frozenset[str] | None]] = {}
PACKAGE = Path(__file__).resolve().parent


def override(name: str, value: object, *, stages: Iterable[str] | None = None) -> None:
    """Record that this process runs overridden code ``name`` (its digest: ``value``) from
    now on, for the products of ``stages`` (None: every stage); ``value`` None removes it."""
    if value is None:
        _OVERRIDES.pop(name, None)
    else:
        _OVERRIDES[name] = (value, None if stages is None else frozenset(stages))


def overrides(stage: str) -> dict:
    """``{CODE_OVERRIDES: {name: value}}`` of the overrides that reach ``stage``, or {}."""
    reach = {n: v for n, (v, s) in sorted(_OVERRIDES.items()) if s is None or stage in s}
    return {CODE_OVERRIDES: reach} if reach else {}


@cache
def module_sha256(module: str) -> str:
    """sha256 of this package's module ``module`` (dotted, relative to the package)."""
    return file_sha256(PACKAGE.joinpath(*module.split(".")).with_suffix(".py"))


def stage_parts(
    stage: str,
    *,
    sources: Iterable[str] = (),
    versions: Iterable[str] = (),
    traced: bool = False,
    **parts,
) -> dict:
    """The key parts of a ``stage`` product (module docstring): ``parts`` as given, the
    sha256 of this project's ``sources`` (dotted module names), the ``versions`` of the
    named packages, the interpreter when the software is ``traced`` (depend mode), and
    the code overrides that reach the stage."""
    key = {"stage": stage, **parts}
    if sources:
        key["source"] = {m: module_sha256(m) for m in sources}
    if versions:
        key["versions"] = {p: version(p) for p in versions}
    if traced:
        key |= {"software": TRACED, "python": interpreter()}
    return key | overrides(stage)


def arrays_digest(*arrays: np.ndarray) -> str:
    """sha256 over the dtype, shape and bytes of ``arrays``: a key part naming them."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()
