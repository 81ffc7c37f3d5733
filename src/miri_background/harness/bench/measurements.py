"""The benchmark's measurements against their targets, and its printed tables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """A measured number and its target: ``value op target`` passes (``None``: not measured).

    ``target_for`` says what the target guards (who asks for it).
    """

    name: str
    value: float | None
    op: str
    target: float
    unit: str
    target_for: str

    @property
    def status(self) -> str:
        if self.value is None:
            return "not measured"
        ok = self.value <= self.target if self.op == "<=" else self.value >= self.target
        return "pass" if ok else "MISS"

TARGETS: dict[str, tuple[str, float, str, str]] = {
    "overhead: cold wall / bare calls (same run)":
        ("<=", 1.3, "", "the suite adds little to the pipeline"),
    "overhead: cold wall / bare calls (in-process, scaled)":
        ("<=", 1.3, "", "the same, cross-checked in process"),
    "warm wall (-n 2)": ("<=", 8.0, "s", "a developer's loop"),
    "wall after an edit of background_sub.py":
        ("<=", 15.0, "s", "the background developer's loop: only that stage reruns"),
    "warm wall / its floor (same session)":
        ("<=", 1.5, "", "a warm run adds little to starting and loading (bench.floors)"),
    "after-edit wall / its floor (same session)":
        ("<=", 1.5, "", "an edited run adds little to the calls the edit invalidates"),
    "speed-up: cold -n 1 / cold -n 2": (">=", 1.6, "", "two xdist workers share the work"),
    "peak RSS per process": ("<=", 3.0, "GiB", "fits a CI runner"),
    "simulator / RNG bound": ("<=", 2.0, "", "the simulator stays cheap"),
}  # fmt: skip
"""The suite's performance targets: measurement name -> (op, target, unit, target_for)."""


def measurements(
    runs: dict, bare_inprocess: dict | None, sim: dict, floor: dict | None = None
) -> list[Measurement]:
    """The `TARGETS`, in their order, each with its measured value (or None)."""
    floor = floor or {}
    cold, warm, n1 = runs.get("cold_n2", {}), runs.get("warm_n2", {}), runs.get("cold_n1", {})
    edited = runs.get("edited_n2", {})

    def ratio(a, b):
        return round(a / b, 2) if a is not None and b else None

    rss = [mb for r in runs.values() for mb in r.get("peak_rss_mib", {}).values()]
    values = {
        "overhead: cold wall / bare calls (same run)":
            ratio(cold.get("wall_s"), cold.get("bare_pipeline_s")),
        "overhead: cold wall / bare calls (in-process, scaled)":
            ratio(cold.get("wall_s"), (bare_inprocess or {}).get("bare_s")),
        "warm wall (-n 2)": warm.get("wall_s"),
        "wall after an edit of background_sub.py": edited.get("wall_s"),
        "warm wall / its floor (same session)": floor.get("warm_ratio"),
        "after-edit wall / its floor (same session)": floor.get("edit_ratio"),
        "speed-up: cold -n 1 / cold -n 2": ratio(n1.get("wall_s"), cold.get("wall_s")),
        "peak RSS per process": round(max(rss) / 1024, 2) if rss else None,
        "simulator / RNG bound": sim.get("ratio"),
    }  # fmt: skip
    return [Measurement(name, values[name], *target) for name, target in TARGETS.items()]

def format_table(figs: list[Measurement]) -> str:
    """One line per measurement: name, value with unit, target, pass / MISS / not measured."""
    lines = [f"{'measurement':<52} {'value':>10}  {'target':<10} status"]
    for f in figs:
        value = "-" if f.value is None else f"{f.value:g} {f.unit}".strip()
        target = f"{f.op} {f.target:g} {f.unit}".strip()
        lines.append(f"{f.name:<52} {value:>10}  {target:<10} {f.status}")
    return "\n".join(lines)

def format_stages(runs: dict) -> str:
    """Per run: wall and stage seconds (simulate, detector1, associations, background, tests)."""
    lines = [
        f"{'run':<8} {'wall':>7} {'simulate':>9} {'detector1':>10} {'d1 calls':>9} "
        f"{'asn':>6} {'bkg':>6} {'bkg calls':>10} {'tests':>7} {'bare':>7}  pytest"
    ]

    def s(v):
        return "-" if v is None else f"{v:.1f}"

    for label, r in runs.items():
        t = r.get("stages", {})
        busiest = max(t.get("detector1_calls_s", {}).values(), default=None)
        bg_busiest = max((t.get("background_calls_s") or {}).values(), default=None)
        lines.append(
            f"{label:<8} {s(r['wall_s']):>7} {s(t.get('simulate_s')):>9} "
            f"{s(t.get('detector1_s')):>10} {s(busiest):>9} {s(t.get('associations_s')):>6} "
            f"{s(t.get('background_s')):>6} {s(bg_busiest):>10} "
            f"{s(r.get('outcomes', {}).get('tests_s')):>7} {s(r.get('bare_pipeline_s')):>7}  "
            f"{r['summary'][:60]}"
        )
    return "\n".join(lines)
