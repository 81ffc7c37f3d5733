"""Serve a mutated jwst module to fresh Python processes, never touching the installed jwst.

`prepare` writes, in a throwaway directory ``hook``::

    hook/sitecustomize.py        installs the finder below at interpreter start-up
    hook/served.json             {module name: path of its mutated source}
    hook/served/<module>.py      the mutated source (its __pycache__ is written here too)
    hook/loaded.log              one line "<pid> <module>" per process that imported it

A process started with ``PYTHONPATH=hook:...`` (pytest, and each xdist worker it spawns)
runs ``sitecustomize``, which puts a ``MetaPathFinder`` first on ``sys.meta_path``. It
answers only for the names in ``served.json`` (a spec whose loader reads the copy); every
other module, the rest of ``jwst`` included, is found as usual. Nothing is written under the
installed package, so killing the harness (or pytest) at any moment leaves it as it was;
``loaded.log`` proves that the mutant, not the original, was imported. A ``sitecustomize``
that the environment already had is run after the finder is installed.

``MUTANT_ENV`` carries the sha256 of the served sources into the run: every cache key on
jwst's code adds it (``software.served_overrides``), so no mutant reuses another's product.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from miri_background.software import OVERRIDES_ENV as MUTANT_ENV

SITECUSTOMIZE = '''"""Written by miri_background.harness.mutant_import (serves mutated modules)."""
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "served.json"), encoding="utf-8") as _f:
    _SERVED = json.load(_f)


class _Loader(importlib.machinery.SourceFileLoader):
    def exec_module(self, module):
        with open(os.path.join(_HERE, "loaded.log"), "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {module.__name__}\\n")
        super().exec_module(module)


class MutantFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        source = _SERVED.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname, source, loader=_Loader(fullname, source)
        )


sys.meta_path.insert(0, MutantFinder())

# This file shadows the environment's own sitecustomize, if it has one: run that too.
_others = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _others)
if _spec is not None:
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
'''


def prepare(hook: Path, sources: dict[str, str]) -> dict[str, str]:
    """Write the hook directory serving ``sources`` ({module name: source text}).

    Returns the environment additions for a child process: ``PYTHONPATH`` with ``hook``
    first (then the caller's ``PYTHONPATH``) and `MUTANT_ENV`.
    """
    served = hook / "served"
    served.mkdir(parents=True)
    paths = {}
    digest = hashlib.sha256()
    for name, text in sorted(sources.items()):
        path = served / f"{name.replace('.', '_')}.py"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
        digest.update(name.encode() + b"\0" + text.encode())
    (hook / "served.json").write_text(json.dumps(paths), encoding="utf-8")
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    rest = os.environ.get("PYTHONPATH")
    return {
        "PYTHONPATH": os.pathsep.join([str(hook), *([rest] if rest else [])]),
        MUTANT_ENV: digest.hexdigest(),
    }


def loaded(hook: Path) -> list[str]:
    """``"<pid> <module>"`` for every import of a served module so far."""
    log = hook / "loaded.log"
    return log.read_text(encoding="utf-8").split("\n")[:-1] if log.is_file() else []
