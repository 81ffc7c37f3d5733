"""Which mutants break their module's import, found without a pytest session.

A mutant whose module raises while it is executed (``float | None`` -> ``float & None``:
astropy evaluates its annotations when the module runs, and 1089 of the 1419 executed
candidates of ``sigma_clipping.py`` are such) is killed by every session that imports the
module: the suite's conftest imports the notebook's path (pytest exits 4 through the
served copy, `sessions.outcome`), an upstream test file imports its module. A session
costs 7-11 s to find that out; executing the mutated source costs milliseconds. So the
harness executes each selected mutant's source once, in a child interpreter (the harness
must stay free of the served package: `fork.preload`), and a side whose clean sessions
imported the module scores the mutant killed without a session (`sessions.killed_unrun`).

The check is exact only if executing the *original* source the same way succeeds: the
child executes it first and the harness stops if it does not. Each mutant runs under a
10 s alarm (a module-level loop made infinite counts as broken: the session would time
out). pytest has no such probe and cosmic-ray only runs whole test commands, hence this
module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE_SECONDS = 10
"""Per mutant: longer than any target module's import (under 1 s)."""


def broken(module: str, original: str, mutants: dict[str, str]) -> dict[str, str]:
    """{mutant id: the exception its source raises when executed as ``module``} for the
    ``mutants`` ({id: source}) that do not execute; the rest are absent.

    Raises
    ------
    RuntimeError
        When the original source does not execute that way (the probe would be wrong).
    """
    with tempfile.TemporaryDirectory(prefix="mb-imports-") as tmp:
        folder = Path(tmp)
        paths = {"original": folder / "original.py"}
        paths["original"].write_text(original)
        for i, (mid, source) in enumerate(mutants.items()):
            paths[mid] = folder / f"m{i:05d}.py"
            paths[mid].write_text(source)
        listing = folder / "paths.json"
        listing.write_text(json.dumps({k: str(v) for k, v in paths.items()}))
        code = "import sys; from miri_background.harness.mutation.imports import _probe; "
        code += "_probe(sys.argv[1], sys.argv[2])"
        done = subprocess.run(
            [sys.executable, "-c", code, module, str(listing)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"import probe of {module} failed:\n{done.stderr[-2000:]}")
    found = json.loads(done.stdout.splitlines()[-1])
    if "original" in found:
        raise RuntimeError(f"the unmutated {module} does not execute: {found['original']}")
    return found


def _probe(module: str, listing: str) -> None:
    """Child: execute each listed file as ``module`` (its package imported, the module
    itself never put in ``sys.modules``); print {key: "Type: message"} of those that raise."""
    import importlib
    import importlib.util
    import signal

    importlib.import_module(module.rpartition(".")[0])

    def alarm(*_):
        raise TimeoutError(f"still executing after {PROBE_SECONDS} s")

    signal.signal(signal.SIGALRM, alarm)
    errors = {}
    for key, path in json.loads(Path(listing).read_text()).items():
        spec = importlib.util.spec_from_file_location(module, path)
        signal.alarm(PROBE_SECONDS)
        try:
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        except BaseException as exc:  # noqa: BLE001 - any raise breaks the import
            errors[key] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            signal.alarm(0)
    print(json.dumps(errors))
