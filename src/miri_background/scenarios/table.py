"""docs/scenarios.md, made from the catalog: one row per scenario (id, geometry, NINTS,
N backgrounds, supply, sigmas, why), grouped by kind. ``python -m miri_background scenarios``
rewrites it (and `model.SIAF_SNAPSHOT`); a project test fails while the committed file
differs from `markdown`."""

from __future__ import annotations

import argparse
from pathlib import Path

from miri_background.files import atomic_target
from miri_background.scenarios.catalog import KINDS, all_scenarios
from miri_background.scenarios.model import FUNCTION, SIAF_SNAPSHOT, Scenario, write_siaf_snapshot

DOC = Path("docs") / "scenarios.md"
"""Where the table lives, relative to the project's root."""


def _geometry(s: Scenario) -> str:
    names = sorted({b.subarray for b in s.backgrounds})
    return f"{s.science} / {', '.join(names)}"


def _nints(s: Scenario) -> str:
    backgrounds = sorted({b.nints for b in s.backgrounds})
    return f"{s.science_nints} / {', '.join(map(str, backgrounds))}"


def _supply(s: Scenario) -> str:
    return "`background_sub()`" if s.supply == FUNCTION else f"`{s.supply}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The page: a short head, then per kind a table of its scenarios."""
    lines = [
        "# Scenarios",
        "",
        "Made by `python -m miri_background scenarios` from "
        "`src/miri_background/scenarios/catalog.py`; do not edit by hand (a project test "
        "compares). Each scenario runs at each of its sigmas (a case, id "
        "`<scenario>-sigma<s>`, the `--scenario` names). Geometry: science / backgrounds "
        "(SIAF subarray names); NINTS: science / backgrounds; N: backgrounds; supply: how "
        "they reach jwst (`background_sub()`: the function the step calls, for the "
        "scenarios that are not about the step's input; else the step or Image2Pipeline).",
        "",
    ]
    for kind in KINDS:
        scenarios = [s for s in all_scenarios() if s.kind == kind]
        lines += [
            f"## {kind} (`tests/regression/test_scenarios_{kind}.py`)",
            "",
            "| id | geometry | NINTS | N | supply | sigmas | why |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in scenarios:
            sigmas = ", ".join(f"{x:g}" for x in s.sigmas)
            why = s.why + (f" **Known jwst defect:** {s.defect}." if s.defect else "")
            lines.append(
                f"| `{s.id}` | {_geometry(s)} | {_nints(s)} | {len(s.backgrounds)} | "
                f"{_supply(s)} | {sigmas} | {_cell(why)} |"
            )
        lines.append("")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DOC, metavar="FILE", help=f"default: {DOC}")


def run(args) -> int:
    with atomic_target(args.out) as tmp:
        tmp.write_text(markdown(), encoding="utf-8")
    print(f"wrote {args.out}: {len(all_scenarios())} scenarios")
    write_siaf_snapshot()
    print(f"wrote {SIAF_SNAPSHOT}: pysiaf's geometry of the MIRI readouts")
    return 0
