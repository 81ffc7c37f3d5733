"""Offline tests of `fetch`, `download` and `manifest` against a local fault-injecting server.

Each failure case checks two things: the `FetchError` says what went wrong, and the
destination directory holds no partial or unverified file afterwards.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from miri_background.inputs.real import fetch, manifest
from miri_background.inputs.real.download import FetchError, RetryPolicy, download

STALL_SECONDS = 5.0
"""How long a stalled response waits; the fixture releases it when the test ends."""

STALL_TIMEOUT = "0.15"
"""TEST_BIGDATA_TIMEOUT for the stall tests, in seconds: each attempt waits this long."""

HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Error: file not found</h1></body></html>"


@dataclasses.dataclass
class Route:
    """What the server answers for one path.

    Attributes
    ----------
    body : bytes
        The file served when no fault applies.
    fault : str or None
        See `FaultServer`; None serves ``body``.
    location : str or None
        Redirect target of the ``"redirect"`` fault.
    """

    body: bytes = b""
    fault: str | None = None
    location: str | None = None


class FaultServer(ThreadingHTTPServer):
    """HTTP server on 127.0.0.1 (ephemeral port) serving `routes` with injected faults.

    Faults: ``"server-error"`` (HTTP 500), ``"truncated"`` (Content-Length promises
    the body, half of it is sent), ``"short-fits"`` (half the body, no Content-Length),
    ``"stall"`` (no answer until the server stops), ``"stall-body"`` (half the body, then
    nothing until the server stops), ``"html-page"`` (HTTP 200 with an
    HTML error page) and ``"redirect"`` (HTTP 302 to the route's ``location``). A
    ``-once`` suffix applies the fault to the first request only. Unknown paths get 404.
    `hits` counts requests and `authorization` keeps the last Authorization header,
    per path.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FaultHandler)
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.authorization: dict[str, str | None] = {}
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up first (timeouts); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _FaultHandler(BaseHTTPRequestHandler):
    """Answer GET requests as the `FaultServer` routes say."""

    server: FaultServer

    def do_GET(self) -> None:
        """Serve the route for the path, applying its fault."""
        path = urllib.parse.urlsplit(self.path).path
        self.server.hits[path] += 1
        self.server.authorization[path] = self.headers.get("Authorization")
        route = self.server.routes.get(path)
        if route is None:
            self._reply(404, HTML_PAGE, "text/html")
            return
        fault = route.fault
        if fault is not None and fault.endswith("-once"):
            fault = fault.removesuffix("-once") if self.server.hits[path] == 1 else None
        half = route.body[: len(route.body) // 2]
        if fault == "server-error":
            self._reply(500, b"Internal Server Error", "text/plain")
        elif fault == "html-page":
            self._reply(200, HTML_PAGE, "text/html")
        elif fault == "redirect":
            self.send_response(302)
            self.send_header("Location", route.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fault in ("truncated", "short-fits", "stall-body"):
            self.send_response(200)
            if fault != "short-fits":
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(half)
            if fault == "stall-body":
                self.wfile.flush()
                self.server.stopping.wait(STALL_SECONDS)
        else:
            if fault == "stall":
                self.server.stopping.wait(STALL_SECONDS)
            self._reply(200, route.body, "application/fits")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        """Send a complete response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


def fits_bytes(value: float) -> bytes:
    """A small valid FITS file: a primary HDU holding a 4x4 float32 array of ``value``."""
    buffer = io.BytesIO()
    fits.PrimaryHDU(np.full((4, 4), value, dtype=np.float32)).writeto(buffer)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def listing(directory: Path) -> list[str]:
    """Names in ``directory``, hidden temporary files included."""
    return sorted(path.name for path in directory.iterdir())


@pytest.fixture(autouse=True)
def fast_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate from the caller's data settings; retry twice with a 10 ms first delay."""
    for key in ("TEST_BIGDATA", fetch.BOX_URL_ENV, "TEST_BIGDATA_CHUNK_SIZE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TEST_BIGDATA_TIMEOUT", "5")
    monkeypatch.setenv("TEST_BIGDATA_RETRY_MAX", "2")
    monkeypatch.setenv("TEST_BIGDATA_RETRY_DELAY", "0.01")


@pytest.fixture
def stall_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time out after `STALL_TIMEOUT` seconds, with a single retry."""
    monkeypatch.setenv("TEST_BIGDATA_TIMEOUT", STALL_TIMEOUT)
    monkeypatch.setenv("TEST_BIGDATA_RETRY_MAX", "1")


@pytest.fixture
def server():
    """A running `FaultServer`; stalled responses are released at teardown."""
    httpd = FaultServer()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.stopping.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Give every input file of the manifest a small FITS payload; the manifest records their
    checksums.

    The package manifest is replaced by a copy of its input entries (truth files are fetched
    only with --bigdata truth checks) with each payload's size and sha256.
    """
    payloads = {}
    entries = []
    inputs = [remote for remote in manifest.load_manifest() if remote.role != "truth"]
    for index, remote in enumerate(inputs):
        payload = payloads[remote.name] = fits_bytes(index)
        entries.append(
            dataclasses.asdict(remote) | {"size": len(payload), "sha256": sha256(payload)}
        )
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(entries))
    monkeypatch.setattr(manifest, "MANIFEST_PATH", path)
    return payloads


@pytest.fixture
def artifactory(server: FaultServer, served: dict[str, bytes]) -> str:
    """Serve the payloads in the Artifactory layout; return the TEST_BIGDATA URL."""
    for remote in manifest.load_manifest():
        path = f"/artifactory/jwst-pipeline/dev/{remote.artifactory_path}"
        server.routes[path] = Route(served[remote.name])
    return f"{server.url}/artifactory"


@pytest.fixture
def dest_dir(tmp_path: Path) -> Path:
    """An empty destination directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


def test_manifest_lists_the_notebook_files() -> None:
    files = manifest.load_manifest()
    assert Counter(remote.role for remote in files) == {
        "science": 4,
        "background": 4,
        "readnoise": 1,
        "truth": 8,
    }
    by_name = {remote.name: remote for remote in files}
    seq1 = by_name["starfield_med_seq1_MIRIMAGE_F770Wexp1.fits"]
    assert seq1.box_id == "4i7z7q24rotc52m6bcr5ymekt2whuwto"
    assert seq1.artifactory_path == f"miri/image/background/{seq1.name}"
    assert by_name["bkg_faint_seq4_MIRIMAGE_F770Wexp1.fits"].box_id == (
        "ppdyqjud4g5u1eaksztyx5b8rl1bzzzp"
    )
    assert by_name["jwst_mirisim_readnoise.fits"].box_id is None


def _write_manifest(tmp_path: Path, **changes: object) -> Path:
    """A one-entry manifest, valid unless ``changes`` break it."""
    entry = {
        "name": "a.fits",
        "role": "science",
        "box_id": "abc123",
        "artifactory_path": "miri/image/background/a.fits",
        "size": None,
        "sha256": None,
    } | changes
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps([entry]))
    return path


@pytest.mark.parametrize(
    "name",
    ["../evil.fits", "/etc/passwd", "sub/evil.fits", "..\\evil.fits", ".."],
    ids=["parent-dir", "absolute", "subdirectory", "backslash", "dot-dot"],
)
def test_manifest_rejects_name_escaping_the_data_dir(tmp_path: Path, name: str) -> None:
    path = _write_manifest(tmp_path, name=name)
    with pytest.raises(ValueError, match=re.escape(f"entry 0 ({name!r}): name must")):
        manifest.load_manifest(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role": "flat"}, "role 'flat' is not one of science"),
        ({"artifactory_path": "../a.fits"}, "artifactory_path '../a.fits' must"),
        ({"artifactory_path": "miri/b.fits"}, "artifactory_path 'miri/b.fits' must"),
        ({"box_id": "a/b"}, "box_id 'a/b' must"),
        ({"size": -1}, "size -1 must"),
        ({"sha256": "ABC"}, "sha256 'ABC' must"),
        ({"url": "x"}, "missing keys [], unknown keys ['url']"),
    ],
    ids=["role", "path-escape", "path-name", "box-id", "size", "sha256", "extra-key"],
)
def test_manifest_rejects_bad_field(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = _write_manifest(tmp_path, **changes)
    with pytest.raises(ValueError, match=re.escape(f"entry 0 ('a.fits'): {message}")):
        manifest.load_manifest(path)


def test_manifest_rejects_repeated_name(tmp_path: Path) -> None:
    path = _write_manifest(tmp_path)
    path.write_text(json.dumps(json.loads(path.read_text()) * 2))
    with pytest.raises(ValueError, match="names listed more than once: a.fits"):
        manifest.load_manifest(path)


@pytest.mark.parametrize("name", ["a.fits", "sub/a.fits"], ids=["file", "subdir"])
def test_safe_member_path_accepts_relative_name(tmp_path: Path, name: str) -> None:
    assert manifest.safe_member_path(tmp_path, name) == tmp_path.resolve() / name


@pytest.mark.parametrize(
    "name",
    ["../a.fits", "sub/../../a.fits", "..\\a.fits", "/etc/passwd", ""],
    ids=["parent-dir", "nested-parent", "backslash", "absolute", "empty"],
)
def test_safe_member_path_rejects_escape(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{name!r} must be a relative path")):
        manifest.safe_member_path(tmp_path, name)


def test_safe_member_path_rejects_symlink_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "link.fits").symlink_to(tmp_path / "outside.fits")
    with pytest.raises(ValueError, match="resolves to .*outside.fits, which is not"):
        manifest.safe_member_path(data, "link.fits")


def test_retry_policy_defaults() -> None:
    assert RetryPolicy.from_env({}) == RetryPolicy(
        timeout=30.0, retries=3, delay=1.0, chunk_size=16384
    )


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        ("TEST_BIGDATA_TIMEOUT", "-1", "timeout", None),
        ("TEST_BIGDATA_TIMEOUT", "0", "timeout", 1.0),
        ("TEST_BIGDATA_TIMEOUT", "0.5", "timeout", 0.5),
        ("TEST_BIGDATA_RETRY_MAX", "-2", "retries", 0),
        ("TEST_BIGDATA_RETRY_DELAY", "-1", "delay", 0.0),
        ("TEST_BIGDATA_CHUNK_SIZE", "10", "chunk_size", 512),
    ],
    ids=[
        "timeout-negative",
        "timeout-zero",
        "timeout-fraction",
        "retries",
        "delay",
        "chunk",
    ],
)
def test_retry_policy_follows_ci_watson_rules(
    key: str, value: str, field: str, expected: float | None
) -> None:
    assert getattr(RetryPolicy.from_env({key: value}), field) == expected


def test_retry_policy_rejects_non_number() -> None:
    with pytest.raises(ValueError, match="TEST_BIGDATA_RETRY_MAX='three' is not a number"):
        RetryPolicy.from_env({"TEST_BIGDATA_RETRY_MAX": "three"})


GOOD = fits_bytes(1.0)
OTHER = fits_bytes(2.0)


@pytest.mark.parametrize(
    ("fault", "expected", "hits", "message"),
    [
        ("missing", {}, 1, "HTTP 404 Not Found. Check the URL"),
        ("server-error", {}, 3, "HTTP 500 Internal Server Error (gave up after 3"),
        ("truncated", {}, 3, "truncated body: received 2880 of 5760 bytes"),
        ("short-fits", {}, 1, "truncated FITS file: its headers need 5760 bytes"),
        ("html-page", {}, 1, "not a FITS file (No SIMPLE card"),
        (
            None,
            {"expected_sha256": sha256(OTHER)},
            1,
            f"sha256 mismatch: expected {sha256(OTHER)}, got {sha256(GOOD)}",
        ),
        (
            None,
            {"expected_size": 100},
            1,
            "size mismatch: expected 100 bytes, got 5760",
        ),
    ],
    ids=[
        "not-found",
        "server-error",
        "truncated",
        "short-fits",
        "html-page",
        "wrong-checksum",
        "wrong-size",
    ],
)
def test_download_failure_leaves_nothing(
    server: FaultServer,
    dest_dir: Path,
    fault: str | None,
    expected: dict[str, object],
    hits: int,
    message: str,
) -> None:
    if fault != "missing":
        server.routes["/files/a.fits"] = Route(GOOD, fault)
    with pytest.raises(FetchError, match=re.escape(message)) as failure:
        download(f"{server.url}/files/a.fits", dest_dir / "a.fits", **expected)
    assert "a.fits" in str(failure.value)
    assert server.hits["/files/a.fits"] == hits
    assert listing(dest_dir) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [("stall", "timed out"), ("stall-body", "transfer broken after 2880 bytes: timed out")],
    ids=["before-headers", "mid-body"],
)
def test_download_times_out_on_stall(
    server: FaultServer, dest_dir: Path, stall_timeout: None, fault: str, message: str
) -> None:
    server.routes["/files/a.fits"] = Route(GOOD, fault)
    with pytest.raises(FetchError, match=re.escape(f"{message} (gave up after 2 attempt")):
        download(f"{server.url}/files/a.fits", dest_dir / "a.fits")
    assert server.hits["/files/a.fits"] == 2
    assert listing(dest_dir) == []


@pytest.mark.parametrize(
    ("fault", "path", "hits"),
    [
        ("server-error-once", "/files/a.fits", 2),
        ("truncated-once", "/files/a.fits", 2),
        (None, "/moved/a.fits", 1),
        (None, "/files/a.fits", 1),
    ],
    ids=["500-then-200", "truncated-then-200", "redirect", "plain"],
)
def test_download_succeeds(
    server: FaultServer, dest_dir: Path, fault: str | None, path: str, hits: int
) -> None:
    server.routes["/files/a.fits"] = Route(GOOD, fault)
    server.routes["/moved/a.fits"] = Route(location="/files/a.fits", fault="redirect")
    dest = download(f"{server.url}{path}", dest_dir / "a.fits", expected_sha256=sha256(GOOD))
    assert dest.read_bytes() == GOOD
    assert server.hits == {path: 1} | {"/files/a.fits": hits}
    assert listing(dest_dir) == ["a.fits"]


def test_download_retries_after_stall(
    server: FaultServer, dest_dir: Path, stall_timeout: None
) -> None:
    server.routes["/files/a.fits"] = Route(GOOD, "stall-once")
    download(f"{server.url}/files/a.fits", dest_dir / "a.fits")
    assert (dest_dir / "a.fits").read_bytes() == GOOD
    assert server.hits["/files/a.fits"] == 2


def test_failed_download_keeps_previous_file(server: FaultServer, dest_dir: Path) -> None:
    (dest_dir / "a.fits").write_bytes(OTHER)
    server.routes["/files/a.fits"] = Route(GOOD, "html-page")
    with pytest.raises(FetchError, match="not a FITS file"):
        download(f"{server.url}/files/a.fits", dest_dir / "a.fits")
    assert listing(dest_dir) == ["a.fits"]
    assert (dest_dir / "a.fits").read_bytes() == OTHER


def test_download_backs_off_exponentially(
    server: FaultServer,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TEST_BIGDATA_RETRY_DELAY", "0.05")
    server.routes["/files/a.fits"] = Route(GOOD, "server-error")
    start = time.monotonic()
    with pytest.raises(FetchError, match=re.escape("HTTP 500 Internal Server Error (gave up")):
        download(f"{server.url}/files/a.fits", dest_dir / "a.fits")
    waited = time.monotonic() - start
    assert re.findall(r"retrying in (\S+) s", caplog.text) == ["0.05", "0.10"]
    assert waited >= 0.15, f"waited {waited:.3f} s between attempts, expected >= 0.15 s"


def test_download_file_mode_follows_umask(server: FaultServer, dest_dir: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    server.routes["/files/a.fits"] = Route(GOOD)
    dest = download(f"{server.url}/files/a.fits", dest_dir / "a.fits")
    assert oct(dest.stat().st_mode & 0o777) == oct(0o666 & ~umask)


def test_credentials_and_query_kept_out_of_messages(
    server: FaultServer, dest_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.routes["/private/a.fits"] = Route(GOOD, "server-error")
    url = server.url.replace("//", "//reader:s3cret@") + "/private/a.fits?token=abc123"
    clean = f"{server.url}/private/a.fits"
    with pytest.raises(FetchError, match=re.escape(f"{clean}: HTTP 500")) as failure:
        download(url, dest_dir / "a.fits")
    assert server.authorization["/private/a.fits"] == "Basic cmVhZGVyOnMzY3JldA=="
    assert f"from {clean} (attempt 1 of 3); retrying" in caplog.text
    shown = str(failure.value) + caplog.text
    assert [word for word in ("s3cret", "reader", "token", "abc123") if word in shown] == []


def test_fetch_artifactory_downloads_then_reuses(
    artifactory: str,
    served: dict[str, bytes],
    server: FaultServer,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TEST_BIGDATA", artifactory)
    caplog.set_level(logging.INFO, logger="miri_background")
    fetched = fetch.fetch_artifactory(dest_dir)
    assert list(fetched) == list(served)
    assert {name: path.read_bytes() for name, path in fetched.items()} == served
    assert set(server.hits.values()) == {1}
    assert caplog.text.count("fetched ") == len(served)
    assert "(0.0 MB) from http://127.0.0.1" in caplog.text

    caplog.clear()
    assert fetch.fetch_artifactory(dest_dir) == fetched
    assert set(server.hits.values()) == {1}
    assert caplog.text.count("reused ") == len(served)
    assert listing(dest_dir) == sorted(served)


def test_fetch_artifactory_replaces_unverified_file(
    artifactory: str,
    served: dict[str, bytes],
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TEST_BIGDATA", artifactory)
    (dest_dir / "jwst_mirisim_readnoise.fits").write_bytes(HTML_PAGE)
    fetched = fetch.fetch_artifactory(dest_dir, roles=("readnoise",))
    assert list(fetched) == ["jwst_mirisim_readnoise.fits"]
    assert (
        fetched["jwst_mirisim_readnoise.fits"].read_bytes() == served["jwst_mirisim_readnoise.fits"]
    )
    assert "failed verification (size mismatch" in caplog.text


def test_fetch_artifactory_removes_unverified_file_when_refetch_fails(
    artifactory: str,
    server: FaultServer,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_BIGDATA", artifactory)
    server.routes.clear()
    (dest_dir / "jwst_mirisim_readnoise.fits").write_bytes(HTML_PAGE)
    with pytest.raises(FetchError, match="jwst_mirisim_readnoise.fits from .*: HTTP 404"):
        fetch.fetch_artifactory(dest_dir, roles=("readnoise",))
    assert listing(dest_dir) == []


def test_fetch_artifactory_checksum_mismatch(
    artifactory: str,
    server: FaultServer,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_BIGDATA", artifactory)
    readnoise = "/artifactory/jwst-pipeline/dev/miri/image/background/jwst_mirisim_readnoise.fits"
    good = server.routes[readnoise].body
    server.routes[readnoise] = Route(OTHER)
    with pytest.raises(
        FetchError,
        match=re.escape(f"sha256 mismatch: expected {sha256(good)}, got {sha256(OTHER)}"),
    ):
        fetch.fetch_artifactory(dest_dir, roles=("readnoise",))
    assert listing(dest_dir) == []


def test_fetch_artifactory_from_local_mirror(
    served: dict[str, bytes],
    tmp_path: Path,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mirror = tmp_path / "mirror"
    for remote in manifest.load_manifest():
        source = mirror / "jwst-pipeline" / "stable" / remote.artifactory_path
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(served[remote.name])
    monkeypatch.setenv("TEST_BIGDATA", str(mirror))
    fetched = fetch.fetch_artifactory(dest_dir, env="stable")
    assert {name: path.read_bytes() for name, path in fetched.items()} == served
    assert listing(dest_dir) == sorted(served)


def test_fetch_artifactory_local_mirror_bad_file(
    served: dict[str, bytes],
    tmp_path: Path,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = tmp_path / "jwst-pipeline/dev/miri/image/background/jwst_mirisim_readnoise.fits"
    source.parent.mkdir(parents=True)
    source.write_bytes(HTML_PAGE)
    monkeypatch.setenv("TEST_BIGDATA", str(tmp_path))
    with pytest.raises(
        FetchError,
        match=rf"readnoise.fits from {re.escape(str(source))} failed verification",
    ):
        fetch.fetch_artifactory(dest_dir, roles=("readnoise",))
    assert listing(dest_dir) == []


@pytest.mark.parametrize(
    ("bigdata", "message"),
    [
        (None, "TEST_BIGDATA is not set: set it to the Artifactory URL"),
        ("/no/such/dir", "is neither an http(s) URL nor an existing directory"),
        ("EMPTY_DIR", "jwst_mirisim_readnoise.fits is not at"),
    ],
    ids=["unset", "not-a-directory", "file-missing"],
)
def test_fetch_artifactory_bad_source(
    tmp_path: Path,
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    bigdata: str | None,
    message: str,
) -> None:
    if bigdata is not None:
        monkeypatch.setenv("TEST_BIGDATA", str(tmp_path) if bigdata == "EMPTY_DIR" else bigdata)
    with pytest.raises(FetchError, match=re.escape(message)):
        fetch.fetch_artifactory(dest_dir, roles=("readnoise",))
    assert listing(dest_dir) == []


def test_fetch_artifactory_unknown_role(dest_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_BIGDATA", str(dest_dir))
    with pytest.raises(ValueError, match="unknown role\\(s\\) flat: choose from science"):
        fetch.fetch_artifactory(dest_dir, roles=("flat",))


@pytest.mark.parametrize("via", ["argument", "environment"])
def test_fetch_box(
    server: FaultServer,
    served: dict[str, bytes],
    dest_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    via: str,
) -> None:
    notebook = [remote for remote in manifest.load_manifest() if remote.box_id is not None]
    for remote in notebook:
        server.routes[f"/box/{remote.box_id}.fits"] = Route(served[remote.name])
    base_url = f"{server.url}/box/"
    if via == "environment":
        monkeypatch.setenv(fetch.BOX_URL_ENV, base_url)
        fetched = fetch.fetch_box(dest_dir)
    else:
        fetched = fetch.fetch_box(dest_dir, base_url=base_url)
    assert list(fetched) == [remote.name for remote in notebook]
    assert len(fetched) == 8
    assert {name: path.read_bytes() for name, path in fetched.items()} == {
        name: served[name] for name in fetched
    }


def _notebook_names() -> list[str]:
    return [r.name for r in manifest.load_manifest() if r.role in manifest.NOTEBOOK_ROLES]


def test_from_directory_finds_notebook_files(served: dict[str, bytes], tmp_path: Path) -> None:
    for name in _notebook_names():
        (tmp_path / name).write_bytes(served[name])
    found = fetch.from_directory(tmp_path)
    assert list(found) == _notebook_names()
    assert list(found.values()) == [tmp_path.resolve() / name for name in found]


def test_from_directory_lists_missing_files(tmp_path: Path) -> None:
    names = _notebook_names()
    for name in names[:5]:
        (tmp_path / name).write_bytes(GOOD)
    with pytest.raises(
        FetchError,
        match=re.escape(f"lacks 3 of the 8 notebook files: {', '.join(names[5:])}"),
    ):
        fetch.from_directory(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HTML_PAGE, "not a FITS file (No SIMPLE card"),
        (GOOD[:3000], "truncated FITS file: its headers need 5760 bytes, it has 3000"),
        (GOOD + bytes(100), "100 bytes after the last readable HDU"),
    ],
    ids=["html-page", "truncated", "trailing-bytes"],
)
def test_from_directory_rejects_damaged_file(tmp_path: Path, content: bytes, message: str) -> None:
    names = _notebook_names()
    for name in names:
        (tmp_path / name).write_bytes(GOOD)
    (tmp_path / names[-1]).write_bytes(content)
    with pytest.raises(FetchError, match=re.escape(f"{names[-1]}: {message}")):
        fetch.from_directory(tmp_path)
