"""The facts about jwst that the declared equivalents of the image2 target rest on
(``equivalent_mutants.json``): each test fails if the installed jwst stops holding it."""

from __future__ import annotations

import ast

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
