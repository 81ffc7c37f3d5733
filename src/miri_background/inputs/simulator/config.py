"""Configuration of the simulated data set: everything its files depend on."""

from __future__ import annotations

from dataclasses import dataclass, field

from miri_background.inputs.simulator import scene
from miri_background.observation import instrument as mi

DEFAULT_SEED = 20210609
"""The canonical seed: the truth files in ``truth/`` were blessed from it."""
OBS_DATE, OBS_TIME = "2023-06-01", "12:00:00.000"
FIXED_DATE = "2026-01-01T00:00:00.000"
"""Written as the file creation date so that files are byte-identical across runs."""


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulated data set depends on.

    Parameters
    ----------
    seed : int, default DEFAULT_SEED
        Master seed.
    ngroups : int, default 10
        Groups per integration. The pipeline flags the first and last MIRI group, so 10
        leaves 8 for the fit: close to the notebook's MIRISim ramps, ~1 s per exposure.
    cr_rate : float, default 2e-5
        Cosmic-ray hits per pixel per second (about 580 per 27.8 s exposure), charge
        log-uniform in 300-30000 e-.
    bad_pixel_fraction : float, default 5e-4
        Fraction of pixels that are dead (no response) or hot (30 DN/s dark), half each;
        all are DO_NOT_USE in the mask reference.
    scene : SceneConfig
        Sky content.
    """

    seed: int = DEFAULT_SEED
    ngroups: int = 10
    cr_rate: float = 2e-5
    bad_pixel_fraction: float = 5e-4
    scene: scene.SceneConfig = field(default_factory=scene.SceneConfig)

    def __post_init__(self):
        if self.ngroups < 5:
            raise ValueError(
                f"ngroups={self.ngroups}: MIRI needs >= 5 (first and last groups are flagged)"
            )

    @property
    def exposure_time(self) -> float:
        """Integration time in s: ``ngroups * t_frame``."""
        return self.ngroups * mi.FRAME_TIME


