"""``python -m miri_background report``: one run directory as a self-contained HTML page.

Reads ``<run>/detector1/*_rate.fits``, ``<run>/background/sigma{1,2,3}/`` (bsub and combined
background), ``<run>/stages/*.json`` and ``<run>/outcomes.json``, and writes
``<out>/report.html`` (every image an embedded base64 PNG, so it opens from disk) and
``<out>/summary.json``. Sections follow the validation notebook: the rate, combined and
bsub images (ZScale, DN/s), the sky-pixel and star-pixel tables, sky-residual histograms,
then every test's outcome grouped by check, versions, data, cache hits and stage times.

A missing or incomplete product set does not stop the report: the outcomes still matter
most when the pipeline failed, so the image sections then say what is missing.
"""

from __future__ import annotations

import html
import json
import logging
import time
from datetime import datetime, timezone
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path
from string import Template
from types import SimpleNamespace

import numpy as np

from miri_background.frozen import FrozenMap
from miri_background.metrics import robust_std
from miri_background.pixelsets import NOTEBOOK_SKY, NOTEBOOK_STAR

log = logging.getLogger(__name__)

VERSIONED = ("jwst", "stcal", "stdatamodels", "stpipe", "crds", "astropy", "numpy")
NOTEBOOK_SIGMA = 2.0
"""The sigma of the notebook's bsub images and of the residual histograms."""
OUTCOMES = ("passed", "failed", "error", "xfailed", "skipped")


def add_arguments(parser) -> None:
    """Options of the ``report`` subcommand."""
    parser.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR")
    parser.add_argument(
        "--run",
        type=Path,
        default=None,
        metavar="DIR",
        help="run directory (default: the one named in runs/LATEST)",
    )
    parser.add_argument(
        "--truth",
        type=Path,
        default=None,
        metavar="DIR",
        help="the simulator's sim_truth directory, when the run does not record it",
    )


def run(args) -> int:
    """Write the report and summary; print where, and the verdict. Returns 0."""
    run_dir = resolve_run(args.run)
    summary = write_report(run_dir, args.out, truth=args.truth)
    counts = ", ".join(f"{summary['counts'][k]} {k}" for k in OUTCOMES if summary["counts"][k])
    size = (args.out / "report.html").stat().st_size / 1e6
    print(
        f"wrote {args.out / 'report.html'} ({size:.1f} MB) and {args.out / 'summary.json'} "
        f"from {run_dir} in {summary['timings_s']['report']:.1f} s: verdict "
        f"{summary['verdict']} ({counts or 'no tests'})"
    )
    return 0


def resolve_run(run: Path | None, runs_root: Path = Path("runs")) -> Path:
    """``run`` itself, or ``runs_root / <name in runs_root/LATEST>``."""
    if run is None:
        latest = runs_root / "LATEST"
        if not latest.is_file():
            raise ValueError(f"no --run given and no {latest}: run the suite first (make validate)")
        run = runs_root / latest.read_text().strip()
    if not run.is_dir():
        raise ValueError(f"run directory {run} does not exist")
    return run


def write_report(run_dir: Path, out: Path, *, truth: Path | None = None) -> dict:
    """Build ``out/report.html`` and ``out/summary.json`` from ``run_dir``; return the summary.

    Parameters
    ----------
    run_dir : Path
        A run directory (``runs/run-<uid>``).
    out : Path
        Output directory (created).
    truth : Path, optional
        The simulator's truth directory; default: ``inputs.sim_truth`` of the run's stage
        records, if any. Without it the residual map is left out and the star pixel is the
        notebook's (615, 317) rather than the nearest background-star peak.

    Returns
    -------
    summary : dict
        What ``summary.json`` holds: ``verdict`` ('pass' or 'fail') and its reason, outcome
        ``counts``, ``failures``, per-check counts, versions, data source and seed, injected
        fault, cache hits, timings (s), the pixel ``tables`` and ``sky_residuals`` (DN/s).

    Raises
    ------
    ValueError
        If ``truth`` (given or recorded) is not a directory.
    """
    t0 = time.perf_counter()
    stages = read_stages(run_dir)
    inputs = _first(stages, "inputs") or {}
    truth = truth or (Path(inputs["sim_truth"]) if inputs.get("sim_truth") else None)
    if truth is not None and not truth.is_dir():
        raise ValueError(
            f"simulator truth {truth} (--truth or the run's record) is not a directory"
        )
    outcomes_path = run_dir / "outcomes.json"
    outcomes = json.loads(outcomes_path.read_text()) if outcomes_path.is_file() else None
    tests = summarise_outcomes(outcomes)
    summary = {
        "verdict": tests["verdict"],
        "verdict_reason": tests["reason"],
        "run": str(run_dir),
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": tests["counts"],
        "exitstatus": None if outcomes is None else outcomes.get("exitstatus"),
        "failures": [t for t in tests["tests"] if t["outcome"] in ("failed", "error")],
        "checks": {g: _count(members) for g, members in tests["groups"].items()},
        "versions": {"environment": _versions()},
        "data": {
            "source": inputs.get("source", "simulated" if truth else "not recorded"),
            "seed": inputs.get("seed", _manifest_seed(truth)),
            "sim_truth": str(truth) if truth else None,
        },
        "fault": next(
            (s["background"]["fault"] for s in stages.values() if "background" in s), None
        ),
        "cache": cache_hits(stages),
        "timings_s": stage_timings(stages, tests["tests"]),
    }
    try:
        products = load_run_products(run_dir, truth)
    except FileNotFoundError as exc:
        products, summary["products_missing"] = None, str(exc)
        log.warning("report without images and tables: %s", exc)
    figures = {}
    if products is not None:
        summary["versions"]["products"] = {
            k: products.rates[next(iter(products.rates))].header.get(k)
            for k in ("CAL_VER", "CRDS_VER", "CRDS_CTX")
        }
        sky, star = pixels_of_interest(products, truth)
        summary["tables"] = pixel_tables(products, star)
        residuals = sky_residuals(products, sky["mask"])
        summary["sky_residuals"] = {
            "pixels": sky["what"],
            "sigma": NOTEBOOK_SIGMA,
            "exposures": {n: r["stats"] for n, r in residuals.items()},
        }
        figures = all_figures(products, residuals, star, NOTEBOOK_SIGMA)
    summary["timings_s"]["report"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    page = render_html(summary, tests["groups"], figures)
    _atomic_write(out / "report.html", page)
    _atomic_write(out / "summary.json", json.dumps(summary, indent=1, default=_json_default))
    log.info("report of %s in %.1f s", run_dir, summary["timings_s"]["report"])
    return summary


def read_stages(run_dir: Path) -> dict[str, dict]:
    """Stage records per process: ``{worker: {stage: record}}`` from ``stages/*.json``."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(run_dir.glob("stages/*.json"))}


def _first(stages: dict, stage: str) -> dict | None:
    return next((s[stage] for s in stages.values() if stage in s), None)


def _manifest_seed(truth: Path | None) -> int | None:
    """Seed in the simulator's manifest beside ``truth`` (``<data>/manifest.json``)."""
    manifest = truth.parent / "manifest.json" if truth else None
    return json.loads(manifest.read_text())["seed"] if manifest and manifest.is_file() else None


def summarise_outcomes(record: dict | None) -> dict:
    """Final outcome per test, counts, groups by check, and the run's verdict.

    A test's outcome is ``error`` when its setup or teardown failed, else its call's
    outcome (``passed``, ``failed``, ``xfailed``), else how it was skipped. The verdict is
    ``pass`` when the session finished (``outcomes.json`` exists) with exit status 0 and no
    test failed or errored, else ``fail``.
    """
    if record is None:
        empty = {k: 0 for k in OUTCOMES} | {"total": 0}
        reason = "no outcomes.json: the test session did not finish"
        return {"tests": [], "counts": empty, "groups": {}, "verdict": "fail", "reason": reason}
    by_node: dict[str, dict] = {}
    for entry in record["tests"]:
        test = by_node.setdefault(
            entry["nodeid"], {"nodeid": entry["nodeid"], "outcome": None, "message": ""}
        )
        test["duration_s"] = test.get("duration_s", 0.0) + entry.get("duration_s", 0.0)
        if entry["when"] != "call" and entry["outcome"] == "failed":
            message = test["message"] if test["outcome"] == "error" else ""
            test["outcome"], test["message"] = "error", f"{message}\n{entry['message']}".strip()
        elif test["outcome"] != "error" and (entry["when"] == "call" or test["outcome"] is None):
            test["outcome"], test["message"] = entry["outcome"], entry["message"]
    tests = list(by_node.values())
    counts = _count(tests)
    groups: dict[str, list] = {}
    for test in sorted(tests, key=lambda t: t["nodeid"]):
        groups.setdefault(check_of(test["nodeid"]), []).append(test)
    status = record.get("exitstatus")
    if counts["failed"] or counts["error"]:
        verdict, reason = "fail", f"{counts['failed']} failed, {counts['error']} errors"
    elif status != 0:
        verdict, reason = "fail", f"pytest exit status {status}"
    else:
        verdict, reason = "pass", f"{counts['passed']} passed, exit status 0"
    return {
        "tests": tests,
        "counts": counts,
        "groups": groups,
        "verdict": verdict,
        "reason": reason,
    }


def check_of(nodeid: str) -> str:
    """The check a test belongs to: its node id without the parameter id.

    ``tests/x/test_a.py::test_b[sigma2]`` -> ``tests/x/test_a.py::test_b``.
    """
    return nodeid.split("[", 1)[0]


def _count(tests: list[dict]) -> dict[str, int]:
    counts = {k: sum(t["outcome"] == k for t in tests) for k in OUTCOMES}
    return counts | {"total": len(tests)}


def cache_hits(stages: dict[str, dict]) -> dict:
    """detector1 cache use over all processes: an exposure is a hit when no process built it."""
    built: dict[str, str] = {}
    seen: set[str] = set()
    for worker, record in stages.items():
        for name, entry in record.get("detector1", {}).get("exposures", {}).items():
            seen.add(name)
            if not entry["hit"]:
                built[name] = f"{worker}: {entry['seconds']:.1f} s ({entry['reason']})"
    inputs = _first(stages, "inputs")
    return {
        "detector1_hits": len(seen) - len(built),
        "detector1_exposures": len(seen),
        "detector1_built": built,
        "inputs_hit": inputs.get("hit") if inputs else None,
    }


def stage_timings(stages: dict[str, dict], tests: list[dict]) -> dict:
    """Wall time per stage and process, pipeline time per call, and the tests' total (s)."""
    timings: dict = {"stages": {}, "background_pipeline": None}
    for worker, record in stages.items():
        for stage, value in record.items():
            seconds = value.get("seconds") if isinstance(value, dict) else None
            parts = seconds.items() if isinstance(seconds, dict) else [("", seconds)]
            for part, sec in parts:
                if sec is not None:
                    timings["stages"].setdefault(f"{stage} {part}".strip(), {})[worker] = sec
            if stage == "background":
                timings["background_pipeline"] = value.get("pipeline_seconds")
    timings["tests_total"] = sum(t.get("duration_s", 0.0) for t in tests)
    return timings


def _versions() -> dict[str, str]:
    result = {}
    for pkg in VERSIONED:
        try:
            result[pkg] = version(pkg)
        except PackageNotFoundError:
            result[pkg] = "not installed"
    return result


def product_paths(run_dir: Path) -> tuple[dict, dict]:
    """Rate paths per exposure, and per sigma the bsub / combined paths per science exposure.

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
    runs = {}
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
        runs[sigma] = SimpleNamespace(bsub=paths["bsub"], combined=paths["combinedbackground"])
    return rates, runs


def load_run_products(run_dir: Path, truth: Path | None):
    """`products.Products` of a run directory (true background and sources with ``truth``)."""
    from miri_background.products import load_products

    rates, runs = product_paths(run_dir)
    return load_products(
        SimpleNamespace(sim_truth=truth), SimpleNamespace(rates=FrozenMap(rates)), runs
    )


def pixels_of_interest(products, truth: Path | None) -> tuple[dict, dict]:
    """The histograms' sky pixels and the notebook's star pixel.

    With the truth: the sky is `pixelsets`' source-free pixels (all regions) and the star
    the background-star peak nearest to the notebook's (615, 317), as `pixelsets` picks
    it. Without: the imager region (stars included) and (615, 317) itself.

    Returns
    -------
    sky : dict
        ``mask`` ((NY, NX) bool) and ``what`` (its description).
    star : dict
        ``x``, ``y``, ``exposure`` (the background it sits in, or None) and ``how``.
    """
    if truth is None:
        from miri_background.instrument import region_masks

        x, y = NOTEBOOK_STAR
        return (
            {"mask": region_masks()["imager"], "what": "imager pixels (no truth: stars included)"},
            {"x": x, "y": y, "exposure": None, "how": "the notebook's pixel (no truth catalog)"},
        )
    from miri_background.pixelsets import build_pixel_sets

    sets = build_pixel_sets(SimpleNamespace(sim_truth=truth), products)
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
            "how": f"nearest background-star peak to the notebook's {NOTEBOOK_STAR} (truth)",
        },
    )


def pixel_tables(products, star: dict) -> dict:
    """The notebook's tables, in DN/s.

    ``sky_pixel``: SCI and ERR at numpy [850, 500] in every rate and, per sigma, every bsub.
    ``star_pixel``: per background the value at the star pixel, their plain mean
    ``sum(v_i) / 4`` and, per sigma, the combined background there.
    """
    sx, sy = NOTEBOOK_SKY
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


def render_html(summary: dict, groups: dict, figures: dict) -> str:
    """The page: `report_template.html` filled with the summary, figures and outcomes."""
    template = Template(files("miri_background").joinpath("report_template.html").read_text())
    return template.substitute(
        title=html.escape(f"MIRI background report: {Path(summary['run']).name}"),
        verdict=summary["verdict"],
        verdict_text=html.escape(f"{summary['verdict'].upper()}: {summary['verdict_reason']}"),
        sections="\n".join(html_sections(summary, groups, figures)),
    )


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Figures: matplotlib (Agg, no pyplot state) -> base64 PNG.

DOWNSAMPLE = 2
"""Images are shown as DOWNSAMPLE x DOWNSAMPLE block means (516 x 512 for FULL)."""
DPI = 90
TICKS = (0, 250, 500, 750, 1000)
"""Pixel ticks of the image axes (few: tick drawing is most of a panel's cost)."""
MARKS = (("sky pixel", "white"), ("star pixel", "cyan"))


def block_mean(a: np.ndarray, f: int = DOWNSAMPLE) -> np.ndarray:
    """Mean of the finite values in each ``f x f`` block (NaN for a block with none).

    ``b[j, i] = sum(a[f j + u, f i + v] finite) / count(finite)``; edge rows and columns
    that do not fill a block are dropped.
    """
    ny, nx = a.shape[0] // f * f, a.shape[1] // f * f
    blocks = a[:ny, :nx].reshape(ny // f, f, nx // f, f)
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    count = finite.sum(axis=(1, 3))
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def _png(fig) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def image_panels(images: dict[str, np.ndarray], marks: dict[str, tuple[int, int]]) -> str:
    """1-3 images in a row or 4 in a 2 x 2 grid, each `block_mean` downsampled, normalised
    with astropy's ZScaleInterval and given a DN/s colour bar; returns a base64 PNG."""
    from astropy.visualization import ImageNormalize, ZScaleInterval
    from matplotlib.figure import Figure

    ncols = 2 if len(images) == 4 else len(images)
    nrows = len(images) // ncols
    fig = Figure(figsize=(5.4 * ncols, 4.6 * nrows))  # a layout engine would triple the time
    fig.subplots_adjust(left=0.07, right=0.97, bottom=0.08, top=0.93, wspace=0.3, hspace=0.3)
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax, (label, data) in zip(axes, images.items(), strict=True):
        small = block_mean(data)
        vmin, vmax = ZScaleInterval().get_limits(small[_zscale_pixels(small)])
        shown = ax.imshow(
            small,
            origin="lower",
            cmap="inferno",
            interpolation="nearest",
            norm=ImageNormalize(vmin=vmin, vmax=vmax),
            extent=(-0.5, data.shape[1] - 0.5, -0.5, data.shape[0] - 0.5),
        )
        for (what, color), (x, y) in zip(MARKS, marks.values(), strict=True):
            ax.plot(x, y, "o", ms=11, mfc="none", mec=color, mew=1.5, label=f"{what} ({x}, {y})")
        ax.set(title=label, xlabel="x [pixel]", ylabel="y [pixel]", xticks=TICKS, yticks=TICKS)
        fig.colorbar(shown, ax=ax, label="DN/s", shrink=0.9)
    axes[0].legend(loc="lower left", fontsize="small", facecolor="0.5")
    return _png(fig)


@cache
def _imager_blocks() -> np.ndarray:
    """Downsampled blocks that lie wholly in the imager field."""
    from miri_background.instrument import region_masks

    return block_mean(region_masks()["imager"].astype(float)) == 1.0


def _zscale_pixels(small: np.ndarray) -> np.ndarray:
    """Where ZScale samples a downsampled image: its finite pixels in the imager field (the
    dark coronagraph and reference areas would otherwise widen the range to the full
    0-30 DN/s and wash out the sky), or all finite pixels of a non-FULL image."""
    imager = _imager_blocks()
    finite = np.isfinite(small)
    return finite & imager if imager.shape == small.shape else finite


def residual_histograms(residuals: dict, sigma: float) -> str:
    """Histogram of bsub at the sky pixels per exposure, with the expected distribution.

    Expected counts per bin of width ``w`` at ``x``: ``n w mean_k phi(x; 0, q_k)``, a mixture
    of Gaussians whose widths ``q_k`` are 64 quantiles of the per-pixel expected noise.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    fig = Figure(figsize=(11, 7.5))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=0.95, wspace=0.2, hspace=0.35)
    for ax, (name, r) in zip(fig.subplots(2, 2).flat, residuals.items(), strict=False):
        stats = r["stats"]
        edges = np.linspace(-6.0, 6.0, 121) * stats["expected_rms"]
        centres, width = 0.5 * (edges[1:] + edges[:-1]), edges[1] - edges[0]
        q = np.quantile(r["expected"], (np.arange(64) + 0.5) / 64)
        pdf = np.exp(-0.5 * (centres[:, None] / q) ** 2) / (q * np.sqrt(2.0 * np.pi))
        outside = int(np.sum(np.abs(r["values"]) > edges[-1]))
        counts, _ = np.histogram(r["values"], bins=edges)
        ax.stairs(counts, edges, color="k", label="measured")
        ax.plot(
            centres,
            r["values"].size * width * pdf.mean(axis=1),
            color="tab:red",
            label=f"expected, rms {stats['expected_rms']:.3f} DN/s",
        )
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())  # log minor ticks cost more than the plot
        ax.set_ylim(bottom=0.5)
        ax.set(
            title=f"{_short(name)}: {stats['n_pixels']} pixels, {outside} beyond the axis",
            xlabel="bsub at sky pixels [DN/s]",
            ylabel="pixels per bin",
        )
        ax.legend(
            title=f"mean {stats['mean']:+.4f}, robust std {stats['robust_std']:.3f} DN/s",
            fontsize="small",
        )
    return _png(fig)


def _short(name: str) -> str:
    """``bkg_faint_seq1_MIRIMAGE_F770Wexp1`` -> ``bkg_faint_seq1``."""
    return name.split("_MIRIMAGE")[0]


def all_figures(products, residuals: dict, star: dict, sigma: float) -> dict[str, tuple]:
    """Every figure as ``key -> (caption, base64 PNG)``."""
    marks = {"sky": NOTEBOOK_SKY, "star": (star["x"], star["y"])}
    first = products.science_names[0]
    rate = {n: img.data for n, img in products.rates.items()}
    panels = {
        "backgrounds": (
            "Background rates (detector1)",
            {_short(n): rate[n] for n in products.background_names},
        ),
        "science": (
            "Science rates (detector1)",
            {_short(n): rate[n] for n in products.science_names},
        ),
        "combined": (
            f"Combined background per sigma (for {_short(first)}; maxiters=3)",
            {f"sigma={s:g}": products.combined[s][first].data for s in products.combined},
        ),
        "bsub": (
            f"Background-subtracted science, sigma={sigma:g} (the notebook's)",
            {_short(n): img.data for n, img in products.bsub[sigma].items()},
        ),
    }
    if products.true_background is not None:
        panels["residual"] = (
            "Residual: combined background - true background (built-in data)",
            {
                f"sigma={s:g}": products.combined[s][first].data - products.true_background
                for s in products.combined
            },
        )
    figures = {k: (caption, image_panels(imgs, marks)) for k, (caption, imgs) in panels.items()}
    figures["histograms"] = (
        f"bsub at sky pixels (sigma={sigma:g}) and the expected noise sqrt(err_sci^2 + err_comb^2)",
        residual_histograms(residuals, sigma),
    )
    return figures


# HTML sections (the page skeleton and style are in report_template.html).


def _e(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape("" if value is None else str(value))


def _table(header: list[str], rows: list[list], caption: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<p class='caption'>{_e(caption)}</p>" if caption else ""
    return f"{cap}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def html_sections(summary: dict, groups: dict, figures: dict) -> list[str]:
    """The page's sections in order: run, images, tables, histograms, tests."""
    sections = [_section("run", "Run", _run_body(summary))]
    if "products_missing" in summary:
        note = f"<p class='missing'>No images or tables: {_e(summary['products_missing'])}</p>"
        sections.append(_section("images", "Images", note))
    for key, (caption, png) in figures.items():
        img = f'<img alt="{_e(caption)}" src="data:image/png;base64,{png}">'
        sections.append(_section(f"fig-{key}", caption, f"<figure>{img}</figure>"))
    if "tables" in summary:
        sections.append(_section("tables", "The notebook's pixels", _tables_body(summary)))
    sections.append(_section("tests", "Tests by check", _tests_body(groups)))
    return sections


def _run_body(s: dict) -> str:
    env = s["versions"]["environment"]
    made = s["versions"].get("products", {})
    cache = s["cache"]
    rows = [
        ["run directory", s["run"]],
        ["generated", s["generated"]],
        ["data source", s["data"]["source"]],
        ["seed", s["data"]["seed"]],
        ["simulator truth", s["data"]["sim_truth"]],
        ["injected fault", s["fault"] or "none"],
        ["software (report environment)", ", ".join(f"{k} {v}" for k, v in env.items())],
        ["products made by", ", ".join(f"{k} {v}" for k, v in made.items()) or "no products"],
        ["outcomes", ", ".join(f"{v} {k}" for k, v in s["counts"].items())],
        ["detector1 cache", f"{cache['detector1_hits']}/{cache['detector1_exposures']} hits"],
        ["inputs cache hit", cache["inputs_hit"]],
    ]
    rows += [[f"built: {n}", how] for n, how in cache["detector1_built"].items()]
    timing_rows = [
        [stage, worker, f"{sec:.1f}"]
        for stage, per in s["timings_s"]["stages"].items()
        for worker, sec in per.items()
    ]
    timing_rows.append(["sum of test durations", "all", f"{s['timings_s']['tests_total']:.1f}"])
    timing_rows.append(["this report", "", f"{s['timings_s']['report']:.1f}"])
    pipeline = s["timings_s"]["background_pipeline"] or {}
    pipe_rows = [
        [sig, _short(n), f"{sec:.2f}"] for sig, per in pipeline.items() for n, sec in per.items()
    ]
    return (
        _table(["item", "value"], rows)
        + _table(["stage", "process", "wall time [s]"], timing_rows, "Stage times")
        + (
            _table(["sigma", "exposure", "Image2Pipeline [s]"], pipe_rows, "Background step")
            if pipe_rows
            else ""
        )
    )


def _tables_body(s: dict) -> str:
    sky, star = s["tables"]["sky_pixel"], s["tables"]["star_pixel"]
    sigmas = list(sky["bsub"])
    rows = []
    for name, v in sky["rate"].items():
        bsub = [sky["bsub"][sg].get(name) for sg in sigmas]
        notebook = sky["bsub"][f"{NOTEBOOK_SIGMA:g}"].get(name)
        rows.append(
            [_short(name), v["sci"], v["err"]]
            + [b["sci"] if b else "-" for b in bsub]
            + [notebook["err"] if notebook else "-"]
        )
    header = (
        ["exposure", "rate", "rate ERR"]
        + [f"bsub sigma={sg}" for sg in sigmas]
        + [f"bsub ERR sigma={NOTEBOOK_SIGMA:g}"]
    )
    truth = sky["true_background"]
    sky_caption = f"Sky pixel numpy [{sky['y']}, {sky['x']}] in DN/s" + (
        f"; true background {truth:.4f} DN/s" if truth is not None else ""
    )
    star_rows = [[_short(n), v] for n, v in star["backgrounds"].items()]
    star_rows.append(["plain mean of the 4 backgrounds", star["plain_mean"]])
    star_rows += [[f"combined sigma={sg}", v] for sg, v in star["combined"].items()]
    if star["true_background"] is not None:
        star_rows.append(["true background", star["true_background"]])
    star_caption = (
        f"Star pixel (x={star['x']}, y={star['y']}): {star['how']}"
        + (f", star in {_short(star['exposure'])}" if star["exposure"] else "")
        + f"; combined background of {_short(star['combined_of'])}; DN/s"
    )
    residual_rows = [
        [_short(n), r["n_pixels"], r["mean"], r["robust_std"], r["expected_rms"]]
        for n, r in s["sky_residuals"]["exposures"].items()
    ]
    return (
        _table(header, rows, sky_caption)
        + _table(["value at the star pixel", "DN/s"], star_rows, star_caption)
        + _table(
            ["exposure", "sky pixels", "mean", "robust std", "expected rms"],
            residual_rows,
            f"bsub at sky pixels ({s['sky_residuals']['pixels']}), DN/s",
        )
    )


def _tests_body(groups: dict) -> str:
    if not groups:
        return "<p class='missing'>No test outcomes (outcomes.json missing).</p>"
    parts = []
    for check, tests in groups.items():
        counts = _count(tests)
        status = "fail" if counts["failed"] or counts["error"] else "pass"
        text = ", ".join(f"{v} {k}" for k, v in counts.items() if v and k != "total")
        items = []
        for t in tests:
            param = t["nodeid"][len(check) :] or t["nodeid"].rsplit("::", 1)[-1]
            message = f"<pre>{_e(t['message'])}</pre>" if t["message"] else ""
            items.append(
                f"<li class='{t['outcome']}'><span class='outcome'>{t['outcome']}</span> "
                f"{_e(param)} <span class='time'>{t.get('duration_s', 0.0):.2f} s</span>"
                f"{message}</li>"
            )
        parts.append(
            f"<details class='check {status}'{' open' if status == 'fail' else ''}>"
            f"<summary><code>{_e(check)}</code>: {_e(text)}</summary>"
            f"<ul>{''.join(items)}</ul></details>"
        )
    return "\n".join(parts)
