"""Fixtures of the `inputs.real` tests: isolated network settings, the fault server, the
manifest's files as small FITS payloads, a local mirror, an empty destination."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.project.inputs.real.fault_server import (
    STALL_TIMEOUT,
    FaultServer,
    Route,
    fits_bytes,
    sha256,
)

from miri_background.inputs.real import fetch, manifest


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
    with FaultServer().running() as httpd:
        yield httpd


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
def artifactory(
    server: FaultServer, served: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> str:
    """Serve the payloads in the Artifactory layout and point TEST_BIGDATA at them; return
    that URL."""
    for remote in manifest.load_manifest():
        path = f"/artifactory/jwst-pipeline/dev/{remote.artifactory_path}"
        server.routes[path] = Route(served[remote.name])
    url = f"{server.url}/artifactory"
    monkeypatch.setenv("TEST_BIGDATA", url)
    return url


@pytest.fixture
def local_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, dict[str, bytes]], dict[str, Path]]:
    """TEST_BIGDATA set to a local mirror directory; ``put(env, payloads)`` writes each
    payload (file name -> bytes) at its manifest entry's Artifactory path under
    ``<mirror>/jwst-pipeline/<env>/`` and returns the file name -> path written."""
    root = tmp_path / "mirror"
    monkeypatch.setenv("TEST_BIGDATA", str(root))

    def put(env: str, payloads: dict[str, bytes]) -> dict[str, Path]:
        paths = {}
        for remote in manifest.load_manifest():
            if remote.name in payloads:
                path = paths[remote.name] = root / "jwst-pipeline" / env / remote.artifactory_path
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(payloads[remote.name])
        return paths

    return put


@pytest.fixture
def dest_dir(tmp_path: Path) -> Path:
    """An empty destination directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path

