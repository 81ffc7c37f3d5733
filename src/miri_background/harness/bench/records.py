"""Stage times and outcomes of a suite run, from its run record (`run_records.read_run`)."""

from __future__ import annotations

from miri_background.run_records import RunRecord


def stage_times(stages: dict[str, dict]) -> dict:
    """Per-stage seconds of one run from its workers' stage records.

    Stage walls are the slowest worker's fixture time (the others wait on the same locks);
    ``simulate_calls_s`` and ``detector1_calls_s`` are each worker's sum of the exposures it
    built (cache misses),
    ``background_calls_s`` each worker's sum of the Image2Pipeline calls it made (the
    workers share the 12). Stages a record lacks are None.
    """

    def wall(stage: str, total=lambda v: v["seconds"]) -> float | None:
        values = [total(w[stage]) for w in stages.values() if stage in w]
        return max(values) if values else None

    def built(stage: str) -> dict[str, float]:
        return {
            worker: sum(e["seconds"] for e in w[stage]["exposures"].values() if not e["hit"])
            for worker, w in stages.items()
            if "exposures" in w.get(stage, {})
        }

    calls = built("detector1")
    background = next((w["background"] for w in stages.values() if "background" in w), None)
    background_calls: dict[str, float] | None = None
    if background is not None:
        background_calls = dict.fromkeys(stages, 0.0)
        for sigma, per in background["pipeline_seconds"].items():
            for name, seconds in per.items():
                background_calls[background["ran_by"][sigma][name]] += seconds
    return {
        "simulate_s": wall("inputs"),
        "simulate_hit": any(w["inputs"].get("hit") for w in stages.values() if "inputs" in w),
        "simulate_calls_s": built("inputs"),
        "detector1_s": wall("detector1"),
        "detector1_built": sum(
            not e["hit"]
            for w in stages.values()
            if "detector1" in w
            for e in w["detector1"]["exposures"].values()
        ),
        "detector1_calls_s": calls,
        "associations_s": wall("associations"),
        "background_s": wall("background"),
        "background_calls_s": background_calls,
    }

def bare_seconds(times: dict) -> float | None:
    """``max_w detector1 calls of w + max_w background calls of w`` (None without
    background): the critical path when the stages meet at their locks."""
    if times["background_calls_s"] is None:
        return None
    busiest = max(times["detector1_calls_s"].values(), default=0.0)
    return busiest + max(times["background_calls_s"].values())

def outcome_summary(run: RunRecord) -> dict:
    """Counts per outcome and the summed call durations (s) of a run record's tests (none:
    the session did not finish)."""
    if run.tests is None:
        return {"counts": {}, "tests_s": None, "exitstatus": None}
    counts: dict[str, int] = {}
    for t in run.tests.values():
        counts[t.outcome] = counts.get(t.outcome, 0) + 1
    calls = sum(t.seconds for t in run.tests.values())
    return {"counts": counts, "tests_s": round(calls, 2), "exitstatus": run.exitstatus}
