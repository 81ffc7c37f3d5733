"""`manifest`: the remote files' list, validated, and member paths kept inside their directory."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from miri_background.inputs.real import manifest


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

