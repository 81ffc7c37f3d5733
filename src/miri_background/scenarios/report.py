"""The report's scenario section: each scenario's cases and outcomes, and for the cases
jwst 3.0.0 gets wrong a picture of (combined background - the documented rule).

The scenario fixtures leave ``<run>/scenarios/<case>.json`` (scenario, kind, sigma, cache
hit, jwst seconds, the known defect) and, for a defect case, ``<case>_minus_rule.npy``
(combined - rule in DN/s, science frame, and its detector corner).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from miri_background.files import atomic_target, write_json_atomic

FOLDER = "scenarios"


def record_case(run_dir: Path, case_id: str, record: dict, difference=None) -> None:
    """Write a case's record (and, when given, its ``(array, (xstart, ystart))``
    difference from the rule) into the run directory. Every process that loads the case
    writes it; a cache hit does not replace a record already there (the process that built
    the case, and saw jwst's seconds, may have written it)."""
    folder = run_dir / FOLDER
    path = folder / f"{case_id}.json"
    if not (record.get("hit") and path.is_file()):
        write_json_atomic(path, record)
    if difference is not None:
        array, corner = difference
        with atomic_target(folder / f"{case_id}_minus_rule.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(array, np.float32))
        write_json_atomic(folder / f"{case_id}_minus_rule.json", {"corner": list(corner)})


def scenario_rows(run_dir: Path, tests: list[dict]) -> list[dict]:
    """Per scenario: its kind, cases, the outcomes of the tests of its cases, the cases'
    jwst seconds and cache hits, and the known defect if any."""
    rows: dict[str, dict] = {}
    for path in sorted((run_dir / FOLDER).glob("*.json")):
        if path.name.endswith("_minus_rule.json"):
            continue
        case = json.loads(path.read_text())
        row = rows.setdefault(
            case["scenario"],
            {"scenario": case["scenario"], "kind": case["kind"], "cases": [], "outcomes": {},
             "jwst_s": 0.0, "cache_hits": 0, "defect": case.get("defect")},
        )  # fmt: skip
        row["cases"].append(path.stem)
        row["jwst_s"] = round(row["jwst_s"] + case["seconds"], 2)
        row["cache_hits"] += bool(case["hit"])
        for test in tests:
            if test["nodeid"].endswith(f"[{path.stem}]"):
                outcome = test["outcome"]
                row["outcomes"][outcome] = row["outcomes"].get(outcome, 0) + 1
    return list(rows.values())


def scenario_figures(run_dir: Path) -> dict[str, tuple[str, str]]:
    """``key -> (caption, base64 PNG)``: (combined - rule) of each defect case, in DN/s on
    a symmetric scale, axes in 1-based detector pixels."""
    from matplotlib.figure import Figure

    from miri_background.report.figures import png

    figures = {}
    for path in sorted((run_dir / FOLDER).glob("*_minus_rule.npy")):
        case_id = path.name.removesuffix("_minus_rule.npy")
        data = np.load(path)
        x0, y0 = json.loads(path.with_suffix(".json").read_text())["corner"]
        limit = float(np.nanmax(np.abs(data))) or 1.0
        fig = Figure(figsize=(6.4, 5.0))
        ax = fig.subplots()
        shown = ax.imshow(
            data,
            origin="lower",
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
            extent=(x0 - 0.5, x0 + data.shape[1] - 0.5, y0 - 0.5, y0 + data.shape[0] - 0.5),
        )
        wrong = int(np.count_nonzero(np.abs(data) > 1e-3))
        ax.set(
            title=f"{case_id}\n{wrong} pixels off by > 0.001 DN/s",
            xlabel="detector x [pixel, 1-based]",
            ylabel="detector y [pixel, 1-based]",
        )
        fig.colorbar(shown, ax=ax, label="combined - rule [DN/s]", shrink=0.9)
        caption = f"Scenario {case_id}: combined background - the documented placement rule"
        figures[f"scenario-{case_id}"] = (caption, png(fig))
    return figures
