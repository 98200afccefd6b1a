"""What tests of clients set and read on the server: ``Faults`` (answers given instead of the
real one: 429s, 5xxs, delays) and ``Received`` (the requests the server got). Apart because
no real answer depends on them."""

from __future__ import annotations

import threading
from collections import deque

import attrs


@attrs.frozen(slots=True)
class Received:
    """One request the server got (the last 10,000 are kept in ``ViewServer.received``): path,
    operation name and User-Agent, never the key."""

    path: str
    operation_name: str | None
    user_agent: str | None


@attrs.frozen(slots=True)
class Fault:
    status: int | None
    delay: float
    retry_after: str | None
    message: str | None
    code: str | None


class Faults:
    """Answers the server gives instead of (or before) the real one, in the order queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()

    def fail(self, status: int, count: int = 1, *, retry_after: str | None = None,
             message: str | None = None, code: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and ``Retry-After``) and a
        GraphQL errors body carrying ``message`` and ``extensions.code``."""
        fault = Fault(status, 0.0, retry_after, message, code)
        with self._lock:
            self._queue.extend(fault for _ in range(count))

    def slow(self, seconds: float, count: int = 1) -> None:
        """Wait ``seconds`` before answering each of the next ``count`` requests."""
        with self._lock:
            self._queue.extend(Fault(None, seconds, None, None, None) for _ in range(count))

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def next(self) -> Fault | None:
        """The fault for the request at hand, if one is queued."""
        with self._lock:
            return self._queue.popleft() if self._queue else None
