"""Compact regression fingerprints of a blessed run, and their comparison.

``truth/fingerprints.npz`` holds, for every sigma and every science exposure, the combined
background and the bsub image sampled at: the notebook's pixels, every background-star
peak, a fixed random sample of 1000 sky pixels, and 32 x 32-pixel block means (nanmean).
``truth/truth.json`` records where they came from (jwst version, seed, configuration) and
summary statistics for review. Together about 0.3 MB.

Comparison follows jwst's MIRI image regression tests: ``|got - truth| <= atol + rtol |truth|``
with rtol = atol = 1e-4 (atol in DN/s), and lists every mismatch, not just the first.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

import numpy as np

from miri_background.checks import metrics
from miri_background.files import atomic_target, write_text_atomic

RTOL, ATOL = 1e-4, 1e-4
BLOCK = 32
SAMPLE_SIZE = 1000
SAMPLE_SEED = 8723
PRODUCTS = ("combined", "bsub")


def sample_pixels(pixel_sets) -> dict[str, np.ndarray]:
    """(y, x) index arrays that the fingerprint samples: named, stars, sky sample."""
    rng = np.random.default_rng(SAMPLE_SEED)
    sky = np.argwhere(np.logical_or.reduce(list(pixel_sets.sky.values())))
    pick = np.sort(rng.choice(len(sky), size=min(SAMPLE_SIZE, len(sky)), replace=False))
    stars = np.array([(s.y, s.x) for s in pixel_sets.background_stars])
    sx, sy = pixel_sets.named_sky
    named = np.array([(sy, sx), (pixel_sets.named_star.y, pixel_sets.named_star.x)])
    return {"named": named, "stars": stars, "sky": sky[pick]}


def _blocks(image: np.ndarray) -> np.ndarray:
    ny, nx = (s // BLOCK for s in image.shape)
    cut = image[: ny * BLOCK, : nx * BLOCK].reshape(ny, BLOCK, nx, BLOCK)
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.where(np.isfinite(cut), cut, np.nan), axis=(1, 3))


def fingerprint(products, pixel_sets) -> dict[str, np.ndarray]:
    """``{"<product>/sigma<s>/<exposure>/<part>": array}`` plus the sampled coordinates."""
    where = sample_pixels(pixel_sets)
    out = {f"pixels/{k}": v for k, v in where.items()}
    for kind in PRODUCTS:
        for sigma, images in getattr(products, kind).items():
            for name, image in images.items():
                key = f"{kind}/sigma{sigma:g}/{name}"
                for part, yx in where.items():
                    out[f"{key}/{part}"] = image.data[yx[:, 0], yx[:, 1]].astype(np.float32)
                out[f"{key}/blocks"] = _blocks(image.data).astype(np.float32)
    return out


def summary(products, pixel_sets) -> dict:
    """Per product: mean and robust std of the sky pixels per region, DN/s."""
    stats = {}
    for kind in PRODUCTS:
        for sigma, images in getattr(products, kind).items():
            for name, image in images.items():
                stats[f"{kind}/sigma{sigma:g}/{name}"] = {
                    r: {
                        "mean": round(float(np.mean(image.data[m])), 6),
                        "robust_std": round(metrics.robust_std(image.data[m]), 6),
                    }
                    for r, m in pixel_sets.sky.items()
                }
    return stats


def provenance(inputs) -> dict:
    """What a fingerprint depends on: data set, seed, configuration, software versions."""
    return {
        "source": inputs.source,
        "seed": inputs.sim_config.seed if inputs.sim_config else None,
        "config": asdict(inputs.sim_config) if inputs.sim_config else None,
        "versions": {p: version(p) for p in ("jwst", "stcal", "stdatamodels", "stpipe", "crds")},
        "tolerance": {"rtol": RTOL, "atol_dn_per_s": ATOL},
    }


def write(directory: Path, prints: dict, meta: dict) -> None:
    """Write ``fingerprints.npz`` and ``truth.json`` atomically (`files.atomic_target`)."""
    with atomic_target(directory / "fingerprints.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **prints)
    write_text_atomic(directory / "truth.json", json.dumps(meta, indent=1, sort_keys=True) + "\n")


def read(directory: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The stored fingerprints and metadata (FileNotFoundError names what to run)."""
    npz, meta = directory / "fingerprints.npz", directory / "truth.json"
    if not npz.is_file() or not meta.is_file():
        raise FileNotFoundError(
            f"no truth in {directory}: run `python -m miri_background bless` (the truth tests "
            "with --update-truth on the canonical seed) and commit truth/"
        )
    with np.load(npz) as data:
        return {k: data[k] for k in data.files}, json.loads(meta.read_text())


def compare(got: dict, truth: dict, prefix: str) -> list[str]:
    """Every mismatch (beyond rtol/atol, or NaN pattern) among keys starting with prefix."""
    problems = []
    for key in sorted(k for k in truth if k.startswith(prefix)):
        if key not in got:
            problems.append(f"{key}: missing from this run")
            continue
        a, b = np.asarray(got[key], float), np.asarray(truth[key], float)
        if a.shape != b.shape:
            problems.append(f"{key}: shape {a.shape}, truth {b.shape}")
            continue
        close = np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
        if not close.all():
            i = np.flatnonzero(~close)
            worst = i[np.nanargmax(np.abs(a - b).ravel()[i])] if np.isfinite(a - b).any() else i[0]
            problems.append(
                f"{key}: {i.size} of {a.size} values differ; worst index {worst}: truth "
                f"{b.ravel()[worst]:.6f} DN/s, got {a.ravel()[worst]:.6f} DN/s"
            )
    return problems


def changes(old: dict, new: dict) -> list[str]:
    """What an update changes: per key, how many values and the largest change (DN/s)."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if key not in old or key not in new:
            lines.append(f"{key}: {'added' if key in new else 'removed'}")
            continue
        a, b = np.asarray(old[key], float), np.asarray(new[key], float)
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
            diff = np.nanmax(np.abs(a - b)) if a.shape == b.shape else float("nan")
            lines.append(f"{key}: changed (max |change| {diff:.3g} DN/s)")
    return lines
