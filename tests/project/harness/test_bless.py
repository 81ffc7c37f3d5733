"""``python -m miri_background bless``: the pytest command it runs and the diff it prints
(git's in a checkout, difflib's elsewhere); the run itself is the regression suite's."""

from __future__ import annotations

import argparse
import shutil
import subprocess

import pytest

from miri_background.harness import bless

OLD = b'{\n  "seed": 1,\n  "sigma": 2.0,\n  "version": "3.0.0"\n}\n'
NEW = b'{\n  "seed": 1,\n  "sigma": 2.0,\n  "version": "3.0.1"\n}\n'


def test_command_runs_the_truth_tests_with_update_truth():
    parser = argparse.ArgumentParser()
    bless.add_arguments(parser)
    line = bless.command(parser.parse_args(["--workers", "2"]))
    assert line[line.index("-m", 2) :] == ["-m", "truth", "--update-truth"], line
    assert "tests/regression" in line and line[line.index("-n") + 1] == "2", line


def test_text_diff_shows_changed_added_and_binary_files_only():
    before = {"truth.json": OLD, "same.json": b"{}\n", "fingerprints.npz": b"PK\x03\x04\xff"}
    after = {"truth.json": NEW, "same.json": b"{}\n", "fingerprints.npz": b"PK\x03\x04\xfe"}
    after["scenarios.json"] = b'{"case": 1}\n'
    got = bless.text_diff(before, after).splitlines()
    assert got == [
        "truth/fingerprints.npz: binary file changed",
        "--- a/truth/scenarios.json",
        "+++ b/truth/scenarios.json",
        "@@ -0,0 +1 @@",
        '+{"case": 1}',
        "--- a/truth/truth.json",
        "+++ b/truth/truth.json",
        "@@ -3,3 +3,3 @@",
        '   "sigma": 2.0,',
        '-  "version": "3.0.0"',
        '+  "version": "3.0.1"',
        " }",
    ], got
    assert bless.text_diff(before, before) == "truth/ unchanged"


def test_text_diff_cuts_each_file_after_shown_lines():
    got = bless.text_diff({"truth.json": OLD}, {"truth.json": NEW}, shown=3).splitlines()
    assert got[:3] == ["--- a/truth/truth.json", "+++ b/truth/truth.json", "@@ -3,3 +3,3 @@"]
    assert got[3:] == ["... 4 more lines of this file's diff"], got
    whole = bless.text_diff({"truth.json": OLD}, {"truth.json": NEW}, shown=7).splitlines()
    assert len(whole) == 7 and whole[-1] == " }", whole
    one_over = bless.text_diff({"truth.json": OLD}, {"truth.json": NEW}, shown=6).splitlines()
    assert one_over[-1] == "... 1 more lines of this file's diff", one_over


def test_outside_git_the_diff_is_against_the_snapshot(tmp_path):
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "truth.json").write_bytes(OLD)
    before = bless.snapshot(tmp_path / "truth")
    (tmp_path / "truth" / "truth.json").write_bytes(NEW)
    assert bless.git_diff(tmp_path) is None
    assert '+  "version": "3.0.1"' in bless.diff_report(tmp_path, before).splitlines()


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_in_a_git_checkout_the_diff_is_gits_against_head(tmp_path):
    def git(*args: str) -> None:
        identity = ("-c", "user.name=t", "-c", "user.email=t@example.org")
        subprocess.run(["git", "-C", str(tmp_path), *identity, *args], check=True)

    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "truth.json").write_bytes(OLD)
    git("init", "-q")
    git("add", "truth")
    git("commit", "-qm", "truth")
    before = bless.snapshot(tmp_path / "truth")
    (tmp_path / "truth" / "truth.json").write_bytes(NEW)
    git("add", "truth")  # staged or not, the diff is against the last commit
    got = bless.diff_report(tmp_path, before).splitlines()
    assert got[0].split() == ["truth/truth.json", "|", "2", "+-"], got
    assert '-  "version": "3.0.0"' in got and '+  "version": "3.0.1"' in got, got
    git("commit", "-qam", "blessed")
    assert bless.diff_report(tmp_path, bless.snapshot(tmp_path / "truth")).splitlines() == [
        "truth/ unchanged (git diff HEAD)"
    ]
