"""`fetch`: a source's files (Artifactory, a local mirror, Box, a directory), each verified,
reused when it still matches the manifest, and never left half-written."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.project.inputs.real.fault_server import (
    GOOD,
    HTML_PAGE,
    OTHER,
    FaultServer,
    Route,
    listing,
    sha256,
)

from miri_background.inputs.real import fetch, manifest
from miri_background.inputs.real.download import FetchError


def test_fetch_artifactory_downloads_then_reuses(
    artifactory: str,
    served: dict[str, bytes],
    server: FaultServer,
    dest_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
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
    caplog: pytest.LogCaptureFixture,
) -> None:
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
) -> None:
    server.routes.clear()
    (dest_dir / "jwst_mirisim_readnoise.fits").write_bytes(HTML_PAGE)
    with pytest.raises(FetchError, match="jwst_mirisim_readnoise.fits from .*: HTTP 404"):
        fetch.fetch_artifactory(dest_dir, roles=("readnoise",))
    assert listing(dest_dir) == []


def test_fetch_artifactory_checksum_mismatch(
    artifactory: str,
    server: FaultServer,
    dest_dir: Path,
) -> None:
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
    served: dict[str, bytes], local_mirror: Callable, dest_dir: Path
) -> None:
    local_mirror("stable", served)
    fetched = fetch.fetch_artifactory(dest_dir, env="stable")
    assert {name: path.read_bytes() for name, path in fetched.items()} == served
    assert listing(dest_dir) == sorted(served)


def test_fetch_artifactory_local_mirror_bad_file(
    served: dict[str, bytes], local_mirror: Callable, dest_dir: Path
) -> None:
    """A mirror's file that fails verification is named with its path (``served``: the
    manifest records the good payloads' checksums)."""
    source = local_mirror("dev", {"jwst_mirisim_readnoise.fits": HTML_PAGE})[
        "jwst_mirisim_readnoise.fits"
    ]
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
