"""Frozen records of the pipeline stages: detector1 products, associations, background runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from miri_background.cache import Entry


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
    ``*_combinedbackground.fits``; ``seconds`` is the pipeline time per exposure (0 on a
    cache hit), ``workers`` the process (xdist worker id or ``main``) that got each unit,
    ``hits`` whether it came from the cache and ``warnings`` what its pipeline call logged
    at WARNING or above (``"<logger>: <message>"``, recorded with the products).
    """

    sigma: float
    maxiters: int | None
    bsub: Mapping[str, Path]
    combined: Mapping[str, Path]
    seconds: Mapping[str, float] = field(default_factory=dict)
    workers: Mapping[str, str] = field(default_factory=dict)
    hits: Mapping[str, bool] = field(default_factory=dict)
    warnings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
