"""Fetch the real MIRI imaging inputs: Artifactory, the notebook's Box links or a directory.

The files are listed in ``data/remote_manifest.json`` (see `load_manifest`). Every copy is
written to a temporary file beside its destination, checked, and only then renamed into
place, so a destination path holds either nothing or a file that passed these checks:

* the byte count equals the HTTP ``Content-Length`` and the manifest ``size`` (when known);
* the SHA-256 equals the manifest ``sha256`` (when known);
* astropy opens it as FITS, its first HDU is a primary HDU and the file is as long as its
  headers say (an HTML error page or a cut transfer fails here).

A file already at its destination is checked the same way and reused, or deleted and
fetched again.

Network settings come from the environment variables ci-watson reads (`RetryPolicy`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException, HTTPResponse
from pathlib import Path, PurePosixPath

from astropy.io import fits

__all__ = [
    "DEFAULT_BOX_URL",
    "FetchError",
    "RemoteFile",
    "RetryPolicy",
    "download",
    "fetch_artifactory",
    "fetch_box",
    "from_directory",
    "load_manifest",
    "safe_member_path",
]

log = logging.getLogger(__name__)

MANIFEST_PATH = Path(__file__).parent / "data" / "remote_manifest.json"
"""The manifest `load_manifest` reads when given no path."""

ROLES = ("science", "background", "readnoise", "truth")
NOTEBOOK_ROLES = ("science", "background")
"""Roles of the 8 files the validation notebook downloaded from Box."""

DEFAULT_BOX_URL = "https://stsci.box.com/shared/static"
BOX_URL_ENV = "MIRI_BACKGROUND_BOX_URL"
BIGDATA_ENV = "TEST_BIGDATA"

_MANIFEST_KEYS = ("name", "role", "box_id", "artifactory_path", "size", "sha256")
_VERIFY_HINT = (
    "The source holds something other than the expected file (an error or login page, "
    "a cut transfer or a changed file): look at it, and if it changed on purpose update "
    f"size/sha256 in {MANIFEST_PATH.name}."
)


class FetchError(RuntimeError):
    """A data file could not be fetched, or failed verification.

    The message names the file, where it came from, what went wrong and what to do.
    """


class _RetryableError(Exception):
    """A failure worth another attempt: timeout, dropped connection or HTTP 5xx."""


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


@dataclass(frozen=True)
class RetryPolicy:
    """Network settings, read from the environment variables ci-watson reads.

    The rules follow ``ci_watson/artifactory_helpers.py`` except where noted.

    Attributes
    ----------
    timeout : float or None
        Seconds one connect or read may stall (``TEST_BIGDATA_TIMEOUT``, default 30).
        A negative value means wait forever (None) and 0 becomes 1, as in ci-watson.
    retries : int
        Attempts after the first (``TEST_BIGDATA_RETRY_MAX``, default 3); negative gives 0.
    delay : float
        Seconds before the first retry, doubled before each further one
        (``TEST_BIGDATA_RETRY_DELAY``, default 1; ci-watson waits a constant 5 s).
        Negative gives 0.
    chunk_size : int
        Bytes per read (``TEST_BIGDATA_CHUNK_SIZE``, default 16384, at least 512).

    Notes
    -----
    Fractions of a second are accepted for the timeout and the delay; ci-watson parses
    both with ``int()`` and fails on import when ``ci_watson.artifactory_helpers`` is
    loaded with such a value, so keep whole numbers when both run in one process.
    """

    timeout: float | None = 30.0
    retries: int = 3
    delay: float = 1.0
    chunk_size: int = 16384

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """Read the policy from the environment.

        Parameters
        ----------
        environ : mapping of str to str, optional
            Variables to read; default ``os.environ``.

        Returns
        -------
        RetryPolicy
            Unset variables take the class defaults.

        Raises
        ------
        ValueError
            If a variable is not a number; the message names it.
        """
        environ = os.environ if environ is None else environ

        def number(key: str, convert: Callable[[str], float], default: float) -> float:
            text = environ.get(key)
            if text is None:
                return default
            try:
                return convert(text)
            except ValueError:
                raise ValueError(f"{key}={text!r} is not a number") from None

        timeout = number("TEST_BIGDATA_TIMEOUT", float, cls.timeout)
        return cls(
            timeout=None if timeout < 0 else (timeout or 1.0),
            retries=max(0, int(number("TEST_BIGDATA_RETRY_MAX", int, cls.retries))),
            delay=max(0.0, number("TEST_BIGDATA_RETRY_DELAY", float, cls.delay)),
            chunk_size=max(512, int(number("TEST_BIGDATA_CHUNK_SIZE", int, cls.chunk_size))),
        )


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


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    delay: float | None = None,
) -> Path:
    """Download one FITS file, verify it and move it atomically into place.

    The body is streamed to a temporary file in ``dest``'s directory, flushed to disk
    with fsync, verified (see the module docstring) and renamed over ``dest``.
    Timeouts, dropped connections, truncated bodies and HTTP 5xx are retried after
    ``delay``, ``2 * delay``, ``4 * delay``... seconds; HTTP 4xx and failed
    verification are not. Redirects are followed. Credentials in the URL are sent as
    HTTP basic authentication and are never logged.

    Parameters
    ----------
    url : str
        http(s) URL of the file.
    dest : str or path-like
        Destination path; its directory is created if needed.
    expected_size : int, optional
        Size in bytes; default None (not checked).
    expected_sha256 : str, optional
        Lower-case hex SHA-256; default None (not checked).
    timeout : float, optional
        Seconds a connect or read may stall; default from ``TEST_BIGDATA_TIMEOUT``.
    retries : int, optional
        Attempts after the first; default from ``TEST_BIGDATA_RETRY_MAX``.
    delay : float, optional
        Seconds before the first retry; default from ``TEST_BIGDATA_RETRY_DELAY``.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    FetchError
        On HTTP 4xx, when the retries are used up, or when the file fails verification.
        ``dest`` is then unchanged: an older file there is neither replaced nor removed.

    See Also
    --------
    RetryPolicy : the environment variables and their defaults.
    """
    # Not ci_watson's get_bigdata: it writes whatever the server returns (an error page
    # too) straight into the destination, with no checksum and no atomic rename.
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{_redact(url)} is not an http(s) URL")
    overrides = {"timeout": timeout, "retries": retries, "delay": delay}
    policy = dataclasses.replace(
        RetryPolicy.from_env(),
        **{key: value for key, value in overrides.items() if value is not None},
    )
    attempts = 1 + max(0, policy.retries)
    dest = Path(dest)
    where = _redact(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            with _open(url, dest.name, policy.timeout) as response:
                _install(
                    dest,
                    where,
                    _read_body(response, policy.chunk_size),
                    expected_size=expected_size,
                    expected_sha256=expected_sha256,
                )
            break
        except _RetryableError as exc:
            if attempt == attempts:
                raise FetchError(
                    f"could not fetch {dest.name} from {where}: {exc} (gave up after "
                    f"{attempts} attempt(s)). The server may be down or slow: try again "
                    "later, or raise TEST_BIGDATA_TIMEOUT or TEST_BIGDATA_RETRY_MAX."
                ) from exc
            wait = max(0.0, policy.delay) * 2 ** (attempt - 1)
            log.warning(
                "%s: %s from %s (attempt %d of %d); retrying in %.2f s",
                dest.name,
                exc,
                where,
                attempt,
                attempts,
                wait,
            )
            time.sleep(wait)
    _log_file("fetched", dest, where, start)
    return dest


def _redact(url: str) -> str:
    """Return ``url`` without user name, password, query string and fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _open(url: str, name: str, timeout: float | None) -> HTTPResponse:
    """GET ``url`` (file ``name``); raise `_RetryableError` or `FetchError` on failure."""
    parts = urllib.parse.urlsplit(url)
    where = _redact(url)
    request = urllib.request.Request(where + (f"?{parts.query}" if parts.query else ""))
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        # Unredirected: a redirect to another host must not receive the credentials.
        request.add_unredirected_header("Authorization", f"Basic {token}")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        status = f"HTTP {exc.code} {exc.reason}"
        if exc.code >= 500:
            raise _RetryableError(status) from exc
        raise FetchError(
            f"could not fetch {name} from {where}: {status}. Check the URL: for Artifactory "
            "that TEST_BIGDATA, inputs_root and --env point at the right tree and hold "
            "the file (and the credentials, for 401/403), for Box that the share id in "
            "the manifest is still valid."
        ) from exc
    except urllib.error.URLError as exc:
        raise _RetryableError(_describe(exc.reason)) from exc
    except (OSError, HTTPException) as exc:
        raise _RetryableError(_describe(exc)) from exc


def _read_body(response: HTTPResponse, chunk_size: int) -> Iterator[bytes]:
    """Yield the body; raise `_RetryableError` if the transfer stalls or stops early."""
    declared = response.headers.get("Content-Length")
    received = 0
    try:
        while chunk := response.read1(chunk_size):
            received += len(chunk)
            yield chunk
    except (OSError, HTTPException) as exc:
        raise _RetryableError(f"transfer broken after {received} bytes: {_describe(exc)}") from exc
    if declared is not None and declared.isdigit() and received != int(declared):
        raise _RetryableError(f"truncated body: received {received} of {declared} bytes")


def _describe(reason: object) -> str:
    """Say what a socket-level failure was in a few words."""
    if isinstance(reason, TimeoutError):
        return "timed out"
    return f"connection error ({reason})"


def _install(
    dest: Path,
    source: str,
    chunks: Iterable[bytes],
    *,
    expected_size: int | None,
    expected_sha256: str | None,
) -> None:
    """Write ``chunks`` to a temporary file beside ``dest``, verify it, rename it in."""
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
    # Mode 0o666 lets the umask decide, as for any new file (mkstemp would force 0o600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        problem = _check_file(tmp, expected_size, expected_sha256, digest.hexdigest())
        if problem is not None:
            raise FetchError(
                f"{dest.name} from {source} failed verification: {problem}. {_VERIFY_HINT}"
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_file(
    path: Path,
    expected_size: int | None,
    expected_sha256: str | None,
    sha256: str | None = None,
) -> str | None:
    """Return what is wrong with the file at ``path``, or None if it passes.

    ``sha256`` is the file's digest when the caller already has it.
    """
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        return f"size mismatch: expected {expected_size} bytes, got {size}"
    if expected_sha256 is not None:
        sha256 = sha256 or _sha256(path)
        if sha256 != expected_sha256:
            return f"sha256 mismatch: expected {expected_sha256}, got {sha256}"
    with path.open("rb") as stream:
        start = stream.read(40)
    # Warnings here are astropy's comments on a file being probed (e.g. "may have been
    # truncated"); the checks below turn what matters into a verdict. The file is opened
    # here, not by astropy, which leaves its handle open when it fails on a bad header.
    with warnings.catch_warnings(record=True), path.open("rb") as stream:
        warnings.simplefilter("always")
        try:
            with fits.open(stream, memmap=False, lazy_load_hdus=False) as hdul:
                if not hdul or not isinstance(hdul[0], fits.PrimaryHDU):
                    return "not a FITS file: no primary HDU"
                last = hdul.fileinfo(len(hdul) - 1)
                end = last["datLoc"] + last["datSpan"]
        # A damaged header can raise OSError, KeyError, ValueError, VerifyError...
        except Exception as exc:
            return f"not a FITS file ({exc}); it starts with {start!r}"
    if size < end:
        return f"truncated FITS file: its headers need {end} bytes, it has {size}"
    if size > end:
        return f"{size - end} bytes after the last readable HDU (a cut or damaged HDU?)"
    return None


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(partial(stream.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _log_file(verb: str, path: Path, source: str, start: float) -> None:
    """Log the one line per file: what happened, size in MB, time taken."""
    log.info(
        "%s %s (%.1f MB) from %s in %.2f s",
        verb,
        path.name,
        path.stat().st_size / 1e6,
        source,
        time.monotonic() - start,
    )


def fetch_artifactory(
    dest_dir: str | os.PathLike[str],
    *,
    env: str = "dev",
    inputs_root: str = "jwst-pipeline",
    roles: Iterable[str] = ("science", "background", "readnoise"),
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
        Manifest roles to fetch; default science, background and readnoise.

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
    base = os.environ.get(BIGDATA_ENV)
    if not base:
        raise FetchError(
            f"{BIGDATA_ENV} is not set: set it to the Artifactory URL or to a local "
            f"mirror directory holding {inputs_root}/{env}/miri/image/background/."
        )
    files = _select(load_manifest(), roles)
    if urllib.parse.urlsplit(base).scheme in ("http", "https"):
        root_url = f"{base.rstrip('/')}/{urllib.parse.quote(f'{inputs_root}/{env}')}"
        return _fetch_each(
            dest_dir,
            files,
            lambda remote: f"{root_url}/{urllib.parse.quote(remote.artifactory_path)}",
        )
    root = Path(base)
    if not root.is_dir():
        raise FetchError(
            f"{BIGDATA_ENV}={base!r} is neither an http(s) URL nor an existing directory: "
            "set it to the Artifactory URL or to a local mirror directory."
        )
    return _fetch_each(
        dest_dir,
        files,
        lambda remote: root / inputs_root / env / remote.artifactory_path,
    )


def fetch_box(dest_dir: str | os.PathLike[str], *, base_url: str | None = None) -> dict[str, Path]:
    """Fetch the 8 notebook files from their Box shared links.

    Parameters
    ----------
    dest_dir : str or path-like
        Directory to put the files in; created if needed.
    base_url : str, optional
        Each file is at ``<base_url>/<box_id>.fits`` and saved under its notebook name.
        Default: ``$MIRI_BACKGROUND_BOX_URL`` if set, else `DEFAULT_BOX_URL`.

    Returns
    -------
    dict of str to Path
        File name to local path, science files first.

    Raises
    ------
    FetchError
        If a file cannot be fetched or fails verification (see `download`).
    """
    if base_url is None:
        base_url = os.environ.get(BOX_URL_ENV) or DEFAULT_BOX_URL
    files = [remote for remote in load_manifest() if remote.box_id is not None]
    base_url = base_url.rstrip("/")
    return _fetch_each(dest_dir, files, lambda remote: f"{base_url}/{remote.box_id}.fits")


def from_directory(path: str | os.PathLike[str]) -> dict[str, Path]:
    """Use the 8 notebook files from a local directory (data source ``dir:PATH``).

    Parameters
    ----------
    path : str or path-like
        Directory holding the files under their notebook names.

    Returns
    -------
    dict of str to Path
        File name to absolute path, science files first.

    Raises
    ------
    FetchError
        If the directory is missing, lacks some files (all missing names are listed)
        or a file fails verification.
    """
    root = Path(path)
    if not root.is_dir():
        raise FetchError(f"data directory {root} does not exist: check the dir:PATH data source.")
    files = _select(load_manifest(), NOTEBOOK_ROLES)
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
        problem = _check_file(found[remote.name], remote.size, remote.sha256)
        if problem is not None:
            raise FetchError(f"{found[remote.name]}: {problem}. Replace it with a good copy.")
        _log_file("using", found[remote.name], str(root), start)
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
    locate: Callable[[RemoteFile], str | Path],
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
    problem = _check_file(dest, remote.size, remote.sha256)
    if problem is None:
        _log_file("reused", dest, str(dest.parent), start)
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
        _install(
            dest,
            str(source),
            iter(partial(stream.read, 1 << 20), b""),
            expected_size=remote.size,
            expected_sha256=remote.sha256,
        )
    _log_file("fetched", dest, str(source), start)
