"""The view server under bad input and abuse, over real sockets on 127.0.0.1: every malformed
request gets a 4xx with a GraphQL-style error body (never a 500 or a dropped connection), many
or slow connections hold a fixed number of threads, one request's answer and memory are
bounded, and the database keeps keys hashed in files only its owner reads."""

from __future__ import annotations

import base64
import json
import random
import socket
import sqlite3
import stat
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from wsquery.apps import server as server_module
from wsquery.apps.server import (
    DEFAULT_ENTITY,
    MAX_ARGUMENT_LENGTH,
    MAX_PAGE_SIZE,
    MAX_RESPONSE_LENGTH,
    MAX_SPEC_LENGTH,
    RESPONSE_TOO_LARGE_CODE,
    ConnectionLimits,
    ViewServer,
)


def project_name() -> str:
    return f"rel-{uuid.uuid4().hex[:10]}"


def post(server: ViewServer, query: str, variables: dict[str, Any] | None = None,
         key: str | None = None) -> requests.Response:
    return requests.post(f"{server.url}/graphql", timeout=60,
                         json={"query": query, "variables": variables or {}},
                         auth=("api", key or server.api_key))


def exchange(server: ViewServer, data: bytes, timeout: float = 30.0) -> tuple[int, bytes, bytes]:
    """Send raw bytes on a fresh connection; the status, head and body of the answer (the
    connection read to its end)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            if _complete(received):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), f"no answer to {data[:80]!r}: {received[:80]!r}"
    return int(head.split()[1]), head, body


def _complete(received: bytes) -> bool:
    head, separator, body = received.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def graphql_error(body: bytes) -> dict[str, Any]:
    """The one error of a GraphQL-style error body."""
    payload = json.loads(body)
    [error] = payload["errors"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["extensions"]["code"], str)
    return dict(error)


def opaque(kind: str, number: object) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def save_view(server: ViewServer, project: str, name: str, spec: str,
              entity: str = DEFAULT_ENTITY) -> requests.Response:
    return post(server, "mutation M($input: UpsertViewInput!) { upsertView(input: $input) "
                "{ view { id } inserted } }",
                {"input": {"entityName": entity, "projectName": project, "name": name,
                           "type": "project-view", "spec": spec}})


# The answers that were 500s ------------------------------------------------------------------

def test_input_that_made_500s_gets_errors_naming_the_problem(view_server: ViewServer) -> None:
    project = project_name()
    saved = save_view(view_server, project, "kept", "{}")
    assert saved.status_code == 200 and saved.json()["data"]["upsertView"]["inserted"]

    lone = save_view(view_server, project, "bad\ud800name", "{}")
    assert lone.status_code == 400
    assert "lone UTF-16 surrogate" in graphql_error(lone.content)["message"]

    deep = save_view(view_server, project, "deep", "[" * 100_000 + "]" * 100_000)
    assert deep.status_code == 200
    assert deep.json()["errors"][0]["message"] == (
        f"spec is not valid JSON: it is nested more than {server_module.MAX_JSON_DEPTH} deep")

    for view_id in (opaque("View", 10**40), opaque("View", "\u00b2"), opaque("View", "-1")):
        got = post(view_server, "query V($id: ID!) { view(id: $id) { id } }", {"id": view_id})
        assert (got.status_code, got.json()) == (200, {"data": {"view": None}})
        for mutation in ("deleteView(input: {id: $id}) { success }",
                         "upsertView(input: {id: $id, spec: \"{}\"}) { inserted }"):
            answer = post(view_server, f"mutation M($id: ID!) {{ {mutation} }}", {"id": view_id})
            assert answer.status_code == 200
            assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    cursor = post(view_server, "query P($p: String!, $after: String) { project(name: $p) { "
                  "allViews(after: $after) { edges { cursor } } } }",
                  {"p": project, "after": opaque("Cursor", 10**40)})
    assert cursor.status_code == 200
    assert cursor.json()["errors"][0]["message"].startswith("invalid cursor")

    filters = post(view_server, "query R($p: String!, $f: JSONString) { project(name: $p) { "
                   "runs(filters: $f) { totalCount } } }",
                   {"p": project, "f": '{"$and": [' * 50_000 + "]}" * 50_000})
    assert filters.status_code == 200
    assert filters.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    nested = post(view_server, "query R($p: String!, $f: JSONString) { project(name: $p) { "
                  "runs(filters: $f) { totalCount } } }",
                  {"p": project, "f": '{"$and": [' * 100 + "{}" + "]}" * 100})
    assert "nested more than" in nested.json()["errors"][0]["message"]


def test_a_body_of_a_hundred_thousand_brackets_is_a_400(view_server: ViewServer) -> None:
    body = b"[" * 100_000
    status, _, answer = exchange(view_server, (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    assert status == 400
    assert graphql_error(answer)["message"] == (
        f"the body is not JSON: it is nested more than {server_module.MAX_JSON_DEPTH} deep")


def test_specs_must_be_json_objects(view_server: ViewServer) -> None:
    project = project_name()
    for spec, problem in (("NaN", "spec is not valid JSON: NaN is not JSON"),
                          ("5", "spec must be a JSON object, not int '5'"),
                          ('"text"', "spec must be a JSON object, not str"),
                          ("[]", "spec must be a JSON object, not list")):
        answer = save_view(view_server, project, "v", spec)
        assert answer.json()["errors"][0]["message"].startswith(problem)
        assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    views = post(view_server, "query P($p: String!) { project(name: $p) { id } }",
                 {"p": project})
    assert views.json()["data"]["project"] is None  # nothing was stored


# The HTTP layer ------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "TRACE"])
def test_other_methods_are_405_with_allow(view_server: ViewServer, method: str) -> None:
    for path, allowed in (("/graphql", "POST"), ("/", "GET"), ("/login", "GET, POST")):
        status, head, body = exchange(view_server, (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").encode())
        assert status == 405
        assert f"\r\nAllow: {allowed}".encode() in head
        if method != "HEAD":
            assert graphql_error(body)["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_a_bad_content_length_is_a_400_and_chunked_a_411(view_server: ViewServer) -> None:
    for length in ("abc", "-1", "1e3", "", "5, 5", "0x10", "\u0661"):
        status, _, body = exchange(view_server, (
            "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode())
        assert status == 400, length
        assert graphql_error(body)["message"] == "Content-Length must be one whole number of bytes"
    status, _, body = exchange(view_server, (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"))
    assert status == 400
    status, _, body = exchange(view_server, (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"))
    assert status == 411
    assert graphql_error(body)["extensions"]["code"] == "LENGTH_REQUIRED"


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[ViewServer]:
    limits = ConnectionLimits(read_timeout=1.0, workers=4, waiting=4)
    with ViewServer(db_path=tmp_path / "views.sqlite3", limits=limits) as server:
        yield server


def test_idle_connections_hold_a_fixed_pool_and_are_closed(small_server: ViewServer) -> None:
    assert post(small_server, "{ viewer { entity } }").status_code == 200
    threads_before = threading.active_count()
    host, port = small_server.url.removeprefix("http://").split(":")
    connections = [socket.create_connection((host, int(port)), timeout=30) for _ in range(300)]
    try:
        busiest = threading.active_count()
        refused = kept = 0
        for connection in connections:
            answer = b""
            while chunk := connection.recv(65536):  # EOF: refused now, or closed when idle
                answer += chunk
            if answer:
                assert answer.startswith(b"HTTP/1.1 503 ")
                assert graphql_error(answer.partition(b"\r\n\r\n")[2])["extensions"] == {
                    "code": "SERVICE_UNAVAILABLE"}
                refused += 1
            else:
                kept += 1
        assert refused > 0 and refused + kept == 300
    finally:
        for connection in connections:
            connection.close()
    assert busiest == threads_before
    assert threading.active_count() == threads_before
    assert post(small_server, "{ viewer { entity } }").status_code == 200


def test_a_half_sent_request_is_closed_after_the_read_timeout(small_server: ViewServer) -> None:
    host, port = small_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as half_headers:
        half_headers.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Le")
        assert half_headers.recv(65536) == b""
    body = b'{"query": "{ viewer { id } }"}'
    with socket.create_connection((host, int(port)), timeout=30) as half_body:
        half_body.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                          + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        answer = b""
        while chunk := half_body.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert graphql_error(answer.partition(b"\r\n\r\n")[2])["extensions"]["code"] == (
        "REQUEST_TIMEOUT")


# What one request may cost -------------------------------------------------------------------

def test_aliased_lists_of_large_specs_stay_within_the_response_bound(tmp_path: Path) -> None:
    spec = json.dumps({"section": {}, "padding": "x" * (4 * 1024 * 1024)})
    with ViewServer(db_path=tmp_path / "views.sqlite3") as server:
        for number in range(3):
            assert save_view(server, "big", f"v{number}", spec).status_code == 200
        aliases = " ".join(f"a{n}: allViews {{ edges {{ node {{ spec }} }} }}" for n in range(20))
        document = f'{{ project(name: "big") {{ {aliases} }} }}'
        tracemalloc.start()
        try:
            answer = post(server, document)
            received = len(answer.content)
            payload = answer.json()
            del answer
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert received <= MAX_RESPONSE_LENGTH + 64 * 1024
    project = payload["data"]["project"]
    assert project is not None, payload.get("errors")
    assert len(project["a0"]["edges"]) == 3  # the first page: every view fits
    assert all(project[f"a{n}"] is None for n in range(1, 20))
    assert {error["extensions"]["code"] for error in payload["errors"]} == {
        RESPONSE_TOO_LARGE_CODE}
    assert len(payload["errors"]) == 19
    # Server and client together, in one process: well under the 240 MB the answer was.
    assert peak < 8 * MAX_RESPONSE_LENGTH, peak


def test_a_runs_history_is_read_only_as_far_as_an_answer_holds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """History larger than an answer may be is refused (RESPONSE_TOO_LARGE), not read whole;
    a sample of it, or its steps alone, are answered."""
    monkeypatch.setattr(server_module, "MAX_RESPONSE_LENGTH", 20_000)
    history = [{"_step": step, "text": "x" * 1000} for step in range(50)]
    with ViewServer(db_path=tmp_path / "views.sqlite3") as server:
        server.add_runs(DEFAULT_ENTITY, "long", [{"id": "r", "history": history}])

        def run_field(selection: str) -> tuple[Any, set[str]]:
            payload = post(server, f'{{ project(name: "long") {{ run(name: "r") {{ {selection} '
                                   "} } }").json()
            codes = {error["extensions"]["code"] for error in payload.get("errors", [])}
            run = (payload["data"]["project"] or {}).get("run")
            return run, codes

        assert run_field("history") == (None, {RESPONSE_TOO_LARGE_CODE})
        assert run_field('sampledHistory(specs: ["{\\"keys\\": [\\"text\\"]}"])') == (
            {"sampledHistory": None}, {RESPONSE_TOO_LARGE_CODE})
        sampled, codes = run_field("history(samples: 3)")
        assert [json.loads(row)["_step"] for row in sampled["history"]] == [0, 24, 49]
        assert codes == set()
        steps, codes = run_field('parquetHistory(liveKeys: ["_step"]) { liveData } '
                                 "historyKeys historyLineCount")
        assert steps["parquetHistory"]["liveData"] == [{"_step": step} for step in range(50)]
        assert (steps["historyKeys"]["lastStep"], steps["historyLineCount"]) == (49, 50)
        assert codes == set()
        for selection, message in (
                ("history(samples: -1)", "samples must not be negative"),
                ('sampledHistory(specs: ["[1]"])', "a history spec is an object"),
                ('sampledHistory(specs: ["{"])', "a history spec is not JSON"),
                ('sampledHistory(specs: ["{\\"keys\\": [\\"a\\"], \\"samples\\": 1.5}"])',
                 "whole numbers")):
            payload = post(server, f'{{ project(name: "long") {{ run(name: "r") {{ {selection} '
                                   "} } }").json()
            [error] = payload["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", selection
            assert message in error["message"], selection


def test_a_page_holds_at_most_max_page_size(tmp_path: Path) -> None:
    with ViewServer(db_path=tmp_path / "views.sqlite3") as server:
        server.add_runs(DEFAULT_ENTITY, "many", [{"id": f"r{n}"} for n in range(MAX_PAGE_SIZE + 5)])
        for first in ("", "(first: 100000)"):
            answer = post(server, f'{{ project(name: "many") {{ runs{first} {{ totalCount '
                                  "pageInfo { hasNextPage } edges { cursor } } } }")
            runs = answer.json()["data"]["project"]["runs"]
            assert runs["totalCount"] == MAX_PAGE_SIZE + 5
            assert len(runs["edges"]) == MAX_PAGE_SIZE
            assert runs["pageInfo"]["hasNextPage"] is True


def test_long_strings_in_variables_and_arguments_are_refused(view_server: ViewServer) -> None:
    huge = post(view_server, "{ viewer { id } }", {"unused": "x" * (15 * 1024 * 1024)})
    assert huge.status_code == 413
    assert graphql_error(huge.content)["extensions"]["code"] == "REQUEST_ENTITY_TOO_LARGE"
    long_name = post(view_server, "query P($p: String!) { project(name: $p) { id } }",
                     {"p": "p" * (MAX_ARGUMENT_LENGTH + 1)})
    assert long_name.json()["errors"][0]["message"] == (
        f"project: name has {MAX_ARGUMENT_LENGTH + 1} characters, more than the limit of "
        f"{MAX_ARGUMENT_LENGTH}")
    long_spec = save_view(view_server, project_name(), "v",
                          json.dumps({"p": "x" * MAX_SPEC_LENGTH}))
    assert long_spec.status_code == 413
    assert graphql_error(long_spec.content)["message"] == (
        f"the body holds a string of {MAX_SPEC_LENGTH + 9} characters; the longest accepted "
        f"(a spec) has {MAX_SPEC_LENGTH}")


# Storage -------------------------------------------------------------------------------------

def test_keys_are_stored_hashed_in_private_files(tmp_path: Path) -> None:
    folder = tmp_path / "fresh" / "wsquery"
    db_path = folder / "views.sqlite3"
    with ViewServer(db_path=db_path, api_keys={"the-secret-key-1": "team"}) as server:
        reader = sqlite3.connect(db_path)  # open, so SQLite keeps its -wal and -shm files
        reader.execute("SELECT count(*) FROM views").fetchone()
        try:
            assert save_view(server, "p", "v", "{}", entity="team").status_code == 200
            files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
            assert [stat.S_IMODE(path.stat().st_mode) for path in files] == [0o600] * 3
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
            held = b"".join(path.read_bytes() for path in files)
            assert b"the-secret-key-1" not in held and server.api_key.encode() not in held
        finally:
            reader.close()
    with ViewServer(db_path=db_path) as server:
        assert server.entity_for("the-secret-key-1") == "team"
        assert server.entity_for("the-secret-key-2") is None
        with pytest.raises(server_module.WorkspaceError, match="stored only as hashes"):
            _ = server.api_key


def test_a_database_with_plain_keys_is_migrated(tmp_path: Path) -> None:
    db_path = tmp_path / "old.sqlite3"
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE api_keys (key TEXT PRIMARY KEY, entity TEXT NOT NULL)")
        connection.executemany("INSERT INTO api_keys VALUES (?, ?)",
                               [("plain-key-of-alpha", "alpha"), ("plain-key-of-beta", "beta")])
    connection.close()
    with ViewServer(db_path=db_path) as server:
        assert server.entity_for("plain-key-of-alpha") == "alpha"
        assert server.entity_for("plain-key-of-beta") == "beta"
        assert post(server, "{ viewer { entity } }", key="plain-key-of-beta").json() == {
            "data": {"viewer": {"entity": "beta"}}}
    held = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    assert b"plain-key-of" not in held
    with sqlite3.connect(db_path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert "api_keys" not in tables


# A bounded fuzzer of both layers -------------------------------------------------------------

_DOCUMENTS = [
    "{ viewer { id entity } }", "{ viewer { ...F } } fragment F on User { id }",
    'query V($id: ID!) { view(id: $id) { id spec } }',
    'query P($p: String, $first: Int, $after: String) { project(name: $p) { '
    'allViews(first: $first, after: $after) { edges { node { name spec } cursor } } } }',
    'query R($p: String, $f: JSONString, $o: String, $first: Int) { project(name: $p) { '
    "runs(filters: $f, order: $o, first: $first) { totalCount edges { node { name } } } } }",
    "mutation M($input: UpsertViewInput!) { upsertView(input: $input) { inserted } }",
    "mutation D($id: ID) { deleteView(input: {id: $id}) { success } }",
]
_VALUES: list[Any] = [
    None, "", "x", "\ud800", "\u00b2", "View:1", opaque("View", 1), opaque("View", 10**40),
    opaque("Cursor", -5), "{}", "[]", "NaN", "5", '{"$and": []}', '{"$foo": 1}',
    '{"state": {"$regex": "("}}', "+", "-", "-createdAt", "+summary_metrics.x.y", -1, 0,
    2**31 - 1, 2**31, 10**40, 1.5, True, [], {}, [[[]]], {"a": {"b": {}}}, "x" * 70_000,
]
_VARIABLE_NAMES = ["id", "p", "first", "after", "f", "o", "input", "spec", "extra"]


def _fuzz_body(rng: random.Random) -> bytes:
    """A GraphQL request: a real document, cut or mangled now and then, with random
    variables; or a JSON value that is not a request."""
    document = rng.choice(_DOCUMENTS)
    match rng.randrange(6):
        case 0:
            document = document[:rng.randrange(len(document))]
        case 1:
            spot = rng.randrange(len(document))
            document = document[:spot] + rng.choice("{}()[]$!:@\"\\#.,") + document[spot:]
        case 2:
            document = "{" * rng.randrange(1, 5000) + document
    variables: dict[str, Any] = {name: rng.choice(_VALUES)
                                 for name in rng.sample(_VARIABLE_NAMES, rng.randrange(5))}
    if "input" in variables and rng.random() < 0.7:
        variables["input"] = {name: rng.choice(_VALUES) for name in rng.sample(
            ["id", "entityName", "projectName", "name", "spec", "type", "createdUsing"],
            rng.randrange(1, 6))}
    body: Any = {"query": document, "variables": variables,
                 "operationName": rng.choice([None, "M", "Q", 5])}
    if rng.random() < 0.1:
        body = rng.choice([[], "query", 5, None, {"query": 1}, {"variables": {}}])
    return json.dumps(body).encode() if rng.random() < 0.9 else bytes(
        rng.randrange(256) for _ in range(rng.randrange(1, 300)))


def _fuzz_request(rng: random.Random, key: str) -> bytes:
    """An HTTP request whose request line, headers and body are each now and then wrong."""
    body = _fuzz_body(rng)
    method = rng.choice(["POST"] * 6 + ["GET", "PUT", "BREW", "post", "DELETE"])
    path = rng.choice(["/graphql"] * 6 + ["/", "/login", "/logout", "/x/y?nw=1", "/%ff%fe",
                                          "/graphql?x=1", "//evil", "/" + "a" * 70_000])
    version = rng.choice(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/2.0", "HTTP/x"])
    credentials = base64.b64encode(f"api:{key}".encode()).decode()
    headers = {"Host": "127.0.0.1", "Content-Type": "application/json",
               "Content-Length": str(len(body)), "Authorization": f"Basic {credentials}",
               "Connection": "close"}
    for name in rng.sample(sorted(headers), rng.randrange(3)):
        headers[name] = rng.choice(["", "abc", "-1", "99999999999999999999999", "\u00e9",
                                    "text/plain", "Basic !!!", "Bearer x"])
    if rng.random() < 0.05:
        headers.update({f"X-{n}": "y" for n in range(120)})
    lines = [f"{method} {path} {version}", *(f"{name}: {value}"
                                             for name, value in headers.items())]
    declared = headers["Content-Length"]
    if declared.isdigit() and int(declared) != len(body):
        body = body[:int(declared)]  # never leave the server waiting for missing bytes
        if len(body) < int(declared):
            lines = [line for line in lines if not line.startswith("Content-Length")]
            lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines).encode("utf-8", "surrogatepass") + b"\r\n\r\n" + body


def test_a_seeded_fuzzer_gets_no_500_and_no_silence(view_server: ViewServer) -> None:
    rng = random.Random(20240917)
    statuses: dict[int, int] = {}
    for _ in range(400):
        request = _fuzz_request(rng, view_server.api_key)
        status, head, body = exchange(view_server, request)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (request[:300], body[:300])
        if status >= 400 and b"application/json" in head:
            assert json.loads(body)["errors"], (request[:300], body[:300])
    assert len(statuses) >= 6  # the fuzzer reached many kinds of answers
    assert post(view_server, "{ viewer { entity } }").status_code == 200


def test_a_seeded_fuzzer_leaves_no_thread_behind(small_server: ViewServer) -> None:
    threads_before = threading.active_count()
    rng = random.Random(7)
    for _ in range(100):
        exchange(small_server, _fuzz_request(rng, small_server.api_key))
    deadline = time.monotonic() + 30
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.1)
    # another test's thread may end meanwhile; none of this server's may be left
    assert threading.active_count() <= threads_before
