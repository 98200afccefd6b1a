"""The GraphQL client against a real local server: documents, settings, retries, errors, secrets."""

from __future__ import annotations

import email.utils
import logging
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from wsquery.apps.server import SCHEMA_SDL, ViewServer
from wsquery.errors import (
    AuthenticationError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    WorkspaceError,
)
from wsquery.wandb.graphql import (
    DOCUMENTS,
    GraphQLClient,
    _retry_after_seconds,
)
from wsquery.wandb.settings import Settings, resolve_settings

from .shared import shared_path

SECRET = "wsq-SECRET-key-5f3a9c7e1d"
SPEC = '{"section": {"runSets": []}}'


@pytest.fixture
def server() -> Iterator[ViewServer]:
    """A server of this test's own, so injected faults reach no other test."""
    with ViewServer(api_keys={SECRET: "secret-entity"}) as own_server:
        yield own_server


def fast_client(server: ViewServer, *, api_key: str | None = SECRET, deadline: float = 5.0,
                timeout: tuple[float, float] = (2.0, 10.0)) -> GraphQLClient:
    return GraphQLClient(Settings(server.url, api_key, server.url), timeout=timeout,
                         deadline=deadline, backoff=0.01, max_backoff=0.05)


def save(client: GraphQLClient, name: str = "nw-aaaaaaaaaaa-v") -> dict[str, object]:
    return client.upsert_view(entity="secret-entity", project="p", name=name,
                              display_name="A view", description="", spec=SPEC)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_the_shared_wandb_schema(name: str) -> None:
    schema = build_schema(shared_path("wandb-schema", "schema.graphql").read_text("utf-8"))
    assert validate(schema, parse(DOCUMENTS[name])) == []


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_the_server_schema(name: str) -> None:
    document = parse(DOCUMENTS[name])
    assert validate(build_schema(SCHEMA_SDL), document) == []
    assert document.definitions[0].name.value == name  # type: ignore[attr-defined]


def test_importing_wsquery_loads_no_http_or_graphql_library() -> None:
    code = ("import sys, wsquery, wsquery.wandb.graphql; "
            "print(sorted(m for m in ('requests', 'graphql', 'http.server') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert result.stdout.strip() == "[]"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No W&B variables, and a home directory of the test's own."""
    for variable in ("WANDB_BASE_URL", "WANDB_API_KEY", "WANDB_APP_URL", "WANDB_CONFIG_DIR",
                     "NETRC"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_settings_default_to_the_hosted_api(clean_env: Path) -> None:
    assert resolve_settings() == Settings("https://api.wandb.ai", None, "https://wandb.ai")


def test_settings_arguments_win_over_environment(clean_env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", "https://env.example")
    monkeypatch.setenv("WANDB_API_KEY", "env-key")
    assert resolve_settings("https://arg.example/", "arg-key") == Settings(
        "https://arg.example", "arg-key", "https://arg.example")
    assert resolve_settings() == Settings("https://env.example", "env-key", "https://env.example")


def test_settings_file_names_the_base_url(clean_env: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    default_file = clean_env / ".config" / "wandb" / "settings"
    default_file.parent.mkdir(parents=True)
    default_file.write_text("[default]\nbase_url = https://api.home.example\n")
    assert resolve_settings().base_url == "https://api.home.example"
    assert resolve_settings().app_url == "https://home.example"
    config_dir = clean_env / "wandb-config"
    config_dir.mkdir()
    (config_dir / "settings").write_text("[default]\nbase_url = http://local:8080\n")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(config_dir))
    assert resolve_settings().base_url == "http://local:8080"
    (config_dir / "settings").write_text("[default]\nbase_url = http://x%41y\n")
    assert resolve_settings().base_url == "http://x%41y"
    (config_dir / "settings").write_text("no section header\n")
    assert resolve_settings().base_url == "https://api.wandb.ai"


def test_netrc_supplies_the_key_for_the_base_urls_host(clean_env: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".netrc").write_text(
        "machine api.wandb.ai login user password hosted-key\n"
        "machine other.example login user password other-key\n")
    assert resolve_settings().api_key == "hosted-key"
    assert resolve_settings("https://other.example").api_key == "other-key"
    assert resolve_settings("https://unknown.example").api_key is None
    elsewhere = clean_env / "elsewhere-netrc"
    elsewhere.write_text("machine api.wandb.ai login user password from-netrc-variable\n")
    monkeypatch.setenv("NETRC", str(elsewhere))
    assert resolve_settings().api_key == "from-netrc-variable"


def test_app_url(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_settings("https://api.company.example").app_url == "https://company.example"
    assert resolve_settings("http://127.0.0.1:8080").app_url == "http://127.0.0.1:8080"
    monkeypatch.setenv("WANDB_APP_URL", "https://ui.example/")
    assert resolve_settings("https://api.company.example").app_url == "https://ui.example"


def test_dry_run_returns_the_request_and_sends_nothing(server: ViewServer) -> None:
    client = fast_client(server, api_key=None)
    request = client.upsert_view(entity="e", project="p", name="nw-bbbbbbbbbbb-v",
                                 display_name="Shown", description="d", spec=SPEC,
                                 view_id="Vmlldzox", dry_run=True)
    assert request["operationName"] == "UpsertView"
    assert request["query"] == DOCUMENTS["UpsertView"]
    assert request["variables"] == {"input": {
        "entityName": "e", "projectName": "p", "name": "nw-bbbbbbbbbbb-v",
        "displayName": "Shown", "description": "d", "type": "project-view", "spec": SPEC,
        "createdUsing": "WANDB_SDK", "id": "Vmlldzox"}}
    assert client.delete_view("Vmlldzox", dry_run=True) == {
        "query": DOCUMENTS["DeleteView"], "variables": {"id": "Vmlldzox"},
        "operationName": "DeleteView"}
    assert not server.received


def test_upsert_without_id_leaves_id_out(server: ViewServer) -> None:
    request = fast_client(server).upsert_view(
        entity="e", project="p", name="n", display_name="", description="", spec=SPEC,
        dry_run=True)
    assert "id" not in request["variables"]["input"]


def test_requests_carry_the_user_agent(server: ViewServer) -> None:
    import wsquery

    assert fast_client(server).default_entity() == "secret-entity"
    assert [(r.operation_name, r.user_agent) for r in server.received] == [
        ("Viewer", f"wsquery/{wsquery.__version__}")]


def test_no_key_fails_before_sending(server: ViewServer) -> None:
    with pytest.raises(AuthenticationError, match="WANDB_API_KEY"):
        fast_client(server, api_key=None).default_entity()
    assert not server.received


def test_too_long_display_name_fails_before_sending(server: ViewServer) -> None:
    with pytest.raises(WorkspaceError, match="at most 128"):
        fast_client(server).upsert_view(entity="e", project="p", name="n",
                                        display_name="x" * 129, description="", spec=SPEC)
    assert not server.received


def test_429_is_retried_after_retry_after(server: ViewServer,
                                          caplog: pytest.LogCaptureFixture) -> None:
    server.faults.fail(429, retry_after="1", message="slow down")
    with caplog.at_level(logging.WARNING, logger="wsquery"):
        assert save(fast_client(server))["inserted"] is True
    assert len(server.received) == 2
    waits = [record.args[2] for record in caplog.records
             if record.name == "wsquery" and isinstance(record.args, tuple)]
    assert len(waits) == 1 and isinstance(waits[0], float) and waits[0] >= 1.0
    assert "slow down" in caplog.records[0].getMessage()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried(server: ViewServer, status: int) -> None:
    server.faults.fail(status, count=3)
    assert fast_client(server).default_entity() == "secret-entity"
    assert len(server.received) == 4


def test_a_read_timeout_is_retried(server: ViewServer) -> None:
    server.faults.slow(2.0)
    client = fast_client(server, timeout=(2.0, 0.3))
    assert client.default_entity() == "secret-entity"
    assert len(server.received) == 2


def test_read_timeouts_past_the_budget_are_a_network_error(server: ViewServer) -> None:
    server.faults.slow(2.0, count=20)
    with pytest.raises(NetworkError, match="did not answer within"):
        fast_client(server, timeout=(2.0, 0.2), deadline=0.5).default_entity()
    server.faults.clear()


def test_an_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GraphQLClient(Settings(f"http://127.0.0.1:{port}", SECRET, ""),
                           deadline=0.2, backoff=0.01)
    with pytest.raises(NetworkError, match="could not connect"):
        client.default_entity()


@pytest.mark.parametrize(("status", "error_class"), [
    (400, ServerError), (401, AuthenticationError), (403, PermissionDeniedError),
    (404, NotFoundError), (409, ServerError), (410, ServerError), (413, ServerError),
    (422, ServerError), (501, ServerError),
])
def test_final_statuses_are_not_retried(server: ViewServer, status: int,
                                        error_class: type[WorkspaceError]) -> None:
    server.faults.fail(status, count=2, message=f"refused with {status}")
    with pytest.raises(error_class) as caught:
        fast_client(server).default_entity()
    assert type(caught.value) is error_class
    assert caught.value.status == status
    assert caught.value.message == f"refused with {status}"
    assert len(server.received) == 1


def test_an_invalid_document_is_a_server_error_without_retry(server: ViewServer) -> None:
    with pytest.raises(ServerError, match="Cannot query field 'nope'") as caught:
        fast_client(server).execute("query { nope }")
    assert caught.value.status == 400
    assert len(server.received) == 1


def test_graphql_errors_in_a_200_answer_are_errors(server: ViewServer) -> None:
    client = fast_client(server)
    server.faults.fail(200, message="no access to this project", code="PERMISSION_ERROR")
    with pytest.raises(PermissionDeniedError, match="no access") as caught:
        client.default_entity()
    assert caught.value.status == 200
    with pytest.raises(NotFoundError, match="not found"):
        client.upsert_view(entity="secret-entity", project="p", name="n", display_name="",
                           description="", spec=SPEC, view_id="Vmlldzo5OTk=")
    server.faults.fail(200, message="something broke")
    with pytest.raises(ServerError, match="something broke"):
        client.default_entity()


def test_persistent_429_ends_in_rate_limited_error(server: ViewServer) -> None:
    server.faults.fail(429, count=1000, retry_after="0")
    with pytest.raises(RateLimitedError) as caught:
        fast_client(server, deadline=0.3).default_entity()
    assert caught.value.status == 429
    assert len(server.received) > 1
    server.faults.clear()


def test_retry_after_beyond_the_budget_gives_up_at_once(server: ViewServer) -> None:
    server.faults.fail(429, count=5, retry_after="30")
    with pytest.raises(RateLimitedError):
        fast_client(server, deadline=5.0).default_entity()
    assert len(server.received) == 1
    server.faults.clear()


def test_persistent_500_ends_in_server_error(server: ViewServer) -> None:
    server.faults.fail(500, count=1000)
    with pytest.raises(ServerError) as caught:
        fast_client(server, deadline=0.3).default_entity()
    assert caught.value.status == 500
    assert len(server.received) > 1
    server.faults.clear()


def test_retry_after_forms() -> None:
    assert _retry_after_seconds({"Retry-After": "7"}) == 7.0
    assert _retry_after_seconds({"Retry-After": "-3"}) == 0.0
    assert _retry_after_seconds({"RateLimit-Reset": "4"}) == 4.0
    assert _retry_after_seconds({}) is None
    assert _retry_after_seconds({"Retry-After": "soon"}) is None
    in_a_minute = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=60),
                                              usegmt=True)
    seconds = _retry_after_seconds({"Retry-After": in_a_minute})
    assert seconds is not None and 50 < seconds <= 60
    past = email.utils.format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)
    assert _retry_after_seconds({"Retry-After": past}) == 0.0


def test_the_api_key_never_shows(server: ViewServer, caplog: pytest.LogCaptureFixture) -> None:
    """Every message, repr, traceback and log record, including server text that echoes it."""
    import base64

    token = base64.b64encode(f"api:{SECRET}".encode()).decode()
    wrong = "wsq-WRONG-key-0c4e2b"
    errors: list[WorkspaceError] = []
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        client = fast_client(server, deadline=0.3)
        texts += [repr(client), repr(client.settings), str(client.settings)]
        server.faults.fail(401, message=f"invalid key {SECRET} (Basic {token})")
        server.faults.fail(429, count=1000, retry_after="0", message=f"slow down, {SECRET}")
        for _ in range(2):
            with pytest.raises(WorkspaceError) as caught:
                client.default_entity()
            errors.append(caught.value)
        server.faults.clear()
        with pytest.raises(AuthenticationError) as caught:
            fast_client(server, api_key=wrong).default_entity()
        errors.append(caught.value)
        with pytest.raises(NetworkError) as caught:
            GraphQLClient(Settings("http://127.0.0.1:9", SECRET, ""), deadline=0.0,
                          timeout=(0.5, 0.5)).default_entity()
        errors.append(caught.value)
    assert [type(e) for e in errors] == [AuthenticationError, RateLimitedError,
                                        AuthenticationError, NetworkError]
    assert "***" in errors[0].message
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += ["".join(traceback.format_exception(e)) for e in errors]
    texts += [record.getMessage() for record in caplog.records]
    texts += [record.exc_text or "" for record in caplog.records]
    assert any("slow down" in text for text in texts)
    for text in texts:
        assert SECRET not in text
        assert token not in text
        assert wrong not in text
