"""Readable parametrize ids shared by the checks: seq1..seq4, sigma1/2/3, regions.

seq1..seq4 are positions among the science exposures: the plugin's ``name`` fixture
(``indirect``) turns one into the exposure of the session's data set, which collection
need not know."""

from __future__ import annotations

import pytest

from miri_background.observation import instrument as mi
from miri_background.observation import notebook
from miri_background.observation.notebook import SIGMAS

SIGMA_IDS = {f"sigma{s:g}": s for s in SIGMAS}
LONE_OUTLIER_Z = len(notebook.BACKGROUND_NAMES) / (len(notebook.BACKGROUND_NAMES) - 1) ** 0.5
"""The z a lone outlier reaches among the 4 backgrounds, N / sqrt(N - 1) = 2.31 (test_theory)."""
CLIPPING_SIGMAS = {key: s for key, s in SIGMA_IDS.items() if s < LONE_OUTLIER_Z}
"""Settings that can clip a lone star among the 4 backgrounds: sigma1, sigma2."""


def seq_params() -> list:
    """Positions 0..3 of the science exposures, ids seq1..seq4 (parametrize ``name``
    with ``indirect=True``)."""
    return [pytest.param(i, id=f"seq{i + 1}") for i in range(len(notebook.SCIENCE_NAMES))]


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
