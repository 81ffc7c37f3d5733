"""What the report shows of a run's products: paths, the notebook's pixels, sky residuals.

Reads the rate, bsub and combined-background files the run record lists
(`run_records.RunRecord`) into `products.Products`; all values in DN/s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miri_background.checks.metrics import robust_std
from miri_background.observation.datasets import MIRISIM, DataSet
from miri_background.observation.notebook import NOTEBOOK_SIGMA, NOTEBOOK_SKY
from miri_background.run_records import RunRecord


def short_name(name: str) -> str:
    """``bkg_faint_seq1_MIRIMAGE_F770Wexp1`` -> ``bkg_faint_seq1``."""
    return name.split("_MIRIMAGE")[0]


def product_paths(record: RunRecord) -> tuple[dict, dict, dict]:
    """Rate paths per exposure, and per sigma the bsub and the combined paths per science
    exposure (`checks.products.load_products`' first three arguments), as the run record
    lists them: files in the run directory that it does not list are not looked at.

    Raises
    ------
    FileNotFoundError
        If the record lists no rates or no sigma=2 products (the stage did not finish), or
        a file it lists is gone; the message names every missing file.
    """
    rates = record.rates()
    if not rates:
        raise FileNotFoundError(f"no rate files in the run record of {record.run_dir}")
    products = record.background_products()
    if NOTEBOOK_SIGMA not in products:
        raise FileNotFoundError(
            f"no sigma={NOTEBOOK_SIGMA:g} background products in the run record of "
            f"{record.run_dir}"
        )
    listed = [*rates.values()] + [
        p for kinds in products.values() for paths in kinds.values() for p in paths.values()
    ]
    missing = [str(p) for p in listed if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of the {len(listed)} product files the run record lists are "
            f"missing: {', '.join(missing)}"
        )
    bsub = {s: kinds["bsub"] for s, kinds in sorted(products.items())}
    combined = {s: kinds["combinedbackground"] for s, kinds in sorted(products.items())}
    return rates, bsub, combined


def load_run_products(record: RunRecord, truth: Path | None):
    """`products.Products` of a run record (true background and sources with ``truth``)."""
    from miri_background.checks.products import load_products

    return load_products(*product_paths(record), truth)


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
