"""The report page: `template.html` filled with the run, figures, tables and tests."""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path
from string import Template

from miri_background.observation.notebook import NOTEBOOK_SIGMA
from miri_background.report.products import short_name


def render_html(summary: dict, groups: dict, figures: dict) -> str:
    """The page: `template.html` filled with the summary, figures and outcomes."""
    template = Template(files("miri_background.report").joinpath("template.html").read_text())
    return template.substitute(
        title=html.escape(f"MIRI background report: {Path(summary['run']).name}"),
        verdict=summary["verdict"],
        verdict_text=html.escape(f"{summary['verdict'].upper()}: {summary['verdict_reason']}"),
        sections="\n".join(html_sections(summary, groups, figures)),
    )


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
    """The page's sections in order: run, images, tables, histograms, tests, release matrix,
    mutation testing."""
    sections = [_section("run", "Run", _run_body(summary))]
    if "products_missing" in summary:
        note = f"<p class='missing'>No images or tables: {_e(summary['products_missing'])}</p>"
        sections.append(_section("images", "Images", note))
    for key, (caption, png) in figures.items():
        img = f'<img alt="{_e(caption)}" src="data:image/png;base64,{png}">'
        sections.append(_section(f"fig-{key}", caption, f"<figure>{img}</figure>"))
    if "tables" in summary:
        sections.append(_section("tables", "The notebook's pixels", _tables_body(summary)))
    body = _tests_body(groups, summary["checks"])
    sections.append(_section("tests", "Tests by check", body))
    if summary.get("scenarios"):
        sections.append(scenario_section(summary["scenarios"]))
    if "matrix" in summary:
        sections.append(matrix_section(summary["matrix"]))
    if "mutation" in summary:
        sections.append(mutation_section(summary["mutation"]))
    return sections


def scenario_section(rows: list[dict]) -> str:
    """One row per scenario: kind, cases, test outcomes, jwst seconds, the known defect."""
    body = _table(
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
    return _section("scenarios", "Scenarios", body)


def mutation_section(m: dict) -> str:
    """``make mutation``: kill rates of the suite and of the upstream tests, overall and per
    region (score = killed / (mutants - equivalent)), and the suite's survivors."""
    s = m["summary"]
    sides = [side for side in ("suite", "upstream") if side in s]
    if not sides:
        return _section("mutation", "Mutation testing", "<p>No mutant run.</p>")

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
    body = _table(header, rows, caption)
    survivors = [
        [side, v["id"], v["region"], v["diff"], v.get("not_run", "ran, no test failed")]
        for side in sides
        for v in s[side]["survivors"]
    ]
    body += _table(["side", "survivor", "region", "diff", "why"], survivors, "Survivors")
    return _section("mutation", "Mutation testing", body)


def matrix_section(rows: list[dict]) -> str:
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
    return _section("matrix", "jwst release matrix", _table(header, table, caption))


def _run_body(s: dict) -> str:
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
        _table(header, rows, sky_caption)
        + _table(["value at the star pixel", "DN/s"], star_rows, star_caption)
        + _table(
            ["exposure", "sky pixels", "mean", "robust std", "expected rms"],
            residual_rows,
            f"bsub at sky pixels ({s['sky_residuals']['pixels']}), DN/s",
        )
    )


def _tests_body(groups: dict, checks: dict) -> str:
    if not groups:
        return "<p class='missing'>No test outcomes (outcomes.json missing).</p>"
    parts = []
    for check, tests in groups.items():
        counts = checks[check]
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
