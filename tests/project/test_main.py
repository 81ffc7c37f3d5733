"""`python -m miri_background simulate`: the files, the summary line and the progress bar."""

from __future__ import annotations

from pathlib import Path

import pytest

from miri_background.__main__ import main


def test_simulate_reports_progress_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"
    status = main(["simulate", "--out", str(out), "--mode", "rate", "--ngroups", "5"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "8/8" in captured.err, f"progress bar on stderr: {captured.err!r}"
    assert captured.out.startswith("wrote 20 files"), captured.out
    assert (out / "manifest.json").is_file()
