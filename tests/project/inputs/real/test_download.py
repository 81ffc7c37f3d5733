"""`download`: one verified, atomic download with ci-watson's retry rules.

Each failure case checks two things: the `FetchError` says what went wrong, and the
destination directory holds no partial or unverified file afterwards.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import pytest
from tests.project.inputs.real.fault_server import (
    GOOD,
    OTHER,
    FaultServer,
    Route,
    listing,
    sha256,
)

from miri_background.inputs.real.download import FetchError, RetryPolicy, download


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
    caplog.set_level(logging.DEBUG)
    server.routes["/private/a.fits"] = Route(GOOD, "server-error")
    url = server.url.replace("//", "//reader:s3cret@") + "/private/a.fits?token=abc123"
    clean = f"{server.url}/private/a.fits"
    with pytest.raises(FetchError, match=re.escape(f"{clean}: HTTP 500")) as failure:
        download(url, dest_dir / "a.fits")
    assert server.authorization["/private/a.fits"] == "Basic cmVhZGVyOnMzY3JldA=="
    assert f"from {clean} (attempt 1 of 3); retrying" in caplog.text
    shown = str(failure.value) + caplog.text
    assert [word for word in ("s3cret", "reader", "token", "abc123") if word in shown] == []


def test_connection_refused_is_retried(dest_dir: Path) -> None:
    with FaultServer().running() as closed:
        url = f"{closed.url}/files/a.fits"  # the port is free again once the block ends
    message = "Connection refused) (gave up after 3 attempt(s))"
    with pytest.raises(FetchError, match=re.escape(message)):
        download(url, dest_dir / "a.fits")
    assert listing(dest_dir) == []
