"""One HTTP connection: GraphQL requests read within the size caps and the read deadline,
sign-in and sign-out forms, the HTML pages, and every refusal as a 4xx with a body. Apart
from the lifecycle, which only starts the threads that run it."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from wsquery.apps.server import limits, pages
from wsquery.apps.server.auth import local_path
from wsquery.apps.server.faults import Fault, Received
from wsquery.apps.server.json_input import load_json, longest_string
from wsquery.apps.server.schema import error_body
from wsquery.apps.server.store import Store
from wsquery.errors import WsqueryError

if TYPE_CHECKING:
    from wsquery.apps.server.pool import PooledHTTPServer

_log = logging.getLogger("wsquery.server")

#: Where W&B's SDK posts its telemetry (OpenTelemetry over HTTP): answered 200, kept nowhere.
_TELEMETRY_PREFIX = "/sdk/otel/"
#: What a sign-in token looks like in a request line, so the log never shows one.
_TOKEN_IN_URL = re.compile(r"(token=)[^&\s]*")
#: Pages may show inline styles and post the sign-in form, and nothing else: no script. Their
#: forms carry the page's origin (``same-origin``), which a sign-in must come from.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: Where runs are posted to be stored (``RUNS_PATH + ENTITY/PROJECT``): a JSON array of runs,
#: each as ``ViewServer.add_runs`` takes them. wsquery's own, not W&B's (``wsquery add-runs``).
RUNS_PATH = "/api/runs/"
#: The methods each kind of path answers; any other gets a 405 naming these.
_GRAPHQL_METHODS = "POST"
_PAGE_METHODS = "GET, POST"


class _Refused(Exception):
    """A request refused before it reached GraphQL: its status, message and error code."""

    def __init__(self, status: HTTPStatus, message: str, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or status.name
        self.headers = dict(headers or {})


class Handler(BaseHTTPRequestHandler):
    """One connection: GraphQL at ``/graphql`` (POST, ``application/json``), sign-in and
    sign-out at ``/login`` and ``/logout``, HTML pages elsewhere (GET). Every refusal is a 4xx
    with a body (GraphQL-style JSON, or a page for a page); a connection idle for the read
    timeout is closed."""

    server: PooledHTTPServer
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
        self._reply(refusal.status, error_body(refusal.message, refusal.code),
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
        if path.rstrip("/") == "/graphql" or path == "/logout" or path.startswith(RUNS_PATH):
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
                self._reply(refusal.status, error_body(refusal.message, refusal.code), headers)
        except Exception:
            _log.exception("view server failure")
            self.close_connection = True
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR,
                        error_body("internal server error", "INTERNAL_SERVER_ERROR"))

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
            self._page(HTTPStatus.UNAUTHORIZED, pages.sign_in_page(local_path(self.path)))
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
        form = parse_qs(self._read(self._content_length(limits.MAX_FORM)).decode(
            "utf-8", "replace"))
        entity = self.server.owner.entity_for(form.get("key", [""])[0])
        self._signed_in(entity, form.get("next", ["/"])[0], "That API key is not accepted here.")

    def _sign_out(self) -> None:
        """The sign-out form's POST: the session ends and its cookie is cleared."""
        self._same_origin()
        self._read(self._content_length(limits.MAX_FORM))
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
        target = local_path(next_path)
        if entity is None:
            self._page(HTTPStatus.UNAUTHORIZED, pages.sign_in_page(target, refusal))
            return
        owner = self.server.owner
        session = owner.open_session(entity, replacing=self._session())
        cookie = (f"{owner.session_cookie}={session}; Path=/; Max-Age={limits.SESSION_SECONDS}; "
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
            self._read(self._content_length(limits.MAX_TELEMETRY_BODY))
            self._send(HTTPStatus.OK, b"", self.headers.get("Content-Type") or "text/plain")
            return
        if path.startswith(RUNS_PATH):
            self._add_runs(path[len(RUNS_PATH):])
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
                        error_body("missing or invalid API key", "UNAUTHENTICATED"),
                        {"WWW-Authenticate": 'Basic realm="wsquery"'})
            return
        status, payload = owner.execute(entity, body)
        self._reply(status, payload)

    def _add_runs(self, place: str) -> None:
        """Store the posted runs in ``ENTITY/PROJECT`` (``place``, each part URL-quoted) for
        a key of that entity: 200 with their ids, else a 4xx saying what is wrong."""
        owner = self.server.owner
        entity = owner.entity_for(self._api_key())
        if entity is None:
            raise _Refused(HTTPStatus.UNAUTHORIZED, "missing or invalid API key",
                           "UNAUTHENTICATED", {"WWW-Authenticate": 'Basic realm="wsquery"'})
        parts = [unquote(part) for part in place.split("/")]
        if len(parts) != 2 or not all(part.strip() for part in parts):
            raise _Refused(HTTPStatus.NOT_FOUND, f"POST runs to {RUNS_PATH}ENTITY/PROJECT")
        if parts[0] != entity:
            raise _Refused(HTTPStatus.FORBIDDEN, f"this API key belongs to {entity!r}, not "
                           f"{parts[0]!r}", "PERMISSION_DENIED")
        runs = self._json("the runs")
        if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body must be a JSON array of runs "
                           "(objects)")
        try:
            ids = owner.add_runs(entity, parts[1], runs)
        except WsqueryError as error:
            raise _Refused(HTTPStatus.BAD_REQUEST, str(error)) from None
        self._reply(HTTPStatus.OK, {"data": {"added": len(ids), "ids": ids}})

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

    def _json(self, what: str) -> Any:
        """The body as JSON (``application/json``, at most ``MAX_BODY`` bytes, within
        ``MAX_JSON_DEPTH``); ``what`` it should hold names it in the refusals."""
        media_type = (self.headers.get("Content-Type") or "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                           f"send {what} as Content-Type: application/json")
        try:
            return load_json(self._read(self._content_length(limits.MAX_BODY)))
        except ValueError as error:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {error}") from None

    def _body(self) -> dict[str, Any]:
        """The JSON request: an object with a query string, optional variables (an object)
        and operationName (a string), within ``MAX_JSON_DEPTH`` and ``MAX_SPEC_LENGTH``."""
        body = self._json("GraphQL")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise _Refused(HTTPStatus.BAD_REQUEST,
                           "the body must be a JSON object with a query string")
        if not isinstance(body.get("variables") or {}, dict):
            raise _Refused(HTTPStatus.BAD_REQUEST, "variables must be a JSON object")
        if not isinstance(body.get("operationName") or "", str):
            raise _Refused(HTTPStatus.BAD_REQUEST, "operationName must be a string")
        longest = longest_string(body)
        if longest > limits.MAX_SPEC_LENGTH:
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           f"the body holds a string of {longest} characters; the longest "
                           f"accepted (a spec) has {limits.MAX_SPEC_LENGTH}")
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

    def _fault(self, status: int, fault: Fault) -> None:
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


def _project_path(entity: str, project: str) -> str:
    return f"/{quote(entity, safe='')}/{quote(project, safe='')}"


def _view_path(entity: str, project: str, view_name: str) -> str:
    """The path of a view's page: its W&B app link without the host."""
    from wsquery.wandb.views import view_url

    return view_url("", entity, project, view_name)


def page_at(store: Store, base_url: str, entity: str, target: str
            ) -> tuple[int, str]:
    """The HTTP status and HTML of the page at ``target`` (a path and query) of the server
    at ``base_url``, for a holder of ``entity``'s key."""
    from wsquery.wandb.views import parse_view_url

    parts = urlsplit(target)
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if not segments:
        return HTTPStatus.OK, pages.projects_page(entity, [
            (name, _project_path(entity, name)) for name in store.projects(entity)])
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
                 for row in store.views(entity, project)]
        return HTTPStatus.OK, pages.project_page(entity, project, views,
                                                 len(store.runs(entity, project)))
    try:
        view_name = parse_view_url(base_url + target)[2]
    except WsqueryError as error:
        return HTTPStatus.NOT_FOUND, pages.message_page("No such view", str(error))
    rows = store.views(entity, project, view_name)
    if not rows:
        return HTTPStatus.NOT_FOUND, pages.message_page(
            "No such view", f"no saved view {view_name!r} in {entity}/{project}")
    row = rows[0]
    try:
        return HTTPStatus.OK, pages.view_page(
            entity=entity, project=project, display_name=row["display_name"] or "",
            description=row["description"] or "", spec=row["spec"],
            runs=store.runs(entity, project), project_path=project_path)
    except WsqueryError as error:
        return HTTPStatus.UNPROCESSABLE_ENTITY, pages.message_page(
            "This view cannot be shown", str(error))
