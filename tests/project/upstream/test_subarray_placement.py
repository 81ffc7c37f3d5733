"""The upstream-ready fix of jwst 3.0.0's subarray-placement defect (``docs/upstream``).

Fast: the patch applies cleanly to the installed ``background_sub.py`` (in a copy) and
changes only ``ImageSubsetArray.get_subset_array``; the in-process fix
(``subarray_placement_fix.py``) is that patched function, syntax tree for syntax tree; the
reproduction in ``subarray-placement.md`` shows the defect and, with the fix, none.

Slow (``--slow``): in a copy of jwst (every entry a symlink to the installed package but
``background/``, copied), the jwst-style unit test fails on 3.0.0 exactly for the offset
geometries and passes once the patch is applied, and jwst's own ``background/tests`` pass
on the patched copy (offline, with the suite's local CRDS context: the WFSS tests, which
need NIRCam / NIRISS reference files, error before and after alike); the suite with the fix
injected in process changes exactly the defect's outcomes.
"""

from __future__ import annotations

import ast
import copy
import difflib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jwst
import pytest
from jwst.background import background_sub as bsub

from miri_background.harness import faults
from miri_background.inputs import crds_local

ROOT = Path(__file__).resolve().parents[3]
UPSTREAM = ROOT / "docs" / "upstream"
PATCH = UPSTREAM / "subarray-placement.patch"
FIX = UPSTREAM / "subarray_placement_fix.py"
DOC = UPSTREAM / "subarray-placement.md"
JWST_TEST = UPSTREAM / "test_subarray_placement.py"
TARGET = Path("jwst") / "background" / "background_sub.py"
"""The file the patch edits, relative to a jwst source tree root."""
JWST_DIR = Path(jwst.__file__).resolve().parent
"""The installed jwst package: only read (copied or linked into tmp directories)."""

DEFECT_SCENARIOS = ("subarray-FULL-with-SUB256", "subarray-SUB256-with-BRIGHTSKY")
CONTROL_SCENARIO = "subarray-SUB256-in-FULL"
XFAIL_TEST = "test_subarray_offset_background_placement_jwst_defect"
FINGERPRINT_TEST = "test_subarray_defect_fingerprint"
"""Truth of today's (wrong) output of the defect cases: it must report the fix too."""


def apply_patch(root: Path, patch: Path = PATCH) -> str:
    """Apply ``patch`` in the jwst source tree ``root`` with no fuzz and no offset; return
    what the tool said. Fails the test naming the tool's complaint."""
    if shutil.which("git"):
        cmd = ["git", "apply", "--verbose", str(patch)]
    elif shutil.which("patch"):
        cmd = ["patch", "-p1", "--forward", "--batch", "--fuzz=0", "-i", str(patch)]
    else:
        pytest.skip("neither git nor patch on PATH")
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=60)
    said = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(cmd[:2])} failed ({done.returncode}):\n{said}"
    assert not re.search(r"offset|fuzz|with \d+ line", said, re.I), f"not clean:\n{said}"
    return said


def patched_copy(tmp_path: Path) -> Path:
    """A tmp tree holding only ``jwst/background/background_sub.py``, patched."""
    (tmp_path / TARGET).parent.mkdir(parents=True)
    shutil.copyfile(JWST_DIR / "background" / "background_sub.py", tmp_path / TARGET)
    apply_patch(tmp_path)
    return tmp_path / TARGET


def _defs(source: str) -> dict[str, ast.AST]:
    """Top-level statements by name (functions, classes; others by position), and each
    method of each class as ``Class.method``."""
    out = {}
    for i, node in enumerate(ast.parse(source).body):
        name = getattr(node, "name", f"<statement {i}>")
        out[name] = node
        if isinstance(node, ast.ClassDef):
            out |= {f"{name}.{m.name}": m for m in node.body if isinstance(m, ast.FunctionDef)}
    return out


def _normalized(node: ast.AST) -> ast.AST:
    """A copy of ``node`` with a function's docstring taken as `inspect.cleandoc` does (a
    method's docstring is indented one level deeper than a module-level function's)."""
    node = copy.deepcopy(node)
    docstring = ast.get_docstring(node, clean=True) if isinstance(node, ast.FunctionDef) else None
    if docstring is not None:
        node.body[0] = ast.Expr(ast.Constant(docstring))
    return node


def _dump(node: ast.AST) -> str:
    return ast.dump(_normalized(node), include_attributes=False)


def test_patch_applies_cleanly_and_changes_only_get_subset_array(tmp_path):
    """(a) the patch applies to the installed 3.0.0 file (no fuzz, no offset) and the only
    definition whose syntax tree changes is ``ImageSubsetArray.get_subset_array``."""
    assert jwst.__version__.startswith("3.0.0"), f"patch made for 3.0.0, got {jwst.__version__}"
    before = _defs((JWST_DIR / "background" / "background_sub.py").read_text())
    after = _defs(patched_copy(tmp_path).read_text())
    assert before.keys() == after.keys(), f"definitions changed: {before.keys() ^ after.keys()}"
    changed = sorted(
        name
        for name in before
        if _dump(before[name]) != _dump(after[name]) and not name.startswith("ImageSubsetArray")
    )
    changed_methods = sorted(
        name
        for name in before
        if name.startswith("ImageSubsetArray.") and _dump(before[name]) != _dump(after[name])
    )
    assert changed == [], f"the patch changes more than get_subset_array: {changed}"
    assert changed_methods == ["ImageSubsetArray.get_subset_array"], (
        f"methods changed by the patch: {changed_methods}"
    )


def test_fix_file_is_the_patched_function(tmp_path):
    """One source of truth: the in-process fix is the patch's function, statement for
    statement (comments and indentation aside)."""
    patched = _defs(patched_copy(tmp_path).read_text())["ImageSubsetArray.get_subset_array"]
    fixed = _defs(FIX.read_text())["get_subset_array"]
    if _dump(patched) != _dump(fixed):
        diff = difflib.unified_diff(
            ast.unparse(_normalized(patched)).splitlines(),
            ast.unparse(_normalized(fixed)).splitlines(),
            "patched background_sub.py",
            FIX.name,
            lineterm="",
        )
        pytest.fail(f"{FIX.name} differs from the patched function:\n" + "\n".join(diff))


def test_fix_rebinds_get_subset_array_and_is_undone():
    """``--inject-fault <fix>::fix`` rebinds exactly the method, and `faults.applied`
    restores jwst's."""
    original = bsub.ImageSubsetArray.get_subset_array
    with faults.applied(f"{FIX}::fix"):
        now = bsub.ImageSubsetArray.get_subset_array
        assert now is not original, "fix() did not rebind ImageSubsetArray.get_subset_array"
        assert now.__module__.startswith("miri_background_fault_"), now.__module__
        assert now.__name__ == "get_subset_array"
    assert bsub.ImageSubsetArray.get_subset_array is original


def _reproduction() -> str:
    """The first ``python`` code block of the doc's "Reproduction" section."""
    text = DOC.read_text()
    section = text.split("## Reproduction", 1)
    assert len(section) == 2, f"{DOC.name}: no '## Reproduction' section"
    block = re.search(r"```python\n(.*?)```", section[1], re.S)
    assert block, f"{DOC.name}: no ```python block in 'Reproduction'"
    return block.group(1)


def _run_reproduction(capsys) -> str:
    exec(compile(_reproduction(), f"{DOC.name}:Reproduction", "exec"), {"__name__": "repro"})
    return capsys.readouterr().out


def test_reproduction_shows_the_defect_and_the_fix(capsys):
    """The doc's script, run in process: 72 of 100 pixels off the rule on 3.0.0, 0 with
    the fix injected; its printed pixels match what the doc says it prints."""
    out = _run_reproduction(capsys)
    assert "pixels off the rule: 72 of 100" in out, f"3.0.0, unpatched:\n{out}"
    for line in out.splitlines():
        assert line in DOC.read_text(), f"{DOC.name} does not show the printed line {line!r}"
    with faults.applied(f"{FIX}::fix"):
        fixed = _run_reproduction(capsys)
    assert "pixels off the rule: 0 of 100" in fixed, f"with the fix:\n{fixed}"


# ---- slow: jwst's tests on a copy of jwst --------------------------------------------


def jwst_copy(root: Path) -> Path:
    """``root/jwst``: symlinks to the installed package's entries, ``background/`` copied
    (without bytecode). Returns ``root``, the directory to put on PYTHONPATH."""
    (root / "jwst").mkdir(parents=True)
    for entry in JWST_DIR.iterdir():
        if entry.name == "__pycache__":
            continue
        if entry.name == "background":
            shutil.copytree(
                entry, root / "jwst" / entry.name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            (root / "jwst" / entry.name).symlink_to(entry)
    return root


def _environment(tree: Path, crds_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    return (
        env
        | crds_local.environment(crds_root)
        | {
            "PYTHONPATH": str(tree),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )


def run_jwst_tests(tree: Path, crds_root: Path, target: str, junit: Path) -> dict[str, str]:
    """pytest ``target`` (under ``tree``) in a subprocess importing jwst from ``tree``;
    returns ``{test id: passed | failed | error | skipped}`` from its JUnit file."""
    env = _environment(tree, crds_root)
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import jwst.background.background_sub as m, jwst; "
            "print(jwst.__file__); print(m.__file__)",
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).is_relative_to(tree), f"jwst imported from {path}, not the copy {tree}"
    ini = tree.parent / f"{tree.name}.ini"
    ini.write_text("[pytest]\n")
    cmd = [sys.executable, "-m", "pytest", target, "-n", "0", "-p", "no:cacheprovider", "-q"]
    cmd += ["-c", str(ini), "--rootdir", str(tree), "--confcutdir", str(tree)]
    cmd += ["--junitxml", str(junit)]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=900)
    assert junit.is_file(), (
        f"pytest wrote no JUnit file ({done.returncode}):\n{done.stdout[-3000:]}"
    )
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[test_id] = {"failure": "failed"}.get(kinds[0], kinds[0]) if kinds else "passed"
    return outcomes


def _messages(junit: Path, kind: str) -> dict[str, str]:
    return {
        f"{case.get('classname')}::{case.get('name')}": child.get("message", "")
        for case in ET.parse(junit).getroot().iter("testcase")
        for child in case
        if child.tag == kind
    }


def offset_test_ids() -> set[str]:
    """The jwst-style test's cases whose overlap starts after the target's first pixel:
    those that 3.0.0 gets wrong (the others are controls)."""
    spec = importlib.util.spec_from_file_location("upstream_jwst_style_test", JWST_TEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ids = set()
    for i, (target, background) in enumerate(module.GEOMETRIES):
        if background[0] > target[0] or background[1] > target[1]:
            for test in (
                "test_subset_array_placed_by_subarray_offset",
                "test_miri_subarray_offset_overlap",
            ):
                for nints in ("None", "2"):
                    ids.add(f"{test}[target{i}-background{i}-{nints}]")
    assert ids, "no offset geometry in the jwst-style test"
    return ids


@pytest.mark.slow
def test_jwst_style_test_fails_unpatched_passes_patched(tmp_path):
    """(b) and (c): the unit test fails on a copy of 3.0.0 exactly for the offset
    geometries; after the patch it and jwst's own ``background/tests`` pass (WFSS errors
    offline, identically before and after the patch)."""
    crds_root = tmp_path / "crds"
    crds_local.build_context(crds_root, {})
    tree = jwst_copy(tmp_path / "tree")
    tests = tree / "jwst" / "background" / "tests"
    shutil.copyfile(JWST_TEST, tests / JWST_TEST.name)
    module = f"jwst.background.tests.{JWST_TEST.stem}"

    before = run_jwst_tests(tree, crds_root, str(tests), tmp_path / "before.xml")
    apply_patch(tree)
    after = run_jwst_tests(tree, crds_root, str(tests), tmp_path / "after.xml")

    ours_before = {k.split("::", 1)[1]: v for k, v in before.items() if k.startswith(module)}
    failed = {k for k, v in ours_before.items() if v != "passed"}
    assert failed == offset_test_ids(), (
        f"unpatched 3.0.0: failing cases differ from the offset geometries:\n"
        f"  failing, not expected: {sorted(failed - offset_test_ids())}\n"
        f"  expected, not failing: {sorted(offset_test_ids() - failed)}"
    )
    not_passing = {k: v for k, v in after.items() if k.startswith(module) and v != "passed"}
    assert not not_passing, f"patched: the jwst-style test does not pass: {not_passing}"

    own_before = {k: v for k, v in before.items() if not k.startswith(module)}
    own_after = {k: v for k, v in after.items() if not k.startswith(module)}
    failed_after = sorted(k for k, v in own_after.items() if v == "failed")
    assert not failed_after, f"patched: jwst's own tests fail: {failed_after}"
    changed = {k: (own_before.get(k), v) for k, v in own_after.items() if own_before.get(k) != v}
    assert not changed, f"the patch changed outcomes of jwst's own tests: {changed}"
    offline = _messages(tmp_path / "after.xml", "error")
    not_crds = {k: m for k, m in offline.items() if "Unknown instrument" not in m}
    assert not not_crds, f"errors other than the offline CRDS context's: {not_crds}"
    assert sum(v == "passed" for v in own_after.values()) >= 30, own_after


# ---- slow: the suite with the fix injected -------------------------------------------


OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+)")


def run_subarray_scenarios(tmp_path: Path, *extra: str) -> dict[str, str]:
    """The regression suite on the defect scenarios and a control, one xdist worker;
    returns ``{test id: PASSED | FAILED | ERROR | XFAIL | XPASS}`` from ``-rA``."""
    cmd = [sys.executable, "-m", "pytest", "tests/regression", "-n", "1", "-q", "-rA"]
    for name in (*DEFECT_SCENARIOS, CONTROL_SCENARIO):
        cmd += ["--scenario", name]
    cmd += ["-p", "no:cacheprovider", "--cache-dir", str(tmp_path / "cache")]
    cmd += ["-o", f"miri_background_runs={tmp_path / 'runs'}", *extra]
    env = {k: v for k, v in os.environ.items() if k != "TEST_BIGDATA"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    outcomes = {m[2]: m[1] for m in map(OUTCOME.match, done.stdout.splitlines()) if m}
    assert outcomes, f"no outcome parsed (exit {done.returncode}):\n{done.stdout[-3000:]}"
    return outcomes


@pytest.mark.slow
def test_fix_in_process_flips_exactly_the_defect(tmp_path):
    """With ``--inject-fault <fix>::fix`` the defect's strict xfails XPASS (failures) and
    its truth fingerprints report the change; no other outcome moves."""
    clean = run_subarray_scenarios(tmp_path)
    fixed = run_subarray_scenarios(tmp_path, "--inject-fault", f"{FIX}::fix")

    xfails = {k for k, v in clean.items() if v == "XFAIL"}
    defect_ids = {k for k in clean if any(f"[{name}-sigma" in k for name in DEFECT_SCENARIOS)}
    expected_xfails = {k for k in defect_ids if f"::{XFAIL_TEST}[" in k}
    assert xfails == expected_xfails and xfails, (
        f"clean run: xfails {sorted(xfails)}, expected the defect's {sorted(expected_xfails)}"
    )
    fingerprints = {k for k in defect_ids if f"::{FINGERPRINT_TEST}[" in k}
    assert fingerprints and all(clean[k] == "PASSED" for k in fingerprints), fingerprints
    assert any(f"[{CONTROL_SCENARIO}-sigma" in k for k in clean), "control scenario not run"

    changed = {
        k: (clean.get(k), fixed.get(k))
        for k in clean.keys() | fixed.keys()
        if clean.get(k) != fixed.get(k)
    }
    expected = {k: ("XFAIL", "FAILED") for k in xfails}
    expected |= {k: ("PASSED", "FAILED") for k in fingerprints}
    assert changed == expected, (
        "outcomes moved by the fix differ from the defect's:\n"
        f"  unexpected: { {k: v for k, v in changed.items() if expected.get(k) != v} }\n"
        f"  missing: { {k: v for k, v in expected.items() if changed.get(k) != v} }"
    )
