"""The mutants of a target's modules (`targets`), enumerated with cosmic-ray's operators.

The default target is the installed ``jwst/background/background_sub.py`` and
``background_step.py`` (read, never written; the others: `targets`). Every cosmic-ray
core operator that takes no argument is applied at every position it reports
(``cosmic_ray.commands.init._all_work_items``, the enumeration of ``cosmic-ray init``);
a mutant's source is ``cosmic_ray.mutating.mutate_code`` of the
original text, in memory.

Scope. ``background_step.py`` also dispatches WFSS and SOSS exposures (out of scope here):
the bodies of the ``if`` statements whose test names a WFSS or SOSS exposure type are
dropped (jwst 3.0.0: lines 70-113 and 115-138 of ``process``, 247-259 of
``_asn_get_data``). The imaging path kept is the rest: the class attributes and spec
(25-45), ``process`` up to the dispatch (66-69), the two dispatch tests (69, 114), the
imaging ``else`` branch (140-201) and ``_asn_get_data`` outside its WFSS block.

Regions (for the per-region kill rates) come from the enclosing definition, found with the
``ast`` module: in the other targets' files, its name (``Image2Pipeline.process``); in
the background files ``ImageSubsetArray`` -> subarray placement; ``background_sub`` ->
subtraction; ``average_background`` -> 2-D combination; ``background_step.py`` -> step
parameters. Code that runs only for 3-D (rateints) inputs is the 3-D branch wherever it
sits: the bodies of ``if bkg_dim == 3`` / ``if self.im_dim == 3`` and the ``else`` of
``if self.im_dim == 2`` (the tests themselves stay in their region: they run for 2-D too).
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import random
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from cosmic_ray.commands.init import _all_work_items
from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator

from miri_background.harness import shards
from miri_background.harness.mutation import targets

FILES = ("background_sub.py", "background_step.py")
"""The default target's files."""
OUT_OF_SCOPE = ("WFSS", "SOSS")
"""Exposure types whose branches of background_step.py are not the imaging path."""
SUBARRAY, COMBINE_2D, BRANCH_3D, SUBTRACT, STEP = (
    "subarray placement",
    "2-D combination",
    "3-D branch",
    "subtraction",
    "step parameters",
)
REGIONS = (SUBARRAY, COMBINE_2D, BRANCH_3D, SUBTRACT, STEP, "module level")


@dataclass(frozen=True)
class Mutant:
    """One cosmic-ray mutation of one file.

    Attributes
    ----------
    id : str
        ``<file>:<operator>:<occurrence>``, e.g. ``background_sub.py:core/NumberReplacer:76``
        (stable for a given file content).
    file, module : str
        File name (unique over the targets) and its module (``jwst.background.background_sub``).
    operator : str
        cosmic-ray operator name.
    occurrence : int
        Index among that operator's positions in the file (cosmic-ray's occurrence).
    line : int
        1-based line of the mutated position.
    region : str
        One of `REGIONS`, or the enclosing definition's name (`line_regions`).
    diff : str
        One line: ``L<line>: <old> -> <new>`` (stripped source lines), made when first
        read (a mutation costs a parse: sigma_clipping.py has 1823).
    """

    id: str
    file: str
    module: str
    operator: str
    occurrence: int
    line: int
    region: str

    @cached_property
    def diff(self) -> str:
        return one_line_diff(original_source(self.file), self.source())

    def source(self) -> str:
        """The mutated module's full source text."""
        operator = get_operator(self.operator)()
        mutated = mutate_code(original_source(self.file), operator, self.occurrence)
        if mutated is None:
            raise ValueError(f"{self.id}: cosmic-ray applied no mutation (source changed?)")
        return mutated


def jwst_background_dir() -> Path:
    """Directory of the installed (possibly editable) ``jwst.background`` package."""
    return targets.module_path("jwst.background.background_sub").parent


@cache
def path_of(file: str) -> Path:
    """The installed file of a target's module, by its file name."""
    return targets.module_path(targets.file_modules()[file])


@cache
def original_source(file: str) -> str:
    """Text of the installed ``file`` (`path_of`)."""
    return path_of(file).read_text(encoding="utf-8")


def file_sha256(file: str) -> str:
    """sha256 of the installed ``file`` (`path_of`)."""
    return hashlib.sha256(original_source(file).encode("utf-8")).hexdigest()


def _body_lines(node: ast.If) -> range:
    return range(node.body[0].lineno, node.body[-1].end_lineno + 1)


def line_regions(file: str) -> tuple[dict[int, str], set[int]]:
    """(line -> region, lines out of scope) of ``file``, from its syntax tree."""
    tree = ast.parse(original_source(file))
    regions: dict[int, str] = {}
    skipped: set[int] = set()
    if file not in FILES:
        return _definition_regions(tree), skipped
    if file == "background_step.py":
        regions = dict.fromkeys(range(1, len(original_source(file).splitlines()) + 1), STEP)
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and any(k in ast.unparse(node.test) for k in OUT_OF_SCOPE):
                skipped.update(_body_lines(node))
        return regions, skipped
    names = {"ImageSubsetArray": SUBARRAY, "background_sub": SUBTRACT}
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and (
            node.name in names or node.name == "average_background"
        ):
            span = range(node.lineno, node.end_lineno + 1)
            regions.update(dict.fromkeys(span, names.get(node.name, COMBINE_2D)))
            for sub in ast.walk(node):
                if not isinstance(sub, ast.If):
                    continue
                test = ast.unparse(sub.test)
                if test in ("bkg_dim == 3", "self.im_dim == 3"):
                    regions.update(dict.fromkeys(_body_lines(sub), BRANCH_3D))
                elif test == "self.im_dim == 2" and sub.orelse:
                    span = range(sub.orelse[0].lineno, sub.orelse[-1].end_lineno + 1)
                    regions.update(dict.fromkeys(span, BRANCH_3D))
    return regions, skipped


def _definition_regions(tree: ast.Module) -> dict[int, str]:
    """line -> the top-level function or class holding it, or the method of a top-level
    class (``Image2Pipeline.process``); other lines (module level) are left out."""
    regions: dict[int, str] = {}
    defs = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    for node in (n for n in tree.body if isinstance(n, defs)):
        regions.update(dict.fromkeys(range(node.lineno, node.end_lineno + 1), node.name))
        for sub in (n for n in node.body if isinstance(node, ast.ClassDef) and isinstance(n, defs)):
            span = range(sub.lineno, sub.end_lineno + 1)
            regions.update(dict.fromkeys(span, f"{node.name}.{sub.name}"))
    return regions


def statement_lines(file: str, line: int) -> range:
    """The lines of the innermost statement of ``file`` holding ``line``: its whole span,
    or for a compound statement (``if``, ``for``, ``def`` ...) only its header, up to its
    first body statement. A mutant at ``line`` can change behaviour only if one of these
    lines runs; empty if no statement holds it. A decorated definition starts at its
    first decorator (a mutant of ``@staticmethod`` is the ``def``'s, not its class's)."""
    best = None
    for node in ast.walk(ast.parse(original_source(file))):
        if not isinstance(node, ast.stmt):
            continue
        start = _first_decorator(node)
        if not start <= line <= node.end_lineno:
            continue
        body = getattr(node, "body", None)
        last = body[0].lineno - 1 if body and line < body[0].lineno else node.end_lineno
        if best is None or start >= best.start:
            best = range(start, max(last, node.lineno) + 1)
    return best if best is not None else range(0)


def _first_decorator(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return min([d.lineno for d in decorators], default=node.lineno)


def one_line_diff(original: str, mutated: str) -> str:
    """``L<n>: <old lines> -> <new lines>`` for the first changed block, stripped."""
    a, b = original.splitlines(), mutated.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            old = " / ".join(s.strip() for s in a[i1:i2]) or "(nothing)"
            new = " / ".join(s.strip() for s in b[j1:j2]) or "(deleted)"
            return f"L{i1 + 1}: {old} -> {new}"
    return "(no change)"


@cache
def all_mutants(file: str) -> tuple[Mutant, ...]:
    """Every in-scope mutant of ``file``, in cosmic-ray's order (operator, occurrence)."""
    path = path_of(file)
    regions, skipped = line_regions(file)
    module = targets.file_modules()[file]
    found = []
    for item in _all_work_items([path], {}):
        spec = item.mutations[0]
        line = spec.start_pos[0]
        if line in skipped:
            continue
        found.append(
            Mutant(
                id=f"{file}:{spec.operator_name}:{spec.occurrence}",
                file=file,
                module=module,
                operator=spec.operator_name,
                occurrence=spec.occurrence,
                line=line,
                region=regions.get(line, "module level"),
            )
        )
    return tuple(found)


def target_files(target: str = targets.DEFAULT) -> tuple[str, ...]:
    """The file names of ``target``'s modules."""
    return tuple(targets.module_path(m).name for m in targets.TARGETS[target].modules)


def enumerate_counts(target: str = targets.DEFAULT) -> dict[str, dict[str, int]]:
    """Per file: mutants cosmic-ray makes, and those in scope (the background target's
    imaging path; every one elsewhere, before the executed-lines scope)."""
    out = {}
    for file in target_files(target):
        total = sum(1 for _ in _all_work_items([path_of(file)], {}))
        out[file] = {"cosmic_ray": total, "in_scope": len(all_mutants(file))}
    return out


def on_executed_lines(mutant: Mutant, executed: dict[str, set[int]]) -> bool:
    """Whether a line of ``mutant``'s statement (`statement_lines`) is in ``executed``
    ({module: lines}); a mutant outside every statement (none so far) counts as executed."""
    lines = statement_lines(mutant.file, mutant.line)
    return not lines or bool(set(lines) & executed.get(mutant.module, set()))


def select(
    *,
    target: str = targets.DEFAULT,
    executed: dict[str, set[int]] | None = None,
    sample: int | None = None,
    seed: int = 0,
    shard: tuple[int, int] = (1, 1),
    only: list[str] | None = None,
) -> list[Mutant]:
    """The mutants of ``target`` to run: all, ``only`` these ids, or a deterministic sample;
    one shard. For a target whose scope is the executed lines (`targets.Target`), the
    candidates are those `on_executed_lines` of ``executed`` (the suite's clean pass;
    None: all, before that scope is known).

    ``sample`` N draws ``random.Random(seed).sample`` of the full list (then kept in list
    order), so the same (N, seed) gives the same mutants on every machine. Shard ``(i, n)``
    (1-based) keeps every n-th mutant from the i-th: the shards partition the selection.
    """
    mutants = [m for file in target_files(target) for m in all_mutants(file)]
    if executed is not None and targets.TARGETS[target].executed_only:
        mutants = [m for m in mutants if on_executed_lines(m, executed)]
    if only:
        by_id = {m.id: m for m in mutants}
        unknown = [i for i in only if i not in by_id]
        if unknown:
            raise ValueError(f"unknown mutant id(s) {unknown}; e.g. {mutants[0].id}")
        mutants = [by_id[i] for i in only]
    elif sample is not None and sample < len(mutants):
        chosen = set(random.Random(seed).sample(range(len(mutants)), sample))
        mutants = [m for i, m in enumerate(mutants) if i in chosen]
    return shards.take(mutants, shard)
