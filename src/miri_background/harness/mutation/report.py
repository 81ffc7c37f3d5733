"""Kill rates of a mutation run (``reports/mutation.json``): per side, overall and per region.

For each side (``suite``: the regression suite; ``upstream``: the target's upstream tests,
e.g. jwst's own ``test_background.py``), with K the killed mutants that are not declared
equivalent, M the mutants and E the equivalent ones::

    score = K / (M - E)

Timeouts count as killed (and are counted apart); a side that errored (the harness could
not tell) counts as not killed and is listed. Equivalent mutants come from
``equivalent_mutants.json`` (beside this module, for every target's files); an equivalent
mutant that a side killed is listed as a contradiction for a reviewer. ``merge`` combines
the JSON files of shards into one.
"""

from __future__ import annotations

import json
import statistics
from importlib.resources import files

from miri_background.harness.mutation import mutants

SIDES = ("suite", "upstream")
KILLED, SURVIVED, ERROR = "killed", "survived", "error"


def equivalents() -> tuple[dict[str, str], list[str]]:
    """({mutant id: reason} for the installed files, notes on ignored entries)."""
    data = json.loads(
        files("miri_background.harness.mutation").joinpath("equivalent_mutants.json").read_text()
    )
    current = {f: mutants.file_sha256(f) for f in data["sha256"]}
    stale = sorted(f for f, sha in data["sha256"].items() if current.get(f) != sha)
    found = {}
    for file in data["sha256"]:
        if file in stale:
            continue
        for m in mutants.all_mutants(file):
            for entry in data["lines"]:
                if entry["file"] == file and entry["first"] <= m.line <= entry["last"]:
                    found[m.id] = f"lines {entry['first']}-{entry['last']}: {entry['reason']}"
    for mid, reason in data["mutants"].items():
        if mid.split(":", 1)[0] not in stale:
            found[mid] = reason
    notes = [f"{f}: file differs from the one the equivalents were written for" for f in stale]
    return found, notes


def _rate(records: list[dict], side: str) -> dict:
    scored = [r for r in records if not r.get("equivalent")]
    killed = sum(r[side]["status"] == KILLED for r in scored)
    return {
        "mutants": len(records),
        "equivalent": len(records) - len(scored),
        "killed": killed,
        "timeouts": sum(r[side]["status"] == KILLED and r[side]["timeout"] for r in scored),
        "survived": sum(r[side]["status"] == SURVIVED for r in scored),
        "not_run": sum(not r[side].get("run", True) for r in scored),
        "errors": sum(r[side]["status"] == ERROR for r in scored),
        "score": round(killed / len(scored), 4) if scored else None,
    }


def summarize(records: list[dict]) -> dict:
    """Kill rates per side (overall, per file, per region), survivors, median seconds."""
    out: dict = {"mutants_run": len(records)}
    for side in SIDES:
        done = [r for r in records if side in r]
        if not done:
            continue
        out[side] = {
            "overall": _rate(done, side),
            "per_file": {
                f: _rate([r for r in done if r["file"] == f], side)
                for f in dict.fromkeys(r["file"] for r in done)
            },
            "per_region": {
                g: _rate([r for r in done if r["region"] == g], side)
                for g in _regions(done)
            },
            "survivors": [
                {"id": r["id"], "region": r["region"], "diff": r["diff"]}
                | ({} if r[side].get("run", True) else {"not_run": r[side]["reason"]})
                for r in done
                if r[side]["status"] == SURVIVED and not r.get("equivalent")
            ],
            "errors": [r["id"] for r in done if r[side]["status"] == ERROR],
            "median_seconds": _median(
                [r[side]["seconds"] for r in done if r[side].get("run", True)]
            ),
        }
    ran = [r for r in records if any(r[s].get("run", True) for s in SIDES if s in r)]
    out["median_seconds_per_mutant"] = _median([r["seconds"] for r in ran])  # of those run
    out["equivalent_but_killed"] = [
        r["id"]
        for r in records
        if r.get("equivalent") and any(r.get(s, {}).get("status") == KILLED for s in SIDES)
    ]
    return out


def _regions(records: list[dict]) -> list[str]:
    """The regions of ``records``: the background target's in `mutants.REGIONS` order,
    then the others (definition names) in the order met."""
    found = dict.fromkeys(r["region"] for r in records)
    known = [g for g in mutants.REGIONS if g in found]
    return known + [g for g in found if g not in mutants.REGIONS]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def merge(reports: list[dict]) -> dict:
    """One report from shard reports of the same target files (mutants de-duplicated by id,
    the sides of runs with different ``--sides`` joined; regions and equivalents re-derived
    from the current code and equivalents file)."""
    first = reports[0]
    for other in reports[1:]:
        if other["modules"] != first["modules"]:
            raise ValueError("shards were run on different targets or files")
    by_id: dict[str, dict] = {}
    for rep in reports:  # a mutant run side by side in two reports keeps both sides
        for r in rep["mutants"]:
            both = by_id.get(r["id"], {}) | r
            both["seconds"] = round(sum(both[s]["seconds"] for s in SIDES if s in both), 1)
            by_id[r["id"]] = both
    records = list(by_id.values())
    files = mutants.target_files(first.get("target", "background"))
    every = {m.id: m for f in files for m in mutants.all_mutants(f)}
    order = {mid: i for i, mid in enumerate(every)}
    records.sort(key=lambda r: order.get(r["id"], len(order)))
    for r in records:  # regions and equivalents as this code defines them now
        if r["id"] in every:
            r["region"] = every[r["id"]].region
    found, _ = equivalents()
    for r in records:
        r["equivalent"] = None if r.get("import_error") else found.get(r["id"])
    return {
        **first,
        "selection": {"merged": [rep["selection"] for rep in reports]},
        "clean": {f"shard{i + 1}": rep.get("clean") for i, rep in enumerate(reports)},
        "mutants": records,
        "summary": summarize(records),
        "complete": all(rep["complete"] for rep in reports),
        "seconds": round(sum(rep["seconds"] for rep in reports), 1),
    }


def table(report: dict) -> str:
    """Plain text: kill rate per side, overall and per region, then the survivors."""
    s = report["summary"]
    sides = [side for side in SIDES if side in s]
    if not sides:
        return "no mutant run"
    rows = [("region", *(f"{side} killed/scored (score)" for side in sides))]
    for group in ["overall", *s[sides[0]]["per_region"]]:
        cells = [
            s[side]["overall"] if group == "overall" else s[side]["per_region"][group]
            for side in sides
        ]
        scored = [f"{c['killed']}/{c['mutants'] - c['equivalent']} ({c['score']})" for c in cells]
        rows.append((group, *scored))
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)) for r in rows]
    for side in sides:
        lines.append(f"survivors of the {side} side:")
        lines += [f"  {v['id']}  {v['diff']}" for v in s[side]["survivors"]] or ["  none"]
    return "\n".join(lines)
