"""The server's SQLite file: its tables (keys, entities, projects, views, runs and their
history), the connection per request and the transactions that serialize saves. Apart so
every other module reads and writes rows through one owner of the file and its modes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from wsquery.apps.server import limits
from wsquery.apps.server.objects import local_id, run_object, utc_now
from wsquery.errors import WorkspaceError, WsqueryError

_log = logging.getLogger("wsquery.server")

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
RUN_COLUMNS = """
SELECT id, document,
       (SELECT count(*) FROM run_history WHERE run_history.run_id = runs.id) AS history_lines
FROM runs
"""

_VIEW_FIELDS = """views.id, views.name, display_name, description, type, created_using,
       user_name, views.created_at, updated_at, projects.name AS project_name,
       entities.name AS entity_name, length(spec) AS spec_length"""
_VIEW_TABLES = """FROM views JOIN projects ON projects.id = views.project_id
           JOIN entities ON entities.id = projects.entity_id"""
VIEW_COLUMNS = f"SELECT {_VIEW_FIELDS}, spec {_VIEW_TABLES}"
#: A view without its spec, which a page reads only for the views its budget holds: reading
#: every spec a page might hold would cost the memory the budget is there to spare.
VIEW_HEADS = f"SELECT {_VIEW_FIELDS}, NULL AS spec {_VIEW_TABLES}"


def default_db_path() -> Path:
    """Where ``wsquery serve`` keeps its views unless told otherwise."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "wsquery" / "views.sqlite3"


class Store:
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
                                   limits.KEY_HASH_ITERATIONS)

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
            return connection.execute(f"{VIEW_COLUMNS} WHERE {where} ORDER BY views.id",
                                      values).fetchall()

    def runs(self, entity: str, project: str) -> StoredRuns:
        """The project's stored runs as W&B's GraphQL gives them, in the order stored."""
        with closing(self.connect()) as connection:
            found = connection.execute(
                "SELECT projects.id FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ? AND projects.name = ?", (entity, project)).fetchone()
            if found is None:
                return StoredRuns(self)
            rows = connection.execute(f"{RUN_COLUMNS} WHERE project_id = ? ORDER BY id",
                                      (found["id"],)).fetchall()
        return StoredRuns(self, [run_object(row, json.loads(row["document"]), int(found["id"]),
                                            entity) for row in rows])

    def history(self, runs: Iterable[Mapping[str, Any]], samples: int
                ) -> dict[str, list[dict[str, Any]]]:
        """Each run's history rows (run id -> rows by ``_step``), ``samples`` of them at most,
        evenly spaced, the first and last kept; the steps are chosen before any row is read."""
        histories: dict[str, list[dict[str, Any]]] = {}
        with closing(self.connect()) as connection:
            for run in runs:
                number = local_id("Run", str(run.get("id") or ""))
                steps = [int(row["step"]) for row in connection.execute(
                    "SELECT step FROM run_history WHERE run_id = ? ORDER BY step", (number,))]
                chosen = evenly_spaced(steps, samples)
                rows: list[dict[str, Any]] = []
                for start in range(0, len(chosen), 500):  # SQLite's bound on parameters
                    part = chosen[start:start + 500]
                    rows += [json.loads(row["row"]) for row in connection.execute(
                        f"SELECT row FROM run_history WHERE run_id = ? AND step IN "
                        f"({', '.join('?' * len(part))}) ORDER BY step", (number, *part))]
                histories[str(run.get("name") or "")] = rows
        return histories

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

    def add_runs(self, entity: str, project: str, runs: Iterable[Mapping[str, Any]]
                 ) -> list[str]:
        """Store runs in ``entity/project`` as ``ViewServer.add_runs`` describes; gives their
        ids. A WorkspaceError names a run that cannot be stored before any is."""
        from wsquery.compilers.mongo import mongo_document

        documents = []
        for run in runs:
            try:
                document = mongo_document({key: value for key, value in run.items()
                                           if key != "history"})
                history = history_rows(run.get("history"))
            except WsqueryError as error:
                raise WorkspaceError(f"cannot store run {run!r:.60}: {error}") from None
            if document.get("name") is None:
                document["name"] = secrets.token_hex(4)
            if document.get("createdAt") is None:
                document["createdAt"] = utc_now()
            documents.append((document, history))
        with self.transaction() as connection:
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


class StoredRuns(list[dict[str, Any]]):
    """A project's stored runs, which read their history from the store they came from
    (``history``: the rows of the runs a page draws, at most ``limits.MAX_PLOT_POINTS`` each)."""

    def __init__(self, store: Store, runs: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(runs)
        self._store = store

    def history(self, runs: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        return self._store.history(runs, limits.MAX_PLOT_POINTS)


_Item = TypeVar("_Item")


def evenly_spaced(items: list[_Item], count: int) -> list[_Item]:
    """At most ``count`` of the items, evenly spaced, the first and last kept; all of them
    when that many fit."""
    if len(items) <= count:
        return items
    if count <= 1:
        return items[:count]
    last = len(items) - 1
    return [items[round(index * last / (count - 1))] for index in range(count)]


def history_rows(history: Any) -> list[tuple[int, str]]:
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
        (entity_id, project, utc_now()))
    return int(connection.execute("SELECT id FROM projects WHERE entity_id = ? AND name = ?",
                                  (entity_id, project)).fetchone()["id"])
