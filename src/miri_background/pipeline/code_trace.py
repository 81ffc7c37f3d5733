"""The source files whose code ran during a call: a stage's own software fingerprint.

A cached stage (detector1, background) depends on the code it ran, not on every package it
imported: importing ``jwst.pipeline`` imports every pipeline, yet a detector1 call runs no
function of ``jwst.background``. `traced` records, while a call runs:

- **called** files: ``co_filename`` of every Python function called (profile ``'call'``
  events: `cProfile` in this thread, `threading.setprofile` in threads started meanwhile);
- **compiled** files: the extension module (``.so``) of every builtin called (``'c_call'``
  events): the module the builtin belongs to, or the module of its type; a type
  re-exported under a Python module's name (``numpy.ndarray`` is ``numpy``'s) stands for
  every extension loaded from that top-level package. A ufunc call raises no such event:
  its extension is recorded by the gap rule below (the file that ran imports it);
- **opened** files: files the call opened (``open`` audit events) inside the directory of
  a called file's top-level package, e.g. the schemas stdatamodels validates against
  (inputs, outputs and reference files lie elsewhere: keys name them).

Gap rule. Code can depend on a file none of whose functions ran: a module-level constant
(``from jwst.lib.constants import X``), a class attribute, a table built at import. So
`traced` also records, for every called file, the files of the modules its import
statements name (anywhere in the file, function-local imports included), resolved against
`sys.modules` after the call: ``import a.b`` -> ``a.b`` (and ``a``), ``from a import b`` ->
``a.b`` if that is a module, else ``a``; relative imports against the file's package.
Formally, with C the called files and I(f) the imported modules of file f,

    recorded = C  u  {file(m) : m in I(f), f in C}  u  compiled  u  opened,

restricted to files outside the standard library and outside this project (``ROOT``), whose
code is keyed separately. The tracer starts after the call's imports (the caller imports
first), so import-time execution, which would pull every pipeline's modules back in, is not
recorded.

Overhead: one C callback per call and return; about +1 s on a 3 s detector1 call
(README). `sys.setprofile` with a Python function cost twice that.
"""

from __future__ import annotations

import ast
import cProfile
import json
import os
import re
import sys
import sysconfig
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

from miri_background.depend import source_sha256
from miri_background.files import write_json_atomic

ROOT = Path(__file__).resolve().parents[1]
"""This project's package: its code is not a dependency of a product (keys name it)."""

EXTENSION_SUFFIXES = (".so", ".pyd")


@dataclass
class Trace:
    """What one traced call ran (filled in when the ``with`` block of `traced` ends).

    Attributes
    ----------
    called : set of str
        Files of the Python functions called.
    imported : set of str
        Files of the modules the called files import (the gap rule).
    compiled : set of str
        Extension modules of the builtins called.
    opened : set of str
        Other files opened during the call.
    """

    called: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)
    compiled: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)

    @property
    def files(self) -> list[str]:
        """Every recorded file outside the standard library and this project, sorted."""
        every = self.called | self.imported | self.compiled | self.opened
        return sorted(f for f in every if _tracked(f))


@cache
def _excluded() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return (str(Path(paths["stdlib"]).resolve()) + "/", str(ROOT) + "/")


def _tracked(path: str) -> bool:
    """A real file outside the standard library (not site-packages) and this project."""
    if path.startswith("<") or not path.startswith("/"):
        return False
    if "/site-packages/" not in path and path.startswith(_excluded()[0]):
        return False
    return not path.startswith(_excluded()[1]) and Path(path).is_file()


_OPENED: list[set[str]] = []
"""The `opened` sets of the traces running now (the audit hook cannot be removed)."""


def _audit(event: str, args: tuple) -> None:
    if _OPENED and event == "open" and isinstance(args[0], str):
        for opened in _OPENED:
            opened.add(args[0])


_HOOKED: list[bool] = []


@contextmanager
def traced() -> Iterator[Trace]:
    """Record what the ``with`` block runs (see the module text); yields the `Trace`.

    The caller imports what the block needs first. This thread is profiled by `cProfile`
    (C callbacks: about half the overhead of a Python profile function on a detector1
    call, measured), threads started in the block by a Python profile function; the
    previous profile functions are restored after the block.
    """
    trace = Trace()
    thread_calls, thread_owners = set(), set()

    def thread_profile(frame, event, arg):
        if event == "call":
            thread_calls.add(frame.f_code.co_filename)
        elif event == "c_call":
            thread_owners.add(_builtin_owner(arg))

    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    profiler = cProfile.Profile(subcalls=False, builtins=True)
    opened: set[str] = set()
    _OPENED.append(opened)
    threading.setprofile(thread_profile)
    profiler.enable()
    try:
        yield trace
    finally:
        profiler.disable()
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
        _OPENED.remove(opened)
        _finish(trace, profiler.getstats(), thread_calls, thread_owners, opened)


def _builtin_owner(function) -> str:
    """Dotted name of the module or type a builtin belongs to (``c_call`` of a thread)."""
    owner = getattr(function, "__self__", None)
    if isinstance(owner, ModuleType):
        return owner.__name__
    return f"{type(owner).__module__}.{type(owner).__qualname__}"


_BUILTIN = re.compile(r"<built-in method ([\w.]+)>|<method '\w+' of '([\w.]+)' objects>")
"""cProfile's names of builtins: ``<built-in method numpy.empty>`` (module functions) and
``<method 'sum' of 'numpy.ndarray' objects>`` (methods of C types)."""


def _finish(trace: Trace, stats, calls: set, owners: set, opened: set) -> None:
    for entry in stats:
        if not isinstance(entry.code, str):
            calls.add(entry.code.co_filename)
        elif match := _BUILTIN.fullmatch(entry.code):
            owners.add(match.group(1) or match.group(2))
    trace.called = {_real(f) for f in calls if not f.startswith("<")}
    modules = _modules_by_file()
    trace.compiled = _extension_files(owners)
    trace.imported = {
        f for path in trace.called if _tracked(path) for f in imported_files(path, modules)
    }
    roots = _package_dirs(trace.called, modules)
    trace.opened = {f for f in map(_real, opened) if f.startswith(roots)}


def _package_dirs(files: set[str], modules: dict[str, str]) -> tuple[str, ...]:
    """Directories of the top-level packages the called files belong to."""
    dirs = set()
    for path in files:
        name = modules.get(path)
        top = sys.modules.get(name.partition(".")[0]) if name else None
        where = getattr(top, "__path__", None)
        if where and _tracked(path):
            dirs.update(_real(d) + "/" for d in where)
    return tuple(sorted(dirs))


@cache
def _real(path: str) -> str:
    return os.path.realpath(path)


def _module_file(module: ModuleType | None) -> str | None:
    path = getattr(module, "__file__", None)
    return _real(path) if isinstance(path, str) else None


def _modules_by_file() -> dict[str, str]:
    """File -> module name of every module loaded now."""
    found = {}
    for name, module in list(sys.modules.items()):
        path = _module_file(module)
        if path is not None:
            found.setdefault(path, name)
    return found


def _extension_files(owners: set[str]) -> set[str]:
    """The extension modules of the builtins' owners (dotted module or type names): the
    longest loaded module prefix of each; one that is a Python module (a re-exported C
    type) stands for every extension loaded from its top-level package."""
    files, packages = set(), set()
    for owner in owners:
        parts = owner.split(".")
        for i in range(len(parts), 0, -1):
            name = ".".join(parts[:i])
            if name in sys.modules:
                break
        else:
            continue
        path = _module_file(sys.modules[name])
        if path is not None and path.endswith(EXTENSION_SUFFIXES):
            files.add(path)
        elif path is not None:
            packages.add(parts[0])
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in packages:
            path = _module_file(module)
            if path is not None and path.endswith(EXTENSION_SUFFIXES):
                files.add(path)
    return files


_MEMO: list[Path] = []
"""Where `_import_statements` keeps what it parsed, by the file's sha256 (`keep_parses_in`)."""


def keep_parses_in(directory: Path | None) -> None:
    """Keep the import statements parsed from each file in ``directory`` (None: in memory
    only). Parsing the ~300 files a background call runs costs ~7 s, once per process (the
    first traced call of every xdist worker, measured); read back by content, ~0.3 s."""
    _MEMO[:] = [Path(directory)] if directory is not None else []


@cache
def _import_statements(path: str) -> tuple[tuple[int, str, tuple[str, ...]], ...]:
    """(level, module, names) of every import statement in the file (``names`` empty for
    ``import a.b``), kept by the file's sha256 where `keep_parses_in` says."""
    digest = source_sha256(path)
    memo = _MEMO[0] / digest[:2] / f"{digest}.json" if _MEMO and digest else None
    if memo is not None:
        try:
            return tuple((lv, m, tuple(n)) for lv, m, n in json.loads(memo.read_text()))
        except (OSError, ValueError, TypeError):
            pass  # not kept yet, or unreadable: parse again
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return ()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            found.append((node.level, node.module or "", names))
    if memo is not None:
        write_json_atomic(memo, found)
    return tuple(found)


def imported_files(path: str, modules: dict[str, str] | None = None) -> set[str]:
    """Files of the modules that the import statements of ``path`` name (the gap rule).

    ``modules`` is `_modules_by_file` (computed here when not given).
    """
    package = _package_of(path, _modules_by_file() if modules is None else modules)
    names: set[str] = set()
    for level, module, imported in _import_statements(path):
        if level:
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            module = f"{base}.{module}" if module else base
        parts = module.split(".")
        names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        for name in imported:
            if f"{module}.{name}" in sys.modules:
                names.add(f"{module}.{name}")
    files = {_module_file(sys.modules.get(n)) for n in names}
    return {f for f in files if f is not None and f != path}


def _package_of(path: str, modules: dict[str, str]) -> str:
    """The package that relative imports of ``path`` resolve against ('' if unknown)."""
    name = modules.get(path)
    if name is None:
        return ""
    return name if path.endswith("__init__.py") else name.rpartition(".")[0]
