"""`pipeline.code_trace`: what a traced call records, and depend-mode entries built on it.

A tiny package written to ``tmp_path`` (never an installed one) is imported, then one of
its functions is traced:

- ``called.py``: the function that runs; it reads ``SCALE`` from ``constants.py`` at call
  time and starts a thread that calls ``worker.py`` (found in `sys.modules`, so that only
  the thread's profiling can record it);
- ``constants.py``: only a module-level constant (none of its functions runs): the gap;
- ``unused.py``: imported by the package's ``__init__`` (as is ``worker.py``) but never
  called.

The rule says: called files, plus the files the called files' import statements name (the
package ``__init__`` chain and ``constants.py``), plus the threads' called files; not
``unused.py``. Then the trace's files are a depend-mode entry's sources: an edit of
``constants.py`` or ``called.py`` is a miss, an edit of ``unused.py`` keeps the hit.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from miri_background.cache import ContentCache
from miri_background.pipeline.code_trace import traced

FILES = {
    "__init__.py": "from {pkg} import unused, worker  # noqa: F401\n",
    "constants.py": "SCALE = 3\n",
    "called.py": (
        "import sys\n"
        "import threading\n"
        "from {pkg}.constants import SCALE\n\n"
        "def run(x):\n"
        "    t = threading.Thread(target=sys.modules['{pkg}.worker'].work)\n"
        "    t.start()\n"
        "    t.join()\n"
        "    return x * SCALE\n"
    ),
    "worker.py": "def work():\n    return 1\n",
    "unused.py": "def never():\n    return 0\n",
}


@pytest.fixture
def fake_package(tmp_path, monkeypatch, request):
    """The package above as ``fakepkg_<test>`` under ``tmp_path``, imported; its directory."""
    pkg = "fakepkg_" + "".join(c if c.isalnum() else "_" for c in request.node.name)
    root = tmp_path / "site" / pkg
    root.mkdir(parents=True)
    for name, text in FILES.items():
        (root / name).write_text(text.format(pkg=pkg))
    monkeypatch.syspath_prepend(str(root.parent))
    __import__(f"{pkg}.called")
    yield root
    for name in [m for m in sys.modules if m.split(".")[0] == pkg]:
        del sys.modules[name]


def _trace(root: Path) -> list[str]:
    called = sys.modules[f"{root.name}.called"]
    with traced() as trace:
        assert called.run(2) == 6
    return trace.files


def test_trace_records_called_and_imported_files_not_unused_ones(fake_package):
    """Called (incl. the thread's), the gap rule's imports, nothing else of the package."""
    recorded = {Path(f).name for f in _trace(fake_package) if f.startswith(str(fake_package))}
    expected = {"called.py", "worker.py", "constants.py", "__init__.py"}
    assert recorded == expected, f"recorded {sorted(recorded)}, expected {sorted(expected)}"


def test_trace_records_the_extension_of_a_builtin():
    """A C function of an extension module (numpy's ``count_nonzero``, a ``c_call``
    event) records that module's file among the compiled files."""
    from numpy._core import multiarray

    with traced() as trace:
        multiarray.count_nonzero(np.arange(3))
    assert [f for f in trace.compiled if "_multiarray_umath" in Path(f).name], trace.compiled


def test_trace_records_a_gufunc_extension_by_the_import_rule():
    """astropy's sigma_clip along an axis calls a compiled gufunc (_fast_sigma_clip); a
    ufunc call raises no ``c_call`` event, so the import rule records it:
    sigma_clipping.py, which ran, imports it."""
    from astropy.stats import sigma_clip

    data = np.random.default_rng(1).normal(size=(4, 20, 20))
    with traced() as trace:
        sigma_clip(data, sigma=2, maxiters=3, axis=0)
    names = {Path(f).name for f in trace.files}
    assert "sigma_clipping.py" in names, sorted(names)
    fast = [n for n in names if n.startswith("_fast_sigma_clip") and n.endswith(".so")]
    assert fast, sorted(names)


def test_trace_leaves_out_this_project_and_the_standard_library(fake_package):
    files = _trace(fake_package)
    assert not [f for f in files if "/miri_background/" in f or f.endswith("/threading.py")]


def _build(out: Path, root: Path) -> list[str]:
    (out / "product.txt").write_text("6\n")
    return _trace(root)


@pytest.mark.parametrize(
    ("edited", "hit"),
    [("unused.py", True), ("constants.py", False), ("called.py", False), ("worker.py", False)],
)
def test_depend_entry_after_an_edit(fake_package, tmp_path, edited, hit):
    """Edit one file of the package (a comment appended): only files the call ran or read
    (the gap rule) make the entry a miss, whose reason names the file."""
    cache = ContentCache(tmp_path / "cache")
    parts = {"stage": "fake"}
    cache.get_or_build("fake", parts, functools.partial(_build, root=fake_package), depend=True)
    path = fake_package / edited
    path.write_text(path.read_text() + "# edited\n")
    rebuild = functools.partial(_build, root=fake_package)
    entry = cache.get_or_build("fake", parts, rebuild, depend=True)
    assert entry.hit == hit, f"edit of {edited}: hit={entry.hit} ({entry.reason})"
    if not hit:
        assert entry.reason == f"source {path} changed", entry.reason
