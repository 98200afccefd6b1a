"""The listening socket and its fixed pool of worker threads: accepted connections wait in a
bounded queue, and one that finds it full is answered 503 at once. Apart from the lifecycle,
which starts and stops the pool, and from the handler, which the pool runs per connection
without knowing it."""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from collections.abc import Iterable, Mapping
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol

import attrs

from wsquery.apps.server import limits
from wsquery.apps.server.faults import Faults, Received
from wsquery.apps.server.schema import error_body

_log = logging.getLogger("wsquery.server")


class Owner(Protocol):
    """What a connection asks of the server it came to (``ViewServer``): who a key, a session
    or a sign-in token acts as, sessions, pages and GraphQL, and the hooks of its tests."""

    faults: Faults
    stopping: threading.Event

    @property
    def session_cookie(self) -> str: ...

    def entity_for(self, api_key: str | None) -> str | None: ...

    def redeem_login_token(self, token: str) -> str | None: ...

    def session_entity(self, session: str) -> str | None: ...

    def open_session(self, entity: str, replacing: str | None = None) -> str: ...

    def close_session(self, session: str) -> None: ...

    def page(self, entity: str, target: str) -> tuple[int, str]: ...

    def record(self, received: Received) -> None: ...

    def execute(self, entity: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]: ...

    def add_runs(self, entity: str, project: str, runs: Iterable[Mapping[str, Any]]
                 ) -> list[str]: ...


@attrs.frozen
class ConnectionLimits:
    """How many connections the server serves at once, how many may wait, and how long a
    connection may keep a worker waiting for its next bytes."""

    read_timeout: float = limits.READ_TIMEOUT_SECONDS
    workers: int = attrs.field(default=limits.WORKER_THREADS, validator=attrs.validators.ge(1))
    waiting: int = attrs.field(default=limits.MAX_WAITING_CONNECTIONS,
                               validator=attrs.validators.ge(1))


class PooledHTTPServer(HTTPServer):
    """An HTTP server with a fixed pool of worker threads. Accepted connections wait in a
    bounded queue; one that finds it full is answered 503 at once and closed, so many
    connections never make many threads."""

    request_queue_size = 128  # the listen backlog: connections wait here before the queue

    def __init__(self, address: tuple[str, int], owner: Owner, limits: ConnectionLimits,
                 handler: type[BaseHTTPRequestHandler]) -> None:
        self.owner = owner
        self.limits = limits
        self._waiting: queue.Queue[tuple[socket.socket, Any]] = queue.Queue(limits.waiting)
        self._closing = threading.Event()
        self._active: set[socket.socket] = set()
        self._active_lock = threading.Lock()
        super().__init__(address, handler)
        for number in range(limits.workers):
            threading.Thread(target=self._work, name=f"wsquery-worker-{number}",
                             daemon=True).start()

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            self._waiting.put_nowait((request, client_address))
        except queue.Full:
            self._refuse(request)

    def _refuse(self, connection: socket.socket) -> None:
        """Answer 503 without waiting for the request (the accept loop must not wait), read
        what has arrived (so closing does not reset the answer away), and close."""
        body = json.dumps(error_body("the server is busy: try again shortly",
                                     "SERVICE_UNAVAILABLE")).encode()
        head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
        with suppress(OSError):
            connection.setblocking(False)
            connection.send(head.encode() + body)
            for _ in range(16):
                if not connection.recv(65536):
                    break
        self.shutdown_request(connection)

    def _work(self) -> None:
        while not self._closing.is_set():
            try:
                connection, address = self._waiting.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._active_lock:
                self._active.add(connection)
            try:
                if not self._closing.is_set():
                    self.finish_request(connection, address)
            except Exception:
                self.handle_error(connection, address)
            finally:
                with self._active_lock:
                    self._active.discard(connection)
                self.shutdown_request(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.debug("connection from %s failed", client_address, exc_info=True)

    def server_close(self) -> None:
        """Stop accepting, end the connections being served and those waiting, and let the
        workers go."""
        self._closing.set()
        super().server_close()
        with self._active_lock:
            active = list(self._active)
        for connection in active:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        while True:
            try:
                connection, _ = self._waiting.get_nowait()
            except queue.Empty:
                break
            self.shutdown_request(connection)
