"""What a warm run and a run after an edit cannot go below, and what each scenario costs.

From the records of the runs the benchmark made (`run_records`), in the same session:

    warm floor  = startup + max_w (products_w + scenario loads_w)
    edit floor  = warm floor + max_w (background calls_w + scenario jwst calls_w)

``startup`` is the wall time of the same pytest command with every test deselected
(interpreter, plugins, workers, collection); ``products_w`` the seconds worker w spent
loading the notebook's products, ``scenario loads_w`` the seconds it spent on its scenario
cases besides jwst's calls (cache look-ups, reads, expectations); ``background calls_w``
and ``scenario jwst calls_w`` the seconds of the jwst calls worker w made after the edit
(the calls the edit invalidates). A worker's share is its own: the slowest one bounds the
run. The ratio run / floor is what the suite adds on top (checks, scheduling, waits).

Per scenario: its cases' seconds in the warm run (load) and after the edit (jwst + load),
each the sum over its cases of the slowest worker's figure: the price of adding one like it.
"""

from __future__ import annotations


def _per_worker(stages: dict[str, dict], stage: str, value) -> dict[str, float]:
    return {w: value(r[stage]) for w, r in stages.items() if stage in r}


def loads(stages: dict[str, dict]) -> float:
    """max_w (products_w + scenario loads_w), s."""
    products = _per_worker(stages, "products", lambda r: r["seconds"])
    scenarios = _per_worker(
        stages, "scenarios", lambda r: sum(c["other_s"] for c in r.values())
    )
    workers = set(products) | set(scenarios)
    return max((products.get(w, 0.0) + scenarios.get(w, 0.0) for w in workers), default=0.0)


def jwst_calls(stages: dict[str, dict]) -> float:
    """max_w (background calls_w + scenario jwst calls_w), s."""
    calls: dict[str, float] = {}
    background = next((r["background"] for r in stages.values() if "background" in r), None)
    if background is not None:  # every worker records all units, and who ran each
        for sigma, per in background["pipeline_seconds"].items():
            for name, seconds in per.items():
                worker = background["ran_by"][sigma][name]
                calls[worker] = calls.get(worker, 0.0) + seconds
    for worker, record in stages.items():
        for case in record.get("scenarios", {}).values():
            calls[worker] = calls.get(worker, 0.0) + case["jwst_s"]
    return max(calls.values(), default=0.0)


def floors(startup_wall: float, warm: dict, edited: dict) -> dict:
    """The floors (s) of the warm run ``warm`` and the run after an edit ``edited`` (each
    `bench.suite.run_suite`'s result with its ``stage_records``), and each run's ratio to
    its floor."""
    warm_floor = startup_wall + loads(warm.get("stage_records", {}))
    edit_floor = warm_floor + jwst_calls(edited.get("stage_records", {}))

    def ratio(run: dict, floor: float) -> float | None:
        return round(run["wall_s"] / floor, 2) if run.get("wall_s") and floor else None

    return {
        "startup_s": round(startup_wall, 2),
        "warm_floor_s": round(warm_floor, 2),
        "warm_ratio": ratio(warm, warm_floor),
        "edit_floor_s": round(edit_floor, 2),
        "edit_ratio": ratio(edited, edit_floor),
    }


def scenario_costs(warm: dict[str, dict], edited: dict[str, dict]) -> dict[str, dict]:
    """Per scenario: ``warm_s`` (load) and ``after_edit_s`` (jwst + load), summed over its
    cases, each case at its slowest worker; ``cases``."""
    from miri_background.scenarios.catalog import all_scenarios

    def slowest(stages: dict, case_id: str, value) -> float:
        figures = [value(r["scenarios"][case_id]) for r in stages.values()
                   if case_id in r.get("scenarios", {})]  # fmt: skip
        return max(figures, default=0.0)

    costs = {}
    for scenario in all_scenarios():
        ids = [c.id for c in scenario.cases()]
        costs[scenario.id] = {
            "cases": len(ids),
            "warm_s": round(sum(slowest(warm, i, lambda c: c["other_s"]) for i in ids), 3),
            "after_edit_s": round(
                sum(slowest(edited, i, lambda c: c["jwst_s"] + c["other_s"]) for i in ids), 3
            ),
        }
    return costs
