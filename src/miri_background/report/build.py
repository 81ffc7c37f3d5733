"""``python -m miri_background report``: one run directory as a self-contained HTML page.

Reads the run record (`run_records.read_run`: the stages' records, the product files they
list, the outcome record they name) and nothing else of the run directory, and writes
``<out>/report.html`` (every image an embedded base64 PNG, so it opens from disk) and
``<out>/summary.json``. Sections follow the validation notebook: the rate, combined and
bsub images (ZScale, DN/s), the sky-pixel and star-pixel tables, sky-residual histograms,
then every test's outcome grouped by check, versions, data, cache hits and stage times.
This module gathers the run's facts (outcomes, stages, versions) and writes the files;
`report_products` reads the products, `report_figures` draws, `report_html` lays out.

A missing or incomplete product set does not stop the report: the outcomes still matter
most when the pipeline failed, so the image sections then say what is missing (a stage
that did not record its products, or every listed file that is gone, by path), and
``summary.json`` holds the same message as ``products_missing``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from miri_background.files import write_text_atomic
from miri_background.observation import datasets
from miri_background.observation.notebook import NOTEBOOK_SIGMA
from miri_background.report.figures import all_figures
from miri_background.report.html import render_html
from miri_background.report.products import (
    load_run_products,
    pixel_tables,
    pixels_of_interest,
    sky_residuals,
)
from miri_background.run_records import Outcome, RunRecord, read_run
from miri_background.scenarios.report import scenario_figures, scenario_rows

log = logging.getLogger(__name__)

VERSIONED = ("jwst", "stcal", "stdatamodels", "stpipe", "crds", "astropy", "numpy")
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
        fault, cache hits, timings (s), the pixel ``tables`` and ``sky_residuals`` (DN/s), and
        ``residual_sky``: the data set's sky promise and the fitted residual sky level and
        gradient of every bsub exposure, region and sigma (DN/s and % of the sky), as the
        checks recorded them (None when no sky check ran).

    Raises
    ------
    ValueError
        If ``truth`` (given or recorded) is not a directory.
    """
    t0 = time.perf_counter()
    record = read_run(run_dir)
    stages = record.stages
    inputs = record.first("inputs") or {}
    truth = truth or (Path(inputs["sim_truth"]) if inputs.get("sim_truth") else None)
    if truth is not None and not truth.is_dir():
        raise ValueError(
            f"simulator truth {truth} (--truth or the run's record) is not a directory"
        )
    tests = summarise_outcomes(record.tests, record.exitstatus)
    summary = {
        "verdict": tests["verdict"],
        "verdict_reason": tests["reason"],
        "run": str(run_dir),
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": tests["counts"],
        "exitstatus": record.exitstatus,
        "junit": record.junit,
        "failures": [t for t in tests["tests"] if t["outcome"] in ("failed", "error")],
        "checks": {g: _count(members) for g, members in tests["groups"].items()},
        "versions": {"environment": _versions()},
        "data": {
            "source": inputs.get("source", "simulated" if truth else "not recorded"),
            "data_set": inputs.get("data_set", "mirisim"),
            "data_set_title": inputs.get("data_set_title", datasets.MIRISIM.title),
            "detector1": "skipped: rate inputs"
            if inputs.get("level") == "rate"
            else "ran on uncal ramps",
            "seed": inputs.get("seed", _manifest_seed(truth)),
            "sim_truth": str(truth) if truth else None,
        },
        "fault": next(
            (s["background"]["fault"] for s in stages.values() if "background" in s), None
        ),
        "cache": cache_hits(record),
        "timings_s": stage_timings(stages, tests["tests"]),
        "residual_sky": record.first("sky"),
    }
    try:
        products = load_run_products(record, truth)
    except FileNotFoundError as exc:
        products, summary["products_missing"] = None, str(exc)
        log.warning("report without images and tables: %s", exc)
    figures = {}
    if products is not None:
        summary["versions"]["products"] = {
            k: products.rates[next(iter(products.rates))].header.get(k)
            for k in ("CAL_VER", "CRDS_VER", "CRDS_CTX")
        }
        data_set = datasets.get(summary["data"]["data_set"])
        sky, star = pixels_of_interest(products, truth, data_set)
        summary["tables"] = pixel_tables(products, star, data_set.bsub_pixel)
        residuals = sky_residuals(products, sky["mask"])
        summary["sky_residuals"] = {
            "pixels": sky["what"],
            "sigma": NOTEBOOK_SIGMA,
            "exposures": {n: r["stats"] for n, r in residuals.items()},
        }
        figures = all_figures(products, residuals, star, NOTEBOOK_SIGMA)
    summary["scenarios"] = scenario_rows(record, tests["tests"])
    figures |= scenario_figures(record)
    if (out / "matrix.json").is_file():
        summary["matrix"] = matrix_rows(out / "matrix.json")
    if (out / "mutation.json").is_file():
        record = json.loads((out / "mutation.json").read_text())
        summary["mutation"] = {k: record.get(k) for k in ("cosmic_ray", "target", "summary")}
    summary["timings_s"]["report"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    page = render_html(summary, tests["groups"], figures)
    write_text_atomic(out / "report.html", page)
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1, default=_json_default))
    log.info("report of %s in %.1f s", run_dir, summary["timings_s"]["report"])
    return summary


def matrix_rows(path: Path) -> list[dict]:
    """One row per release of ``make matrix``'s JSON: verdict, versions, checks passed (and
    xfailed) of all cases, failing checks, and the sigma=2 combined background against the
    reference release (max |d| and robust std, DN/s) or why it was not compared."""
    record = json.loads(path.read_text())
    results = dict(record["results"])
    if record.get("reference_result"):
        results = {record["reference"]: record["reference_result"]} | results
    rows = []
    for release, r in results.items():
        checks = r.get("checks") or {}
        diff = r.get("combined_vs_reference") or {}
        rows.append(
            {
                "release": release,
                "verdict": r.get("verdict"),
                "jwst": (r.get("versions") or {}).get("jwst"),
                "stcal": (r.get("versions") or {}).get("stcal"),
                "passed": sum(c.get("passed", 0) + c.get("xfailed", 0) for c in checks.values()),
                "cases": sum(sum(c.values()) for c in checks.values()),
                "failing_checks": sorted(
                    k for k, c in checks.items() if c.get("failed") or c.get("error")
                ),
                "max_abs_dn_s": diff.get("max_abs"),
                "robust_std_dn_s": diff.get("robust_std"),
                "note": r.get("error") or diff.get("error") or "",
            }
        )
    return rows


def _manifest_seed(truth: Path | None) -> int | None:
    """Seed in the simulator's manifest beside ``truth`` (``<data>/manifest.json``)."""
    manifest = truth.parent / "manifest.json" if truth else None
    return json.loads(manifest.read_text())["seed"] if manifest and manifest.is_file() else None


def summarise_outcomes(outcomes: Mapping[str, Outcome] | None, exitstatus: int | None) -> dict:
    """Outcome per test, counts, groups by check, and the run's verdict.

    ``outcomes`` are the run record's (`run_records.read_junit`: a set-up or teardown
    failure is an ``error``), None when the session did not finish. The verdict is ``pass``
    when the session finished with exit status 0 and no test failed or errored, else
    ``fail``.
    """
    if outcomes is None:
        empty = {k: 0 for k in OUTCOMES} | {"total": 0}
        reason = "no outcome record: the test session did not finish"
        return {"tests": [], "counts": empty, "groups": {}, "verdict": "fail", "reason": reason}
    tests = [
        {"nodeid": node, "outcome": o.outcome, "message": o.message, "duration_s": o.seconds}
        for node, o in outcomes.items()
    ]
    counts = _count(tests)
    groups: dict[str, list] = {}
    for test in sorted(tests, key=lambda t: t["nodeid"]):
        groups.setdefault(check_of(test["nodeid"]), []).append(test)
    status = exitstatus
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


def cache_hits(record: RunRecord) -> dict:
    """detector1 cache use over all processes: an exposure is a hit when no process built it."""
    built: dict[str, str] = {}
    seen: set[str] = set()
    for worker, stages in record.stages.items():
        for name, entry in stages.get("detector1", {}).get("exposures", {}).items():
            seen.add(name)
            if not entry["hit"]:
                built[name] = f"{worker}: {entry['seconds']:.1f} s ({entry['reason']})"
    inputs = record.first("inputs")
    return {
        "detector1_hits": len(seen) - len(built),
        "detector1_exposures": len(seen),
        "detector1_built": built,
        "inputs_hit": inputs.get("hit") if inputs else None,
        # entries that failed verification and were rebuilt (notices.repair_line)
        "repairs": [
            line for stages in record.stages.values() for line in stages.get("cache_repairs", [])
        ],
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


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
