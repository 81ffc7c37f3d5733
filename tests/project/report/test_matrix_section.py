"""``make matrix``'s JSON in the report: a row per release (the reference first) and an
HTML section."""

from __future__ import annotations

import json

from miri_background.report import build as report
from miri_background.report import html as report_html


def _release(release, verdict, checks, diff=None, error=None):
    r = {"release": release, "verdict": verdict, "versions": {"jwst": release, "stcal": "1.x"}}
    r |= {"checks": checks, "combined_vs_reference": diff or {}}
    return r | ({"error": error} if error else {})


def test_matrix_rows_and_section(tmp_path):
    """``make matrix``'s JSON becomes a row per release (reference first) and a section."""
    matrix = {
        "releases": ["1.18.1", "1.12.5"],
        "reference": "pinned",
        "reference_result": _release("3.0.0", "pass", {"test_a": {"passed": 3}}),
        "results": {
            "1.18.1": _release(
                "1.18.1",
                "fail",
                {"test_a": {"passed": 2, "failed": 1}, "test_b": {"xfailed": 4}},
                {"max_abs": 0.5, "robust_std": 0.01},
            ),
            "1.12.5": _release("1.12.5", "cannot run", {}, error="KeyError: 'FASTR1'\nmore"),
        },
    }
    (tmp_path / "matrix.json").write_text(json.dumps(matrix))
    rows = report.matrix_rows(tmp_path / "matrix.json")
    got = [(r["release"], r["verdict"], r["passed"], r["cases"], r["failing_checks"]) for r in rows]
    assert got == [
        ("pinned", "pass", 3, 3, []),
        ("1.18.1", "fail", 6, 7, ["test_a"]),
        ("1.12.5", "cannot run", 0, 0, []),
    ], got
    section = report_html.render_page("matrix", "pass", "PASS", [report_html.matrix_section(rows)])
    for text in (
        "1.18.1",
        "fail",
        "6/7",
        "test_a",
        "0.5",
        "cannot run",
        "KeyError: &#39;FASTR1&#39;",
    ):
        assert text in section, f"{text!r} missing from the matrix section:\n{section}"
    assert "more" not in section, "only the first line of an error belongs in the table"
