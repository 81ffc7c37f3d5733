"""The report page: the jinja2 template ``templates/report.html.j2`` filled with the run,
figures, tables and tests.

This module only arranges the summary into `Section` records (tables as rows of values);
the markup, and its escaping (autoescape), is the template's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from miri_background.observation.notebook import NOTEBOOK_SIGMA
from miri_background.report.products import short_name


@dataclass(frozen=True)
class Table:
    """A table: column names, rows of values (floats shown to 4 decimals), a caption."""

    header: Sequence[str]
    rows: Sequence[Sequence]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """A section of the page: tables, a note (what is missing), a figure (base64 PNG) or
    the tests of each check (``checks``: name, status, counts, tests)."""

    key: str
    title: str
    tables: Sequence[Table] = ()
    note: str = ""
    figure: str = ""
    checks: Sequence[dict] = ()


def _cell(value) -> str:
    """A table cell: floats to 4 decimals, None empty."""
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("miri_background.report"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    env.filters["cell"] = _cell
    return env


def render_html(summary: dict, groups: dict, figures: dict) -> str:
    """The page of the summary, figures and outcomes (`html_sections`)."""
    return render_page(
        f"MIRI background report: {Path(summary['run']).name}",
        summary["verdict"],
        f"{summary['verdict'].upper()}: {summary['verdict_reason']}",
        html_sections(summary, groups, figures),
    )


def render_page(title: str, verdict: str, verdict_text: str, sections: list[Section]) -> str:
    """``report.html.j2`` with a title, the verdict banner and ``sections``."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=title, verdict=verdict, verdict_text=verdict_text, sections=sections
    )


def html_sections(summary: dict, groups: dict, figures: dict) -> list[Section]:
    """The page's sections in order: run, images, tables, histograms, tests, release matrix,
    mutation testing."""
    sections = [Section("run", "Run", _run_tables(summary))]
    if "products_missing" in summary:
        note = f"No images or tables: {summary['products_missing']}"
        sections.append(Section("images", "Images", note=note))
    for key, (caption, png) in figures.items():
        sections.append(Section(f"fig-{key}", caption, figure=png))
    if "tables" in summary:
        sections.append(Section("tables", "The notebook's pixels", _pixel_tables(summary)))
    sections.append(_tests_section(groups, summary["checks"]))
    if summary.get("scenarios"):
        sections.append(scenario_section(summary["scenarios"]))
    if "matrix" in summary:
        sections.append(matrix_section(summary["matrix"]))
    if "mutation" in summary:
        sections.append(mutation_section(summary["mutation"]))
    return sections


def scenario_section(rows: list[dict]) -> Section:
    """One row per scenario: kind, cases, test outcomes, jwst seconds, the known defect."""
    table = Table(
        ["scenario", "kind", "cases", "tests", "jwst s (cache hits)", "known jwst defect"],
        [
            [
                r["scenario"],
                r["kind"],
                ", ".join(r["cases"]),
                ", ".join(f"{n} {o}" for o, n in sorted(r["outcomes"].items())),
                f"{r['jwst_s']:.2f} ({r['cache_hits']}/{len(r['cases'])})",
                r["defect"] or "",
            ]
            for r in rows
        ],
        "Scenarios beside the notebook's data set (tests/regression/test_scenarios_*.py); "
        "the figures above show (combined - rule) for the defect cases.",
    )
    return Section("scenarios", "Scenarios", (table,))


def mutation_section(m: dict) -> Section:
    """``make mutation``: kill rates of the suite and of the upstream tests, overall and per
    region (score = killed / (mutants - equivalent)), and the suite's survivors."""
    s = m["summary"]
    sides = [side for side in ("suite", "upstream") if side in s]
    if not sides:
        return Section("mutation", "Mutation testing", note="No mutant run.")

    def cell(rate: dict) -> str:
        return f"{rate['killed']}/{rate['mutants'] - rate['equivalent']} ({rate['score']})"

    rows = [["overall", s[sides[0]]["overall"]["mutants"], s[sides[0]]["overall"]["equivalent"]]]
    rows[0] += [cell(s[side]["overall"]) for side in sides]
    for region, rate in s[sides[0]]["per_region"].items():
        rows.append([region, rate["mutants"], rate["equivalent"]])
        rows[-1] += [cell(s[side]["per_region"][region]) for side in sides]
    caption = (
        f"cosmic-ray {m['cosmic_ray']} on target {m['target']}: {s['mutants_run']} "
        f"mutants, median {s['median_seconds_per_mutant']} s of sessions each, "
        f"{s.get('wall_seconds_per_mutant')} s of wall each; killed / scored (score)"
    )
    header = ["region", "mutants", "equivalent", *(f"{side} killed" for side in sides)]
    survivors = [
        [side, v["id"], v["region"], v["diff"], v.get("not_run", "ran, no test failed")]
        for side in sides
        for v in s[side]["survivors"]
    ]
    survivors_table = Table(["side", "survivor", "region", "diff", "why"], survivors, "Survivors")
    return Section("mutation", "Mutation testing", (Table(header, rows, caption), survivors_table))


def matrix_section(rows: list[dict]) -> Section:
    """The jwst release matrix (``make matrix``): a row per release, its verdict and the
    sigma=2 combined background against the reference release."""
    table = [
        [
            r["release"],
            r["verdict"],
            f"jwst {r['jwst']}, stcal {r['stcal']}" if r["jwst"] else "-",
            f"{r['passed']}/{r['cases']}",
            ", ".join(r["failing_checks"]) or "-",
            "-" if r["max_abs_dn_s"] is None else f"{r['max_abs_dn_s']:.3g}",
            "-" if r["robust_std_dn_s"] is None else f"{r['robust_std_dn_s']:.3g}",
            r["note"].strip().splitlines()[0][:200] if r["note"].strip() else "",
        ]
        for r in rows
    ]
    header = ["release", "verdict", "versions", "passed", "failing checks"]
    header += ["max |d| [DN/s]", "robust std d [DN/s]", "note"]
    caption = "Physical checks per jwst release; d = combined background (sigma=2) - reference"
    return Section("matrix", "jwst release matrix", (Table(header, table, caption),))


def _run_tables(s: dict) -> tuple[Table, ...]:
    env = s["versions"]["environment"]
    made = s["versions"].get("products", {})
    cache = s["cache"]
    rows = [
        ["run directory", s["run"]],
        ["generated", s["generated"]],
        ["data source", s["data"]["source"]],
        ["data set", f"{s['data']['data_set']}: {s['data']['data_set_title']}"],
        ["detector1", s["data"]["detector1"]],
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
    rows += [["cache repair", line] for line in cache.get("repairs", [])]
    timing_rows = [
        [stage, worker, f"{sec:.1f}"]
        for stage, per in s["timings_s"]["stages"].items()
        for worker, sec in per.items()
    ]
    timing_rows.append(["sum of test durations", "all", f"{s['timings_s']['tests_total']:.1f}"])
    timing_rows.append(["this report", "", f"{s['timings_s']['report']:.1f}"])
    pipeline = s["timings_s"]["background_pipeline"] or {}
    pipe_rows = [
        [sig, short_name(n), f"{sec:.2f}"]
        for sig, per in pipeline.items()
        for n, sec in per.items()
    ]
    tables = (
        Table(["item", "value"], rows),
        Table(["stage", "process", "wall time [s]"], timing_rows, "Stage times"),
    )
    if pipe_rows:
        header = ["sigma", "exposure", "Image2Pipeline [s]"]
        tables += (Table(header, pipe_rows, "Background step"),)
    return tables


def _pixel_tables(s: dict) -> tuple[Table, ...]:
    sky, star = s["tables"]["sky_pixel"], s["tables"]["star_pixel"]
    sigmas = list(sky["bsub"])
    rows = []
    for name, v in sky["rate"].items():
        bsub = [sky["bsub"][sg].get(name) for sg in sigmas]
        notebook = sky["bsub"][f"{NOTEBOOK_SIGMA:g}"].get(name)
        rows.append(
            [short_name(name), v["sci"], v["err"]]
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
    star_rows = [[short_name(n), v] for n, v in star["backgrounds"].items()]
    star_rows.append(["plain mean of the 4 backgrounds", star["plain_mean"]])
    star_rows += [[f"combined sigma={sg}", v] for sg, v in star["combined"].items()]
    if star["true_background"] is not None:
        star_rows.append(["true background", star["true_background"]])
    star_caption = (
        f"Star pixel (x={star['x']}, y={star['y']}): {star['how']}"
        + (f", star in {short_name(star['exposure'])}" if star["exposure"] else "")
        + f"; combined background of {short_name(star['combined_of'])}; DN/s"
    )
    residual_rows = [
        [short_name(n), r["n_pixels"], r["mean"], r["robust_std"], r["expected_rms"]]
        for n, r in s["sky_residuals"]["exposures"].items()
    ]
    return (
        Table(header, rows, sky_caption),
        Table(["value at the star pixel", "DN/s"], star_rows, star_caption),
        Table(
            ["exposure", "sky pixels", "mean", "robust std", "expected rms"],
            residual_rows,
            f"bsub at sky pixels ({s['sky_residuals']['pixels']}), DN/s",
        ),
    )


def _tests_section(groups: dict, checks: dict) -> Section:
    """Each check's tests (parameter id, outcome, seconds, message), failing checks open."""
    if not groups:
        note = "No test outcomes: the session did not finish."
        return Section("tests", "Tests by check", note=note)
    items = []
    for check, tests in groups.items():
        counts = checks[check]
        items.append(
            {
                "name": check,
                "status": "fail" if counts["failed"] or counts["error"] else "pass",
                "counts": ", ".join(f"{v} {k}" for k, v in counts.items() if v and k != "total"),
                "tests": [
                    {
                        "outcome": t["outcome"],
                        "param": t["nodeid"][len(check) :] or t["nodeid"].rsplit("::", 1)[-1],
                        "seconds": t.get("duration_s", 0.0),
                        "message": t["message"],
                    }
                    for t in tests
                ],
            }
        )
    return Section("tests", "Tests by check", checks=items)
