"""W&B GraphQL: the documents wsquery sends, and a client that turns them into view data or errors.

Every document the project sends is a constant here. ``GraphQLClient`` posts them to
``{base_url}/graphql`` with the API key, retries what W&B's own client retries (429, 5xx but
501, lost connections, timeouts) with full-jitter exponential backoff inside a bounded total
time, and raises the ``WorkspaceError`` subclass that fits. The API key never appears in a
message, log record or repr: server text that echoes it is scrubbed.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import quote

from wsquery.errors import (
    AuthenticationError,
    InvalidInputError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    WorkspaceError,
)
from wsquery.wandb.settings import Settings, resolve_settings

if TYPE_CHECKING:
    from wsquery.wandb import transport

_log = logging.getLogger("wsquery")

#: The ``type`` of saved workspace views in W&B's views table.
PROJECT_VIEW = "project-view"
#: W&B's limit on a view's ``name`` and ``displayName`` (``@constraints(max: 128)``).
MAX_NAME_LENGTH = 128

#: The longest answer a client reads unless told otherwise: far beyond any page of views or
#: runs W&B sends, well short of what would exhaust a machine's memory.
DEFAULT_MAX_RESPONSE_BYTES = 256 * 2**20

#: The view fields every document asks for.
VIEW_FIELDS = """
fragment ViewFields on View {
  id
  name
  displayName
  description
  type
  spec
  entityName
  projectName
  createdAt
  updatedAt
}
"""

VIEWER = """
query Viewer {
  viewer {
    id
    entity
  }
}
"""

UPSERT_VIEW = """
mutation UpsertView($input: UpsertViewInput!) {
  upsertView(input: $input) {
    view {
      ...ViewFields
    }
    inserted
  }
}
""" + VIEW_FIELDS

FIND_VIEW = """
query FindView($entityName: String!, $projectName: String!, $viewName: String!) {
  project(name: $projectName, entityName: $entityName) {
    allViews(viewType: "project-view", viewName: $viewName) {
      edges {
        node {
          ...ViewFields
        }
      }
    }
  }
}
""" + VIEW_FIELDS

GET_VIEW = """
query GetView($id: ID!) {
  view(id: $id) {
    ...ViewFields
  }
}
""" + VIEW_FIELDS

LIST_VIEWS = """
query ListViews($entityName: String!, $projectName: String!, $first: Int!, $after: String) {
  project(name: $projectName, entityName: $entityName) {
    allViews(viewType: "project-view", first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          ...ViewFields
        }
      }
    }
  }
}
""" + VIEW_FIELDS

DELETE_VIEW = """
mutation DeleteView($id: ID!) {
  deleteView(input: {id: $id}) {
    success
  }
}
"""

#: The run fields ``runs()`` asks for: what the evaluator reads of W&B run JSON.
RUN_FIELDS = """
fragment RunFields on Run {
  id
  name
  displayName
  state
  tags
  createdAt
  heartbeatAt
  jobType
  group
  sweepName
  user {
    username
  }
  config
  summaryMetrics
}
"""

LIST_RUNS = """
query ListRuns($entityName: String!, $projectName: String!, $filters: JSONString,
               $order: String, $first: Int!, $after: String) {
  project(name: $projectName, entityName: $entityName) {
    runs(filters: $filters, order: $order, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          ...RunFields
        }
      }
    }
  }
}
""" + RUN_FIELDS

#: Every document with its operation name, for validation against a schema.
DOCUMENTS: dict[str, str] = {
    "Viewer": VIEWER,
    "UpsertView": UPSERT_VIEW,
    "FindView": FIND_VIEW,
    "GetView": GET_VIEW,
    "ListViews": LIST_VIEWS,
    "DeleteView": DELETE_VIEW,
    "ListRuns": LIST_RUNS,
}

# Statuses W&B's own client gives up on at once; everything else but 429 and 5xx is final too.
_NEVER_RETRIED = frozenset({400, 401, 403, 404, 409, 410, 413, 422, 501})


class GraphQLClient:
    """Sends GraphQL documents to one W&B server; safe to reuse, one per thread.

    ``deadline`` bounds a whole call in seconds: connecting, sending, every byte of the answer
    and every retry; a server that trickles its answer is cut off when it passes. Within it,
    ``timeout`` is (connect, read) seconds per attempt, the read limit counting from the last
    byte received; ``backoff`` and ``max_backoff`` shape the waits between attempts (full
    jitter: a random wait up to ``backoff * 2**attempt``). An answer longer than
    ``max_response_bytes`` is refused as it arrives, so memory stays bounded. Redirects are
    refused, never followed: a POST answered by another server is not this server's answer.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        deadline: float = 60.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.settings = settings if settings is not None else resolve_settings()
        self.timeout = timeout
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self.backoff = backoff
        self.max_backoff = max_backoff
        #: One kept-alive connection per URL posted to (GraphQL's, and the runs endpoint's).
        self._posters: dict[str, transport.Poster] = {}

    def __repr__(self) -> str:
        return f"GraphQLClient(base_url={self.settings.base_url!r})"

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections kept open between calls."""
        for poster in self._posters.values():
            poster.close()

    @property
    def url(self) -> str:
        """The GraphQL endpoint."""
        return f"{self.settings.base_url}/graphql"

    def execute(self, document: str, variables: Mapping[str, Any] | None = None, *,
                operation_name: str | None = None, dry_run: bool = False) -> dict[str, Any]:
        """The ``data`` of the response, or with ``dry_run`` the request body, unsent."""
        body = {"query": document, "variables": dict(variables or {}),
                "operationName": operation_name}
        if dry_run:
            return body
        return self._post(body)

    def default_entity(self) -> str:
        """The entity the API key's user saves to when none is named."""
        viewer = _object(self.execute(VIEWER, operation_name="Viewer").get("viewer"), "viewer")
        if not viewer:
            raise AuthenticationError("the server does not know the user of this API key")
        entity = viewer.get("entity")
        if not entity or not isinstance(entity, str):
            raise WorkspaceError("the API key's user has no default entity; name one explicitly")
        return str(entity)

    def upsert_view(self, *, entity: str, project: str, name: str, display_name: str,
                    description: str, spec: str, view_id: str | None = None,
                    dry_run: bool = False) -> dict[str, Any]:
        """Save a workspace view: update ``view_id`` when given, else insert (or update the
        view already called ``name``). Gives ``{"view": {...}, "inserted": bool}``."""
        for label, value in (("name", name), ("display name", display_name)):
            if len(value) > MAX_NAME_LENGTH:
                raise WorkspaceError(f"the view's {label} is {len(value)} characters long; "
                                     f"W&B allows at most {MAX_NAME_LENGTH}")
        view_input: dict[str, Any] = {
            "entityName": entity, "projectName": project, "name": name,
            "displayName": display_name, "description": description, "type": PROJECT_VIEW,
            "spec": spec, "createdUsing": "WANDB_SDK",
        }
        if view_id is not None:
            view_input["id"] = view_id
        data = self.execute(UPSERT_VIEW, {"input": view_input}, operation_name="UpsertView",
                            dry_run=dry_run)
        if dry_run:
            return data
        payload = _object(data.get("upsertView"), "upsertView")
        view = _object(payload.get("view"), "upsertView.view")
        if not view:
            raise ServerError("the server saved no view and gave no reason")
        return {"view": view, "inserted": bool(payload.get("inserted"))}

    def find_view(self, entity: str, project: str, name: str) -> dict[str, Any] | None:
        """The workspace view called ``name`` (``nw-<id>-v``), or None."""
        data = self.execute(FIND_VIEW, {"entityName": entity, "projectName": project,
                                        "viewName": name}, operation_name="FindView")
        views = _object(_object(data.get("project"), "project").get("allViews"),
                        "project.allViews")
        for node in _edge_nodes(views, "project.allViews"):
            return node
        return None

    def get_view(self, view_id: str) -> dict[str, Any] | None:
        """The view with this GraphQL id, or None."""
        try:
            data = self.execute(GET_VIEW, {"id": view_id}, operation_name="GetView")
        except NotFoundError:
            return None
        view = _object(data.get("view"), "view")
        return view or None

    def iter_views(self, entity: str, project: str, page_size: int = 50
                   ) -> Iterator[dict[str, Any]]:
        """Every workspace view of a project, fetched ``page_size`` at a time."""
        variables = {"entityName": entity, "projectName": project, "first": page_size}
        yield from self._nodes(LIST_VIEWS, "ListViews", variables,
                               lambda data: _object(data.get("project"), "project")
                               .get("allViews"))

    def iter_runs(self, entity: str, project: str, *, filters: Mapping[str, Any],
                  order: str, page_size: int = 50) -> Iterator[dict[str, Any]]:
        """The runs of a project that match runs-API ``filters`` (MongoDB-style), in ``order``
        (``-createdAt``, ``+summary_metrics.loss``), fetched ``page_size`` at a time. A missing
        project is a ``NotFoundError``."""
        variables = {"entityName": entity, "projectName": project,
                     "filters": json.dumps(filters, allow_nan=False), "order": order,
                     "first": page_size}

        def runs_of(data: dict[str, Any]) -> Any:
            if data.get("project") is None:
                raise NotFoundError(f"project {entity}/{project} not found")
            return _object(data["project"], "project").get("runs")

        yield from self._nodes(LIST_RUNS, "ListRuns", variables, runs_of)

    def _nodes(self, document: str, operation: str, variables: dict[str, Any],
               connection_of: Callable[[dict[str, Any]], Any]) -> Iterator[dict[str, Any]]:
        """The nodes of a paged GraphQL connection, following ``endCursor`` to the last page;
        ``connection_of`` picks the connection out of each answer (None ends the listing)."""
        after: str | None = None
        while True:
            data = self.execute(document, {**variables, "after": after},
                                operation_name=operation)
            connection = _object(connection_of(data), operation)
            if not connection:
                return
            yield from _edge_nodes(connection, operation)
            page = _object(connection.get("pageInfo"), f"{operation} pageInfo")
            cursor = page.get("endCursor")
            if not page.get("hasNextPage") or not cursor:
                return
            if not isinstance(cursor, str) or cursor == after:
                raise ServerError(f"the server's {operation} pages do not move on "
                                  f"(endCursor {cursor!r})")
            after = cursor

    @overload
    def delete_view(self, view_id: str, *, dry_run: Literal[False] = False) -> bool: ...
    @overload
    def delete_view(self, view_id: str, *, dry_run: Literal[True]) -> dict[str, Any]: ...

    def delete_view(self, view_id: str, *, dry_run: bool = False) -> bool | dict[str, Any]:
        """Delete a view; True when the server says it did. With ``dry_run``: the request."""
        data = self.execute(DELETE_VIEW, {"id": view_id}, operation_name="DeleteView",
                            dry_run=dry_run)
        if dry_run:
            return data
        return bool(_object(data.get("deleteView"), "deleteView").get("success"))

    def add_runs(self, entity: str, project: str, runs: list[dict[str, Any]]) -> list[str]:
        """Store ``runs`` in ``entity/project`` of a wsquery view server (``wsquery serve``),
        which takes them at ``/api/runs/ENTITY/PROJECT``: W&B's own servers have no such
        endpoint (runs reach them from ``wandb.init``). Gives the ids stored."""
        url = (f"{self.settings.base_url.rstrip('/')}/api/runs/{quote(entity, safe='')}/"
               f"{quote(project, safe='')}")
        data = self._post(runs, url=url, operation="AddRuns")
        ids = data.get("ids")
        if not isinstance(ids, list):
            raise ServerError("the server's answer to adding runs has no ids")
        return [str(run_id) for run_id in ids]

    def _post(self, body: dict[str, Any] | list[Any], *, url: str | None = None,
              operation: str | None = None) -> dict[str, Any]:
        """POST ``body`` to ``url`` (default: GraphQL's) with retries until the deadline; the
        answer's ``data`` or the error that ended the attempts."""
        import http.client
        import ssl

        from wsquery.version import __version__
        from wsquery.wandb import transport

        headers = {"User-Agent": f"wsquery/{__version__}", "Accept": "application/json",
                   "Authorization": self._authorization()}
        url = url or self.url
        poster = self._posters.get(url)
        if poster is None:
            try:
                poster = self._posters[url] = transport.Poster(url)
            except ValueError:
                raise WorkspaceError(self._scrub(
                    f"the W&B server's URL {self.settings.base_url!r} is not an http or "
                    "https URL")) from None
        payload = json.dumps(body).encode()
        deadline = time.monotonic() + self.deadline
        operation = operation or (body.get("operationName") if isinstance(body, dict) else None
                                  ) or "request"
        attempt = 0
        failure: WorkspaceError | None = None
        while True:
            retry_after: float | None = None
            try:
                answer = poster.post(payload, headers, deadline=deadline,
                                           timeout=self.timeout,
                                           max_bytes=self.max_response_bytes)
            except transport.DeadlinePassed:
                if failure is not None:  # what the earlier attempts met says more
                    raise failure from None
                raise NetworkError(self._scrub(
                    f"{self.settings.base_url} did not answer within the "
                    f"{self.deadline:g} s deadline")) from None
            except transport.TooLarge as error:
                raise ServerError(self._scrub(
                    f"the answer of {self.settings.base_url} is longer than "
                    f"{self.max_response_bytes} bytes ({error.size} at least); raise "
                    "max_response_bytes to read it")) from None
            except transport.Unreachable as error:
                failure = NetworkError(self._scrub(
                    f"could not connect to {self.settings.base_url}: {error.reason}"))
            except TimeoutError:
                failure = NetworkError(self._scrub(
                    f"{self.settings.base_url} did not answer within "
                    f"{self.timeout[0]:g} s (connect) / {self.timeout[1]:g} s (read)"))
            except ssl.SSLCertVerificationError as error:
                raise NetworkError(self._scrub(
                    f"the certificate of {self.settings.base_url} is not trusted: "
                    f"{error.verify_message}")) from None
            except (OSError, http.client.HTTPException) as error:
                failure = NetworkError(self._scrub(
                    f"the connection to {self.settings.base_url} broke: "
                    f"{type(error).__name__}"))
            else:
                if 300 <= answer.status < 400:
                    raise self._redirect_error(answer)
                if not _retryable(answer.status):
                    return self._data(answer)
                failure = self._http_error(answer)
                if isinstance(failure, InvalidInputError):
                    raise failure
                retry_after = _retry_after_seconds(answer.headers)
            wait = self._wait(attempt, retry_after)
            if time.monotonic() + wait >= deadline:
                raise failure
            attempt += 1
            _log.warning("%s: %s; retrying in %.2f s (attempt %d)", operation, failure.message,
                         wait, attempt + 1)
            time.sleep(wait)

    def _authorization(self) -> str:
        """The Basic auth header W&B reads the key from. A key that HTTP cannot carry is
        refused without naming it (nor chaining an error that holds it)."""
        key = self.settings.api_key
        if not key:
            raise AuthenticationError(
                f"no W&B API key for {self.settings.base_url}: set WANDB_API_KEY, pass "
                "api_key, or run `wandb login`")
        if not (key.isascii() and key.isprintable()):
            raise AuthenticationError(
                f"the W&B API key for {self.settings.base_url} holds a character an API key "
                "cannot hold (keys are printable ASCII); check WANDB_API_KEY or api_key")
        return "Basic " + base64.b64encode(f"api:{key}".encode("ascii")).decode("ascii")

    def _redirect_error(self, answer: transport.Answer) -> WorkspaceError:
        where = answer.headers.get("location") or "(no Location given)"
        return WorkspaceError(self._scrub(
            f"{self.url} redirected the request (HTTP {answer.status}) to {where}; wsquery "
            "follows no redirect: set the base URL to the server that answers"),
            status=answer.status)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter backoff, but never less than the server's ``Retry-After``."""
        jittered = random.uniform(0.0, min(self.max_backoff, self.backoff * 2 ** attempt))
        return max(jittered, retry_after or 0.0)

    def _data(self, response: transport.Answer) -> dict[str, Any]:
        """The ``data`` of a final response, or the error it carries."""
        if response.status >= 300:
            raise self._http_error(response)
        payload = _json_object(response)
        if payload is None:
            raise ServerError(f"the server's answer is not a JSON object "
                              f"(HTTP {response.status})", status=response.status)
        if payload.get("errors"):
            raise self._http_error(response)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ServerError("the server's answer has no data", status=response.status)
        return data

    def _http_error(self, response: transport.Answer) -> WorkspaceError:
        """The WorkspaceError a failed response stands for, with the server's message."""
        status = response.status
        payload = _json_object(response) or {}
        listed = payload.get("errors")
        errors = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
        messages = [str(e.get("message") or "") for e in errors]
        codes = {str(extensions.get("code") or "") for e in errors
                 if isinstance(extensions := e.get("extensions"), dict)}
        if not any(messages) and isinstance(payload.get("error"), str):
            messages = [payload["error"]]
        message = self._scrub("; ".join(m for m in messages if m)
                              or f"HTTP {status} {response.reason or ''}".strip())
        error_class: type[WorkspaceError]
        if "BAD_USER_INPUT" in codes:
            error_class = InvalidInputError
        elif status == 401 or "UNAUTHENTICATED" in codes:
            error_class = AuthenticationError
        elif status == 403 or "PERMISSION_ERROR" in codes:
            error_class = PermissionDeniedError
        elif status == 404 or "NOT_FOUND" in codes or "not found" in message.lower():
            error_class = NotFoundError
        elif status == 429:
            error_class = RateLimitedError
        elif status >= 500 or errors:
            error_class = ServerError
        else:
            error_class = WorkspaceError
        return error_class(message, status=status)

    def _scrub(self, text: str) -> str:
        """``text`` without the API key, bare or inside a Basic auth header."""
        key = self.settings.api_key
        if not key:
            return text
        token = base64.b64encode(f"api:{key}".encode("utf-8", "surrogatepass")).decode()
        return text.replace(token, "***").replace(key, "***")


def _object(value: Any, where: str) -> dict[str, Any]:
    """``value`` where an answer holds a JSON object (``{}`` for null or missing), or the
    ``ServerError`` of a malformed answer."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ServerError(f"the server's answer holds a {type(value).__name__} where {where} "
                          "should be an object")
    return value


def _edge_nodes(connection: dict[str, Any], where: str) -> Iterator[dict[str, Any]]:
    """The nodes of a GraphQL connection's ``edges`` (an edge without a node is skipped)."""
    edges = connection.get("edges")
    if edges is None:
        return
    if not isinstance(edges, list):
        raise ServerError(f"the server's answer holds a {type(edges).__name__} where {where} "
                          "edges should be a list")
    for edge in edges:
        node = _object(_object(edge, f"{where} edge").get("node"), f"{where} node")
        if node:
            yield node


def _retryable(status: int) -> bool:
    return status not in _NEVER_RETRIED and (status == 429 or 500 <= status < 600)


def _json_object(response: transport.Answer) -> dict[str, Any] | None:
    try:
        payload = json.loads(response.content)
    except (ValueError, RecursionError):  # not JSON, or nested past what Python can read
        return None
    return payload if isinstance(payload, dict) else None


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), else ``RateLimit-Reset``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for header in ("retry-after", "ratelimit-reset"):
        value = (lowered.get(header) or "").strip()
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None
