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

The package's modules, one idea each: ``limits`` (every bound, read at call time),
``schema`` (the schema and what a document may cost), ``store`` (the SQLite file),
``objects`` (rows as GraphQL objects), ``budget`` (what one answer may carry, and paging),
``resolvers`` and ``history`` (the fields), ``filters`` (runs-API filters), ``json_input``
(strict JSON), ``handler`` (one HTTP connection), ``auth`` (keys, sign-in links, sessions),
``pages`` (HTML), ``faults`` (what tests inject and read), ``pool`` (the listening socket
and its worker threads) and ``lifecycle`` (``ViewServer``, starting and stopping, ``wsquery
serve``).
"""

from __future__ import annotations

import sys
import types

from wsquery.apps.server import limits
from wsquery.apps.server.faults import Faults, Received
from wsquery.apps.server.filters import FilterError, matches_filter
from wsquery.apps.server.lifecycle import (
    DEFAULT_ENTITY,
    ViewServer,
    keep_key,
    key_file,
    run_server,
    serve,
    wait_for_ctrl_c,
)
from wsquery.apps.server.limits import (
    COMPLEXITY_CODE,
    DATABASE_FIELD_COST,
    KEY_HASH_ITERATIONS,
    LOGIN_LINK_SECONDS,
    MAX_ARGUMENT_LENGTH,
    MAX_BODY,
    MAX_COMPLEXITY,
    MAX_DEPTH,
    MAX_DOCUMENT_LENGTH,
    MAX_HISTORY_SAMPLES,
    MAX_JSON_DEPTH,
    MAX_PAGE_SIZE,
    MAX_RESPONSE_LENGTH,
    MAX_SESSIONS,
    MAX_SPEC_LENGTH,
    MAX_WAITING_CONNECTIONS,
    READ_TIMEOUT_SECONDS,
    RESPONSE_TOO_LARGE_CODE,
    SESSION_SECONDS,
    WORKER_THREADS,
)
from wsquery.apps.server.pool import ConnectionLimits
from wsquery.apps.server.schema import SCHEMA_SDL, SERVER_EXTRA, server_schema
from wsquery.apps.server.store import default_db_path
from wsquery.errors import WorkspaceError

__all__ = [
    "COMPLEXITY_CODE",
    "DATABASE_FIELD_COST",
    "DEFAULT_ENTITY",
    "KEY_HASH_ITERATIONS",
    "LOGIN_LINK_SECONDS",
    "MAX_ARGUMENT_LENGTH",
    "MAX_BODY",
    "MAX_COMPLEXITY",
    "MAX_DEPTH",
    "MAX_DOCUMENT_LENGTH",
    "MAX_HISTORY_SAMPLES",
    "MAX_JSON_DEPTH",
    "MAX_PAGE_SIZE",
    "MAX_RESPONSE_LENGTH",
    "MAX_SESSIONS",
    "MAX_SPEC_LENGTH",
    "MAX_WAITING_CONNECTIONS",
    "READ_TIMEOUT_SECONDS",
    "RESPONSE_TOO_LARGE_CODE",
    "SCHEMA_SDL",
    "SERVER_EXTRA",
    "SESSION_SECONDS",
    "WORKER_THREADS",
    "ConnectionLimits",
    "Faults",
    "FilterError",
    "Received",
    "ViewServer",
    "WorkspaceError",
    "default_db_path",
    "keep_key",
    "key_file",
    "matches_filter",
    "run_server",
    "serve",
    "server_schema",
    "wait_for_ctrl_c",
]


class _Package(types.ModuleType):
    """This package, where its limits are documented: setting one here
    (``wsquery.apps.server.SESSION_SECONDS = 60``) sets it in ``limits`` too, where the
    server reads it at call time."""

    def __setattr__(self, name: str, value: object) -> None:
        if name.isupper() and hasattr(limits, name):
            setattr(limits, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
