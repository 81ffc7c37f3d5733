"""Load the pipeline products once, as read-only arrays, for the checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from miri_background.frozen import FrozenMap


@dataclass(frozen=True)
class Image:
    """One product: SCI (DN/s), ERR (DN/s), DQ, the primary header, and where it came from."""

    name: str
    path: Path
    data: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    header: fits.Header


def read_image(name: str, path: Path) -> Image:
    """Read SCI, ERR, DQ (float64 for the arithmetic, read-only) and the primary header."""
    with fits.open(path, memmap=False) as hdul:
        arrays = [
            np.array(hdul[ext].data, dtype=dtype)
            for ext, dtype in (("SCI", np.float64), ("ERR", np.float64), ("DQ", np.uint32))
        ]
        header = hdul[0].header.copy()
    for a in arrays:
        a.flags.writeable = False
    return Image(name, Path(path), *arrays, header)


@dataclass(frozen=True)
class Products:
    """Everything the checks read.

    Attributes
    ----------
    rates : Mapping[str, Image]
        detector1 rate per exposure (science and background).
    bsub, combined : Mapping[float, Mapping[str, Image]]
        Per sigma, per science exposure: background-subtracted science and combined
        background.
    true_background : ndarray or None
        The simulator's background-rate map in DN/s (None for real data).
    true_sources : Mapping[str, ndarray] or None
        Noise-free source rate per exposure in DN/s (None for real data).
    """

    rates: Mapping[str, Image]
    bsub: Mapping[float, Mapping[str, Image]]
    combined: Mapping[float, Mapping[str, Image]]
    true_background: np.ndarray | None
    true_sources: Mapping[str, np.ndarray] | None

    @property
    def science_names(self) -> tuple[str, ...]:
        return tuple(next(iter(self.bsub.values())))

    @property
    def background_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.rates if n not in self.science_names)


def _fits_array(path: Path) -> np.ndarray:
    a = fits.getdata(path).astype(np.float64)
    a.flags.writeable = False
    return a


def load_products(inputs, detector1, background_runs) -> Products:
    """Read every product of a session (rates, bsub and combined for each sigma)."""
    rates = {n: read_image(n, p) for n, p in detector1.rates.items()}
    bsub = {
        s: FrozenMap({n: read_image(n, p) for n, p in run.bsub.items()})
        for s, run in background_runs.items()
    }
    combined = {
        s: FrozenMap({n: read_image(n, p) for n, p in run.combined.items()})
        for s, run in background_runs.items()
    }
    truth = inputs.sim_truth
    return Products(
        FrozenMap(rates),
        FrozenMap(bsub),
        FrozenMap(combined),
        _fits_array(truth / "background_rate.fits") if truth else None,
        FrozenMap({n: _fits_array(truth / f"{n}_sources.fits") for n in rates}) if truth else None,
    )
