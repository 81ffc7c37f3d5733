"""The record stage 1 hands to the pipeline: which exposures, and what they need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from miri_background.frozen import FrozenMap
from miri_background.inputs.simulator.config import SimConfig


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
    data_set : str
        The observation (`observation.datasets.DataSet.name`): ``mirisim`` or ``flight``.
    """

    source: str
    uncal: Mapping[str, Path]
    readnoise: Path | None
    sim_truth: Path | None
    crds_root: Path | None
    sim_config: SimConfig | None = None
    seconds: float = 0.0
    hit: bool = False
    rates: Mapping[str, Path] | None = None
    exposures: Mapping[str, Mapping] = field(default_factory=FrozenMap)
    data_set: str = "mirisim"
