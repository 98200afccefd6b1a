"""The GraphQL client under a hostile or broken server: one deadline for a whole call, no
redirect followed, a bounded answer, input errors as input errors, a key HTTP cannot carry
refused without showing it, and any answer at all ending in data or a ``WorkspaceError``.

Every server here is a real one on 127.0.0.1, written to misbehave in one way."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery.errors import (
    AuthenticationError,
    InvalidInputError,
    NetworkError,
    ServerError,
    WorkspaceError,
    WorkspaceValueError,
)
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings

KEY = "wsq-reliability-key-5f1e"

Handler = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serving(handle: Handler) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 that answers every request with ``handle``; gives its
    base URL and the list of request lines it received."""
    received: list[str] = []

    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            received.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handle(self)  # the client may hang up, as it should past a limit

        do_GET = do_POST = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def client(url: str, **options: Any) -> GraphQLClient:
    options = {"deadline": 5.0, "backoff": 0.01, "max_backoff": 0.05, **options}
    return GraphQLClient(Settings(url, options.pop("api_key", KEY), url), **options)


def send_json(handler: BaseHTTPRequestHandler, payload: Any, status: int = 200) -> None:
    body = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def finished(call: Callable[[], object], join: float = 60.0) -> BaseException | None:
    """What ``call`` raised (None if it returned), run in a thread joined for at most ``join``
    seconds: a call still running then fails the test rather than hanging it."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # handed to the test to check
            outcome.append(error)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(join)
    assert outcome, f"the call was still running after {join} s"
    return outcome[0]


# --- one deadline ----------------------------------------------------------------------------

def trickle_body(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then a long answer one byte at a time, a little under the read
    timeout apart, so no single read ever times out."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for byte in b'{"data": {"viewer": ' + b" " * 1000:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.3)


def trickle_headers(handler: BaseHTTPRequestHandler) -> None:
    """The status line, then headers that never end, one byte at a time."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(10_000):
        handler.wfile.write(b"X")
        handler.wfile.flush()
        time.sleep(0.3)


@pytest.mark.parametrize("trickle", [trickle_body, trickle_headers])
def test_a_trickling_server_is_cut_off_at_the_deadline(trickle: Handler) -> None:
    with serving(trickle) as (url, _):
        slow = client(url, deadline=2.0, timeout=(1.0, 1.0))
        error = finished(slow.default_entity)
    assert isinstance(error, NetworkError)
    assert "did not answer within the 2 s deadline" in str(error)


def test_the_deadline_holds_runs_too(tmp_path: Any) -> None:
    with serving(trickle_body) as (url, _):
        error = finished(lambda: wsquery.runs("e", "p", "config.lr > 0",
                                              client=client(url, deadline=1.5,
                                                            timeout=(1.0, 1.0))))
    assert isinstance(error, NetworkError) and "deadline" in str(error)


def test_retries_stop_at_the_deadline() -> None:
    def failing(handler: BaseHTTPRequestHandler) -> None:
        send_json(handler, {"errors": [{"message": "busy"}]}, status=503)

    with serving(failing) as (url, received):
        error = finished(client(url, deadline=1.0, backoff=0.2, max_backoff=0.2)
                         .default_entity)
    assert isinstance(error, ServerError) and error.status == 503
    assert 1 < len(received) < 50


# --- redirects -------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_named(status: int) -> None:
    with serving(lambda h: send_json(h, {"data": {"viewer": {"entity": "elsewhere"}}})
                 ) as (other, other_received):
        def redirect(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            handler.send_header("Location", f"{other}/graphql")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with serving(redirect) as (url, received), pytest.raises(WorkspaceError) as caught:
            client(url).default_entity()
    assert f"redirected the request (HTTP {status}) to {other}/graphql" in str(caught.value)
    assert caught.value.status == status
    assert other_received == [] and len(received) == 1


# --- the size of an answer -------------------------------------------------------------------

def endless(handler: BaseHTTPRequestHandler) -> None:
    """A 150 MB answer sent in chunks, with no length announced."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(b'{"data": {"viewer": "')
    block = b"x" * 1024 * 1024
    for _ in range(150):
        handler.wfile.write(block)
    handler.wfile.write(b'"}}')


def announced(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(150 * 1024 * 1024))
    handler.end_headers()
    handler.wfile.write(b"{")


@pytest.mark.parametrize("answer", [endless, announced])
def test_an_answer_past_the_size_limit_is_refused_with_bounded_memory(answer: Handler) -> None:
    with serving(answer) as (url, received):
        limited = client(url, max_response_bytes=2 * 1024 * 1024)
        tracemalloc.start()
        try:
            with pytest.raises(ServerError, match="longer than 2097152 bytes"):
                limited.default_entity()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert len(received) == 1  # not retried


def test_the_default_limit_reads_a_large_answer() -> None:
    entity = "e" * (3 * 1024 * 1024)
    with serving(lambda h: send_json(h, {"data": {"viewer": {"entity": entity}}})) as (url, _):
        assert client(url).default_entity() == entity


# --- input errors ----------------------------------------------------------------------------

def test_bad_user_input_in_a_200_answer_is_an_input_error_never_retried() -> None:
    answer = {"errors": [{"message": "name must be at most 128 characters",
                          "extensions": {"code": "BAD_USER_INPUT"}}], "data": None}
    with (serving(lambda h: send_json(h, answer)) as (url, received),
          pytest.raises(InvalidInputError, match="at most 128") as caught):
        client(url).default_entity()
    assert isinstance(caught.value, WorkspaceValueError)
    assert caught.value.status == 200
    assert len(received) == 1


def test_bad_user_input_with_a_5xx_is_not_retried() -> None:
    answer = {"errors": [{"message": "bad filter", "extensions": {"code": "BAD_USER_INPUT"}}]}
    with (serving(lambda h: send_json(h, answer, status=500)) as (url, received),
          pytest.raises(InvalidInputError, match="bad filter")):
        client(url).default_entity()
    assert len(received) == 1


# --- keys ------------------------------------------------------------------------------------

def chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


@pytest.mark.parametrize("key", ["ключ-secret-123", "café-secret-456", "tab\tsecret-789",
                                 "surrogate-\ud800-secret"])
def test_a_key_http_cannot_carry_is_refused_without_showing_it(key: str) -> None:
    with (serving(lambda h: send_json(h, {"data": {}})) as (url, received),
          pytest.raises(AuthenticationError) as caught):
        client(url, api_key=key).default_entity()
    assert received == []
    secret = key.split("-", 1)[1]
    for error in chain(caught.value):
        texts = [str(error), repr(error), *map(repr, error.args),
                 "".join(traceback.format_exception(error))]
        for text in texts:
            assert key not in text and secret not in text
        assert not isinstance(error, UnicodeError)


# --- any answer at all -----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)
keys = st.sampled_from(["data", "errors", "error", "project", "viewer", "view", "allViews",
                        "runs", "edges", "node", "pageInfo", "hasNextPage", "endCursor",
                        "upsertView", "deleteView", "message", "extensions", "code",
                        "config", "summaryMetrics", "name", "entity", "success"])
#: Objects keyed as W&B's answers are, nested the way they nest, any part of them junk.
shaped = st.recursive(
    json_values,
    lambda inner: st.dictionaries(keys, inner, min_size=1, max_size=4)
    | st.lists(inner, max_size=3),
    max_leaves=30)
tops = st.sampled_from(["project", "viewer", "view", "upsertView", "deleteView"])
answers = (st.builds(lambda top, value: {"data": {top: value}}, tops, shaped)
           | st.builds(lambda value: {"data": {"project": {"allViews": value, "runs": value}}},
                       shaped)
           | st.builds(lambda errors: {"errors": errors}, shaped)
           | shaped)
bodies = (answers.map(lambda value: json.dumps(value).encode())
          | st.binary(max_size=200)
          | st.just(b"[" * 100_000 + b"]" * 100_000)
          | st.just(b'{"data": ' + b"9" * 5000 + b"}"))
statuses = st.sampled_from([200, 200, 200, 201, 204, 299, 304, 400, 401, 403, 404, 409, 418,
                            422, 429, 500, 501, 503, 599])


@pytest.fixture(scope="module")
def fuzzed_server() -> Iterator[tuple[str, list[tuple[int, bytes]]]]:
    """One server for every fuzzed example: it answers with the last (status, body) put in
    the list it gives."""
    answers: list[tuple[int, bytes]] = [(200, b"{}")]

    def answer(handler: BaseHTTPRequestHandler) -> None:
        status, body = answers[-1]
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with serving(answer) as (url, _):
        yield url, answers


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(status=statuses, body=bodies, call=st.integers(0, 5))
def test_any_answer_is_data_or_a_workspace_error(
        fuzzed_server: tuple[str, list[tuple[int, bytes]]], status: int, body: bytes,
        call: int) -> None:
    url, answers = fuzzed_server
    answers.append((status, body))
    with client(url, deadline=0.2, backoff=0.001, max_backoff=0.001) as fuzzed:
        calls: list[Callable[[], object]] = [
            fuzzed.default_entity,
            lambda: fuzzed.find_view("e", "p", "nw-x-v"),
            lambda: fuzzed.get_view("VmlldzoxMjM="),
            lambda: list(itertools.islice(fuzzed.iter_views("e", "p"), 100)),
            lambda: wsquery.runs("e", "p", "config.lr > 0 limit 3", client=fuzzed),
            lambda: fuzzed.delete_view("VmlldzoxMjM="),
        ]
        try:
            calls[call]()
        except WorkspaceError:
            pass
        except wsquery.WsqueryError as error:  # a run the server sent that is not run JSON
            assert call == 4, error


def test_a_server_that_hangs_up_is_a_network_error() -> None:
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.connection.shutdown(socket.SHUT_RDWR)

    with (serving(hang_up) as (url, received),
          pytest.raises(NetworkError, match=r"connection to .* broke")):
        client(url, deadline=0.5).default_entity()
    assert len(received) > 1  # retried until the deadline
