"""The facts about jwst and astropy that the declared equivalents rest on
(``equivalent_mutants.json``): each test fails if the installed jwst or astropy stops holding it."""

from __future__ import annotations

import ast
import json
import sys
from contextlib import contextmanager
from importlib.resources import files as files_of

import pytest

from miri_background.harness.mutation import mutants


def _calls(node: ast.AST, name: str) -> list[int]:
    """Lines of the calls ``self.<name>.run(...)`` within ``node``."""
    return [
        n.lineno
        for n in ast.walk(node)
        if isinstance(n, ast.Call)
        and ast.unparse(n.func) == f"self.{name}.run"
    ]


def test_image2_resamples_after_the_background_step():
    """In ``process_exposure_product`` the resample block (lines 175-181, declared
    equivalent) comes after the background step's call, and only it calls resample."""
    tree = ast.parse(mutants.original_source("calwebb_image2.py"))
    (method,) = [
        n for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef) and n.name == "process_exposure_product"
    ]
    (background,) = _calls(method, "bkg_subtract")
    (resample,) = _calls(method, "resample")
    (block,) = [n for n in method.body if isinstance(n, ast.If) and resample in range(
        n.lineno, n.end_lineno + 1)]
    assert background < block.lineno, (background, block.lineno)
    assert (block.lineno, block.end_lineno) == (175, 181), (block.lineno, block.end_lineno)


def test_image2_save_results_is_always_a_bool():
    """stpipe validates ``save_results`` as a boolean: a non-boolean is refused, a boolean
    kept (so ``save_results & (output_file is None)`` is an ``and`` of two bools)."""
    from jwst.pipeline import Image2Pipeline
    from stpipe.exceptions import ValidationError

    assert Image2Pipeline(save_results=True).save_results is True
    assert Image2Pipeline().save_results is False
    with pytest.raises(ValidationError, match="save_results"):
        Image2Pipeline(save_results=2)


def test_background_step_clips_along_axis_0_only():
    """Every ``sigma_clip`` call of jwst's background step passes ``axis=0`` (so astropy's
    ``_sigmaclip_noaxis``, for ``axis=None``, never runs in the step: declared equivalent),
    and ``SigmaClip.__call__`` reaches ``_sigmaclip_noaxis`` only under ``axis is None``."""
    tree = ast.parse(mutants.original_source("background_sub.py"))
    calls = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "sigma_clip"
    ]
    axes = [
        next((ast.unparse(k.value) for k in c.keywords if k.arg == "axis"), None) for c in calls
    ]
    assert axes and set(axes) == {"0"}, axes
    clip = ast.parse(mutants.original_source("sigma_clipping.py"))
    guards = [
        ast.unparse(n.test)
        for n in ast.walk(clip)
        if isinstance(n, ast.If) and "_sigmaclip_noaxis" in ast.unparse(n.body[0])
    ]
    assert guards == ["axis is None and (not self.grow)"], guards


@contextmanager
def _lines_run(path: str):
    """The set of lines of the file ``path`` that run inside the block (``sys.settrace``)."""
    ran: set[int] = set()

    def trace(frame, event, arg):
        if frame.f_code.co_filename != path:
            return None

        def lines(f, e, a):
            ran.add(f.f_lineno) if e == "line" else None
            return lines

        return lines

    sys.settrace(trace)
    try:
        yield ran
    finally:
        sys.settrace(None)


def _declared_lines(file: str) -> set[int]:
    """The lines of ``file`` that equivalent_mutants.json's line rules declare never run
    (a rule with ``runs`` true covers lines that run, every mutant of which keeps the
    behaviour: its own fact test says why)."""
    data = files_of("miri_background.harness.mutation").joinpath("equivalent_mutants.json")
    return {
        line
        for r in json.loads(data.read_text())["lines"]
        if r["file"] == file and not r.get("runs")
        for line in range(r["first"], r["last"] + 1)
    }


def _function(tree: ast.AST, name: str) -> ast.FunctionDef:
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)


def _passed(call: ast.Call) -> set[str]:
    return {k.arg for k in call.keywords} | {f"#{i}" for i in range(len(call.args))}


def test_background_step_calls_sigma_clip_one_way():
    """The facts behind the signature rules of ``sigma_clipping.py`` in
    equivalent_mutants.json: jwst's step calls ``sigma_clip(stack, sigma=, maxiters=,
    axis=0)``; ``sigma_clip`` passes every parameter of ``SigmaClip.__init__`` and of
    ``__call__`` by keyword, and ``__call__`` every parameter of ``_sigmaclip_fast``: so the
    defaults in those three signatures, and sigma_clip's sigma, maxiters and axis, are unused."""
    step = ast.parse(mutants.original_source("background_sub.py"))
    calls = [
        n for n in ast.walk(step) if isinstance(n, ast.Call) and ast.unparse(n.func) == "sigma_clip"
    ]
    expected = {"#0", "sigma", "maxiters", "axis"}
    assert len(calls) == 3 and all(_passed(c) == expected for c in calls)
    clip = ast.parse(mutants.original_source("sigma_clipping.py"))

    def keywords_of(fn: str, callee: str) -> set[str]:
        found = [
            n
            for n in ast.walk(_function(clip, fn))
            if isinstance(n, ast.Call) and ast.unparse(n.func) == callee
        ]
        assert len(found) == 1, (fn, callee)
        return {k.arg for k in found[0].keywords}

    def named(fn: str) -> set[str]:
        return {a.arg for a in _function(clip, fn).args.args} - {"self", "data"}

    assert keywords_of("sigma_clip", "SigmaClip") == named("__init__")
    assert keywords_of("sigma_clip", "sigclip") == named("__call__")
    assert keywords_of("__call__", "self._sigmaclip_fast") == named("_sigmaclip_fast")


def test_sigma_clip_path_of_the_background_step():
    """The line rules of ``sigma_clipping.py`` in equivalent_mutants.json: none of their
    lines runs when ``sigma_clip`` is called as jwst's step calls it (a plain float64 2-D
    stack of 1-5 backgrounds, a float32 3-D integration stack, NaN and inf, sigma 0.5-3,
    maxiters None, 0, 1, 3), while the fast path itself does run."""
    import warnings

    import numpy as np
    from astropy.stats import sigma_clip
    from astropy.stats import sigma_clipping as module

    rng = np.random.default_rng(5)
    stacks = []
    for n in range(1, 6):
        for shape, dtype in (((n, 6, 7), "f8"), ((n, 3, 6, 7), "f4")):
            data = rng.normal(10.0, 1.0, shape).astype(dtype)
            data[0, 0, 0], data[..., 1, 1], data[..., 2, 2] = np.nan, np.inf, 100.0
            stacks.append(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with _lines_run(module.__file__) as ran:
            for data in stacks:
                for sigma in (0.5, 2.0, 3.0):
                    for maxiters in (None, 0, 1, 3):
                        sigma_clip(data, sigma=sigma, maxiters=maxiters, axis=0)
    declared = _declared_lines("sigma_clipping.py")
    assert ran and not ran & declared, sorted(ran & declared)
    fast = _function(ast.parse(mutants.original_source("sigma_clipping.py")), "_sigmaclip_fast")
    assert fast.body[-1].lineno in ran  # the return of the fast path


@pytest.mark.parametrize(("acid", "kind"), [("o001", "observation"), ("c1000", "background")])
def test_asn_from_list_candidates_are_observations_or_backgrounds(acid, kind):
    """``asn_from_list(..., rule=DMSLevel2bBase)`` makes a candidate of type observation
    (acid ``o...``) or background (``c...``) and refuses any other acid, so the rule's
    ``validate_candidates`` sees only those two types (rules_level2_base.py lines 380,
    385: their comparison mutants that agree on both strings are equivalent)."""
    from jwst.associations import asn_from_list
    from jwst.associations.lib.rules_level2_base import DMSLevel2bBase

    asn = asn_from_list.asn_from_list(["/d/a_rate.fits"], rule=DMSLevel2bBase, acid=acid)
    assert asn.acid.type == kind
    with pytest.raises(ValueError, match="Invalid association id"):
        asn_from_list.asn_from_list(["/d/a_rate.fits"], rule=DMSLevel2bBase, acid="d1000")


def test_asn_from_list_path_never_enters_the_pool_rules(tmp_path):
    """The line rules of ``rules_level2_base.py`` in equivalent_mutants.json: none of their
    lines runs when the notebook's association is made, dumped and read (library call,
    console script, Image2Pipeline's ``LoadAsLevel2Asn``), while ``_add_items`` does; e.g.
    ``Utility.rename_to_level2a`` is called only by ``make_member`` for pool rows."""
    from jwst.associations import asn_from_list
    from jwst.associations.lib import rules_level2_base
    from jwst.associations.load_as_asn import LoadAsLevel2Asn

    files = [str(tmp_path / f"jw0{i}_rate.fits") for i in (1, 2)]
    with _lines_run(rules_level2_base.__file__) as ran:
        asn = asn_from_list.asn_from_list(files, rule=rules_level2_base.DMSLevel2bBase)
        asn["products"][0]["members"].append({"expname": files[1], "exptype": "background"})
        path = tmp_path / "asn.json"
        path.write_text(asn.dump()[1])
        asn_from_list.main(["-o", str(tmp_path / "cli.json"), "-r", "DMSLevel2bBase", *files])
        LoadAsLevel2Asn.load(str(path))
    declared = _declared_lines("rules_level2_base.py")
    add_items = _function(ast.parse(mutants.original_source("rules_level2_base.py")), "_add_items")
    assert add_items.body[-1].lineno in ran, "the trace missed _add_items"
    assert declared and not ran & declared, sorted(ran & declared)


def test_background_step_ignores_the_clipped_warning():
    """Every ``sigma_clip`` call of jwst's background step sits in a ``with
    warnings.catch_warnings()`` whose filter ignores astropy's "automatically clipped"
    warning (so whether astropy issues it cannot change the step's outcome)."""
    tree = ast.parse(mutants.original_source("background_sub.py"))
    guarded = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and "catch_warnings" in ast.unparse(node.items[0]):
            body = ast.unparse(node)
            if "'ignore'" in body and "automatically clipped" in body:
                guarded += body.count("sigma_clip(")
    calls = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "sigma_clip"
    ]
    assert guarded == len(calls) == 3, (guarded, len(calls))
