"""Hostile inputs: each gives exactly one clear message, exit status 4, no traceback.

Every case runs the plugin in a subprocess (`suite_runner`) on 21 tests that need the data
source, so a set-up error that were repeated per test would show 21 times. Before this
suite stopped set-up errors once, each of these printed 8,000 to 72,000 lines, exit 1.
"""

from __future__ import annotations

import ast
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.project.suite_runner import run_suite

from miri_background.inputs.real import manifest
from miri_background.pytest_plugin import preflight

ROOT = Path(__file__).resolve().parents[3]


def _notebook_names() -> list[str]:
    return [r.name for r in manifest.load_manifest() if r.role in manifest.NOTEBOOK_ROLES]


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make(case: str, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """Arguments and environment of one hostile case; files it needs are made in ``tmp``."""
    data = tmp / "data"
    if case in ("truncated", "not-fits", "symlink-out"):
        data.mkdir(parents=True)
        (tmp / "outside.fits").write_bytes(b"SIMPLE  =" + b" " * 100)
        for name in _notebook_names():
            if case == "symlink-out":
                (data / name).symlink_to(tmp / "outside.fits")
            elif case == "truncated":
                (data / name).write_bytes(b"SIMPLE  =                    T" + b" " * 50)
            else:
                (data / name).write_text("<html>login page</html>\n")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "a_file").write_text("")
    return {
        "negative-seed": (["--sim-seed", "-5"], {}),
        "text-seed": (["--sim-seed", "abc"], {}),
        "env-escapes": (["--bigdata", "--env", "../../outside"], {"TEST_BIGDATA": str(tmp)}),
        "env-slash": (["--bigdata", "--env", "dev/x"], {"TEST_BIGDATA": str(tmp)}),
        "cache-under-a-file": ([f"--cache-dir={tmp / 'a_file' / 'cache'}"], {}),
        "runs-under-a-file": (["-o", f"miri_background_runs={tmp / 'a_file' / 'runs'}"], {}),
        "bigdata-unset": (["--bigdata"], {}),
        "bigdata-malformed": (["--bigdata"], {"TEST_BIGDATA": "http://[::1/x"}),
        "bigdata-bad-port": (["--bigdata"], {"TEST_BIGDATA": "http://127.0.0.1:99999/x"}),
        "bigdata-not-a-dir": (["--bigdata"], {"TEST_BIGDATA": str(tmp / "nowhere")}),
        "bigdata-unreachable": (
            ["--bigdata"],
            {"TEST_BIGDATA": f"http://127.0.0.1:{_closed_port()}/a", "TEST_BIGDATA_RETRY_MAX": "0"},
        ),
        "dir-missing": ([f"--data-source=dir:{tmp / 'nowhere'}"], {}),
        "truncated": ([f"--data-source=dir:{data}"], {}),
        "not-fits": ([f"--data-source=dir:{data}"], {}),
        "symlink-out": ([f"--data-source=dir:{data}"], {}),
    }[case]


EXPECTED = {
    "negative-seed": "--sim-seed='-5': the seed of the built-in data set must be an integer >= 0",
    "text-seed": "--sim-seed='abc'",
    "env-escapes": "--env='../../outside': the Artifactory environment is a path component",
    "env-slash": "--env='dev/x'",
    "cache-under-a-file": "cache-dir",
    "runs-under-a-file": "the runs directory (ini miri_background_runs)",
    "bigdata-unset": "TEST_BIGDATA is not set",
    "bigdata-malformed": "TEST_BIGDATA: <unparseable URL>: not a well-formed URL",
    "bigdata-bad-port": "TEST_BIGDATA: http://127.0.0.1:99999/x: not a well-formed URL (Port",
    "bigdata-not-a-dir": "is neither an http(s) URL nor an existing directory",
    "bigdata-unreachable": "Connection refused",
    "dir-missing": "does not exist: check the dir:PATH data source",
    "truncated": "Replace it with a good copy",
    "not-fits": "not a FITS file",
    "symlink-out": "which is not a file inside",
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_hostile_input_is_one_usage_error(case: str, tmp_path: Path) -> None:
    args, env = _make(case, tmp_path / "in")
    run = run_suite(tmp_path / "root", *args, env=env)
    assert run.returncode == 4, run.output[-3000:]
    assert run.output.startswith("ERROR: ") and EXPECTED[case] in run.output, run.output[-3000:]
    assert run.lines <= 3, run.output[-3000:]
    assert "Traceback" not in run.output and "ERROR at setup" not in run.output


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_usage_error_in_a_session_fixture_stops_once(workers: list[str], tmp_path: Path) -> None:
    """A UsageError raised inside a session fixture (under xdist: in a worker) is reported
    once, as its message, and ends the run with exit status 4."""
    conftest = (
        'pytest_plugins = ("miri_background.pytest_plugin",)\n'
        "import pytest\n\n"
        '@pytest.fixture(scope="session")\n'
        "def broken():\n"
        '    raise pytest.UsageError("the widget file is missing: put it in /w")\n'
    )
    tests = (
        "import pytest\n\n@pytest.mark.parametrize('i', range(30))\n"
        "def test_x(broken, i):\n    pass\n"
    )
    run = run_suite(tmp_path, *workers, files={"test_x.py": tests, "conftest.py": conftest})
    assert run.returncode == 4, run.output
    assert run.output.count("the widget file is missing: put it in /w") <= 2, run.output
    assert "Traceback" not in run.output and run.output.count("ERROR at setup") == 1, run.output
    assert run.lines <= 16, run.output


def test_strict_xfails_accept_only_assertion_errors() -> None:
    """Every xfail marker of the regression suite names ``raises=AssertionError``, so a
    set-up error (products never made) is an error, not an expected failure."""
    offenders = []
    for path in sorted((ROOT / "tests" / "regression").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("mark.xfail"):
                raises = [k for k in node.keywords if k.arg == "raises"]
                if not raises or ast.unparse(raises[0].value) != "AssertionError":
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == [], f"xfail without raises=AssertionError at {', '.join(offenders)}"


def test_setup_error_under_strict_xfail_is_an_error(tmp_path: Path) -> None:
    """What raises=AssertionError buys: a fixture error is not counted as xfailed."""
    tests = (
        "import pytest\n\n@pytest.fixture\ndef products():\n"
        "    raise RuntimeError('no products')\n\n"
        "@pytest.mark.xfail(strict=True, raises=AssertionError)\n"
        "def test_err(products):\n    assert False\n"
    )
    run = run_suite(tmp_path, "-p", "no:randomly", files={"test_x.py": tests})
    assert run.returncode == 1 and "1 error" in run.output and "xfailed" not in run.output


def _config(**options) -> SimpleNamespace:
    values = {"bigdata": False, "data_source": "simulated", "env": "dev"} | options
    return SimpleNamespace(getoption=lambda name, default=None: values.get(name, default))


def test_free_disk_check_names_the_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Too little free space: the message says how much is free and how much is needed."""
    usage = SimpleNamespace(total=10**12, used=0, free=600 * 10**6)
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: usage)
    # same disk, empty cache: a linked run directory (50 MB) and a cold cache (700 MB)
    with pytest.raises(pytest.UsageError, match=r"only 600 MB free .* this run needs 750 MB"):
        preflight.check(_config(), tmp_path / "cache", tmp_path / "runs")
    preflight.check(_config(data_source=f"dir:{tmp_path}"), tmp_path / "cache", tmp_path / "runs")


def test_plain_env_names_are_accepted(tmp_path: Path) -> None:
    for env in ("dev", "stable", "rc-3.0.1", "my_env"):
        preflight.check(_config(env=env), tmp_path / "cache", tmp_path / "runs")


def test_short_disk_message_says_what_to_prune(tmp_path: Path, monkeypatch) -> None:
    """A cache holding 2000 MB, 600 MB free, a warm run (50 MB): no problem; 30 MB free:
    the message names the prune command and a size that frees the shortfall."""
    entry = tmp_path / "cache" / "simulated" / ("a" * 24)
    entry.mkdir(parents=True)
    (entry / "MANIFEST.json").write_text('{"parts": {}, "files": {}, "size": 2000000000}')
    for free_mb, problem in ((600, False), (30, True)):
        usage = SimpleNamespace(total=10**12, used=0, free=free_mb * 10**6)
        monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path, u=usage: u)
        if not problem:
            preflight.check(_config(), tmp_path / "cache", tmp_path / "runs")
            continue
        with pytest.raises(pytest.UsageError, match=r"needs 50 MB .* cache prune .*--size 1900MB"):
            preflight.check(_config(), tmp_path / "cache", tmp_path / "runs")
