"""No credential of TEST_BIGDATA in any output; its query string survives the path join.

A local server (`test_fetch.FaultServer`) serves the input files under
``/path/jwst-pipeline/dev/...`` and answers only requests that carry ``?token=abc``.
TEST_BIGDATA is ``http://user:secret123@127.0.0.1:<port>/path?token=abc``.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from tests.project.inputs.real.fault_server import FaultHandler, FaultServer, Route, fits_bytes
from tests.project.suite_runner import SRC, run_suite

from miri_background.inputs.real import manifest
from miri_background.inputs.real.secret_url import SecretURL

SECRETS = ("secret123", "token=abc", "dXNlcjpzZWNyZXQxMjM")  # the last: base64 of user:secret123


class _TokenHandler(FaultHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        """HTTP 403 unless the query string is ``token=abc``."""
        if urllib.parse.urlsplit(self.path).query != "token=abc":
            self._reply(403, b"Forbidden", "text/plain")
        else:
            super().do_GET()


class TokenServer(FaultServer):
    """A FaultServer whose files exist only for requests with ``?token=abc``."""

    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = _TokenHandler


@pytest.fixture
def token_server():
    httpd = TokenServer()
    for index, remote in enumerate(manifest.load_manifest()):
        if remote.role != "truth":
            path = f"/path/jwst-pipeline/dev/{remote.artifactory_path}"
            httpd.routes[path] = Route(fits_bytes(index), "server-error-once")
    with httpd.running():
        yield httpd


def test_secret_url_join_keeps_the_query_after_the_path() -> None:
    url = SecretURL("https://u:p@h/p?token=abc").join("jwst-pipeline/dev").join("a b.fits")
    assert url.request().full_url == "https://h/p/jwst-pipeline/dev/a%20b.fits?token=abc"
    assert url.request().unredirected_hdrs["Authorization"] == "Basic dTpw"
    assert str(url) == repr(url)[11:-2] == "https://h/p/jwst-pipeline/dev/a%20b.fits"


FAILING = '''
from miri_background.inputs.real import fetch

def test_truth_fetch_fails(tmp_path, inputs):
    url = fetch.bigdata_root()
    fetch.fetch_artifactory(tmp_path, roles=("truth",))  # not served: HTTP 404
'''


def test_no_secret_in_any_output(token_server: FaultServer, tmp_path: Path) -> None:
    """The inputs are fetched (path joined before the query, credentials sent); a test that
    fails inside the fetcher prints long tracebacks with locals; then the report is built.
    None of terminal, junit.xml, report.html, summary.json or the run
    directory holds the password, the token or the basic-auth header."""
    bigdata = token_server.url.replace("//", "//user:secret123@") + "/path?token=abc"
    root = tmp_path / "root"
    run = run_suite(
        root,
        "--bigdata",
        "--tb=long",
        "--showlocals",
        "-rA",
        "--log-level=DEBUG",
        f"--junitxml={root / 'junit.xml'}",
        env={"TEST_BIGDATA": bigdata, "TEST_BIGDATA_RETRY_DELAY": "0.01"},
        files={"test_fail.py": FAILING, "test_inputs.py": ""},
    )
    assert run.returncode == 1 and "1 failed" in run.output, run.output[-4000:]
    assert "HTTP 404 Not Found" in run.output, run.output[-4000:]
    served = [p for p in token_server.hits if "/truth/" not in p]
    assert len(served) == 9 and all(token_server.hits[p] == 2 for p in served), token_server.hits
    assert set(token_server.authorization.values()) == {"Basic dXNlcjpzZWNyZXQxMjM="}
    (run_dir,) = (root / "runs").glob("run-*")
    report = subprocess.run(
        [sys.executable, "-m", "miri_background", "report", "--out", str(root / "reports")]
        + ["--run", str(run_dir)],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = {"terminal": run.output, "report command": report.stdout + report.stderr}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc", ".lock"):
            outputs[str(path.relative_to(root))] = path.read_bytes().decode("latin-1")
    assert {"junit.xml", "reports/report.html", "reports/summary.json"} <= set(outputs), sorted(
        outputs
    )
    leaks = {name: s for name, text in outputs.items() for s in SECRETS if s in text}
    assert leaks == {}, f"secrets found: {leaks}"
