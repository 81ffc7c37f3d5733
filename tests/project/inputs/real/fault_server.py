"""A local HTTP server that answers as Box or Artifactory would, or fails on purpose.

`FaultServer` serves the `Route` registered for each path: a payload, a fault (404, 500
then success, a truncated body, a stall, an HTML error page, a redirect) and counts the
hits; the tests of `inputs.real` use it in place of the network. `directory_server` serves
a directory tree as it is (the end-to-end tests' local Box and Artifactory). Either runs
for the length of a ``with server.running():`` block.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import sys
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from astropy.io import fits

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


class LocalServer(ThreadingHTTPServer):
    """HTTP server on 127.0.0.1 (an ephemeral port) answering with ``handler``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler] | functools.partial) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    @contextlib.contextmanager
    def running(self) -> Iterator[LocalServer]:
        """Serve on a daemon thread (polling every 20 ms) during the block; then set
        `stopping` (which releases stalled responses), shut down, close and join."""
        thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stopping.set()
            self.shutdown()
            self.server_close()
            thread.join()


def directory_server(root: Path) -> LocalServer:
    """A `LocalServer` serving the files below ``root`` at their relative paths."""
    return LocalServer(functools.partial(SimpleHTTPRequestHandler, directory=str(root)))


class FaultServer(LocalServer):
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
        super().__init__(FaultHandler)
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.authorization: dict[str, str | None] = {}

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up first (timeouts); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FaultHandler(BaseHTTPRequestHandler):
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


GOOD = fits_bytes(1.0)
"""A valid one-HDU FITS payload."""
OTHER = fits_bytes(2.0)
"""Another valid payload, of the same size."""
