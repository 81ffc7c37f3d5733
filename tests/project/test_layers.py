"""Lower layers know nothing of the tools above them: the stages, the cache and its keys
never import the harness (faults and mutants reach keys through `keys.override`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "miri_background"
LOWER = ("cache.py", "keys.py", "depend.py", "pipeline", "inputs", "observation", "checks")


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement of ``path`` names (relative ones resolved)."""
    package = ".".join(("miri_background", *path.relative_to(PACKAGE).parent.parts))
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.update([module, *(f"{module}.{a.name}" for a in node.names)])
    return names


def lower_modules() -> list[Path]:
    found = []
    for name in LOWER:
        path = PACKAGE / name
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


@pytest.mark.parametrize("path", lower_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lower_layers_do_not_import_the_harness(path):
    above = sorted(m for m in imported_modules(path) if m.startswith("miri_background.harness"))
    assert not above, f"{path.relative_to(PACKAGE)} imports {above}: a layer below the harness"


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, f"modules over 400 lines (split them by concern): {long}"
