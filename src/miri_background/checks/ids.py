"""Readable parametrize ids shared by the checks: seq1..seq4, sigma1/2/3, regions."""

from __future__ import annotations

import pytest

from miri_background.observation import instrument as mi
from miri_background.observation.notebook import SCIENCE_NAMES, SIGMAS

SEQ = {f"seq{i}": name for i, name in enumerate(SCIENCE_NAMES, start=1)}
SIGMA_IDS = {f"sigma{s:g}": s for s in SIGMAS}
CLIPPING_SIGMAS = {"sigma1": 1.0, "sigma2": 2.0}
"""Settings that can clip a lone star among 4 backgrounds (z_max = 2.31, see test_theory)."""


def seq_params() -> list:
    """The 4 science exposures, ids seq1..seq4."""
    return [pytest.param(name, id=key) for key, name in SEQ.items()]


def sigma_params(which: dict[str, float] = SIGMA_IDS) -> list:
    """Clipping thresholds, ids sigma1/sigma2/sigma3."""
    return [pytest.param(s, id=key) for key, s in which.items()]


def region_params() -> list:
    """Illuminated regions, ids imager/lyot/4qpm."""
    return [pytest.param(r, id=r) for r in mi.REGIONS]
