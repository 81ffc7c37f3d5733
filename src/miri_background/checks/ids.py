"""Readable parametrize ids shared by the checks: seq1..seq4, sigma1/2/3, regions.

seq1..seq4 are the science exposures of the session's data set (`datasets.selected`, set
by the plugin's ``pytest_configure`` before collection)."""

from __future__ import annotations

import pytest

from miri_background.observation import datasets
from miri_background.observation import instrument as mi
from miri_background.observation.notebook import SIGMAS

SIGMA_IDS = {f"sigma{s:g}": s for s in SIGMAS}
CLIPPING_SIGMAS = {"sigma1": 1.0, "sigma2": 2.0}
"""Settings that can clip a lone star among 4 backgrounds (z_max = 2.31, see test_theory)."""


def seq_params() -> list:
    """The 4 science exposures of the session's data set, ids seq1..seq4."""
    names = datasets.selected().science_names
    return [pytest.param(name, id=f"seq{i}") for i, name in enumerate(names, start=1)]


def sigma_params(which: dict[str, float] = SIGMA_IDS) -> list:
    """Clipping thresholds, ids sigma1/sigma2/sigma3."""
    return [pytest.param(s, id=key) for key, s in which.items()]


def region_params() -> list:
    """Illuminated regions, ids imager/lyot/4qpm."""
    return [pytest.param(r, id=r) for r in mi.REGIONS]


def seq_region_params() -> list:
    """Every (science exposure, region) pair, ids ``seq1-imager`` ... ``seq4-4qpm``: one
    parametrization for the checks made per exposure and region."""
    return [
        pytest.param(seq.values[0], region.values[0], id=f"{seq.id}-{region.id}")
        for seq in seq_params()
        for region in region_params()
    ]
