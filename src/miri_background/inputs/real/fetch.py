"""Fetch the real MIRI imaging inputs: Artifactory, the notebook's Box links or a directory.

The files are those of the remote manifest (`miri_background.manifest`). Each is
downloaded, or copied from a local mirror, through a verified temporary file
(`miri_background.download`). A file already at its destination is checked the same way
and reused, or deleted and fetched again (not pooch's reuse test: it compares the sha256
only, so a manifest entry without one would reuse an HTML page).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from miri_background.inputs.real.download import (
    FetchError,
    check_file,
    download,
    install_file,
    log_file,
)
from miri_background.inputs.real.manifest import (
    NOTEBOOK_ROLES,
    ROLES,
    RemoteFile,
    load_manifest,
    safe_member_path,
)
from miri_background.inputs.real.secret_url import SecretURL

__all__ = [
    "DEFAULT_BOX_URL",
    "fetch_artifactory",
    "fetch_box",
    "from_directory",
]

log = logging.getLogger(__name__)

DEFAULT_BOX_URL = "https://stsci.box.com/shared/static"
BOX_URL_ENV = "MIRI_BACKGROUND_BOX_URL"
BIGDATA_ENV = "TEST_BIGDATA"


def fetch_artifactory(
    dest_dir: str | os.PathLike[str],
    *,
    env: str = "dev",
    inputs_root: str = "jwst-pipeline",
    roles: Iterable[str] = ("science", "background", "readnoise"),
    manifest: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Fetch manifest files from ``$TEST_BIGDATA/<inputs_root>/<env>/<artifactory_path>``.

    Parameters
    ----------
    dest_dir : str or path-like
        Directory to put the files in; created if needed.
    env : str, optional
        Artifactory environment, ``"dev"`` (default) or ``"stable"`` (pytest ``--env``).
    inputs_root : str, optional
        Repository name (ini key ``inputs_root``); default ``"jwst-pipeline"``.
    roles : iterable of str, optional
        Manifest roles to fetch; default science, background and readnoise (those the
        manifest has).
    manifest : str or path-like, optional
        The data set's remote manifest (`datasets.DataSet.manifest`); default the shipped
        MIRISim one.

    Returns
    -------
    dict of str to Path
        File name to local path, in manifest order.

    Raises
    ------
    FetchError
        If ``TEST_BIGDATA`` is unset or is neither an http(s) URL nor a directory, or
        a file cannot be fetched or fails verification (see `download`).
    ValueError
        If ``roles`` names an unknown role or selects no manifest entry.

    Notes
    -----
    ``TEST_BIGDATA`` may be an http(s) URL, downloaded with `download`, or a local
    mirror directory, copied through a temporary file and verified the same way.
    Files already in ``dest_dir`` that pass verification are reused.
    """
    files = _select(load_manifest(manifest), roles)
    base = bigdata_root()
    if base is None:
        raise FetchError(
            f"{BIGDATA_ENV} is not set: set it to the Artifactory URL or to a local "
            f"mirror directory holding {inputs_root}/{env}/miri/image/..."
        )
    if isinstance(base, SecretURL):
        root_url = base.join(f"{inputs_root}/{env}")
        return _fetch_each(dest_dir, files, lambda remote: root_url.join(remote.artifactory_path))
    root = base
    return _fetch_each(
        dest_dir,
        files,
        lambda remote: root / inputs_root / env / remote.artifactory_path,
    )


def bigdata_root() -> SecretURL | Path | None:
    """``$TEST_BIGDATA`` as a `SecretURL` (http or https) or an existing mirror directory;
    None when unset.

    Raises
    ------
    FetchError
        If it is a malformed URL or neither a URL nor a directory (the message is redacted).
    """
    __tracebackhide__ = True  # the frame reads the raw value (credentials)
    if not os.environ.get(BIGDATA_ENV):
        return None
    if "://" in os.environ[BIGDATA_ENV]:
        try:
            return SecretURL.from_env(BIGDATA_ENV)
        except ValueError as exc:
            raise FetchError(
                f"{BIGDATA_ENV}: {exc}. Set it to the Artifactory URL "
                "(https://host/artifactory) or to a local mirror directory."
            ) from None
    root = Path(os.environ[BIGDATA_ENV])
    if not root.is_dir():
        raise FetchError(
            f"{BIGDATA_ENV}={str(root)!r} is neither an http(s) URL nor an existing directory: "
            "set it to the Artifactory URL or to a local mirror directory."
        )
    return root


def fetch_box(
    dest_dir: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    manifest: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Fetch the 8 notebook files from their Box shared links into ``dest_dir``.

    ``dest_dir`` and ``manifest`` are as for `fetch_artifactory`; each file is at
    ``<base_url>/<box_id>.fits`` (default ``$MIRI_BACKGROUND_BOX_URL`` if set, else
    `DEFAULT_BOX_URL`) and saved under its notebook name. Returns ``{file name: local
    path}``, science files first.

    Raises
    ------
    FetchError
        If a file cannot be fetched or fails verification (see `download`).
    """
    __tracebackhide__ = True  # base_url may carry credentials
    try:
        base = SecretURL(base_url or SecretURL.from_env(BOX_URL_ENV) or DEFAULT_BOX_URL)
    except ValueError as exc:
        raise FetchError(f"Box base URL ({BOX_URL_ENV}): {exc}") from None
    del base_url
    files = [remote for remote in load_manifest(manifest) if remote.box_id is not None]
    return _fetch_each(dest_dir, files, lambda remote: base.join(f"{remote.box_id}.fits"))


def from_directory(
    path: str | os.PathLike[str], *, manifest: str | os.PathLike[str] | None = None
) -> dict[str, Path]:
    """Use the 8 notebook files from the directory ``path`` (data source ``dir:PATH``),
    where they sit under their notebook names; ``manifest`` as for `fetch_artifactory`.
    Returns ``{file name: absolute path}``, science files first.

    Raises
    ------
    FetchError
        If the directory is missing, lacks some files (all missing names are listed)
        or a file fails verification.
    """
    root = Path(path)
    if not root.is_dir():
        raise FetchError(f"data directory {root} does not exist: check the dir:PATH data source.")
    files = _select(load_manifest(manifest), NOTEBOOK_ROLES)
    found = {remote.name: safe_member_path(root, remote.name) for remote in files}
    missing = [name for name, local in found.items() if not local.is_file()]
    if missing:
        raise FetchError(
            f"{root} lacks {len(missing)} of the {len(files)} notebook files: "
            f"{', '.join(missing)}. Copy them there (fetch_box downloads them) or choose "
            "another data source."
        )
    for remote in files:
        start = time.monotonic()
        problem = check_file(found[remote.name], remote.size, remote.sha256)
        if problem is not None:
            raise FetchError(f"{found[remote.name]}: {problem}. Replace it with a good copy.")
        log_file("using", found[remote.name], str(root), start)
    return found


def _select(files: Iterable[RemoteFile], roles: Iterable[str]) -> list[RemoteFile]:
    """Keep the entries whose role is in ``roles``; reject unknown or empty selections."""
    roles = tuple(roles)
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}: choose from {', '.join(ROLES)}")
    chosen = [remote for remote in files if remote.role in roles]
    if not chosen:
        raise ValueError(f"the manifest has no entries with role(s) {', '.join(roles)}")
    return chosen


def _fetch_each(
    dest_dir: str | os.PathLike[str],
    files: Iterable[RemoteFile],
    locate: Callable[[RemoteFile], SecretURL | Path],
) -> dict[str, Path]:
    """Reuse or fetch each file; ``locate`` gives its URL or its local source path."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    local: dict[str, Path] = {}
    for remote in files:
        dest = safe_member_path(dest_dir, remote.name)
        local[remote.name] = dest
        if _reusable(dest, remote):
            continue
        source = locate(remote)
        if isinstance(source, Path):
            _copy(source, dest, remote)
        else:
            download(source, dest, expected_size=remote.size, expected_sha256=remote.sha256)
    return local


def _reusable(dest: Path, remote: RemoteFile) -> bool:
    """Whether ``dest`` already holds a verified copy; a failing copy is deleted."""
    if not dest.exists():
        return False
    start = time.monotonic()
    problem = check_file(dest, remote.size, remote.sha256)
    if problem is None:
        log_file("reused", dest, str(dest.parent), start)
        return True
    log.warning(
        "existing %s failed verification (%s); deleting it and fetching again",
        dest,
        problem,
    )
    dest.unlink()
    return False


def _copy(source: Path, dest: Path, remote: RemoteFile) -> None:
    """Copy a file from a local mirror through a verified temporary file."""
    if not source.is_file():
        raise FetchError(
            f"{remote.name} is not at {source}: check that {BIGDATA_ENV}, inputs_root and "
            "--env point at the right tree of the local mirror."
        )
    start = time.monotonic()
    with source.open("rb") as stream:
        install_file(
            dest,
            str(source),
            iter(partial(stream.read, 1 << 20), b""),
            expected_size=remote.size,
            expected_sha256=remote.sha256,
        )
    log_file("fetched", dest, str(source), start)
