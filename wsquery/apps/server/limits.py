"""The view server's limits: what one request, one answer, one connection and one sign-in may
take. They stand together so the server's bounds read as one table (README lists them); every
module reads them here at call time, so a limit set on ``wsquery.apps.server`` holds at once."""

from __future__ import annotations

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
#: The most history rows a view's page reads of each run it draws (evenly spaced, the first
#: and last kept), about the points a W&B chart draws of a line.
MAX_PLOT_POINTS = 1000
#: The largest telemetry post read (and dropped), in bytes.
MAX_TELEMETRY_BODY = 1024 * 1024
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
MAX_FORM = 4096
