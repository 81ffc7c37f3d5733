"""The remote manifest: which real MIRI imaging input files exist and where they live.

The files are listed in ``remote_manifest.json`` beside this module (`load_manifest`): each entry
names a file, its role, its Box shared-link id, its path below the Artifactory tree and,
when recorded, its size and SHA-256. `safe_member_path` keeps a listed name inside the
data directory it is resolved in.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["RemoteFile", "load_manifest", "safe_member_path"]

MANIFEST_PATH = Path(__file__).parent / "remote_manifest.json"
"""The manifest `load_manifest` reads when given no path."""

ROLES = ("science", "background", "readnoise", "truth")
NOTEBOOK_ROLES = ("science", "background")
"""Roles of the 8 files the validation notebook downloaded from Box."""

_MANIFEST_KEYS = ("name", "role", "box_id", "artifactory_path", "size", "sha256")


@dataclass(frozen=True)
class RemoteFile:
    """One entry of the manifest.

    Attributes
    ----------
    name : str
        Local file name: the name the validation notebook used.
    role : str
        One of ``"science"``, ``"background"``, ``"readnoise"``, ``"truth"``.
    box_id : str or None
        Box shared-link id; the file is at ``<box base URL>/<box_id>.fits``.
    artifactory_path : str
        POSIX path below ``<TEST_BIGDATA>/<inputs_root>/<env>/``.
    size : int or None
        Size in bytes; None while not recorded.
    sha256 : str or None
        Lower-case hexadecimal SHA-256; None while not recorded.
    """

    name: str
    role: str
    box_id: str | None
    artifactory_path: str
    size: int | None
    sha256: str | None


def load_manifest(path: str | os.PathLike[str] | None = None) -> tuple[RemoteFile, ...]:
    """Read and validate the list of remote files.

    Parameters
    ----------
    path : str or path-like, optional
        JSON file holding a list of objects with exactly the keys ``name``, ``role``,
        ``box_id``, ``artifactory_path``, ``size`` and ``sha256``. Default
        `MANIFEST_PATH`, the manifest shipped with the package.

    Returns
    -------
    tuple of RemoteFile
        The entries in file order.

    Raises
    ------
    ValueError
        If the file is not such a list, or an entry is invalid: a name that is not a
        plain file name (absolute, ``..``, a directory part), an unknown role, an
        ``artifactory_path`` that is absolute, climbs with ``..`` or does not end in the
        name, a bad ``box_id``, ``size`` or ``sha256``, or a repeated name. The message
        names the manifest and the entry.
    """
    path = Path(MANIFEST_PATH if path is None else path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of entries, got {type(raw).__name__}")
    files = tuple(_parse_entry(entry, index, path) for index, entry in enumerate(raw))
    names = [remote.name for remote in files]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}: names listed more than once: {', '.join(repeated)}")
    return files


def _parse_entry(entry: object, index: int, manifest: Path) -> RemoteFile:
    """Check one manifest entry; see `load_manifest` for the rules."""
    label = f"entry {index}"
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        label += f" ({entry['name']!r})"

    def fail(problem: str) -> ValueError:
        return ValueError(f"{manifest}: {label}: {problem}")

    if not isinstance(entry, dict):
        raise fail(f"expected an object, got {type(entry).__name__}")
    missing = [key for key in _MANIFEST_KEYS if key not in entry]
    unknown = sorted(set(entry) - set(_MANIFEST_KEYS))
    if missing or unknown:
        raise fail(
            f"missing keys {missing}, unknown keys {unknown}; "
            f"the keys are {', '.join(_MANIFEST_KEYS)}"
        )
    name, role, box_id = entry["name"], entry["role"], entry["box_id"]
    remote_path, size, sha256 = (
        entry["artifactory_path"],
        entry["size"],
        entry["sha256"],
    )
    if not _is_plain_name(name):
        raise fail("name must be a plain file name: not absolute, no '..', no directory part")
    if role not in ROLES:
        raise fail(f"role {role!r} is not one of {', '.join(ROLES)}")
    if box_id is not None and not (
        isinstance(box_id, str) and box_id.isascii() and box_id.isalnum()
    ):
        raise fail(f"box_id {box_id!r} must be null or letters and digits only")
    if not (
        isinstance(remote_path, str)
        and "\\" not in remote_path
        and not PurePosixPath(remote_path).is_absolute()
        and ".." not in PurePosixPath(remote_path).parts
        and PurePosixPath(remote_path).name == name
    ):
        raise fail(f"artifactory_path {remote_path!r} must be a relative path ending in the name")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise fail(f"size {size!r} must be null or a byte count")
    if sha256 is not None and not (
        isinstance(sha256, str) and len(sha256) == 64 and set(sha256) <= set("0123456789abcdef")
    ):
        raise fail(f"sha256 {sha256!r} must be null or 64 lower-case hex digits")
    return RemoteFile(name, role, box_id, remote_path, size, sha256)


def _is_plain_name(name: object) -> bool:
    """Whether ``name`` is a file name with no directory part (so it stays in its dir)."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


def safe_member_path(data_dir: str | os.PathLike[str], name: str | os.PathLike[str]) -> Path:
    """Resolve a file name from a manifest or an association inside a data directory.

    Parameters
    ----------
    data_dir : str or path-like
        The directory the file must stay in.
    name : str or path-like
        A relative path; subdirectories are allowed.

    Returns
    -------
    Path
        The absolute, resolved path of ``name`` inside ``data_dir``.

    Raises
    ------
    ValueError
        If ``name`` is empty, absolute, contains a ``..`` part (``/`` or ``\\``
        separated), or resolves outside ``data_dir`` (e.g. through a symbolic link).
    """
    text = os.fspath(name)
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if not text or Path(text).is_absolute() or text.startswith(("/", "\\")) or ".." in parts:
        raise ValueError(f"{text!r} must be a relative path inside {data_dir} without '..'")
    root = Path(data_dir).resolve()
    target = (root / text).resolve()
    if target == root or not target.is_relative_to(root):
        raise ValueError(f"{text!r} resolves to {target}, which is not a file inside {root}")
    return target
