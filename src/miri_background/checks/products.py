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


def load_products(
    rates: Mapping[str, Path],
    bsub: Mapping[float, Mapping[str, Path]],
    combined: Mapping[float, Mapping[str, Path]],
    sim_truth: Path | None,
) -> Products:
    """Read every product of a session.

    Parameters
    ----------
    rates : Mapping[str, Path]
        Exposure name -> rate file (science and background).
    bsub, combined : Mapping[float, Mapping[str, Path]]
        Per sigma, science exposure name -> ``*_bsub.fits`` / ``*_combinedbackground.fits``.
    sim_truth : Path or None
        The simulator's truth directory (true background and sources), None for real data.
    """

    def images(by_sigma):
        return FrozenMap(
            {
                s: FrozenMap({n: read_image(n, p) for n, p in by.items()})
                for s, by in by_sigma.items()
            }
        )

    truth = sim_truth
    return Products(
        FrozenMap({n: read_image(n, p) for n, p in rates.items()}),
        images(bsub),
        images(combined),
        _fits_array(truth / "background_rate.fits") if truth else None,
        FrozenMap({n: _fits_array(truth / f"{n}_sources.fits") for n in rates}) if truth else None,
    )
