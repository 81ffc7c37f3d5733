"""The report's scenario section: each scenario's cases and outcomes, and for the cases
jwst 3.0.0 gets wrong a picture of (combined background - the documented rule).

The scenario fixtures put each case they load into their process's run record
(``scenario_cases``: scenario, kind, sigma, cache hit, jwst seconds, the known defect) and,
for a defect case, write ``<run>/scenarios/<case>_minus_rule.npy`` (combined - rule in
DN/s, science frame), which the case's record lists with its detector corner.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miri_background.files import atomic_target
from miri_background.run_records import RunRecord, relative

FOLDER = "scenarios"


def record_case(run_dir: Path, case_id: str, record: dict, difference=None) -> dict:
    """A case's entry in the run record: ``record`` and, when a ``(array, (xstart,
    ystart))`` difference from the rule is given, the file it is written to
    (``difference``, relative to ``run_dir``) and its ``corner``."""
    if difference is None:
        return dict(record)
    array, corner = difference
    path = run_dir / FOLDER / f"{case_id}_minus_rule.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(array, np.float32))
    return dict(record) | {"difference": relative(run_dir, path), "corner": list(corner)}


def scenario_rows(record: RunRecord, tests: list[dict]) -> list[dict]:
    """Per scenario: its kind, cases, the outcomes of the tests of its cases, the cases'
    jwst seconds and cache hits, and the known defect if any."""
    rows: dict[str, dict] = {}
    for case_id, case in record.scenario_cases().items():
        row = rows.setdefault(
            case["scenario"],
            {"scenario": case["scenario"], "kind": case["kind"], "cases": [], "outcomes": {},
             "jwst_s": 0.0, "cache_hits": 0, "defect": case.get("defect")},
        )  # fmt: skip
        row["cases"].append(case_id)
        row["jwst_s"] = round(row["jwst_s"] + case["seconds"], 2)
        row["cache_hits"] += bool(case["hit"])
        for test in tests:
            if test["nodeid"].endswith(f"[{case_id}]"):
                outcome = test["outcome"]
                row["outcomes"][outcome] = row["outcomes"].get(outcome, 0) + 1
    return list(rows.values())


def scenario_figures(record: RunRecord) -> dict[str, tuple[str, str]]:
    """``key -> (caption, base64 PNG)``: (combined - rule) of each defect case, in DN/s on
    a symmetric scale, axes in 1-based detector pixels."""
    from matplotlib.figure import Figure

    from miri_background.report.figures import png

    figures = {}
    for case_id, case in record.scenario_cases().items():
        if "difference" not in case:
            continue
        data = np.load(record.path(case["difference"]))
        x0, y0 = case["corner"]
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
