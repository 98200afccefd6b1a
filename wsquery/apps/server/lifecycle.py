"""The server's lifecycle: ``ViewServer`` (open the store, start serving from a thread, stop
and clean up) and ``wsquery serve``. Apart so what runs a request (handler, resolvers) never
starts or stops anything; the parts a request reaches are the methods a connection asks for
(``pool.Owner``)."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from wsquery.apps.server import limits
from wsquery.apps.server.auth import Access, local_path
from wsquery.apps.server.faults import Faults, Received
from wsquery.apps.server.handler import Handler, page_at
from wsquery.apps.server.pool import ConnectionLimits, PooledHTTPServer
from wsquery.apps.server.resolvers import Root
from wsquery.apps.server.schema import run_document, server_schema
from wsquery.apps.server.store import Store, default_db_path
from wsquery.errors import WorkspaceError

_log = logging.getLogger("wsquery.server")

#: The entity of the key a fresh database gets.
DEFAULT_ENTITY = "wsquery"


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
        try:
            self._store = Store(self.db_path)
            self._access = Access(self._store, api_keys or {}, DEFAULT_ENTITY)
            self._http = PooledHTTPServer((host, port), self, limits or ConnectionLimits(),
                                          Handler)
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
        key = self._access.first_key()
        if key is not None:
            return key
        raise WorkspaceError(f"the API keys of {self.db_path} are stored only as hashes: use "
                             "the key printed when it was first served")

    @property
    def connections_opened(self) -> int:
        """How many database connections the server has opened so far (one per field that
        reads the database): the work requests made it do."""
        return self._store.opened

    def add_key(self, entity: str, key: str | None = None) -> str:
        """Accept another key (a new random one unless given) acting as ``entity``."""
        return self._access.add_key(entity, key)

    def add_runs(self, entity: str, project: str, runs: Iterable[Mapping[str, Any]]
                 ) -> list[str]:
        """Store runs (any shape ``wsquery.evaluate`` reads, as mappings) in ``entity/project``,
        creating both as needed, and give their ids. A run with the id of a stored one replaces
        it (and its history); a run without an id gets a random one, one without
        ``createdAt`` the time now (W&B runs always have both). A run's ``history``, when it
        has one, is its logged rows: mappings, each with a distinct whole ``_step``. Values
        that are not JSON are stored as text."""
        return self._store.add_runs(entity, project, runs)

    def entity_for(self, api_key: str | None) -> str | None:
        """The entity a key acts as, or None when the key is not accepted."""
        return self._access.entity_for(api_key)

    def login_link(self, next_path: str = "/", *, entity: str | None = None,
                   seconds: float = limits.LOGIN_LINK_SECONDS) -> str:
        """A link that signs a browser in as ``entity`` (that of the first key, by default) and
        opens ``next_path``: it works once, within ``seconds``, and holds a random token, never
        a key. ``wsquery serve`` and ``wsquery demo --serve`` print one."""
        token = self._access.login_token(entity, seconds)
        return f"{self.url}/login?{urlencode({'token': token, 'next': local_path(next_path)})}"

    def redeem_login_token(self, token: str) -> str | None:
        """The entity a sign-in token is for, once (``Access.redeem_login_token``)."""
        return self._access.redeem_login_token(token)

    @property
    def session_cookie(self) -> str:
        """The session cookie's name; cookies ignore ports, so each server names its own."""
        return f"wsquery-session-{self._http.server_address[1]}"

    def open_session(self, entity: str, replacing: str | None = None) -> str:
        """A new session acting as ``entity``, ending ``replacing`` (``Access.open_session``)."""
        return self._access.open_session(entity, replacing)

    def session_entity(self, session: str) -> str | None:
        """The entity of a session that has not expired or ended."""
        return self._access.session_entity(session)

    def close_session(self, session: str) -> None:
        """End a session (signing out)."""
        self._access.close_session(session)

    @property
    def session_count(self) -> int:
        """How many sessions are open: what sign-ins have left in memory."""
        return self._access.session_count

    def page(self, entity: str, target: str) -> tuple[int, str]:
        """The HTTP status and HTML of the page at ``target`` (a path and query) for a holder
        of ``entity``'s key."""
        return page_at(self._store, self.url, entity, target)
    def record(self, received: Received) -> None:
        """Remember a request for tests to inspect."""
        with self._lock:
            self.received.append(received)

    def execute(self, entity: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one GraphQL request as ``entity``: the HTTP status and the response body.
        A document over the limits (``MAX_DOCUMENT_LENGTH``, ``MAX_COMPLEXITY``,
        ``MAX_DEPTH``) is refused before any field is resolved."""
        from graphql import GraphQLError

        result = run_document(Root(self._store, entity), body)
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


def serve(host: str = "127.0.0.1", port: int = 0,
          db_path: str | os.PathLike[str] | None = None, *,
          api_keys: Mapping[str, str] | None = None, faults: Faults | None = None) -> ViewServer:
    """A started ``ViewServer``; stop it (or use it in ``with``) when done."""
    return ViewServer(host, port, db_path, api_keys=api_keys, faults=faults).start()


def run_server(host: str = "127.0.0.1", port: int = 0,
               db_path: str | os.PathLike[str] | None = None, *,
               runs: Sequence[Mapping[str, Any]] = (), runs_project: str | None = None,
               runs_source: str = "") -> int:
    """Serve until Ctrl-C, after storing ``runs`` in ``runs_project`` (``ENTITY/PROJECT``, or
    a project of the key's entity) and printing the URL, a sign-in link for the pages, the
    entity the key acts as and where the key is kept; returns the exit status."""
    path = Path(db_path) if db_path is not None else default_db_path()
    server = ViewServer(host, port, path).start()
    try:
        key_path = key_file(path)
        entity = server.entity_for(keep_key(server, key_path))
        stored = ""
        if runs:
            runs_entity, _, project = (runs_project or "").rpartition("/")
            if runs_entity and runs_entity != entity:
                raise WorkspaceError(f"--project {runs_project}: the key acts as {entity!r}, "
                                     f"so runs go to {entity}/PROJECT")
            project = project or "runs"
            ids = server.add_runs(str(entity), project, runs)
            stored = (f"{len(ids)} run{'' if len(ids) == 1 else 's'}{runs_source} in "
                      f"{entity}/{project}: {server.url}/{quote(str(entity))}/{quote(project)}\n")
        print(f"wsquery view server at {server.url} (views in {path})\n"
              f"Open its pages in a browser (this sign-in link works once): "
              f"{server.login_link()}\n"
              "Point wsquery (or the wandb SDK) at it with:\n"
              f"  export WANDB_BASE_URL={server.url}\n"
              f"  export WANDB_API_KEY=$(cat {shlex.quote(str(key_path))})\n"
              f"The key acts as the entity {entity!r}; it is kept in {key_path} "
              "(readable by you alone).\n"
              f"{stored}Press Ctrl-C to stop.", flush=True)
        wait_for_ctrl_c()
    finally:
        server.stop()
    return 0


def key_file(db_path: Path) -> Path:
    """Where the key of the database ``db_path`` is kept: beside it, ``views.key``."""
    return db_path.with_suffix(".key")


def keep_key(server: ViewServer, path: Path) -> str:
    """A key ``server`` accepts, kept in ``path`` (created readable by its owner alone): the
    one kept there if the server still accepts it, else the key of a fresh database, else a
    new key of ``DEFAULT_ENTITY``. The database itself keeps only hashes of keys."""
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept and server.entity_for(kept) is not None:
        return kept
    try:
        key = server.api_key
    except WorkspaceError:  # a database served before, its key file gone
        key = server.add_key(DEFAULT_ENTITY)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.chmod(path, 0o600)  # a file kept from before may have had other modes
    return key


def wait_for_ctrl_c() -> None:
    """Block until Ctrl-C (SIGINT), then say so on stderr."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
