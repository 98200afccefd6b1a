"""A local W&B-compatible view server: GraphQL over HTTP in, saved workspace views in SQLite out.

It answers the documents in ``wsquery.wandb.graphql`` (and any other document valid against
``SCHEMA_SDL``, a subset of W&B's schema with the same names and types), so the workspace
commands, the demo and the tests run without a W&B account; and those of W&B's own clients,
unchanged: ``wandb.Api()`` (signing in, ``runs``, ``run``, ``projects``, a run's history) and
wandb-workspaces (saving and loading views). Each API key belongs to one entity; a key may
only read and write its own entity's views (else HTTP 403, ``PERMISSION_ERROR``). Entities and
projects are created by the first save into them. It also keeps runs and their history
(``ViewServer.add_runs``) and answers ``project { runs(filters, order, first, after) }`` with
runs-API filters, matched with MongoDB's semantics by ``wsquery.apps.server.filters``. The
SDK's telemetry posts (``/sdk/otel/...``) are answered 200 and dropped. ``Faults`` makes the
server answer with 429s, 5xxs or slowly, for testing clients.

Every view URL it gives (``/<entity>/<project>?nw=<id>``, also with ``/workspace``) is an HTML
page of that view (``wsquery.apps.server.pages``), ``/<entity>/<project>`` lists the project's views
and ``/`` the entity's projects. Pages show an entity's views only to a holder of its API key,
as GraphQL does: HTTP Basic auth, or a session cookie set by a one-time sign-in link
(``ViewServer.login_link``) or by the sign-in form. No key is ever put in a page, a URL or the
log. One request may cost only so much: see ``MAX_COMPLEXITY``.

The database is a real SQLite file: ``db_path`` when given, else a temporary file removed on
stop. ``wsquery serve`` (``run_server``) keeps its views in ``default_db_path()``:
``$XDG_DATA_HOME/wsquery/views.sqlite3`` (``~/.local/share/wsquery/views.sqlite3``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import logging
import os
import queue
import re
import secrets
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import attrs

from wsquery.apps.server import pages
from wsquery.apps.server.filters import FilterError, matches_filter
from wsquery.errors import WorkspaceError, WsqueryError
from wsquery.wandb.graphql import MAX_NAME_LENGTH

if TYPE_CHECKING:
    from graphql import (
        DocumentNode,
        ExecutionResult,
        GraphQLError,
        GraphQLNamedType,
        GraphQLSchema,
        SelectionSetNode,
    )

_log = logging.getLogger("wsquery.server")

#: The entity of the key a fresh database gets.
DEFAULT_ENTITY = "wsquery"
#: The extra that brings the server's one dependency.
SERVER_EXTRA = "server"
#: The largest request body accepted, in bytes.
MAX_BODY = 16 * 1024 * 1024
#: The longest GraphQL document accepted, in characters (variables, such as a spec, may be
#: longer, up to ``MAX_BODY``).
MAX_DOCUMENT_LENGTH = 64 * 1024
#: The longest view spec accepted, in characters: the one argument that may be long.
MAX_SPEC_LENGTH = 8 * 1024 * 1024
#: The longest any other argument (a name, an id, a runs filter) may be, in characters.
MAX_ARGUMENT_LENGTH = 64 * 1024
#: The deepest nesting of JSON accepted: in a request body, a spec or a runs filter.
MAX_JSON_DEPTH = 64
#: The most edges one page of ``allViews`` or ``runs`` holds, asked for or not: the largest
#: page W&B's SDK asks for (``per_page=1000`` of console logs and artifacts; runs ask for 50).
MAX_PAGE_SIZE = 1000
#: The most stored text (specs, names, run documents) one answer carries, in characters: a
#: page stops early (``hasNextPage``) when the next edge would pass it, and a field whose
#: first edge alone would is an error (``RESPONSE_TOO_LARGE_CODE``).
MAX_RESPONSE_LENGTH = 2 * MAX_SPEC_LENGTH
#: The most a document may cost: each field it selects counts 1 (an alias is a field of its
#: own, a fragment counts wherever it is spread), a field that reads the database
#: ``DATABASE_FIELD_COST``. So a request holds the server for a bounded time.
MAX_COMPLEXITY = 500
DATABASE_FIELD_COST = 20
#: The deepest nesting of fields a document may select (``{ viewer { id } }`` is 2).
MAX_DEPTH = 10
#: The most rows one ``history`` or ``sampledHistory`` list holds, asked for or not.
MAX_HISTORY_SAMPLES = 10_000
#: The fields besides the root ones (every query and mutation) that read the database.
_DATABASE_FIELDS = frozenset({
    ("Project", "allViews"), ("Project", "runs"), ("Project", "runCount"), ("Project", "run"),
    ("Run", "history"), ("Run", "sampledHistory"), ("Run", "historyKeys"),
    ("Run", "parquetHistory")})
#: Where W&B's SDK posts its telemetry (OpenTelemetry over HTTP): answered 200, kept nowhere.
_TELEMETRY_PREFIX = "/sdk/otel/"
#: The largest telemetry post read (and dropped), in bytes.
_MAX_TELEMETRY_BODY = 1024 * 1024
#: The error code of a document over a limit, as gqlgen (a Go GraphQL server) gives it.
COMPLEXITY_CODE = "COMPLEXITY_LIMIT_EXCEEDED"
#: The error code of a field whose answer would pass ``MAX_RESPONSE_LENGTH``.
RESPONSE_TOO_LARGE_CODE = "RESPONSE_TOO_LARGE"
#: How long a connection may keep the server waiting for the next bytes of a request.
READ_TIMEOUT_SECONDS = 10.0
#: The threads that answer connections; each holds one connection at a time.
WORKER_THREADS = 32
#: The accepted connections that may wait for a free worker; the next get a 503.
MAX_WAITING_CONNECTIONS = 64
#: How long a sign-in link works (once), in seconds.
LOGIN_LINK_SECONDS = 24 * 3600
#: How long a signed-in browser stays signed in, in seconds.
SESSION_SECONDS = 12 * 3600
#: The most sessions kept at once; signing in past it ends the oldest.
MAX_SESSIONS = 10_000
#: PBKDF2-HMAC-SHA256 rounds of a stored key's hash.
KEY_HASH_ITERATIONS = 100_000
#: The largest sign-in form accepted, in bytes.
_MAX_FORM = 4096
#: The largest row id SQLite stores; an id naming a larger one names no view.
_MAX_ROW_ID = 2**63 - 1
#: What a sign-in token looks like in a request line, so the log never shows one.
_TOKEN_IN_URL = re.compile(r"(token=)[^&\s]*")
#: Half of a UTF-16 pair alone: JSON may spell one, UTF-8 (and so SQLite) cannot hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: Pages may show inline styles and post the sign-in form, and nothing else: no script. Their
#: forms carry the page's origin (``same-origin``), which a sign-in must come from.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: The methods each kind of path answers; any other gets a 405 naming these.
_GRAPHQL_METHODS = "POST"
_PAGE_METHODS = "GET, POST"

#: The part of W&B's GraphQL schema this server implements: same type, field and argument
#: names and types as W&B's (checked by the tests against the shared schema, with the fields
#: W&B's clients send that it lacks: ``wandb_schema_extensions.graphql``). Fields beyond
#: views name the wandb 0.31.0 document that reads them (``wandb/apis/public/runs.py``,
#: ``wandb/apis/_generated/``, and the GraphQL documents of its ``wandb-core`` binary).
SCHEMA_SDL = """
schema {
  query: Query
  mutation: Mutation
}

scalar DateTime
scalar JSONString
scalar JSON
scalar Int64

interface Node {
  id: ID!
}

type Query {
  viewer(entityName: String): User
  project(name: String, entityName: String): Project
  view(id: ID!, type: String): View
  # Api.projects: _generated GetProjects
  models(entityName: String, after: String, first: Int): ProjectConnection
}

type Mutation {
  deleteView(input: DeleteViewInput!): DeleteViewPayload
  upsertView(input: UpsertViewInput!): UpsertViewPayload
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type User implements Node {
  id: ID!
  name: String!
  username: String
  entity: String
  # wandb-core's Viewer (Api() signing in) and _generated UserFragment (Api.viewer,
  # Api.projects' project.user):
  email: String
  flags: String
  teams(before: String, after: String, first: Int, last: Int): EntityConnection
  admin: Boolean
  deletedAt: DateTime
  apiKeys: ApiKeyConnection
}

# _generated UserFragment's apiKeys and teams
type ApiKey implements Node {
  id: ID!
  name: String!
  description: String
}

type ApiKeyConnection {
  edges: [ApiKeyEdge!]!
}

type ApiKeyEdge {
  node: ApiKey
}

type Entity implements Node {
  id: ID!
  name: String!
  isTeam: Boolean!
}

type EntityConnection {
  edges: [EntityEdge!]!
}

type EntityEdge {
  node: Entity
  cursor: String!
}

type Project implements Node {
  createdAt: DateTime!
  id: ID!
  name: String!
  entityName: String!
  allViews(
    viewType: String
    viewName: String
    userName: String
    first: Int
    after: String
  ): ViewConnection
  runs(filters: JSONString, order: String, first: Int, after: String): RunConnection
  # runs.py Runs (Api.runs): internalId, runCount(filters), readOnly
  internalId: ID!
  runCount(filters: JSONString): Int
  readOnly: Boolean
  # runs.py Run, RunState, RunSampledHistory, RunFullHistory, RunHistoryKeys (Api.run, a
  # run's history) and wandb-core's HistoryPage, SampledHistoryPage, RunState
  run(name: String!): Run
  # _generated ProjectFragment (Api.projects)
  isBenchmark: Boolean!
  user: User
}

type ProjectConnection {
  pageInfo: PageInfo!
  edges: [ProjectEdge!]!
}

type ProjectEdge {
  node: Project
  cursor: String!
}

type Run implements Node {
  createdAt: DateTime!
  name: String!
  jobType: String
  config: JSONString
  summaryMetrics: JSONString
  displayName: String
  heartbeatAt: DateTime
  user: User
  id: ID!
  tags: [String!]
  sweepName: String
  state: String
  group: String
  # runs.py RunFragment and LightweightRunFragment, and the Runs document's projectId
  commit: String
  readOnly: Boolean
  description: String
  notes: String
  projectId: ID!
  systemMetrics: JSONString
  historyLineCount: Int
  # runs.py RunFragment and RunHistoryKeys (Run.lastHistoryStep, read by scan_history)
  historyKeys: JSON
  # runs.py RunFullHistory (Run.history without keys); wandb-core's HistoryPage
  # (Run.scan_history)
  history(minStep: Int64, maxStep: Int64, samples: Int): [String!]!
  # runs.py RunSampledHistory (Run.history with keys); wandb-core's SampledHistoryPage
  sampledHistory(specs: [JSONString!]!): [JSON]
  # wandb-core's RunParquetHistory (Run.scan_history): no rows are exported to Parquet here,
  # so every row is live
  parquetHistory(liveKeys: [String!]!): ParquetHistory!
}

type ParquetHistory {
  liveData: [JSON!]!
  parquetUrls: [String!]!
}

type RunConnection {
  totalCount: Int!
  pageInfo: PageInfo!
  edges: [RunEdge!]!
}

type RunEdge {
  node: Run!
  cursor: String!
}

enum ViewSource {
  WANDB_UI
  WANDB_UI_SHARE_PANEL
  WANDB_SDK
  WEAVE_UI
}

type View implements Node {
  createdAt: DateTime!
  updatedAt: DateTime
  id: ID!
  name: String
  displayName: String
  type: String
  description: String
  spec: JSONString
  entityName: String!
  projectName: String!
  createdUsing: ViewSource!
}

type ViewConnection {
  totalCount: Int!
  pageInfo: PageInfo!
  edges: [ViewEdge!]!
}

type ViewEdge {
  node: View
  cursor: String!
}

input DeleteViewInput {
  id: ID
}

type DeleteViewPayload {
  success: Boolean
}

input UpsertViewInput {
  id: ID
  entityName: String
  projectName: String
  name: String
  displayName: String
  description: String
  type: String
  spec: String
  createdUsing: ViewSource
}

type UpsertViewPayload {
  view: View
  inserted: Boolean
}
"""

_TABLES = """
CREATE TABLE IF NOT EXISTS api_key_hashes (
  digest BLOB PRIMARY KEY,
  entity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS projects (
  id INTEGER PRIMARY KEY,
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (entity_id, name)
);
CREATE TABLE IF NOT EXISTS views (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  display_name TEXT,
  description TEXT,
  type TEXT,
  spec TEXT,
  created_using TEXT NOT NULL,
  user_name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  document TEXT NOT NULL,
  UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS run_history (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  step INTEGER NOT NULL,
  row TEXT NOT NULL,
  PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
"""

#: A project's runs, each with how many history rows it has.
_RUN_COLUMNS = """
SELECT id, document,
       (SELECT count(*) FROM run_history WHERE run_history.run_id = runs.id) AS history_lines
FROM runs
"""

_VIEW_FIELDS = """views.id, views.name, display_name, description, type, created_using,
       user_name, views.created_at, updated_at, projects.name AS project_name,
       entities.name AS entity_name, length(spec) AS spec_length"""
_VIEW_TABLES = """FROM views JOIN projects ON projects.id = views.project_id
           JOIN entities ON entities.id = projects.entity_id"""
_VIEW_COLUMNS = f"SELECT {_VIEW_FIELDS}, spec {_VIEW_TABLES}"
#: A view without its spec, which a page reads only for the views its budget holds: reading
#: every spec a page might hold would cost the memory the budget is there to spare.
_VIEW_HEADS = f"SELECT {_VIEW_FIELDS}, NULL AS spec {_VIEW_TABLES}"


def default_db_path() -> Path:
    """Where ``wsquery serve`` keeps its views unless told otherwise."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "wsquery" / "views.sqlite3"


@functools.cache
def server_schema() -> GraphQLSchema:
    """The executable schema, built once; a WorkspaceError names the extra when graphql-core
    is missing."""
    try:
        from graphql import build_schema
    except ImportError:
        raise WorkspaceError(
            "the local view server needs graphql-core: "
            f"pip install 'wsquery[{SERVER_EXTRA}]'") from None
    return build_schema(SCHEMA_SDL)


def _global_id(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def _local_id(kind: str, global_id: str) -> int | None:
    """The row number inside an opaque id of this kind, or None when it is not one."""
    try:
        text = base64.b64decode(global_id.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != kind or not (number.isascii() and number.isdigit()) or len(number) > 19:
        return None
    row = int(number)
    return row if row <= _MAX_ROW_ID else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _graphql_error(message: str, code: str) -> GraphQLError:
    from graphql import GraphQLError

    return GraphQLError(message, extensions={"code": code})


def _error_body(message: str, code: str) -> dict[str, Any]:
    """A GraphQL-style answer carrying one error, for requests refused before GraphQL."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _json_problem(value: Any) -> str | None:
    """What makes a parsed JSON value unfit to keep or run (nested deeper than
    ``MAX_JSON_DEPTH``, or holding half of a UTF-16 pair), or None; walked without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return "it holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            return f"it is nested more than {MAX_JSON_DEPTH} deep"
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children)
    return None


def _longest_string(value: Any) -> int:
    """The length of the longest string (key or value) in a parsed JSON value."""
    longest = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            longest = max(longest, len(item))
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return longest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _load_json(text: str | bytes) -> Any:
    """Strict JSON (no NaN or Infinity), or ValueError saying why not, also for JSON nested
    beyond ``MAX_JSON_DEPTH`` or holding a lone surrogate."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"it is nested more than {MAX_JSON_DEPTH} deep") from None
    except ValueError as error:
        raise ValueError(str(error)) from None
    problem = _json_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


@attrs.frozen(slots=True)
class Received:
    """One request the server got (the last 10,000 are kept in ``ViewServer.received``): path,
    operation name and User-Agent, never the key."""

    path: str
    operation_name: str | None
    user_agent: str | None


@attrs.frozen(slots=True)
class _Fault:
    status: int | None
    delay: float
    retry_after: str | None
    message: str | None
    code: str | None


class Faults:
    """Answers the server gives instead of (or before) the real one, in the order queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[_Fault] = deque()

    def fail(self, status: int, count: int = 1, *, retry_after: str | None = None,
             message: str | None = None, code: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and ``Retry-After``) and a
        GraphQL errors body carrying ``message`` and ``extensions.code``."""
        fault = _Fault(status, 0.0, retry_after, message, code)
        with self._lock:
            self._queue.extend(fault for _ in range(count))

    def slow(self, seconds: float, count: int = 1) -> None:
        """Wait ``seconds`` before answering each of the next ``count`` requests."""
        with self._lock:
            self._queue.extend(_Fault(None, seconds, None, None, None) for _ in range(count))

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def next(self) -> _Fault | None:
        """The fault for the request at hand, if one is queued."""
        with self._lock:
            return self._queue.popleft() if self._queue else None


class _Store:
    """The SQLite file: one connection per request, writes in ``BEGIN IMMEDIATE`` transactions
    so concurrent saves serialize instead of losing updates. The file (and SQLite's -wal and
    -shm beside it, which take its mode) is readable by its owner only, in a folder made 0700;
    API keys are kept only as PBKDF2 hashes under the database's own random salt (one salt, so
    a key is found with one hash, not one per stored key)."""

    def __init__(self, path: Path) -> None:
        self.opened = 0
        self._count_lock = threading.Lock()
        if str(path) == ":memory:":
            raise WorkspaceError("the view server keeps its views in a file: give a path, "
                                 "not ':memory:'")
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with suppress(FileExistsError):
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            with closing(self.connect()) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(_TABLES)
                connection.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)",
                                   ("key_salt", secrets.token_bytes(16)))
                self._salt = bytes(connection.execute(
                    "SELECT value FROM secrets WHERE name = 'key_salt'").fetchone()["value"])
                self._hash_plain_keys(connection)
            for owned in (path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm"))):
                if owned.exists():
                    owned.chmod(0o600)
        except (sqlite3.Error, OSError) as error:
            raise WorkspaceError(f"cannot keep views in {path}: {error}") from None

    def _hash_plain_keys(self, connection: sqlite3.Connection) -> None:
        """A database written before keys were hashed holds them in plain text: store their
        hashes, drop the plain table with SQLite's secure delete, and rewrite the file, so no
        key stays on disk."""
        if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                              "AND name = 'api_keys'").fetchone() is None:
            return
        connection.execute("PRAGMA secure_delete=ON")
        connection.execute("BEGIN IMMEDIATE")
        rows = connection.execute("SELECT key, entity FROM api_keys ORDER BY rowid").fetchall()
        connection.executemany(
            "INSERT OR REPLACE INTO api_key_hashes (digest, entity) VALUES (?, ?)",
            [(self.key_digest(str(row["key"])), row["entity"]) for row in rows])
        connection.execute("DROP TABLE api_keys")
        connection.execute("COMMIT")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _log.info("hashed the %d plain-text API keys of %s", len(rows), self.path)

    def key_digest(self, key: str) -> bytes:
        """The hash a key is stored as (slow on purpose: ``KEY_HASH_ITERATIONS``)."""
        return hashlib.pbkdf2_hmac("sha256", key.encode("utf-8", "surrogatepass"), self._salt,
                                   KEY_HASH_ITERATIONS)

    def connect(self) -> sqlite3.Connection:
        with self._count_lock:
            self.opened += 1
        connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                     check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fewer fsyncs
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with closing(self.connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def projects(self, entity: str) -> list[str]:
        with closing(self.connect()) as connection:
            return [row["name"] for row in connection.execute(
                "SELECT projects.name FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ? ORDER BY projects.name", (entity,))]

    def views(self, entity: str, project: str, name: str | None = None) -> list[sqlite3.Row]:
        """The project's workspace views (the one called ``name``, when given)."""
        where = "entities.name = ? AND projects.name = ? AND views.type = 'project-view'"
        values = [entity, project]
        if name is not None:
            where += " AND views.name = ?"
            values.append(name)
        with closing(self.connect()) as connection:
            return connection.execute(f"{_VIEW_COLUMNS} WHERE {where} ORDER BY views.id",
                                      values).fetchall()

    def runs(self, entity: str, project: str) -> list[dict[str, Any]]:
        """The project's stored runs as W&B's GraphQL gives them, in the order stored."""
        with closing(self.connect()) as connection:
            found = connection.execute(
                "SELECT projects.id FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ? AND projects.name = ?", (entity, project)).fetchone()
            if found is None:
                return []
            rows = connection.execute(f"{_RUN_COLUMNS} WHERE project_id = ? ORDER BY id",
                                      (found["id"],)).fetchall()
        return [_run_object(row, json.loads(row["document"]), int(found["id"]), entity)
                for row in rows]

    def key_hashes(self) -> list[tuple[bytes, str]]:
        """Each stored key's hash and entity, oldest first."""
        with closing(self.connect()) as connection:
            return [(bytes(row["digest"]), str(row["entity"])) for row in connection.execute(
                "SELECT digest, entity FROM api_key_hashes ORDER BY rowid")]

    def add_key(self, key: str, entity: str) -> bytes:
        """Store a key's hash for ``entity``; gives the hash."""
        digest = self.key_digest(key)
        with self.transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO api_key_hashes (digest, entity) "
                               "VALUES (?, ?)", (digest, entity))
        return digest


def _view_object(row: sqlite3.Row, spec: str | None = None) -> dict[str, Any]:
    """A view as W&B's GraphQL gives it; ``spec`` when the row was read without it."""
    return {
        "id": _global_id("View", row["id"]), "name": row["name"],
        "displayName": row["display_name"], "type": row["type"],
        "description": row["description"], "spec": row["spec"] if spec is None else spec,
        "entityName": row["entity_name"], "projectName": row["project_name"],
        "createdUsing": row["created_using"], "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


#: What a node costs in an answer besides its stored text: ids, dates, JSON punctuation.
_NODE_OVERHEAD = 256


def _view_length(row: sqlite3.Row) -> int:
    """The characters a view puts in an answer, bounded from its stored text."""
    return _NODE_OVERHEAD + (row["spec_length"] or 0) + sum(
        len(str(row[column] or "")) for column in (
            "name", "display_name", "description", "type", "entity_name", "project_name"))


def _run_length(node: Mapping[str, Any]) -> int:
    return _NODE_OVERHEAD + len(json.dumps(node, default=str))


class _Budget:
    """What is left of ``MAX_RESPONSE_LENGTH`` for one answer: each view or run put in it
    takes its length, so aliases and pages together cannot make an answer (and the memory
    behind it) larger. A refusal is raised where no row is held: an error keeps its frames
    alive until the answer is sent."""

    def __init__(self) -> None:
        self.left = MAX_RESPONSE_LENGTH

    def take(self, length: int) -> bool:
        """Take ``length`` when it is left; whether it was."""
        if length > self.left:
            return False
        self.left -= length
        return True

    @staticmethod
    def refusal(what: str) -> GraphQLError:
        return _graphql_error(
            f"{what} would make the answer longer than {MAX_RESPONSE_LENGTH} characters: "
            "ask for fewer aliases or a smaller page", RESPONSE_TOO_LARGE_CODE)


_Item = TypeVar("_Item")


def _page(items: Iterable[_Item], first: int | None, budget: _Budget,
          length: Callable[[_Item], int]) -> tuple[list[_Item], bool]:
    """The first ``first`` items (at most ``MAX_PAGE_SIZE``; that many when not asked) that
    the budget holds, and whether more remain. A page ends early when the next item would
    pass the budget (clients go on with ``after``); an empty page with more to come is one
    whose first item fits no answer."""
    if first is not None and first < 0:
        raise _graphql_error("first must not be negative", "BAD_USER_INPUT")
    size = MAX_PAGE_SIZE if first is None else min(first, MAX_PAGE_SIZE)
    page: list[_Item] = []
    for item in items:
        if len(page) == size or not budget.take(length(item)):
            return page, True
        page.append(item)
    return page, False


def _cursor(after: str | None) -> int:
    """The row (or position) after which a page starts: 0 without a cursor."""
    if after is None:
        return 0
    start = _local_id("Cursor", after)
    if start is None:
        raise _graphql_error(f"invalid cursor {after[:100]!r}", "BAD_USER_INPUT")
    return start


class _Project:
    """A project as GraphQL sees it; ``allViews``, ``runs``, ``runCount`` and ``run`` are
    resolved from the store on demand, within the answer's budget."""

    def __init__(self, store: _Store, row: sqlite3.Row, entity: str, budget: _Budget,
                 user: dict[str, Any]) -> None:
        self._store = store
        self._budget = budget
        self.id = _global_id("Project", row["id"])
        self._number = int(row["id"])
        self.internalId = str(self._number)
        self.name = str(row["name"])
        self.entityName = entity
        self.createdAt = str(row["created_at"])
        self.user = user
        self.readOnly = False
        self.isBenchmark = False

    def allViews(self, info: object, viewType: str | None = None,
                 viewName: str | None = None, userName: str | None = None,
                 first: int | None = None, after: str | None = None) -> dict[str, Any]:
        conditions: list[str] = ["views.project_id = ?"]
        values: list[object] = [self._number]
        for column, value in (("views.type", viewType), ("views.name", viewName),
                              ("views.user_name", userName)):
            if value is not None:
                conditions.append(f"{column} = ?")
                values.append(value)
        start = _cursor(after)
        where = " AND ".join(conditions)
        with closing(self._store.connect()) as connection:
            total = connection.execute(f"SELECT count(*) FROM views WHERE {where}",
                                       values).fetchone()[0]
            rows = connection.execute(
                f"{_VIEW_HEADS} WHERE {where} AND views.id > ? ORDER BY views.id LIMIT ?",
                [*values, start, MAX_PAGE_SIZE + 1])
            page, more = _page(rows, first, self._budget, _view_length)
            specs = dict(connection.execute(
                f"SELECT id, spec FROM views WHERE id IN ({', '.join('?' * len(page))})",
                [row["id"] for row in page]).fetchall()) if page else {}
        if more and not page and first != 0:
            raise _Budget.refusal("the next view")
        edges = [{"node": _view_object(row, specs[row["id"]]),
                  "cursor": _global_id("Cursor", row["id"])} for row in page]
        return _connection(total, edges, more, after is not None)

    def _selected(self, filters: str | None) -> list[dict[str, Any]]:
        """The project's runs that match runs-API ``filters``, in the order stored."""
        try:
            wanted = _load_json(filters) if filters else {}
        except ValueError as error:
            raise _graphql_error(f"filters is not JSON: {error}", "BAD_USER_INPUT") from None
        if not isinstance(wanted, dict):
            raise _graphql_error("filters must be a JSON object", "BAD_USER_INPUT")
        with closing(self._store.connect()) as connection:
            rows = connection.execute(f"{_RUN_COLUMNS} WHERE project_id = ? ORDER BY id",
                                      (self._number,)).fetchall()
        try:
            return [_run_object(row, document, self._number, self.entityName) for row in rows
                    if matches_filter(wanted, document := json.loads(row["document"]))]
        except FilterError as error:
            raise _graphql_error(str(error), "BAD_USER_INPUT") from None

    def runs(self, info: object, filters: str | None = None, order: str | None = None,
             first: int | None = None, after: str | None = None) -> dict[str, Any]:
        """The project's runs that match runs-API ``filters``, in ``order``, one page."""
        from wsquery.ast import Query
        from wsquery.compilers.runs_api import DEFAULT_ORDER, order_key
        from wsquery.semantics.evaluate import evaluate

        try:
            sort = order_key(order or DEFAULT_ORDER)
        except WsqueryError as error:
            raise _graphql_error(f"order: {error}", "BAD_USER_INPUT") from None
        start = _cursor(after)
        selected = self._selected(filters)
        ordered = evaluate(Query(order_by=(sort,)), selected)
        page, more = _page(ordered[start:], first, self._budget, _run_length)
        total = len(ordered)
        del selected, ordered  # not kept alive by an error's frames
        if more and not page and first != 0:
            raise _Budget.refusal("the next run")
        edges = [{"node": _RunHistory.attach(node, self._store, self._budget),
                  "cursor": _global_id("Cursor", start + index + 1)}
                 for index, node in enumerate(page)]
        return _connection(total, edges, more, start > 0)

    def runCount(self, info: object, filters: str | None = None) -> int:
        """How many of the project's runs match runs-API ``filters``."""
        return len(self._selected(filters))

    def run(self, info: object, name: str) -> dict[str, Any] | None:
        """The project's run whose id (W&B's ``name``) is ``name``."""
        with closing(self._store.connect()) as connection:
            row = connection.execute(f"{_RUN_COLUMNS} WHERE project_id = ? AND name = ?",
                                     (self._number, name)).fetchone()
        if row is None:
            return None
        node = _run_object(row, json.loads(row["document"]), self._number, self.entityName)
        if not self._budget.take(_run_length(node)):
            del row, node  # not kept alive by the error's frames
            raise _Budget.refusal("this run")
        return _RunHistory.attach(node, self._store, self._budget)


def _connection(total: int, edges: list[dict[str, Any]], more: bool, after: bool
                ) -> dict[str, Any]:
    """A page as W&B's connections give it."""
    return {
        "totalCount": total,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": after,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _run_object(row: sqlite3.Row, document: dict[str, Any], project: int, entity: str
                ) -> dict[str, Any]:
    """A stored run document as W&B's GraphQL ``Run``: config values wrapped as
    ``{"value": ..., "desc": null}``, config, summary and system metrics as JSON text, the
    entity as the user of a run stored without one (W&B's runs always have one, and its SDK
    reads it). Its other run keys stay on the object, so the local evaluator can order by
    them."""
    node = {key: value for key, value in document.items()
            if key not in ("config", "summary_metrics")}
    username = document.get("username") or entity
    node.update(
        id=_global_id("Run", row["id"]),
        projectId=str(project),
        sweepName=document.get("sweep"),
        readOnly=False,
        user={"id": _global_id("User", 0), "name": username, "username": username},
        config=json.dumps({key: {"value": value, "desc": None}
                           for key, value in document.get("config", {}).items()}),
        summaryMetrics=json.dumps(_summary(document)),
        systemMetrics="{}",
        historyLineCount=row["history_lines"],
    )
    return node


def _summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """A run's summary metrics as W&B's GraphQL gives them: holding the run's ``_step``, which
    runs-API filters read at the top of the run and W&B keeps in the summary."""
    summary = dict(document.get("summary_metrics", {}))
    if document.get("_step") is not None:
        summary.setdefault("_step", document["_step"])
    return summary


class _RunHistory:
    """A run's history rows (``ViewServer.add_runs``' ``history``), read on demand: the
    ``Run`` fields W&B's SDK reads for ``run.history()`` and ``run.scan_history()``. Rows come
    by ``_step``, each as logged."""

    def __init__(self, store: _Store, run: int, budget: _Budget) -> None:
        self._store = store
        self._run = run
        self._budget = budget

    @classmethod
    def attach(cls, node: dict[str, Any], store: _Store, budget: _Budget) -> dict[str, Any]:
        """``node`` with its history fields, resolved when a document selects them."""
        history = cls(store, _local_id("Run", node["id"]) or 0, budget)
        node.update(history=history.history, sampledHistory=history.sampledHistory,
                    historyKeys=history.historyKeys, parquetHistory=history.parquetHistory)
        return node

    def _rows(self, min_step: int | None, max_step: int | None) -> Iterator[dict[str, Any]]:
        """The rows with ``min_step <= _step < max_step`` (a bound left out: none), by step,
        read one at a time."""
        with closing(self._store.connect()) as connection:
            for row in connection.execute(
                    "SELECT row FROM run_history WHERE run_id = ? AND step >= ? AND step < ? "
                    "ORDER BY step", (self._run, -2**63 if min_step is None else min_step,
                                      2**63 - 1 if max_step is None else max_step)):
                yield json.loads(row["row"])

    def _kept(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows, held only while the answer's budget could still carry them all: a run's
        history is read whole only where an answer could hold it."""
        kept: list[dict[str, Any]] = []
        length = 0
        for row in rows:
            length += len(json.dumps(row))
            if length > self._budget.left:
                del kept  # not kept alive by the error's frames
                raise _Budget.refusal("this run's history")
            kept.append(row)
        return kept

    def _taken(self, answer: _Item) -> _Item:
        """``answer``, when the budget holds it."""
        if not self._budget.take(_NODE_OVERHEAD + len(json.dumps(answer))):
            del answer  # not kept alive by the error's frames
            raise _Budget.refusal("this run's history")
        return answer

    def history(self, info: object, minStep: int | None = None, maxStep: int | None = None,
                samples: int | None = None) -> list[str]:
        """The rows in the step range (``maxStep`` left out), ``samples`` of them at most,
        each as JSON text. The steps are sampled before any row is read."""
        with closing(self._store.connect()) as connection:
            steps = [int(row["step"]) for row in connection.execute(
                "SELECT step FROM run_history WHERE run_id = ? AND step >= ? AND step < ? "
                "ORDER BY step", (self._run, -2**63 if minStep is None else minStep,
                                  2**63 - 1 if maxStep is None else maxStep))]
            chosen = _sampled(steps, samples)
            texts = []
            for start in range(0, len(chosen), 500):  # SQLite's bound on parameters
                part = chosen[start:start + 500]
                texts += [str(row["row"]) for row in connection.execute(
                    f"SELECT row FROM run_history WHERE run_id = ? AND step IN "
                    f"({', '.join('?' * len(part))}) ORDER BY step", (self._run, *part))]
                if not self._budget.take(sum(map(len, texts[-len(part):]))):
                    del texts  # not kept alive by the error's frames
                    raise _Budget.refusal("this run's history")
        return texts

    def sampledHistory(self, info: object, specs: list[str]) -> list[list[dict[str, Any]]]:
        """For each spec (``{"keys": [...], "samples": n}``, optionally ``minStep`` and
        ``maxStep``, both included: wandb-core asks for the pages 0-4, 5-9, ...), the rows
        holding every key, with only those keys, sampled."""
        answers = []
        for text in specs:
            keys, samples, min_step, max_step = _history_spec(text)
            rows = self._rows(min_step, None if max_step is None else max_step + 1)
            answers.append(_sampled(self._kept({key: row[key] for key in keys} for row in rows
                                               if all(key in row for key in keys)), samples))
        return self._taken(answers)

    def parquetHistory(self, info: object, liveKeys: list[str]) -> dict[str, Any]:
        """No Parquet files (nothing is exported here), and every row as live data, with only
        ``liveKeys``."""
        live = self._kept({key: row[key] for key in liveKeys if key in row}
                          for row in self._rows(None, None))
        return {"parquetUrls": [], "liveData": self._taken(live)}

    def historyKeys(self, info: object) -> dict[str, Any]:
        """The last step, and for each key how many rows hold a value of each JSON type."""
        counts: dict[str, dict[str, int]] = {}
        last_step = -1
        for row in self._rows(None, None):
            last_step = row["_step"]
            for key, value in row.items():
                kinds = counts.setdefault(key, {})
                kinds[_json_type(value)] = kinds.get(_json_type(value), 0) + 1
        return self._taken({
            "lastStep": last_step,
            "keys": {key: {"typeCounts": [{"type": kind, "count": count}
                                          for kind, count in kinds.items()]}
                     for key, kinds in counts.items()}})


def _json_type(value: Any) -> str:
    """The name W&B's history keys give a value's type."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "map" if isinstance(value, dict) else "list"


def _history_spec(text: str) -> tuple[list[str], int | None, int | None, int | None]:
    """A ``sampledHistory`` spec's keys, samples, minStep and maxStep, or BAD_USER_INPUT."""
    try:
        spec = _load_json(text)
    except ValueError as error:
        raise _graphql_error(f"a history spec is not JSON: {error}", "BAD_USER_INPUT") from None
    keys = spec.get("keys") if isinstance(spec, dict) else None
    if not (isinstance(keys, list) and keys and all(isinstance(key, str) for key in keys)):
        raise _graphql_error('a history spec is an object with "keys", a list of key names',
                             "BAD_USER_INPUT")
    numbers = [spec.get(name) for name in ("samples", "minStep", "maxStep")]
    if not all(number is None or (isinstance(number, int) and not isinstance(number, bool))
               for number in numbers):
        raise _graphql_error("a history spec's samples, minStep and maxStep are whole numbers",
                             "BAD_USER_INPUT")
    return keys, numbers[0], numbers[1], numbers[2]


def _sampled(rows: list[_Item], samples: int | None) -> list[_Item]:
    """At most ``samples`` (and ``MAX_HISTORY_SAMPLES``) of the rows, evenly spaced, the first
    and last kept; all of them when that many fit."""
    if samples is not None and samples < 0:
        raise _graphql_error("samples must not be negative", "BAD_USER_INPUT")
    wanted = MAX_HISTORY_SAMPLES if samples is None else min(samples, MAX_HISTORY_SAMPLES)
    if len(rows) <= wanted:
        return rows
    if wanted <= 1:
        return rows[:wanted]
    last = len(rows) - 1
    return [rows[round(index * last / (wanted - 1))] for index in range(wanted)]


def _history_rows(history: Any) -> list[tuple[int, str]]:
    """A run's history as (step, JSON text) rows; a WsqueryError names the row that has no
    whole ``_step`` of its own."""
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise WsqueryError(f"history is a list of rows, not {type(history).__name__}")
    rows: dict[int, str] = {}
    for index, row in enumerate(history):
        step = row.get("_step") if isinstance(row, Mapping) else None
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < 2**63:
            raise WsqueryError(f"history row {index} has no _step (a whole number from 0): "
                               f"{row!r:.60}")
        if step in rows:
            raise WsqueryError(f"history row {index} repeats _step {step}")
        rows[step] = json.dumps(dict(row), default=str)
    return list(rows.items())


def _project_id(connection: sqlite3.Connection, entity: str, project: str) -> int:
    """The project's row, created (with its entity) when missing."""
    connection.execute("INSERT OR IGNORE INTO entities (name) VALUES (?)", (entity,))
    entity_id = connection.execute("SELECT id FROM entities WHERE name = ?",
                                   (entity,)).fetchone()["id"]
    connection.execute(
        "INSERT OR IGNORE INTO projects (entity_id, name, created_at) VALUES (?, ?, ?)",
        (entity_id, project, _now()))
    return int(connection.execute("SELECT id FROM projects WHERE entity_id = ? AND name = ?",
                                  (entity_id, project)).fetchone()["id"])


class _Root:
    """Query and mutation fields for one request, acting as the entity of its API key. Another
    entity's view answers exactly as a missing one, so ids reveal nothing."""

    def __init__(self, store: _Store, entity: str) -> None:
        self._store = store
        self._entity = entity
        self._budget = _Budget()

    def _require_own(self, entity: str) -> None:
        if entity != self._entity:
            raise _graphql_error(
                f"permission denied: this API key belongs to {self._entity!r}, not {entity!r}",
                "PERMISSION_ERROR")

    def _user(self, number: int) -> dict[str, Any]:
        """The key's user, named as its entity: no email, flags, teams or listed keys."""
        return {"id": _global_id("User", number), "name": self._entity,
                "username": self._entity, "entity": self._entity, "email": None,
                "flags": None, "admin": False, "deletedAt": None,
                "teams": {"edges": []}, "apiKeys": {"edges": []}}

    def _entity_number(self, connection: sqlite3.Connection) -> int:
        row = connection.execute("SELECT id FROM entities WHERE name = ?",
                                 (self._entity,)).fetchone()
        return int(row["id"]) if row else 0

    def viewer(self, info: object, entityName: str | None = None
               ) -> dict[str, Any]:
        with closing(self._store.connect()) as connection:
            return self._user(self._entity_number(connection))

    def project(self, info: object, name: str | None = None,
                entityName: str | None = None) -> _Project | None:
        entity = entityName or self._entity
        self._require_own(entity)
        with closing(self._store.connect()) as connection:
            row = connection.execute(
                "SELECT projects.* FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ? AND projects.name = ?", (entity, name)).fetchone()
            user = self._user(self._entity_number(connection))
        return _Project(self._store, row, entity, self._budget, user) if row else None

    def models(self, info: object, entityName: str | None = None, after: str | None = None,
               first: int | None = None) -> dict[str, Any]:
        """The entity's projects, by creation, one page (``Api.projects``)."""
        entity = entityName or self._entity
        self._require_own(entity)
        with closing(self._store.connect()) as connection:
            rows = connection.execute(
                "SELECT projects.* FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ? AND projects.id > ? ORDER BY projects.id LIMIT ?",
                (entity, _cursor(after), MAX_PAGE_SIZE + 1)).fetchall()
            total = connection.execute(
                "SELECT count(*) FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ?", (entity,)).fetchone()[0]
            user = self._user(self._entity_number(connection))
        page, more = _page(rows, first, self._budget, lambda row: _NODE_OVERHEAD)
        edges = [{"node": _Project(self._store, row, entity, self._budget, user),
                  "cursor": _global_id("Cursor", row["id"])} for row in page]
        return _connection(total, edges, more, after is not None)

    def view(self, info: object, id: str, type: str | None = None
             ) -> dict[str, Any] | None:
        number = _local_id("View", id)
        if number is None:
            return None
        with closing(self._store.connect()) as connection:
            row = connection.execute(f"{_VIEW_COLUMNS} WHERE views.id = ?",
                                     (number,)).fetchone()
        if row is None or row["entity_name"] != self._entity or (
                type is not None and row["type"] != type):
            return None
        if not self._budget.take(_view_length(row)):
            del row  # not kept alive by the error's frames
            raise _Budget.refusal("this view")
        return _view_object(row)

    def upsertView(self, info: object, input: dict[str, Any]
                   ) -> dict[str, Any]:
        for field in ("name", "displayName"):
            if len(input.get(field) or "") > MAX_NAME_LENGTH:
                raise _graphql_error(f"{field} is longer than {MAX_NAME_LENGTH} characters",
                                     "BAD_USER_INPUT")
        if input.get("spec") is not None:
            _check_spec(input["spec"])
        with self._store.transaction() as connection:
            if input.get("id") is not None:
                number = self._existing_view(connection, input["id"])
                inserted = False
            else:
                number, inserted = self._view_for_name(connection, input)
            self._write(connection, number, input)
            row = connection.execute(f"{_VIEW_COLUMNS} WHERE views.id = ?",
                                     (number,)).fetchone()
        if not self._budget.take(_view_length(row)):
            del row  # not kept alive by the error's frames
            raise _Budget.refusal("the saved view")
        return {"view": _view_object(row), "inserted": inserted}

    def deleteView(self, info: object, input: dict[str, Any]
                   ) -> dict[str, Any]:
        if input.get("id") is None:
            raise _graphql_error("deleteView needs the id of a view", "BAD_USER_INPUT")
        with self._store.transaction() as connection:
            number = self._existing_view(connection, input["id"])
            connection.execute("DELETE FROM views WHERE id = ?", (number,))
        return {"success": True}

    def _existing_view(self, connection: sqlite3.Connection, view_id: str) -> int:
        """The row of this entity's view ``view_id``; NOT_FOUND when there is none (another
        entity's included)."""
        number = _local_id("View", view_id)
        row = None if number is None else connection.execute(
            f"{_VIEW_COLUMNS} WHERE views.id = ?", (number,)).fetchone()
        if number is None or row is None or row["entity_name"] != self._entity:
            raise _graphql_error(f"view {view_id[:100]!r} not found", "NOT_FOUND")
        return number

    def _view_for_name(self, connection: sqlite3.Connection, input: dict[str, Any]
                       ) -> tuple[int, bool]:
        """The view ``input`` names in its project (creating entity, project and view as
        needed), and whether it was inserted."""
        entity = input.get("entityName") or self._entity
        self._require_own(entity)
        if not input.get("projectName") or not input.get("name"):
            raise _graphql_error("a new view needs projectName and name", "BAD_USER_INPUT")
        connection.execute("INSERT OR IGNORE INTO entities (name) VALUES (?)", (entity,))
        entity_id = connection.execute("SELECT id FROM entities WHERE name = ?",
                                       (entity,)).fetchone()["id"]
        connection.execute(
            "INSERT OR IGNORE INTO projects (entity_id, name, created_at) VALUES (?, ?, ?)",
            (entity_id, input["projectName"], _now()))
        project_id = connection.execute(
            "SELECT id FROM projects WHERE entity_id = ? AND name = ?",
            (entity_id, input["projectName"])).fetchone()["id"]
        row = connection.execute("SELECT id FROM views WHERE project_id = ? AND name = ?",
                                 (project_id, input["name"])).fetchone()
        if row is not None:
            return int(row["id"]), False
        now = _now()
        cursor = connection.execute(
            "INSERT INTO views (project_id, name, created_using, user_name, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (project_id, input["name"], input.get("createdUsing") or "WANDB_UI", self._entity,
             now, now))
        return int(cursor.lastrowid or 0), True

    @staticmethod
    def _write(connection: sqlite3.Connection, number: int,
               input: dict[str, Any]) -> None:
        """Store the fields ``input`` sets; fields it leaves out keep their value."""
        columns = {"name": "name", "displayName": "display_name",
                   "description": "description", "type": "type", "spec": "spec",
                   "createdUsing": "created_using"}
        updates = {column: input[field] for field, column in columns.items()
                   if input.get(field) is not None}
        updates["updated_at"] = _now()
        assignments = ", ".join(f"{column} = ?" for column in updates)
        try:
            connection.execute(f"UPDATE views SET {assignments} WHERE id = ?",
                               [*updates.values(), number])
        except sqlite3.IntegrityError:
            raise _graphql_error(f"a view called {input['name']!r} already exists here",
                                 "CONFLICT") from None


class _Refused(Exception):
    """A request refused before it reached GraphQL: its status, message and error code."""

    def __init__(self, status: HTTPStatus, message: str, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or status.name
        self.headers = dict(headers or {})


class _Handler(BaseHTTPRequestHandler):
    """One connection: GraphQL at ``/graphql`` (POST, ``application/json``), sign-in and
    sign-out at ``/login`` and ``/logout``, HTML pages elsewhere (GET). Every refusal is a 4xx
    with a body (GraphQL-style JSON, or a page for a page); a connection idle for the read
    timeout is closed."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # one write per answer; the base class flushes after each request
    server_version = "wsquery-view-server"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.limits.read_timeout)  # per read

    def log_message(self, format: str, *args: Any) -> None:
        shown = [_TOKEN_IN_URL.sub(r"\1...", arg) if isinstance(arg, str) else arg
                 for arg in args]
        _log.debug("%s " + format, self.address_string(), *shown)

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The base class's refusals (a malformed request line, an over-long line, too many
        headers, a method without a handler) as GraphQL-style JSON; a method without a
        handler is a 405 naming the allowed ones."""
        if not self.request_version.startswith("HTTP/1."):
            self.request_version = "HTTP/1.0"  # a request line it could not read: answer 1.x
        refusal = _Refused(HTTPStatus(code), message or HTTPStatus(code).phrase)
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:  # a client error: not to be retried
            refusal = _Refused(HTTPStatus.BAD_REQUEST,
                               f"{message}: this server speaks HTTP/1.0 and HTTP/1.1",
                               "HTTP_VERSION_NOT_SUPPORTED")
        if code == HTTPStatus.NOT_IMPLEMENTED:
            refusal = _Refused(HTTPStatus.METHOD_NOT_ALLOWED,
                               f"{self.command} is not allowed here: use {self._allowed()}",
                               headers={"Allow": self._allowed()})
        self.close_connection = True
        self._reply(refusal.status, _error_body(refusal.message, refusal.code),
                    {**refusal.headers, "Connection": "close"})

    def parse_request(self) -> bool:
        """The base class's reading, refusing HTTP/0.9 (an answer without a status line)."""
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.BAD_REQUEST, "send an HTTP/1.1 request line")
            return False
        return True

    def _allowed(self) -> str:
        path = urlsplit(self.path).path
        if path.rstrip("/") == "/graphql" or path == "/logout":
            return _GRAPHQL_METHODS
        return _PAGE_METHODS if path == "/login" else "GET"

    def _answer(self, handler: Callable[[], None]) -> None:
        """Run a method's handler; a refusal it raises is answered (a page for page paths,
        JSON elsewhere), and a failure it did not expect is logged and answered 500 instead
        of dropping the connection."""
        try:
            handler()
        except _Refused as refusal:
            self.close_connection = True
            headers = {**refusal.headers, "Connection": "close"}
            if self._for_pages():
                self._page(refusal.status, pages.message_page(refusal.status.phrase,
                                                              refusal.message), headers)
            else:
                self._reply(refusal.status, _error_body(refusal.message, refusal.code), headers)
        except Exception:
            _log.exception("view server failure")
            self.close_connection = True
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR,
                        _error_body("internal server error", "INTERNAL_SERVER_ERROR"))

    def _for_pages(self) -> bool:
        path = urlsplit(self.path).path
        return path in ("/login", "/logout") or (
            self.command == "GET" and path.rstrip("/") != "/graphql")

    def _get(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        if parts.path.rstrip("/") == "/graphql" or parts.path == "/logout":
            self.send_error(HTTPStatus.NOT_IMPLEMENTED)
            return
        if parts.path == "/login":
            query = parse_qs(parts.query)
            entity = owner.redeem_login_token(query.get("token", [""])[0])
            self._signed_in(entity, query.get("next", ["/"])[0],
                            "This sign-in link was used already or has expired.")
            return
        entity = self._page_entity()
        if entity is None:
            self._page(HTTPStatus.UNAUTHORIZED, pages.sign_in_page(_local_path(self.path)))
            return
        self._page(*owner.page(entity, self.path))

    def _session(self) -> str | None:
        """The session id the request's cookie holds, if any."""
        cookies: SimpleCookie = SimpleCookie()
        with suppress(CookieError):
            cookies.load(self.headers.get("Cookie") or "")
        morsel = cookies.get(self.server.owner.session_cookie)
        return morsel.value if morsel is not None else None

    def _page_entity(self) -> str | None:
        """The entity whose pages the request may see: its session's, else its key's."""
        owner = self.server.owner
        session = self._session()
        entity = owner.session_entity(session) if session is not None else None
        return entity or owner.entity_for(self._api_key())

    def _same_origin(self) -> None:
        """Refuse a form post that did not come from this server's own pages: its ``Origin``
        (else its ``Referer``'s origin) must be the origin the request was sent to, so another
        site cannot sign a browser in or out (login CSRF)."""
        origin = self.headers.get("Origin")
        if origin is None and self.headers.get("Referer"):
            referer = urlsplit(self.headers["Referer"])
            origin = f"{referer.scheme}://{referer.netloc}"
        host = self.headers.get("Host")
        if origin is None or host is None or origin != f"http://{host}":
            raise _Refused(HTTPStatus.FORBIDDEN, "sign-in and sign-out forms are accepted "
                           "only from this server's own pages", "CSRF_REFUSED")

    def _sign_in_by_form(self) -> None:
        """The sign-in form's POST: the key in the body, never in the URL."""
        self._same_origin()
        form = parse_qs(self._read(self._content_length(_MAX_FORM)).decode("utf-8", "replace"))
        entity = self.server.owner.entity_for(form.get("key", [""])[0])
        self._signed_in(entity, form.get("next", ["/"])[0], "That API key is not accepted here.")

    def _sign_out(self) -> None:
        """The sign-out form's POST: the session ends and its cookie is cleared."""
        self._same_origin()
        self._read(self._content_length(_MAX_FORM))
        owner = self.server.owner
        session = self._session()
        if session is not None:
            owner.close_session(session)
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {
            "Location": "/", "Set-Cookie": f"{owner.session_cookie}=; Path=/; Max-Age=0; "
                                           "HttpOnly; SameSite=Strict"})

    def _signed_in(self, entity: str | None, next_path: str, refusal: str) -> None:
        """Open a session for ``entity`` (ending the browser's previous one) and go on to
        ``next_path``; without one, the form."""
        target = _local_path(next_path)
        if entity is None:
            self._page(HTTPStatus.UNAUTHORIZED, pages.sign_in_page(target, refusal))
            return
        owner = self.server.owner
        session = owner.open_session(entity, replacing=self._session())
        cookie = (f"{owner.session_cookie}={session}; Path=/; Max-Age={SESSION_SECONDS}; "
                  "HttpOnly; SameSite=Strict")
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain",
                   {"Location": target, "Set-Cookie": cookie})

    def _post(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        if path == "/login":
            self._sign_in_by_form()
            return
        if path == "/logout":
            self._sign_out()
            return
        if path.startswith(_TELEMETRY_PREFIX):
            self._read(self._content_length(_MAX_TELEMETRY_BODY))
            self._send(HTTPStatus.OK, b"", self.headers.get("Content-Type") or "text/plain")
            return
        body = self._body()
        operation_name = body.get("operationName")
        owner.record(Received(self.path, operation_name, self.headers.get("User-Agent")))
        fault = owner.faults.next()
        if fault is not None and fault.delay:
            owner.stopping.wait(fault.delay)
        if path.rstrip("/") != "/graphql":
            raise _Refused(HTTPStatus.NOT_FOUND, "POST GraphQL to /graphql")
        if fault is not None and fault.status is not None:
            self._fault(fault.status, fault)
            return
        entity = owner.entity_for(self._api_key())
        if entity is None:
            self._reply(HTTPStatus.UNAUTHORIZED,
                        _error_body("missing or invalid API key", "UNAUTHENTICATED"),
                        {"WWW-Authenticate": 'Basic realm="wsquery"'})
            return
        status, payload = owner.execute(entity, body)
        self._reply(status, payload)

    def _content_length(self, limit: int) -> int:
        """The body's declared length: one whole number of bytes, at most ``limit``."""
        if self.headers.get("Transfer-Encoding") is not None:
            raise _Refused(HTTPStatus.LENGTH_REQUIRED,
                           "send the body with a Content-Length (chunked bodies are not read)")
        values = {value.strip() for value in self.headers.get_all("Content-Length") or ["0"]}
        text = values.pop()
        if values or not (text.isascii() and text.isdigit()):
            raise _Refused(HTTPStatus.BAD_REQUEST,
                           "Content-Length must be one whole number of bytes")
        if len(text) > 20 or int(text) > limit:
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           f"a request body here has at most {limit} bytes")
        return int(text)

    def _read(self, length: int) -> bytes:
        """The body's ``length`` bytes, within the read timeout."""
        try:
            data = self.rfile.read(length)
        except TimeoutError:
            raise _Refused(HTTPStatus.REQUEST_TIMEOUT, "the body did not arrive within "
                           f"{self.server.limits.read_timeout:g} seconds") from None
        if len(data) < length:
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body ended before its Content-Length")
        return data

    def _body(self) -> dict[str, Any]:
        """The JSON request: an object with a query string, optional variables (an object)
        and operationName (a string), within ``MAX_JSON_DEPTH`` and ``MAX_SPEC_LENGTH``."""
        media_type = (self.headers.get("Content-Type") or "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                           "send GraphQL as Content-Type: application/json")
        try:
            body = _load_json(self._read(self._content_length(MAX_BODY)))
        except ValueError as error:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {error}") from None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise _Refused(HTTPStatus.BAD_REQUEST,
                           "the body must be a JSON object with a query string")
        if not isinstance(body.get("variables") or {}, dict):
            raise _Refused(HTTPStatus.BAD_REQUEST, "variables must be a JSON object")
        if not isinstance(body.get("operationName") or "", str):
            raise _Refused(HTTPStatus.BAD_REQUEST, "operationName must be a string")
        longest = _longest_string(body)
        if longest > MAX_SPEC_LENGTH:
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           f"the body holds a string of {longest} characters; the longest "
                           f"accepted (a spec) has {MAX_SPEC_LENGTH}")
        return body

    def _api_key(self) -> str | None:
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeError):
            return None
        return decoded.partition(":")[2] or None

    def _fault(self, status: int, fault: _Fault) -> None:
        error: dict[str, Any] = {"message": fault.message or HTTPStatus(status).phrase.lower()}
        if fault.code is not None:
            error["extensions"] = {"code": fault.code}
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        self._reply(status, {"errors": [error]}, headers)

    def _reply(self, status: int, payload: Mapping[str, Any],
               headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _page(self, status: int, page: str, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, page.encode(), "text/html; charset=utf-8",
                   {**_PAGE_HEADERS, **(headers or {})})

    def _send(self, status: int, data: bytes, content_type: str,
              headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            _log.debug("client went away before the answer")
            self.close_connection = True


def _drop_expired(entries: dict[str, tuple[str, float]], now: float) -> None:
    """Forget the tokens or sessions whose deadline has passed."""
    for name in [name for name, (_, deadline) in entries.items() if deadline <= now]:
        del entries[name]


def _project_path(entity: str, project: str) -> str:
    return f"/{quote(entity, safe='')}/{quote(project, safe='')}"


def _view_path(entity: str, project: str, view_name: str) -> str:
    """The path of a view's page: its W&B app link without the host."""
    from wsquery.wandb.views import view_url

    return view_url("", entity, project, view_name)


def _local_path(path: str) -> str:
    """``path`` when it is a path on this server (percent-encoded where a header could not hold
    it), else "/": a link cannot send a browser elsewhere."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return quote(path, safe="/?=&%:@!$'()*+,;~-._#")


@attrs.frozen
class ConnectionLimits:
    """How many connections the server serves at once, how many may wait, and how long a
    connection may keep a worker waiting for its next bytes."""

    read_timeout: float = READ_TIMEOUT_SECONDS
    workers: int = attrs.field(default=WORKER_THREADS, validator=attrs.validators.ge(1))
    waiting: int = attrs.field(default=MAX_WAITING_CONNECTIONS,
                               validator=attrs.validators.ge(1))


class _HTTPServer(HTTPServer):
    """An HTTP server with a fixed pool of worker threads. Accepted connections wait in a
    bounded queue; one that finds it full is answered 503 at once and closed, so many
    connections never make many threads."""

    request_queue_size = 128  # the listen backlog: connections wait here before the queue

    def __init__(self, address: tuple[str, int], owner: ViewServer,
                 limits: ConnectionLimits) -> None:
        self.owner = owner
        self.limits = limits
        self._waiting: queue.Queue[tuple[socket.socket, Any]] = queue.Queue(limits.waiting)
        self._closing = threading.Event()
        self._active: set[socket.socket] = set()
        self._active_lock = threading.Lock()
        super().__init__(address, _Handler)
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
        body = json.dumps(_error_body("the server is busy: try again shortly",
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


class ViewServer:
    """The local view server, serving from a background thread once started.

    ``api_keys`` maps each accepted key to its entity; without it the keys stored in the
    database are used, and a fresh database gets one random key for ``DEFAULT_ENTITY``.
    ``limits`` sets the connection limits (``ConnectionLimits``). Use as a context manager, or
    call ``start()`` and ``stop()``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 db_path: str | os.PathLike[str] | None = None, *,
                 api_keys: Mapping[str, str] | None = None,
                 faults: Faults | None = None,
                 limits: ConnectionLimits | None = None) -> None:
        server_schema()
        self._temp_dir = None if db_path is not None else tempfile.mkdtemp(prefix="wsquery-")
        self.db_path = Path(db_path) if db_path is not None else Path(
            self._temp_dir or "") / "views.sqlite3"
        self._lock = threading.Lock()
        self.faults = faults if faults is not None else Faults()
        self.received: deque[Received] = deque(maxlen=10_000)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._login_tokens: dict[str, tuple[str, float]] = {}
        self._sessions: dict[str, tuple[str, float]] = {}
        #: Keys given to or made by this process: the only ones it can still show.
        self._plain_keys: list[str] = []
        #: SHA-256 of a key accepted lately -> its stored hash, so a client pays the slow
        #: hash once, not per request.
        self._accepted: dict[bytes, bytes] = {}
        try:
            self._store = _Store(self.db_path)
            for key, entity in (api_keys or {}).items():
                self._store.add_key(key, entity)
                self._plain_keys.append(key)
            if not self._store.key_hashes():
                self._plain_keys.append(secrets.token_hex(20))
                self._store.add_key(self._plain_keys[-1], DEFAULT_ENTITY)
            self._key_hashes = self._store.key_hashes()
            self._http = _HTTPServer((host, port), self, limits or ConnectionLimits())
        except BaseException:
            self._remove_temp_dir()
            raise

    def __repr__(self) -> str:
        return f"ViewServer(url={self.url!r}, db_path={str(self.db_path)!r})"

    @property
    def url(self) -> str:
        """The base URL clients use (``WANDB_BASE_URL``)."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_key(self) -> str:
        """The first key given to or made by this server: the one ``wsquery serve`` prints. A
        database opened again keeps only hashes, so then there is none to show."""
        with self._lock:
            if self._plain_keys:
                return self._plain_keys[0]
        raise WorkspaceError(f"the API keys of {self.db_path} are stored only as hashes: use "
                             "the key printed when it was first served")

    @property
    def connections_opened(self) -> int:
        """How many database connections the server has opened so far (one per field that
        reads the database): the work requests made it do."""
        return self._store.opened

    def add_key(self, entity: str, key: str | None = None) -> str:
        """Accept another key (a new random one unless given) acting as ``entity``."""
        key = key or secrets.token_hex(20)
        digest = self._store.add_key(key, entity)
        with self._lock:
            self._plain_keys.append(key)
            self._key_hashes = [(stored, owner) for stored, owner in self._key_hashes
                                if stored != digest] + [(digest, entity)]
        return key

    def add_runs(self, entity: str, project: str, runs: Iterable[Mapping[str, Any]]
                 ) -> list[str]:
        """Store runs (any shape ``wsquery.evaluate`` reads, as mappings) in ``entity/project``,
        creating both as needed, and give their ids. A run with the id of a stored one replaces
        it (and its history); a run without an id gets a random one, one without
        ``createdAt`` the time now (W&B runs always have both). A run's ``history``, when it
        has one, is its logged rows: mappings, each with a distinct whole ``_step``. Values
        that are not JSON are stored as text."""
        from wsquery.compilers.mongo import mongo_document

        documents = []
        for run in runs:
            try:
                document = mongo_document({key: value for key, value in run.items()
                                           if key != "history"})
                history = _history_rows(run.get("history"))
            except WsqueryError as error:
                raise WorkspaceError(f"cannot store run {run!r:.60}: {error}") from None
            if document.get("name") is None:
                document["name"] = secrets.token_hex(4)
            if document.get("createdAt") is None:
                document["createdAt"] = _now()
            documents.append((document, history))
        with self._store.transaction() as connection:
            project_id = _project_id(connection, entity, project)
            for document, history in documents:
                number = connection.execute(
                    "INSERT INTO runs (project_id, name, document) VALUES (?, ?, ?) "
                    "ON CONFLICT (project_id, name) DO UPDATE SET document = excluded.document "
                    "RETURNING id",
                    (project_id, str(document["name"]), json.dumps(document, default=str))
                ).fetchone()["id"]
                connection.execute("DELETE FROM run_history WHERE run_id = ?", (number,))
                connection.executemany(
                    "INSERT INTO run_history (run_id, step, row) VALUES (?, ?, ?)",
                    [(number, step, row) for step, row in history])
        return [str(document["name"]) for document, _ in documents]

    def entity_for(self, api_key: str | None) -> str | None:
        """The entity a key acts as, or None when the key is not accepted. Its hash is
        compared with every stored one in constant time."""
        if not api_key:
            return None
        fingerprint = hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            digest = self._accepted.get(fingerprint)
            stored = list(self._key_hashes)
        if digest is None:
            digest = self._store.key_digest(api_key)
        entity = None
        for candidate, owner in stored:
            if secrets.compare_digest(candidate, digest):
                entity = owner
        if entity is not None:
            with self._lock:
                if len(self._accepted) >= MAX_SESSIONS:
                    self._accepted.clear()
                self._accepted[fingerprint] = digest
        return entity

    def login_link(self, next_path: str = "/", *, entity: str | None = None,
                   seconds: float = LOGIN_LINK_SECONDS) -> str:
        """A link that signs a browser in as ``entity`` (that of the first key, by default) and
        opens ``next_path``: it works once, within ``seconds``, and holds a random token, never
        a key. ``wsquery serve`` and ``wsquery demo --serve`` print one."""
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            owner = entity or self._key_hashes[0][1]
            _drop_expired(self._login_tokens, now)
            self._login_tokens[token] = (owner, now + seconds)
        return f"{self.url}/login?{urlencode({'token': token, 'next': _local_path(next_path)})}"

    def redeem_login_token(self, token: str) -> str | None:
        """The entity a sign-in token is for, once: the token is gone after, and an expired
        one counts for nothing."""
        with self._lock:
            entity, deadline = self._login_tokens.pop(token, (None, 0.0))
        return entity if entity is not None and time.monotonic() < deadline else None

    @property
    def session_cookie(self) -> str:
        """The session cookie's name; cookies ignore ports, so each server names its own."""
        return f"wsquery-session-{self._http.server_address[1]}"

    def open_session(self, entity: str, replacing: str | None = None) -> str:
        """A new session (its random id, for the cookie) acting as ``entity`` for
        ``SESSION_SECONDS``; the browser's session ``replacing`` ends, so signing in again
        keeps one session, and past ``MAX_SESSIONS`` the oldest ends."""
        session = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if replacing is not None:
                self._sessions.pop(replacing, None)
            _drop_expired(self._sessions, now)
            while len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session] = (entity, now + SESSION_SECONDS)
        return session

    def session_entity(self, session: str) -> str | None:
        """The entity of a session that has not expired or ended."""
        with self._lock:
            entity, deadline = self._sessions.get(session, (None, 0.0))
            if entity is not None and time.monotonic() >= deadline:
                del self._sessions[session]
                return None
        return entity

    def close_session(self, session: str) -> None:
        """End a session (signing out)."""
        with self._lock:
            self._sessions.pop(session, None)

    @property
    def session_count(self) -> int:
        """How many sessions are open: what sign-ins have left in memory."""
        with self._lock:
            return len(self._sessions)

    def page(self, entity: str, target: str) -> tuple[int, str]:
        """The HTTP status and HTML of the page at ``target`` (a path and query) for a holder
        of ``entity``'s key."""
        from wsquery.wandb.views import parse_view_url

        parts = urlsplit(target)
        segments = [unquote(segment) for segment in parts.path.split("/") if segment]
        if not segments:
            return HTTPStatus.OK, pages.projects_page(entity, [
                (name, _project_path(entity, name)) for name in self._store.projects(entity)])
        if len(segments) == 3 and segments[2] == "workspace":
            segments = segments[:2]
        if len(segments) != 2:
            return HTTPStatus.NOT_FOUND, pages.message_page(
                "Not found", "pages are at /ENTITY/PROJECT and /ENTITY/PROJECT?nw=VIEW")
        owner, project = segments
        if owner != entity:
            return HTTPStatus.FORBIDDEN, pages.message_page(
                "Permission denied", f"you are signed in as {entity!r}, not {owner!r}")
        project_path = _project_path(entity, project)
        if "nw" not in parse_qs(parts.query):
            views = [pages.ViewLink(row["display_name"] or "", row["description"] or "",
                                    _view_path(entity, project, row["name"]), row["updated_at"])
                     for row in self._store.views(entity, project)]
            return HTTPStatus.OK, pages.project_page(entity, project, views,
                                                     len(self._store.runs(entity, project)))
        try:
            view_name = parse_view_url(self.url + target)[2]
        except WsqueryError as error:
            return HTTPStatus.NOT_FOUND, pages.message_page("No such view", str(error))
        rows = self._store.views(entity, project, view_name)
        if not rows:
            return HTTPStatus.NOT_FOUND, pages.message_page(
                "No such view", f"no saved view {view_name!r} in {entity}/{project}")
        row = rows[0]
        try:
            return HTTPStatus.OK, pages.view_page(
                entity=entity, project=project, display_name=row["display_name"] or "",
                description=row["description"] or "", spec=row["spec"],
                runs=self._store.runs(entity, project), project_path=project_path)
        except WsqueryError as error:
            return HTTPStatus.UNPROCESSABLE_ENTITY, pages.message_page(
                "This view cannot be shown", str(error))

    def record(self, received: Received) -> None:
        """Remember a request for tests to inspect."""
        with self._lock:
            self.received.append(received)

    def execute(self, entity: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one GraphQL request as ``entity``: the HTTP status and the response body.
        A document over the limits (``MAX_DOCUMENT_LENGTH``, ``MAX_COMPLEXITY``,
        ``MAX_DEPTH``) is refused before any field is resolved."""
        from graphql import GraphQLError

        result = _run_document(_Root(self._store, entity), body)
        payload = dict(result.formatted)
        errors = result.errors or []
        codes = {(error.extensions or {}).get("code") for error in errors}
        failures = [error.original_error for error in errors
                    if error.original_error is not None
                    and not isinstance(error.original_error, GraphQLError)]
        for failure in failures:
            _log.error("view server failure", exc_info=failure)
        if failures:
            return HTTPStatus.INTERNAL_SERVER_ERROR, payload
        if "PERMISSION_ERROR" in codes:
            return HTTPStatus.FORBIDDEN, payload
        if errors and result.data is None and not any(error.path for error in errors):
            return HTTPStatus.BAD_REQUEST, payload
        return HTTPStatus.OK, payload

    def start(self) -> ViewServer:
        """Serve from a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,),
                                            name=f"wsquery-server-{self.url}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and remove a temporary database."""
        self.stopping.set()
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._thread = None
        self._http.server_close()
        self._remove_temp_dir()

    def _remove_temp_dir(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> ViewServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _check_spec(spec: str) -> None:
    """Refuse a spec that is not a JSON object (within ``MAX_JSON_DEPTH``), saying why."""
    try:
        value = _load_json(spec)
    except ValueError as error:
        raise _graphql_error(f"spec is not valid JSON: {error}", "BAD_USER_INPUT") from None
    if not isinstance(value, dict):
        raise _graphql_error(f"spec must be a JSON object, not {type(value).__name__} "
                             f"{spec[:40]!r}", "BAD_USER_INPUT")


def _bounded_arguments(resolve: Callable[..., Any], root: Any, info: Any,
                       **arguments: Any) -> Any:
    """Middleware refusing, before any resolver reads it, an argument longer than
    ``MAX_ARGUMENT_LENGTH`` (a spec: ``MAX_SPEC_LENGTH``) or holding a lone surrogate."""
    pending: list[tuple[str, Any]] = list(arguments.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.items())
        elif isinstance(value, list):
            pending.extend((name, item) for item in value)
        elif isinstance(value, str):
            limit = MAX_SPEC_LENGTH if name == "spec" else MAX_ARGUMENT_LENGTH
            if len(value) > limit:
                raise _graphql_error(f"{info.field_name}: {name} has {len(value)} characters, "
                                     f"more than the limit of {limit}", "BAD_USER_INPUT")
            if _LONE_SURROGATE.search(value):
                raise _graphql_error(f"{info.field_name}: {name} holds a lone UTF-16 "
                                     "surrogate, which is not text", "BAD_USER_INPUT")
    return resolve(root, info, **arguments)


def _run_document(root: _Root, body: Mapping[str, Any]) -> ExecutionResult:
    """Parse, check the cost, validate and execute one request's document."""
    from graphql import ExecutionResult

    text: str = body["query"]
    if len(text) > MAX_DOCUMENT_LENGTH:
        return ExecutionResult(None, [_graphql_error(
            f"the query document has {len(text)} characters, more than the limit of "
            f"{MAX_DOCUMENT_LENGTH}", COMPLEXITY_CODE)])
    try:
        return _parsed_and_run(root, body, text)
    except RecursionError:
        return ExecutionResult(None, [_graphql_error(
            "the query document is nested too deeply to read", COMPLEXITY_CODE)])


def _parsed_and_run(root: _Root, body: Mapping[str, Any], text: str) -> ExecutionResult:
    from graphql import (
        ExecutionResult,
        GraphQLError,
        KnownFragmentNamesRule,
        NoFragmentCyclesRule,
        NoUnusedFragmentsRule,
        execute_sync,
        parse,
        validate,
    )

    try:
        document = parse(text)
    except GraphQLError as error:
        return ExecutionResult(None, [error])
    schema = server_schema()
    # Fragments first (cheap), so the cost below counts every field the full validation reads.
    errors = validate(schema, document, [KnownFragmentNamesRule, NoUnusedFragmentsRule,
                                         NoFragmentCyclesRule])
    if not errors:
        errors = _over_limits(schema, document) or validate(schema, document)
    if errors:
        return ExecutionResult(None, errors)
    return execute_sync(schema, document, root_value=root,
                        variable_values=body.get("variables"),
                        # W&B's SDK sends "" for "the only operation", as servers take it
                        operation_name=body.get("operationName") or None,
                        middleware=[_bounded_arguments])


def _over_limits(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """The errors of a document whose complexity or depth is over the limit (none when
    within): every operation counts, each fragment is walked once."""
    try:
        complexity, depth = _cost(schema, document)
    except RecursionError:
        complexity, depth = 0, MAX_DEPTH + 1
    errors = []
    if complexity > MAX_COMPLEXITY:
        errors.append(_graphql_error(f"operation has complexity {complexity}, which exceeds "
                                     f"the limit of {MAX_COMPLEXITY}", COMPLEXITY_CODE))
    if depth > MAX_DEPTH:
        errors.append(_graphql_error(f"operation has depth {depth}, which exceeds the limit "
                                     f"of {MAX_DEPTH}", COMPLEXITY_CODE))
    return errors


def _cost(schema: GraphQLSchema, document: DocumentNode) -> tuple[int, int]:
    """(complexity, depth) of every operation of a document whose fragments are known and
    acyclic; fields the schema lacks count as plain ones (validation refuses them next)."""
    from graphql import (
        FieldNode,
        FragmentDefinitionNode,
        FragmentSpreadNode,
        GraphQLInterfaceType,
        GraphQLObjectType,
        InlineFragmentNode,
        OperationDefinitionNode,
        get_named_type,
    )

    fragments = {definition.name.value: definition for definition in document.definitions
                 if isinstance(definition, FragmentDefinitionNode)}
    roots = {schema.query_type, schema.mutation_type}
    walked: dict[str, tuple[int, int]] = {}

    def selections(selection_set: SelectionSetNode, parent: GraphQLNamedType | None
                   ) -> tuple[int, int]:
        complexity = depth = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found = field(selection, parent)
            elif isinstance(selection, FragmentSpreadNode):
                found = fragment(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                found = selections(selection.selection_set, parent if condition is None
                                   else schema.get_type(condition.name.value))
            complexity, depth = complexity + found[0], max(depth, found[1])
        return complexity, depth

    def field(node: FieldNode, parent: GraphQLNamedType | None) -> tuple[int, int]:
        name = node.name.value
        reads = parent in roots or (getattr(parent, "name", ""), name) in _DATABASE_FIELDS
        own = DATABASE_FIELD_COST if reads else 1
        if node.selection_set is None:
            return own, 1
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType
                                             ) else {}
        child = get_named_type(fields[name].type) if name in fields else None
        complexity, depth = selections(node.selection_set, child)
        return own + complexity, 1 + depth

    def fragment(name: str) -> tuple[int, int]:
        if name not in walked:
            definition = fragments[name]
            walked[name] = selections(definition.selection_set,
                                      schema.get_type(definition.type_condition.name.value))
        return walked[name]

    total = deepest = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            complexity, depth = selections(definition.selection_set, root)
            total, deepest = total + complexity, max(deepest, depth)
    return total, deepest


def serve(host: str = "127.0.0.1", port: int = 0,
          db_path: str | os.PathLike[str] | None = None, *,
          api_keys: Mapping[str, str] | None = None, faults: Faults | None = None) -> ViewServer:
    """A started ``ViewServer``; stop it (or use it in ``with``) when done."""
    return ViewServer(host, port, db_path, api_keys=api_keys, faults=faults).start()


def run_server(host: str = "127.0.0.1", port: int = 0,
               db_path: str | os.PathLike[str] | None = None) -> int:
    """Serve until Ctrl-C, after printing the URL, a sign-in link for the pages and the key to
    use; returns the exit status."""
    path = Path(db_path) if db_path is not None else default_db_path()
    server = ViewServer(host, port, path).start()
    try:
        key = server.api_key
    except WorkspaceError:
        key = "<the key printed when this database was first served: keys are kept hashed>"
    print(f"wsquery view server at {server.url} (views in {path})\n"
          f"Open its pages in a browser (this sign-in link works once): {server.login_link()}\n"
          "Point wsquery (or the wandb SDK) at it with:\n"
          f"  export WANDB_BASE_URL={server.url}\n"
          f"  export WANDB_API_KEY={key}\n"
          "Press Ctrl-C to stop.", flush=True)
    try:
        wait_for_ctrl_c()
    finally:
        server.stop()
    return 0


def wait_for_ctrl_c() -> None:
    """Block until Ctrl-C (SIGINT), then say so on stderr."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
