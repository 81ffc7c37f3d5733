"""How a jwst release's run differs from the reference release's, for `matrix`: the uncal
ramps fed to both (samples that differ, max |diff| in DN) and the sigma=2 combined
background (max |diff| and robust std in DN/s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miri_background.checks import metrics
from miri_background.observation.notebook import SCIENCE_NAMES
from miri_background.run_records import read_run

COMPARED_SIGMA = 2.0
"""The combined background compared between releases: the notebook's setting."""


def uncal_files(run_dir: Path | None, cache: Path) -> list[Path]:
    """The run's uncal files: its ``inputs`` stage record's ``uncal`` when recorded, else
    those of the newest simulated entry in ``cache``."""
    uncal = ((read_run(run_dir).first("inputs") or {}) if run_dir else {}).get("uncal")
    if uncal:
        return [Path(p) for p in uncal.values()]
    entries = sorted(cache.glob("simulated/*/data"), key=lambda p: p.stat().st_mtime)
    return sorted(entries[-1].glob("*_uncal.fits")) if entries else []


def ramp_difference(release_files: list[str], reference_files: list[str]) -> dict:
    """How far apart two runs' uncal ramps are: samples that differ and max |diff| (DN)."""
    from astropy.io import fits

    ours = {Path(p).name: p for p in release_files}
    theirs = {Path(p).name: p for p in reference_files}
    if not ours or ours.keys() != theirs.keys():
        return {"error": f"uncal files differ: {sorted(ours)} vs {sorted(theirs)}"}
    differing = total = max_abs = 0
    for name in sorted(ours):
        a, b = (fits.getdata(f[name], "SCI").astype(np.int32) for f in (ours, theirs))
        d = np.abs(a - b) if a.shape == b.shape else None
        if d is None:
            return {"error": f"{name}: shapes {a.shape} vs {b.shape}"}
        differing, total = differing + np.count_nonzero(d), total + d.size
        max_abs = max(max_abs, int(d.max()))
    return {"samples_differing": int(differing), "samples": int(total), "max_abs_dn": max_abs}


def combined_difference(release_file: Path, reference_file: Path) -> dict:
    """Statistics of ``d = C_release - C_reference`` (SCI, DN/s) over pixels finite in both.

    Returns ``max_abs`` (max |d|), ``robust_std`` (1.4826 MAD of d), ``n_pixels`` compared
    and ``n_finite_in_one_only``.
    """
    from astropy.io import fits

    arrays = []
    for path in (release_file, reference_file):
        with fits.open(path, memmap=False) as hdul:
            arrays.append(np.asarray(hdul["SCI"].data, dtype=np.float64))
    a, b = arrays
    if a.shape != b.shape:
        raise ValueError(
            f"shapes differ: {a.shape} ({release_file}) vs {b.shape} ({reference_file})"
        )
    both = np.isfinite(a) & np.isfinite(b)
    d = (a - b)[both]
    return {
        "max_abs": float(np.max(np.abs(d))) if d.size else None,
        "robust_std": metrics.robust_std(d) if d.size else None,
        "n_pixels": int(d.size),
        "n_finite_in_one_only": int(np.count_nonzero(np.isfinite(a) ^ np.isfinite(b))),
    }


def compare_with_reference(result: dict, reference: dict | None) -> dict:
    """Per science exposure and worst case: the sigma=2 combined background vs the reference."""
    name = reference["release"] if reference else None
    ref_dir = ((reference or {}).get("run") or {}).get("run_dir")
    run_dir = (result.get("run") or {}).get("run_dir")
    if not ref_dir or not run_dir:
        missing = f"reference {name or '(none)'}" if not ref_dir else result["release"]
        return {"reference": name, "error": f"{missing} has no run directory"}
    sub = f"background/sigma{COMPARED_SIGMA:g}"
    per_exposure = {}
    for science in SCIENCE_NAMES:
        files = [Path(d) / sub / f"{science}_combinedbackground.fits" for d in (run_dir, ref_dir)]
        missing = [str(f) for f in files if not f.is_file()]
        try:
            per_exposure[science] = (
                {"error": f"missing {', '.join(missing)}"}
                if missing
                else combined_difference(*files)
            )
        except ValueError as exc:
            per_exposure[science] = {"error": str(exc)}
    good = [s for s in per_exposure.values() if s.get("max_abs") is not None]
    errors = [s["error"] for s in per_exposure.values() if "error" in s]
    return {
        "reference": name,
        "sigma": COMPARED_SIGMA,
        "unit": "DN/s",
        "inputs": ramp_difference(result.get("uncal", []), reference.get("uncal", [])),
        "max_abs": max((s["max_abs"] for s in good), default=None),
        "robust_std": max((s["robust_std"] for s in good), default=None),
        "per_exposure": per_exposure,
    } | ({"error": f"nothing compared: {errors[0]}"} if not good and errors else {})
