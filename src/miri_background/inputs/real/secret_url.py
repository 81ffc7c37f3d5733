"""A URL that may carry credentials (``TEST_BIGDATA``), kept out of every output.

`SecretURL` holds the parsed URL; its ``str`` and ``repr`` are `redact`-ed, so a message,
a log line, a report or a pytest traceback (which prints the arguments of each frame, and
with ``--showlocals`` every local) shows ``scheme://host[:port]/path`` only. The raw text
is used in one place: `SecretURL.request`, which builds the HTTP request (query string and
basic authentication). Frames that hold the raw text set ``__tracebackhide__``.

Joining follows RFC 3986: path segments are appended to the *path*, before the query
(``http://h/p?token=t`` joined with ``a/b.fits`` is ``http://h/p/a/b.fits?token=t``).
"""

from __future__ import annotations

import base64
import os
import urllib.parse
import urllib.request

__all__ = ["SecretURL", "redact", "url_problem"]

SCHEMES = ("http", "https")


def redact(url: str) -> str:
    """Return ``url`` without user name, password, query string and fragment.

    Text that does not parse as a URL comes back as ``"<unparseable URL>"``.
    """
    __tracebackhide__ = True
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "<unparseable URL>"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def url_problem(url: str) -> str | None:
    """Say what makes ``url`` unusable as an http(s) base URL, or None when it is usable.

    Checked: the scheme is http or https, there is a host, the port (if any) is a number
    in 1-65535, and there is no white space. The answer never contains the credentials
    or the query string.
    """
    __tracebackhide__ = True
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a well-formed URL ({str(exc).split(':')[0]})"
    if parts.scheme not in SCHEMES:
        return f"scheme {parts.scheme!r} is not http or https"
    if not parts.hostname:
        return "no host name"
    if port == 0:
        return "port 0"
    if any(c.isspace() for c in url):
        return "white space in the URL (quote it as %20)"
    return None


class SecretURL:
    """An http(s) URL whose text form hides credentials, query and fragment.

    Parameters
    ----------
    url : str
        The full URL, possibly ``scheme://user:password@host/path?query``.

    Raises
    ------
    ValueError
        If ``url`` is not a well-formed http(s) URL (see `url_problem`); the message is
        redacted.
    """

    __slots__ = ("_parts",)

    def __init__(self, url: str | SecretURL) -> None:
        __tracebackhide__ = True
        if isinstance(url, SecretURL):
            self._parts = url._parts
            return
        problem = url_problem(url)
        if problem is not None:
            raise ValueError(f"{redact(url)}: {problem}")
        self._parts = urllib.parse.urlsplit(url)

    @classmethod
    def from_env(cls, name: str) -> SecretURL | None:
        """The URL in environment variable ``name`` (None when unset or empty)."""
        __tracebackhide__ = True
        return cls(os.environ[name]) if os.environ.get(name) else None

    @property
    def public(self) -> str:
        """``scheme://host[:port]/path``: what may be shown."""
        host = self._parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((self._parts.scheme, host, self._parts.path, "", ""))

    def __str__(self) -> str:
        return self.public

    def __repr__(self) -> str:
        return f"SecretURL({self.public!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretURL) and self._parts == other._parts

    def __hash__(self) -> int:
        return hash(self._parts)

    def join(self, relative: str) -> SecretURL:
        """This URL with ``relative`` (a POSIX path, quoted here) appended to its path;
        credentials, query and fragment are kept."""
        path = self._parts.path.rstrip("/") + "/" + urllib.parse.quote(relative.lstrip("/"))
        joined = SecretURL.__new__(SecretURL)
        joined._parts = self._parts._replace(path=path)
        return joined

    def request(self) -> urllib.request.Request:
        """A GET request for this URL: the query string included, the user name and
        password (percent-decoded) sent as HTTP basic authentication, as an unredirected
        header so that a redirect to another host does not receive them."""
        __tracebackhide__ = True
        parts = self._parts
        target = self.public + (f"?{parts.query}" if parts.query else "")
        request = urllib.request.Request(target)
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            request.add_unredirected_header("Authorization", f"Basic {token}")
        return request
