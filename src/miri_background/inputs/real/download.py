"""One verified HTTP download of a FITS file, and the checks every copy passes.

Every copy is written to a temporary file beside its destination, checked, and only then
renamed into place, so a destination path holds either nothing or a file that passed
these checks:

* the byte count equals the HTTP ``Content-Length`` and the manifest ``size`` (when known);
* the SHA-256 equals the manifest ``sha256`` (when known);
* astropy opens it as FITS, its first HDU is a primary HDU and the file is as long as its
  headers say (an HTML error page or a cut transfer fails here).

Network settings come from the environment variables ci-watson reads (`RetryPolicy`).

Not pooch 1.9 (measured on the tests' fault server): ``retrieve``/``Pooch.fetch`` retry
HTTP 404 and bad checksums after fixed 1, 2... s waits, log the URL with its query (a
token) at INFO, create the temporary file 0600 and run a processor (the FITS check) after
the move, so an HTML page replaces the old file; ``HTTPDownloader`` alone leaves a failed
response's socket open (ResourceWarning), and requests/urllib3 put the query in their
messages and DEBUG log lines: adapted, this module grew from 356 to 383 lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import secrets
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.client import HTTPException, HTTPResponse
from pathlib import Path

from astropy.io import fits

from miri_background.files import file_sha256
from miri_background.inputs.real.manifest import MANIFEST_PATH
from miri_background.inputs.real.secret_url import SecretURL

__all__ = ["FetchError", "RetryPolicy", "download"]

log = logging.getLogger(__name__)

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


def download(
    url: str | SecretURL,
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
    url : str or SecretURL
        http(s) URL of the file; only its redacted form appears in messages and logs.
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
    __tracebackhide__ = True  # the frame holds the URL (its credentials) until the next line
    try:
        url = SecretURL(url)
    except ValueError as exc:
        raise ValueError(f"{exc}: not a usable http(s) URL") from None
    overrides = {"timeout": timeout, "retries": retries, "delay": delay}
    policy = dataclasses.replace(
        RetryPolicy.from_env(),
        **{key: value for key, value in overrides.items() if value is not None},
    )
    attempts = 1 + max(0, policy.retries)
    dest = Path(dest)
    where = url.public
    dest.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            with _open(url, dest.name, policy.timeout) as response:
                install_file(
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
                ) from None  # the cause's frames (http.client) hold the query and the auth header
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
    log_file("fetched", dest, where, start)
    return dest


def _open(url: SecretURL, name: str, timeout: float | None) -> HTTPResponse:
    """GET ``url`` (file ``name``); raise `_RetryableError` or `FetchError` on failure."""
    where = url.public
    request = url.request()
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
        ) from None
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


def install_file(
    dest: Path,
    source: str,
    chunks: Iterable[bytes],
    *,
    expected_size: int | None,
    expected_sha256: str | None,
) -> None:
    """Write ``chunks`` to a temporary file beside ``dest``, verify it, rename it in."""
    # the pid lets the next session remove what a killed process left (`stale_temps`)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
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
        problem = check_file(tmp, expected_size, expected_sha256, digest.hexdigest())
        if problem is not None:
            raise FetchError(
                f"{dest.name} from {source} failed verification: {problem}. {_VERIFY_HINT}"
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_file(
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
        sha256 = sha256 or file_sha256(path)
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


def log_file(verb: str, path: Path, source: str, start: float) -> None:
    """Log the one line per file: what happened, size in MB, time taken."""
    log.info(
        "%s %s (%.1f MB) from %s in %.2f s",
        verb,
        path.name,
        path.stat().st_size / 1e6,
        source,
        time.monotonic() - start,
    )
