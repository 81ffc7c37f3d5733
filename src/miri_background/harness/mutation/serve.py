"""Serve mutated jwst modules to a process, never touching the installed jwst.

`prepare` writes, in a throwaway directory ``hook``::

    hook/served.json             {module name: path of its mutated source}
    hook/served/<module>.py      the mutated source (its __pycache__ is written here too)
    hook/loaded.log              one line "<pid> <module>" per process that imported it

`install` (run by each forked session, `fork`) puts a `MutantFinder` first on
``sys.meta_path``. It answers only for the names in ``served.json`` (a spec whose loader
reads the copy); every other module, the rest of ``jwst`` included, is found as usual.
Nothing is written under the installed package, so killing the harness (or a session) at
any moment leaves it as it was; ``loaded.log`` proves that the mutant, not the original,
was imported, and by which process.

``MUTANT_ENV`` carries the sha256 of the served sources into the session: every cache key
on jwst's code adds it (``software.served_overrides``), so no mutant reuses another's
product.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path

from miri_background.software import OVERRIDES_ENV as MUTANT_ENV

__all__ = ["MUTANT_ENV", "MutantFinder", "install", "loaded", "prepare"]


def prepare(hook: Path, sources: dict[str, str]) -> str:
    """Write the hook directory serving ``sources`` ({module name: source text}); returns
    the sha256 of the served sources (the value of `MUTANT_ENV` in the session)."""
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
    return digest.hexdigest()


def served_files(hook: Path) -> dict[str, str]:
    """{module name: path of the served copy} of a prepared ``hook``."""
    return json.loads((hook / "served.json").read_text(encoding="utf-8"))


class _LoggingLoader(importlib.machinery.SourceFileLoader):
    """Reads the copy, and appends ``"<pid> <module>"`` to ``loaded.log`` first."""

    def __init__(self, fullname: str, path: str, log: Path):
        super().__init__(fullname, path)
        self.log = log

    def exec_module(self, module):
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {module.__name__}\n")
        super().exec_module(module)


class MutantFinder(importlib.abc.MetaPathFinder):
    """Finds the modules ``hook`` serves (from their copies); None for every other name."""

    def __init__(self, hook: Path):
        self.hook = Path(hook)
        self.served = served_files(self.hook)

    def find_spec(self, fullname, path=None, target=None):
        source = self.served.get(fullname)
        if source is None:
            return None
        loader = _LoggingLoader(fullname, source, self.hook / "loaded.log")
        return importlib.util.spec_from_file_location(fullname, source, loader=loader)


def install(hook: Path) -> MutantFinder:
    """Put a `MutantFinder` of ``hook`` first on ``sys.meta_path`` (this process only)."""
    finder = MutantFinder(hook)
    sys.meta_path.insert(0, finder)
    return finder


def loaded(hook: Path) -> list[str]:
    """``"<pid> <module>"`` for every import of a served module so far."""
    log = hook / "loaded.log"
    return log.read_text(encoding="utf-8").split("\n")[:-1] if log.is_file() else []
