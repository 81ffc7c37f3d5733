"""Configure-time checks of the options and the environment: one `pytest.UsageError` each.

Each problem the user must fix stops the run before any test with a message that names
the input and what to do (pytest exits with status 4 and prints no traceback):

* ``--sim-seed`` is an integer >= 0 (`nonnegative_int`, the option's argparse type);
* ``--env`` (ci-watson's) is ``dev``, ``stable`` or a plain name (letters, digits, ``.``,
  ``_``, ``-``; no ``/``, no ``..``), since it becomes a path component of the mirror;
* ``TEST_BIGDATA``, when real data are asked for, is set and is a well-formed http(s) URL
  or an existing directory (`secret_url.url_problem`; the message is redacted);
* the cache and runs directories can be created and written (a file is created there);
* the free disk space is at least what the run will write (`space_needed_mb`), given the
  cache's state; when short, the message says what pruning the cache would free.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from miri_background.inputs.real.download import FetchError
from miri_background.inputs.real.fetch import BIGDATA_ENV, bigdata_root

__all__ = ["check", "nonnegative_int", "space_needed_mb"]

RUN_DIR_LINKED_MB = 50
"""Free space for one run directory whose products are hard links into the cache (same
file system), MB: its logs, associations and records (measured 9 MB per run)."""

RUN_DIR_MB = 560
"""Free space for one run directory on another file system than the cache (its products then
copies), MB. Measured: a complete run (uncal level) is 551 MB (background/ 388 MB: 12 bsub
+ 12 combined products; detector1/ 162 MB: 8 rate files; asn/, logs/, stages/ < 1 MB)."""

COLD_CACHE_MB = 700
"""Free space for the cache entries a cold run builds, MB. Measured on a cold cache: 8
simulated exposures (25 MB each), the assembled data set (325 MB) and 8 detector1 entries
(21 MB each): 693 MB."""

REAL_DATA_MB = 200
"""Free space for the 8 downloaded real exposures (artifactory, box), MB: 8 x 25 MB, the
size of the simulated uncal files of the same shape (the manifest records no sizes yet)."""

_SAFE_ENV = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def nonnegative_int(text: str) -> int:
    """argparse type of ``--sim-seed``: an integer >= 0 (numpy's seeds are unsigned)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise pytest.UsageError(
            f"--sim-seed={text!r}: the seed of the built-in data set must be an integer >= 0 "
            "(numpy seeds are unsigned); leave it out for the canonical seed the truth is for"
        )
    return value


def wants_real_data(config) -> str | None:
    """The real data source asked for (``artifactory``, ``box``, ``dir:PATH``) or None."""
    if config.getoption("bigdata", False):
        return "artifactory"
    source = config.getoption("data_source", "simulated")
    return None if source == "simulated" else source


def space_needed_mb(config, cache_dir: Path | None = None) -> tuple[int, int]:
    """Free MB the run needs in the runs directory and in the cache: a run directory
    (`RUN_DIR_MB`) plus the downloads of a remote source (`REAL_DATA_MB`), and what the run
    will add to the cache at ``cache_dir`` (`cache_admin.expected_writes`: the entries it
    will rebuild; `COLD_CACHE_MB` for an empty cache; built-in data only)."""
    from miri_background.cache_admin import expected_writes

    source = wants_real_data(config)
    download = REAL_DATA_MB if source in ("artifactory", "box") else 0
    if source is not None:
        return RUN_DIR_MB + download, 0
    writes = (
        None
        if cache_dir is None
        else expected_writes(
            cache_dir,
            rebuild_all=bool(config.getoption("no_cache", False)),
            fault=bool(config.getoption("inject_fault", None)),
        )
    )
    return RUN_DIR_MB, COLD_CACHE_MB if writes is None else round(writes / 1e6)


def check(config, cache_dir: Path, runs_dir: Path) -> None:
    """Run every check; raise `pytest.UsageError` for the first problem found."""
    checks = (
        lambda: _env_problem(config),
        lambda: _bigdata_problem(config),
        lambda: _directory_problem("--cache-dir", cache_dir),
        lambda: _directory_problem("the runs directory (ini miri_background_runs)", runs_dir),
        lambda: _space_problem(config, cache_dir, runs_dir),  # needs both directories
    )
    for check_one in checks:
        if (problem := check_one()) is not None:
            raise pytest.UsageError(problem)


def _env_problem(config) -> str | None:
    env = config.getoption("env", None)
    if env is None or env in ("dev", "stable") or (_SAFE_ENV.fullmatch(env) and ".." not in env):
        return None
    return (
        f"--env={env!r}: the Artifactory environment is a path component of "
        "$TEST_BIGDATA/<inputs_root>/<env>/; use dev, stable or a plain name "
        "(letters, digits, '.', '_', '-'; no '/' and no '..')"
    )


def _bigdata_problem(config) -> str | None:
    if wants_real_data(config) != "artifactory":
        return None
    try:
        root = bigdata_root()
    except FetchError as exc:
        return str(exc)
    if root is None:
        return (
            f"{BIGDATA_ENV} is not set: --bigdata / --data-source artifactory read the inputs "
            f"from ${BIGDATA_ENV}/<inputs_root>/<env>/miri/image/background/; set it to the "
            "Artifactory URL or a local mirror directory (or drop --bigdata for the built-in "
            "data)"
        )
    return None


def _directory_problem(what: str, path: Path) -> str | None:
    """Create ``path`` if needed and a file in it; say why that failed."""
    probe = path / f".tmp{os.getpid()}.write-probe"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return (
            f"{what} {path} cannot be written ({exc.strerror or type(exc).__name__}): "
            "choose a directory you can write to, or fix its permissions"
        )
    return None


def _space_problem(config, cache_dir: Path, runs_dir: Path) -> str | None:
    run_mb, cache_mb = space_needed_mb(config, cache_dir)
    if os.stat(cache_dir).st_dev == os.stat(runs_dir).st_dev:
        needed = {runs_dir: run_mb - RUN_DIR_MB + RUN_DIR_LINKED_MB + cache_mb}
    else:
        needed = {runs_dir: run_mb, cache_dir: cache_mb}
    for path, mb in needed.items():
        free = shutil.disk_usage(path).free / 1e6
        if free < mb:
            return (
                f"only {free:.0f} MB free on the disk of {path}; this run needs {mb} MB there "
                f"(a run directory ~{run_mb} MB, {RUN_DIR_LINKED_MB} MB when linked into the "
                f"cache; {cache_mb} MB of cache entries it will build"
                f"{' (a cold cache)' if cache_mb == COLD_CACHE_MB else ''}): "
                f"{_what_to_prune(cache_dir, mb - free)}"
            )
    return None


def _what_to_prune(cache_dir: Path, short_mb: float) -> str:
    """What would free ``short_mb``: the cache's evictable entries, else another disk."""
    from miri_background.cache_admin import entries

    total = sum(e.size for e in entries(cache_dir)) / 1e6
    if total >= short_mb:
        size = max(0, int(total - short_mb) // 100 * 100)
        return (
            f"the cache holds {total:.0f} MB; free {short_mb:.0f} MB with `python -m "
            f"miri_background cache prune --cache-dir {cache_dir} --size {size}MB` (or "
            f"--cache-size {size}MB), or point --cache-dir at a larger disk"
        )
    return (
        f"the cache holds only {total:.0f} MB: free {short_mb:.0f} MB elsewhere, or point "
        "--cache-dir and the ini miri_background_runs at a larger disk"
    )
