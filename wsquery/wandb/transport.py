"""One HTTP POST under one deadline: a URL, a body and headers -> the status, headers and body
of the answer.

The deadline is a moment (``time.monotonic()``) that bounds the whole exchange: connecting is
given at most what is left of it, and a watchdog shuts the socket when it passes, so a server
that trickles its headers or its body byte by byte cannot hold a call past it. The body is
read as it arrives and refused past ``max_bytes``, so memory stays bounded whatever the server
sends. Nothing is followed: a redirect is an answer like any other (``http.client`` follows
none). Proxies come from the environment as ``urllib`` reads them (``HTTPS_PROXY``,
``NO_PROXY``); certificates are checked against ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``
when set, else the system's.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import attrs

#: How much of a body is read at a time.
_CHUNK = 64 * 1024


class DeadlinePassed(Exception):
    """The deadline passed before the answer was whole."""


class TooLarge(Exception):
    """The answer is longer than the limit (``size`` is what its header said or what had
    arrived when reading stopped)."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(size)


class Unreachable(Exception):
    """No connection could be made (``reason`` names the socket's error)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@attrs.frozen(slots=True)
class Answer:
    """A whole answer: its status, reason phrase, headers (by lower-case name) and body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes | bytearray


class Poster:
    """POSTs to one URL over one kept-alive connection, opened again when the server closed
    it; ``close`` drops it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http or https URL")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._proxy = _proxy(self._https, self._host)
        self._connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def post(self, body: bytes, headers: Mapping[str, str], *, deadline: float,
             timeout: tuple[float, float], max_bytes: int) -> Answer:
        """The answer to one POST: ``DeadlinePassed``, ``TooLarge`` or ``Unreachable``, or
        the ``OSError`` or ``http.client.HTTPException`` that broke the exchange (a read that
        waited ``timeout[1]`` seconds for a byte is a ``TimeoutError``)."""
        reused = self._connection is not None
        try:
            return self._exchange(body, headers, deadline, timeout, max_bytes)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused or time.monotonic() >= deadline:
                raise
            # A kept-alive connection the server had closed meanwhile: one fresh try.
            return self._exchange(body, headers, deadline, timeout, max_bytes)

    def _exchange(self, body: bytes, headers: Mapping[str, str], deadline: float,
                  timeout: tuple[float, float], max_bytes: int) -> Answer:
        connection = self._connection
        self._connection = None  # kept again only once an answer was read whole
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed
        if connection is None or connection.sock is None:
            connection = self._open(min(timeout[0], remaining))
        assert connection.sock is not None
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, (connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.sock.settimeout(min(timeout[1], remaining))
            forwarded = self._proxy is not None and not self._https
            connection.request(
                "POST", self.url if forwarded else self._target, body=body,
                headers={**headers, "Content-Type": "application/json",
                         **(self._proxy[2] if forwarded and self._proxy else {})})
            response = connection.getresponse()
            length = response.getheader("Content-Length") or ""
            if length.isdigit() and int(length) > max_bytes:
                raise TooLarge(int(length))
            content = bytearray()
            while chunk := response.read(_CHUNK):
                content += chunk
                if len(content) > max_bytes:
                    raise TooLarge(len(content))
            if time.monotonic() >= deadline:
                raise DeadlinePassed
        except BaseException as error:
            connection.close()
            if time.monotonic() >= deadline and not isinstance(error, TooLarge):
                raise DeadlinePassed from None
            raise
        finally:
            watchdog.cancel()
        if not response.will_close:
            self._connection = connection
        else:
            connection.close()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, response.reason or "", headers, content)

    def _open(self, connect_timeout: float) -> http.client.HTTPConnection:
        """A new connection, directly or through the environment's proxy for this host."""
        proxy = self._proxy
        host, port = (proxy[0], proxy[1]) if proxy else (self._host, self._port)
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(host, port, timeout=connect_timeout,
                                                     context=_tls_context())
            if proxy:
                connection.set_tunnel(self._host, self._port, headers=proxy[2])
        else:
            connection = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError:
            connection.close()
            raise
        except OSError as error:
            connection.close()
            raise Unreachable(type(error).__name__ if not error.strerror
                              else error.strerror) from None
        return connection


def _shut(connection: http.client.HTTPConnection) -> None:
    """The watchdog: end every read and write on the connection's socket at once."""
    sock = connection.sock
    if sock is None:
        return
    # The plain socket's shutdown: a TLS socket's own would also drop its TLS state under the
    # thread still reading. A socket already closed has nothing left to end.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _proxy(https: bool, host: str) -> tuple[str, int, dict[str, str]] | None:
    """The proxy the environment names for this host: its host, port and auth header."""
    if urllib.request.proxy_bypass(host):
        return None
    address = urllib.request.getproxies().get("https" if https else "http")
    if not address:
        return None
    parts = urlsplit(address if "://" in address else f"http://{address}")
    if not parts.hostname:
        return None
    headers: dict[str, str] = {}
    if parts.username:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = (
            "Basic " + base64.b64encode(credentials.encode()).decode())
    return parts.hostname, parts.port or 80, headers


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(
        cafile=os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None)
