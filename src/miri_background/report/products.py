"""What the report shows of a run's products: paths, the notebook's pixels, sky residuals.

Reads ``<run>/detector1/*_rate.fits`` and ``<run>/background/sigma<s>/`` (bsub and combined
background) into `products.Products`; all values in DN/s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miri_background.checks.metrics import robust_std
from miri_background.observation.datasets import MIRISIM, DataSet
from miri_background.observation.notebook import NOTEBOOK_SIGMA, NOTEBOOK_SKY


def short_name(name: str) -> str:
    """``bkg_faint_seq1_MIRIMAGE_F770Wexp1`` -> ``bkg_faint_seq1``."""
    return name.split("_MIRIMAGE")[0]


def product_paths(run_dir: Path) -> tuple[dict, dict, dict]:
    """Rate paths per exposure, and per sigma the bsub and the combined paths per science
    exposure (`checks.products.load_products`' first three arguments).

    The sigmas are those of the ``background/sigma<s>`` directories (the suite runs 1, 2, 3).

    Raises
    ------
    FileNotFoundError
        If there are no rates, no sigma=2 directory, or a sigma lacks a bsub or combined
        file of some exposure.
    """
    rates = {
        p.name.removesuffix("_rate.fits"): p
        for p in sorted(run_dir.glob("detector1/*_rate.fits"))
        if not p.name.startswith(".")  # temporary files of a link in progress
    }
    if not rates:
        raise FileNotFoundError(f"no {run_dir}/detector1/*_rate.fits")
    science = [n for n in rates if any((run_dir / "background").glob(f"sigma*/{n}_bsub.fits"))]
    if not science:
        raise FileNotFoundError(f"no {run_dir}/background/sigma*/*_bsub.fits")
    where_sigma = {float(d.name[5:]): d for d in run_dir.glob("background/sigma*") if d.is_dir()}
    if NOTEBOOK_SIGMA not in where_sigma:
        raise FileNotFoundError(f"no {run_dir}/background/sigma{NOTEBOOK_SIGMA:g}")
    bsub, combined = {}, {}
    for sigma, where in sorted(where_sigma.items()):
        paths = {
            kind: {n: where / f"{n}_{kind}.fits" for n in science}
            for kind in ("bsub", "combinedbackground")
        }
        missing = [p for d in paths.values() for p in d.values() if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} background products missing, e.g. {missing[0]}"
            )
        bsub[sigma], combined[sigma] = paths["bsub"], paths["combinedbackground"]
    return rates, bsub, combined


def load_run_products(run_dir: Path, truth: Path | None):
    """`products.Products` of a run directory (true background and sources with ``truth``)."""
    from miri_background.checks.products import load_products

    return load_products(*product_paths(run_dir), truth)


def pixels_of_interest(
    products, truth: Path | None, data_set: DataSet = MIRISIM
) -> tuple[dict, dict]:
    """The histograms' sky pixels and the notebook's star pixel.

    With the truth: the sky is `pixelsets`' source-free pixels (all regions) and the star
    the background-star peak nearest to the data set's background pixel (2021: the
    notebook's (615, 317); flight: (850, 875)), as `pixelsets` picks it. Without: the
    imager region (stars included) and that pixel itself.

    Returns
    -------
    sky : dict
        ``mask`` ((NY, NX) bool) and ``what`` (its description).
    star : dict
        ``x``, ``y``, ``exposure`` (the background it sits in, or None) and ``how``.
    """
    if truth is None:
        from miri_background.observation.instrument import region_masks

        x, y = data_set.background_pixel
        return (
            {"mask": region_masks()["imager"], "what": "imager pixels (no truth: stars included)"},
            {"x": x, "y": y, "exposure": None, "how": "the notebook's pixel (no truth catalog)"},
        )
    from miri_background.checks.pixelsets import build_pixel_sets

    sets = build_pixel_sets(products, truth, data_set)
    star = sets.named_star
    return (
        {
            "mask": np.logical_or.reduce(list(sets.sky.values())),
            "what": "source-free pixels of the truth catalog, no bad pixel or cosmic ray",
        },
        {
            "x": star.x,
            "y": star.y,
            "exposure": star.exposure,
            "true_peak": star.peak,
            "how": f"nearest background-star peak to the notebook's "
            f"{data_set.background_pixel} (truth)",
        },
    )


def pixel_tables(products, star: dict, sky_pixel: tuple[int, int] = NOTEBOOK_SKY) -> dict:
    """The notebook's tables, in DN/s.

    ``sky_pixel``: SCI and ERR at numpy [850, 500] in every rate and, per sigma, every bsub.
    ``star_pixel``: per background the value at the star pixel, their plain mean
    ``sum(v_i) / 4`` and, per sigma, the combined background there.
    """
    sx, sy = sky_pixel
    x, y = star["x"], star["y"]
    bkg = products.background_names
    first = products.science_names[0]
    truth = products.true_background
    sky = {
        "x": sx,
        "y": sy,
        "rate": {n: _value(img, sx, sy) for n, img in products.rates.items()},
        "bsub": {
            f"{s:g}": {n: _value(img, sx, sy) for n, img in products.bsub[s].items()}
            for s in products.combined
        },
        "true_background": None if truth is None else float(truth[sy, sx]),
    }
    values = {n: float(products.rates[n].data[y, x]) for n in bkg}
    star_table = dict(star) | {
        "backgrounds": values,
        "plain_mean": float(np.mean(list(values.values()))),
        "combined": {
            f"{s:g}": float(products.combined[s][first].data[y, x]) for s in products.combined
        },
        "combined_of": first,
        "true_background": None if truth is None else float(truth[y, x]),
    }
    return {"sky_pixel": sky, "star_pixel": star_table}


def _value(img, x: int, y: int) -> dict:
    return {"sci": float(img.data[y, x]), "err": float(img.err[y, x]), "dq": int(img.dq[y, x])}


def sky_residuals(products, sky: np.ndarray) -> dict:
    """Per science exposure: bsub (sigma 2) at sky pixels with its expected noise.

    The expected noise of a residual is ``s_i = sqrt(err_sci**2 + err_comb**2)`` (the bsub
    ERR is the science ERR, unchanged by the step); pixels with a DQ flag in bsub are
    dropped. ``stats``: pixel count, mean, robust std (1.4826 MAD) and the rms of ``s_i``.
    """
    result = {}
    for name, img in products.bsub[NOTEBOOK_SIGMA].items():
        comb = products.combined[NOTEBOOK_SIGMA][name]
        use = sky & (img.dq == 0) & np.isfinite(img.data) & np.isfinite(comb.err)
        values = img.data[use]
        expected = np.hypot(img.err[use], comb.err[use])
        result[name] = {
            "values": values,
            "expected": expected,
            "stats": {
                "n_pixels": int(values.size),
                "mean": float(np.mean(values)),
                "robust_std": robust_std(values),
                "expected_rms": float(np.sqrt(np.mean(expected**2))),
            },
        }
    return result
