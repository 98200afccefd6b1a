"""Workspaces against the real local view server over HTTP: save, load, update, save as new,
list with paging, delete, saved specs written back unchanged but for what was edited, the
workspace commands and the demo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from wsquery import compile as compile_query
from wsquery.apps.cli import main
from wsquery.apps.server import DEFAULT_ENTITY, ViewServer
from wsquery.errors import (
    NotFoundError,
    PermissionDeniedError,
    QueryValidationError,
    TargetError,
)
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings
from wsquery.wandb.views import (
    LinePlot,
    RunSettings,
    Section,
    Workspace,
    WorkspaceSettings,
    WorkspaceValueError,
    list_views,
)

from .shared import shared_path

ENTITY = DEFAULT_ENTITY
QUERY_KEYS = ("filters", "grouping", "sort", "search")


def example(name: str) -> dict[str, Any]:
    path = shared_path("spec", name)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def stored_spec(client: GraphQLClient, project: str, view_name: str) -> dict[str, Any]:
    """The spec as the server stores it, read without the Workspace model."""
    node = client.find_view(ENTITY, project, view_name)
    assert node is not None
    spec: dict[str, Any] = json.loads(node["spec"])
    return spec


@pytest.fixture
def counting_server() -> Iterator[tuple[ViewServer, GraphQLClient]]:
    """A server of one's own (temporary SQLite file), so its ``received`` counts only this
    test's requests, and a client of it."""
    with ViewServer() as server, GraphQLClient(Settings(
            base_url=server.url, api_key=server.api_key, app_url=server.url)) as own_client:
        yield server, own_client


def workspace(project: str, name: str = "Losses", query: str = "summary.val_loss <= 0.1"
              ) -> Workspace:
    return Workspace(ENTITY, project, name, "validation losses", query=query,
                     sections=[Section("Validation", [LinePlot(y=["val_loss"])], is_open=True)],
                     settings=WorkspaceSettings(max_runs=15),
                     run_settings={"run1": RunSettings(color="red")})


def test_save_then_load_by_url_name_id_and_display_name(client: GraphQLClient,
                                                        view_server: ViewServer) -> None:
    saved = workspace("e2e-load").save(client=client)
    assert saved.view_id and saved.view_name
    view_id = saved.view_name.removeprefix("nw-").removesuffix("-v")
    assert saved.url == f"{view_server.url}/{ENTITY}/e2e-load?nw={view_id}"
    assert stored_spec(client, "e2e-load", saved.view_name) == saved.to_spec()
    for loaded in (Workspace.from_url(saved.url, client=client),
                   Workspace.from_url(saved.url.replace("?nw=", "/workspace?nw=nw-") + "-v",
                                      client=client),
                   Workspace.load(ENTITY, "e2e-load", saved.view_name, client=client),
                   Workspace.load(ENTITY, "e2e-load", view_id, client=client),
                   Workspace.load(ENTITY, "e2e-load", "Losses", client=client)):
        assert (loaded.name, loaded.description) == ("Losses", "validation losses")
        assert (loaded.view_id, loaded.url) == (saved.view_id, saved.url)
        assert str(loaded.query) == "summary.val_loss <= 0.1"
        assert loaded.settings.max_runs == 15
        assert loaded.run_settings == {"run1": RunSettings(color="red")}
        assert loaded.to_spec() == saved.to_spec()


def test_base_url_and_api_key_instead_of_a_client(view_server: ViewServer) -> None:
    saved = workspace("e2e-keys").save(base_url=view_server.url, api_key=view_server.api_key)
    loaded = Workspace.from_url(saved.url, base_url=view_server.url,
                                api_key=view_server.api_key)
    assert loaded.view_id == saved.view_id


def test_save_again_updates_the_same_view(client: GraphQLClient) -> None:
    first = workspace("e2e-update").save(client=client)
    view_id, view_name = first.view_id, first.view_name
    first.query = 'state == "finished" order by summary.val_loss'
    first.settings.smoothing_type = "gaussian"
    first.name = "Finished runs"
    first.save(client=client)
    assert (first.view_id, first.view_name) == (view_id, view_name)
    views = list_views(ENTITY, "e2e-update", client=client)
    assert [(v.view_id, v.display_name) for v in views] == [(view_id, "Finished runs")]
    loaded = Workspace.from_url(first.url, client=client)
    assert str(loaded.query) == 'state == "finished" order by summary.val_loss'
    assert loaded.settings.smoothing_type == "gaussian"


def test_a_loaded_view_saves_back_to_itself(client: GraphQLClient) -> None:
    saved = workspace("e2e-resave").save(client=client)
    loaded = Workspace.from_url(saved.url, client=client)
    loaded.query = "summary.val_loss <= 0.2"
    loaded.save(client=client)
    assert loaded.view_id == saved.view_id
    assert len(list_views(ENTITY, "e2e-resave", client=client)) == 1


def test_save_as_new_view_leaves_the_original(client: GraphQLClient) -> None:
    original = workspace("e2e-copy").save(client=client)
    first_id, first_url = original.view_id, original.url
    original.query = "summary.val_loss <= 0.5"
    original.save_as_new_view(client=client)
    assert original.view_id != first_id and original.url != first_url
    assert str(Workspace.from_url(first_url, client=client).query) == "summary.val_loss <= 0.1"
    assert str(Workspace.from_url(original.url, client=client).query) == (
        "summary.val_loss <= 0.5")
    assert len(list_views(ENTITY, "e2e-copy", client=client)) == 2


def test_list_pages_through_every_view(
        counting_server: tuple[ViewServer, GraphQLClient]) -> None:
    view_server, client = counting_server
    saved = [workspace("e2e-list", f"View {n}").save(client=client) for n in range(7)]
    view_server.received.clear()
    views = list_views(ENTITY, "e2e-list", client=client, page_size=3)
    pages = [r.operation_name for r in view_server.received]
    assert pages == ["ListViews"] * 3
    assert sorted((v.view_id, v.view_name, v.display_name, v.url) for v in views) == sorted(
        (w.view_id, w.view_name, w.name, w.url) for w in saved)
    assert {v.description for v in views} == {"validation losses"}


def test_delete(counting_server: tuple[ViewServer, GraphQLClient]) -> None:
    view_server, client = counting_server
    saved = workspace("e2e-delete").save(client=client)
    url = saved.url
    view_server.received.clear()
    request = saved.delete(client=client, dry_run=True)
    assert not view_server.received
    assert request["operationName"] == "DeleteView"
    assert request["variables"] == {"id": saved.view_id}
    assert Workspace.from_url(url, client=client).view_id == saved.view_id
    saved.delete(client=client)
    assert saved.view_id is None
    with pytest.raises(NotFoundError, match=r"no saved view 'nw-.*-v' in wsquery/e2e-delete"):
        Workspace.from_url(url, client=client)
    assert list_views(ENTITY, "e2e-delete", client=client) == []
    with pytest.raises(WorkspaceValueError, match="not saved"):
        saved.delete(client=client)
    saved.save(client=client)
    assert saved.url != url


def test_nothing_is_sent_for_a_query_that_cannot_be_saved(
        counting_server: tuple[ViewServer, GraphQLClient]) -> None:
    view_server, client = counting_server
    saved = workspace("e2e-refuse").save(client=client)
    view_server.received.clear()
    with pytest.raises(TargetError):
        saved.query = 'summary.val_loss is null'
    saved.save(client=client)
    assert [r.operation_name for r in view_server.received] == ["UpsertView"]
    assert str(Workspace.from_url(saved.url, client=client).query) == (
        "summary.val_loss <= 0.1")


def test_another_entitys_project_is_refused(client: GraphQLClient) -> None:
    other = Workspace("someone-else", "e2e-other", "Theirs", query="summary.acc >= 0.5")
    with pytest.raises(PermissionDeniedError):
        other.save(client=client)
    assert other.view_id is None


KEYED_RUNS = [
    {"id": "k1", "name": "one", "state": "finished", "created_at": "2024-01-01T00:00:00Z",
     "config": {"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.9}},
     "summary": {"val_loss": 0.05, "acc": 0.9}},
    {"id": "k2", "name": "two", "state": "crashed", "created_at": "2024-01-02T00:00:00Z",
     "config": {"lr": 0.01}, "summary": {"val_loss": 0.5}},
]


def test_save_can_refuse_a_key_no_run_of_the_project_has(
        counting_server: tuple[ViewServer, GraphQLClient]) -> None:
    server, own_client = counting_server
    server.add_runs(ENTITY, "e2e-keys", KEYED_RUNS)
    misspelled = workspace("e2e-keys", query="summary.val_loss <= 0.1 and config.optimiser.name"
                                             ' == "adam" order by summary.accuracy')
    with pytest.raises(QueryValidationError) as caught:
        misspelled.save(client=own_client, check_keys=True)
    assert str(caught.value) == (
        f"line 1, column 29: no run of {ENTITY}/e2e-keys has config.optimiser.name\n"
        '    summary.val_loss <= 0.1 and config.optimiser.name == "adam" '
        "order by summary.accuracy\n"
        "                                ~~~~~~~~~~~~~~~~~~~~~\n"
        "hint: did you mean config.optimizer.name?\n"
        f"line 1, column 70: no run of {ENTITY}/e2e-keys has summary.accuracy\n"
        '    summary.val_loss <= 0.1 and config.optimiser.name == "adam" '
        "order by summary.accuracy\n"
        + " " * 73 + "~~~~~~~~~~~~~~~~\n"
        "hint: the runs' summary keys are summary.acc, summary.val_loss")
    assert [r.operation_name for r in server.received if r.operation_name == "UpsertView"] == []
    assert misspelled.view_id is None
    assert list_views(ENTITY, "e2e-keys", client=own_client) == []
    with pytest.raises(QueryValidationError, match=r"did you mean summary\.val_loss\?"):
        workspace("e2e-keys", query="summary.vall_loss <= 0.1").save_as_new_view(
            client=own_client, check_keys=True)
    with pytest.raises(QueryValidationError, match=r"did you mean summary\.val_loss\?"):
        workspace("e2e-keys", query="summary.vall_loss <= 0.1").save(
            client=own_client, check_keys=True, dry_run=True)

    server.received.clear()
    held = workspace("e2e-keys", query='summary.val_loss <= 0.1 and config.optimizer.name == '
                                       '"adam" group by config.optimizer order by summary.acc')
    held.save(client=own_client, check_keys=True)
    assert [r.operation_name for r in server.received] == ["ListRuns", "UpsertView"]
    assert str(Workspace.from_url(held.url, client=own_client).query) == str(held.query)

    server.received.clear()  # a query without config or summary keys fetches no runs
    workspace("e2e-keys", query='state == "finished"').save(client=own_client, check_keys=True)
    assert [r.operation_name for r in server.received] == ["UpsertView"]

    unchecked = workspace("e2e-keys", query="summary.vall_loss <= 0.1").save(client=own_client)
    assert str(unchecked.query) == "summary.vall_loss <= 0.1"  # the check is off by default
    with pytest.raises(NotFoundError, match=f"project {ENTITY}/e2e-keys-none not found"):
        workspace("e2e-keys-none").save(client=own_client, check_keys=True)


@pytest.mark.parametrize("name", ["example-view-spec-seed.json", "example-view-spec.json"])
def test_a_stored_spec_survives_an_edit_of_its_query(client: GraphQLClient, name: str) -> None:
    original = example(name)
    project = "e2e-" + name.removesuffix(".json")
    stored = client.upsert_view(entity=ENTITY, project=project, name="nw-fromtheapp-v",
                                display_name="Made in the app", description="",
                                spec=json.dumps(original))
    view_name = stored["view"]["name"]
    loaded = Workspace.load(ENTITY, project, view_name, client=client)
    loaded.save(client=client)
    assert stored_spec(client, project, view_name) == original
    loaded.query = 'state == "finished" and config.lr >= 0.01 group by group order by runtime'
    loaded.save(client=client)
    after = stored_spec(client, project, view_name)
    run_set, run_set_before = after["section"]["runSets"][0], original["section"]["runSets"][0]
    assert {key: run_set[key] for key in QUERY_KEYS} == compile_query(loaded.query).to_json()
    for key in QUERY_KEYS:
        del run_set[key], run_set_before[key]
    assert after == original


def test_commands_save_load_list_delete(view_server: ViewServer, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WANDB_API_KEY", view_server.api_key)
    monkeypatch.delenv("WANDB_APP_URL", raising=False)
    server = ["--base-url", view_server.url]
    assert main(["save", "--project", "e2e-cli", "--name", "CLI view", "--query",
                 "summary.acc >= 0.5 order by summary.acc desc", *server]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith(f"{view_server.url}/{ENTITY}/e2e-cli?nw=")

    assert main(["load", url, *server]) == 0
    assert capsys.readouterr().out == "summary.acc >= 0.5 order by summary.acc desc\n"
    assert main(["load", url, "--spec", *server]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["section"]["runSets"][0]["sort"]["keys"][0]["ascending"] is False

    assert main(["list", f"{ENTITY}/e2e-cli", *server]) == 0
    assert capsys.readouterr().out == f"{url}\tCLI view\n"

    assert main(["save", "--entity", ENTITY, "--project", "e2e-cli", "--name", "Dry",
                 "--query", "summary.acc >= 0.5", "--dry-run", *server]) == 0
    request = json.loads(capsys.readouterr().out)
    assert request["variables"]["input"]["displayName"] == "Dry"
    assert main(["delete", url, "--dry-run", *server]) == 0
    assert json.loads(capsys.readouterr().out)["operationName"] == "DeleteView"

    assert main(["delete", url, *server]) == 0
    assert capsys.readouterr().out == f"deleted {url}\n"
    assert main(["list", f"{ENTITY}/e2e-cli", *server]) == 0
    assert capsys.readouterr().out == ""


def test_command_save_checks_keys_when_asked(view_server: ViewServer,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WANDB_API_KEY", view_server.api_key)
    view_server.add_runs(ENTITY, "e2e-keys-cli", KEYED_RUNS)
    save = ["save", "--project", "e2e-keys-cli", "--name", "Keys", "--check-keys",
            "--base-url", view_server.url, "--query"]
    assert main([*save, "summary.vall_loss <= 0.1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"error: line 1, column 1: no run of {ENTITY}/e2e-keys-cli has "
                   "summary.vall_loss\n    summary.vall_loss <= 0.1\n    ~~~~~~~~~~~~~~~~~\n"
                   "hint: did you mean summary.val_loss?\n")
    assert list_views(ENTITY, "e2e-keys-cli", base_url=view_server.url,
                      api_key=view_server.api_key) == []
    assert main([*save, "summary.val_loss <= 0.1"]) == 0
    assert capsys.readouterr().out.startswith(f"{view_server.url}/{ENTITY}/e2e-keys-cli?nw=")


def test_command_errors_are_clean(view_server: ViewServer, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WANDB_API_KEY", view_server.api_key)
    server = ["--base-url", view_server.url]
    assert main(["load", "https://wandb.ai/a/b?nw=nwuserme", *server]) == 2
    assert "is a personal workspace" in capsys.readouterr().err
    assert main(["list", "no-slash", *server]) == 2
    assert "name the project as ENTITY/PROJECT" in capsys.readouterr().err
    assert main(["save", "--project", "e2e-cli-errors", "--name", "Bad", "--query",
                 "summary.acc >", *server]) == 2
    assert "line 1, column" in capsys.readouterr().err
    assert main(["load", f"{view_server.url}/{ENTITY}/e2e-cli-errors?nw=missing", *server]) == 2
    assert "no saved view 'nw-missing-v' in wsquery/e2e-cli-errors" in capsys.readouterr().err


def test_demo_runs_on_its_own_server(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "WANDB_API_KEY is not set, so the views go to a local view server" in out
    assert out.count("   url:      http://127.0.0.1:") == 7
    assert "7. End to end" in out
    assert 'search:   {"query": "^s", "isRegex": true}' in out
    assert "differs" not in out


def test_demo_uses_the_server_the_environment_names(
        view_server: ViewServer, client: GraphQLClient, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WANDB_API_KEY", view_server.api_key)
    monkeypatch.setenv("WANDB_BASE_URL", view_server.url)
    monkeypatch.delenv("WANDB_APP_URL", raising=False)
    before = {v.view_id for v in list_views(ENTITY, "wsquery-demo", client=client)}
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert f"saving to {view_server.url}" in out
    views = [v for v in list_views(ENTITY, "wsquery-demo", client=client)
             if v.view_id not in before]
    assert sorted(v.display_name for v in views) == sorted([
        "Validation and training sections", "Custom settings", "Filtered runs", "Run colors",
        "Grouped by optimizer", "Sorted by validation loss", "End to end"])
    assert all(v.url in out for v in views)
