"""W&B's own SDK (``wandb.Api()``, wandb 0.31.0, unchanged) against the embedded view server
over real HTTP: signing in, ``Api.runs`` with every documented filter operator, orders and
pages, a run's config, summary, tags, state and history, ``Api.run``, ``Api.projects``; and
every language case the runs-api target compiles without a warning selecting, through the
SDK, exactly the runs ``wsquery.evaluate`` selects, in its order."""

from __future__ import annotations

import inspect
import json
import os
import random
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import graphql
import pytest
import requests
import wandb
from wandb.errors import AuthenticationError

import wsquery
from wsquery.apps.server import DEFAULT_ENTITY, ViewServer, server_schema
from wsquery.ast import Field
from wsquery.errors import TargetError
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.views import Workspace

from . import strategies
from .test_runs_api import NAMES, ODD_VALUES, STATES, VALID, leaves, literals, run_from


@pytest.fixture(scope="module")
def api(wandb_environment: None, view_server: ViewServer) -> wandb.Api:
    return wandb.Api(api_key=view_server.api_key, overrides={"base_url": view_server.url})


# Signing in ------------------------------------------------------------------------------------

def test_the_sdk_signs_in_with_the_key_and_base_url(view_server: ViewServer,
                                                     wandb_environment: None) -> None:
    api = wandb.Api(api_key=view_server.api_key, overrides={"base_url": view_server.url})
    assert api.default_entity == DEFAULT_ENTITY
    assert (api.viewer.entity, api.viewer.username) == (DEFAULT_ENTITY, DEFAULT_ENTITY)


def test_the_sdk_signs_in_from_the_environment(wandb_environment: None) -> None:
    assert wandb.Api().default_entity == DEFAULT_ENTITY


def test_wsquery_serves_hint_points_the_sdk_at_it(tmp_path: Path,
                                                  wandb_environment: None) -> None:
    """``wsquery serve``, a process of its own, prints the two variables that point the SDK
    at it: with them set, ``wandb.Api()`` signs in and lists the server's projects."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wsquery", "serve", "--db", str(tmp_path / "served.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(5)]
        assert lines[2] == "Point wsquery (or the wandb SDK) at it with:"
        exported = dict(line.removeprefix("export ").split("=", 1) for line in lines[3:5])
        assert set(exported) == {"WANDB_BASE_URL", "WANDB_API_KEY"}
        # the key as a shell reads it: $(cat FILE)
        exported["WANDB_API_KEY"] = subprocess.run(
            ["bash", "-c", f"echo {exported['WANDB_API_KEY']}"], capture_output=True,
            text=True, check=True).stdout.strip()
        with pytest.MonkeyPatch.context() as patch:
            for name, value in exported.items():
                patch.setenv(name, value)
            Workspace(DEFAULT_ENTITY, "served", "A view").save(
                base_url=exported["WANDB_BASE_URL"], api_key=exported["WANDB_API_KEY"])
            api = wandb.Api()
            assert api.default_entity == DEFAULT_ENTITY
            assert [project.name for project in api.projects()] == ["served"]
            assert len(api.runs(f"{DEFAULT_ENTITY}/served")) == 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_wrong_key_is_refused_at_sign_in(view_server: ViewServer,
                                           wandb_environment: None) -> None:
    with pytest.raises(AuthenticationError, match="missing or invalid API key"):
        wandb.Api(api_key="0" * 40, overrides={"base_url": view_server.url})


def sdk_documents() -> dict[str, str]:
    """The GraphQL documents of wandb 0.31.0 and wandb-workspaces 0.4.13 that the server
    answers, as they ship: the SDK's generated ones, its runs query, the documents compiled
    into its wandb-core binary, and wandb-workspaces' own."""
    from wandb.apis import _generated
    from wandb.apis.public.runs import _create_runs_query
    from wandb_workspaces.workspaces import internal

    documents = {name: getattr(_generated, f"{constant}_GQL") for name, constant in (
        ("GetViewer", "GET_VIEWER"), ("GetDefaultEntity", "GET_DEFAULT_ENTITY"),
        ("GetProjects", "GET_PROJECTS"), ("GetProject", "GET_PROJECT"))}
    documents["Runs"] = _create_runs_query(lazy=True)
    documents["Runs (lazy=False)"] = _create_runs_query(lazy=False)
    core = (Path(wandb.__file__).parent / "bin" / "wandb-core").read_bytes()
    for name in ("Viewer", "RunState", "HistoryPage", "SampledHistoryPage", "RunParquetHistory"):
        found = re.search(rb"query " + name.encode() + rb" [({].*?\n}\n", core, re.DOTALL)
        assert found is not None, name
        documents[f"wandb-core {name}"] = found.group().decode()
    for function in (internal.upsert_view2, internal.get_view_dict):
        [text] = re.findall(r'"""(.*?)"""', inspect.getsource(function), re.DOTALL)
        documents[f"wandb-workspaces {function.__name__}"] = text
    return documents


def test_the_clients_documents_are_valid_against_the_servers_schema() -> None:
    documents = sdk_documents()
    assert "email" in documents["wandb-core Viewer"]
    assert "createdUsing: WANDB_SDK" in documents["wandb-workspaces upsert_view2"]
    for name, text in documents.items():
        assert graphql.validate(server_schema(), graphql.parse(text)) == [], name


def test_telemetry_is_answered_and_kept_nowhere(view_server: ViewServer) -> None:
    size = view_server.db_path.stat().st_size
    count = len(view_server.received)
    answer = requests.post(f"{view_server.url}/sdk/otel/v1/metrics", data=b"\x0a\x00",
                           headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert answer.status_code == 200
    assert (view_server.db_path.stat().st_size, len(view_server.received)) == (size, count)


# Runs ------------------------------------------------------------------------------------------

RUNS_PROJECT = "sdk-runs"
START = datetime(2024, 3, 1, tzinfo=UTC)
RUNS: list[dict[str, Any]] = [
    {"id": f"r{index}", "name": f"run-{index}", "created_at": START + timedelta(hours=index),
     "state": "finished" if index % 3 else "crashed", "tags": ["even"] if index % 2 == 0 else [],
     "group": "g1" if index < 4 else None, "user": "ada" if index % 2 else "bob",
     "config": {"lr": 10.0 ** -index, "opt": ["adam", "sgd", "adamw"][index % 3],
                **({"layers": index} if index < 5 else {})},
     "summary": {"acc": index / 10, **({"loss": 1 - index / 10} if index != 2 else {})}}
    for index in range(7)]


@pytest.fixture(scope="module")
def runs_project(view_server: ViewServer) -> str:
    view_server.add_runs(DEFAULT_ENTITY, RUNS_PROJECT, RUNS)
    return f"{DEFAULT_ENTITY}/{RUNS_PROJECT}"


def ids(found: Any) -> list[str]:
    return [run.id for run in found]


def test_runs_page_through_the_project_with_its_count(api: wandb.Api, runs_project: str,
                                                      view_server: ViewServer) -> None:
    assert api.default_entity == DEFAULT_ENTITY  # asked once, before the pages
    before = len(view_server.received)
    runs = api.runs(runs_project, per_page=2)
    assert ids(runs) == [f"r{index}" for index in range(7)]  # oldest first: the SDK's default
    assert len(runs) == 7
    assert len(view_server.received) - before == 4  # pages of 2, 2, 2 and 1


@pytest.mark.parametrize(("filters", "expected"), [
    ({"config.opt": "adam"}, ["r0", "r3", "r6"]),
    ({"state": {"$eq": "crashed"}}, ["r0", "r3", "r6"]),
    ({"state": {"$ne": "crashed"}}, ["r1", "r2", "r4", "r5"]),
    ({"summary_metrics.acc": {"$gt": 0.4}}, ["r5", "r6"]),
    ({"summary_metrics.acc": {"$gte": 0.4}}, ["r4", "r5", "r6"]),
    ({"config.layers": {"$lt": 2}}, ["r0", "r1"]),
    ({"config.layers": {"$lte": 2}}, ["r0", "r1", "r2"]),
    ({"config.opt": {"$in": ["sgd", "adamw"]}}, ["r1", "r2", "r4", "r5"]),
    ({"config.opt": {"$nin": ["sgd", "adamw"]}}, ["r0", "r3", "r6"]),
    ({"summary_metrics.loss": {"$exists": False}}, ["r2"]),
    ({"displayName": {"$regex": "^run-[15]$"}}, ["r1", "r5"]),
    ({"tags": "even"}, ["r0", "r2", "r4", "r6"]),
    ({"$and": [{"tags": "even"}, {"config.layers": {"$exists": True}}]}, ["r0", "r2", "r4"]),
    ({"$or": [{"group": "g1"}, {"username": "ada"}]}, ["r0", "r1", "r2", "r3", "r5"]),
    ({"$nor": [{"group": "g1"}, {"username": "ada"}]}, ["r4", "r6"]),
    ({"createdAt": {"$gte": "2024-03-01T05:00:00.000000Z"}}, ["r5", "r6"]),
])
def test_every_documented_operator(api: wandb.Api, runs_project: str,
                                   filters: dict[str, Any], expected: list[str]) -> None:
    assert ids(api.runs(runs_project, filters=filters)) == expected


@pytest.mark.parametrize(("order", "expected"), [
    ("+created_at", ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]),
    ("-created_at", ["r6", "r5", "r4", "r3", "r2", "r1", "r0"]),
    ("-summary_metrics.loss", ["r0", "r1", "r3", "r4", "r5", "r6", "r2"]),  # missing: last
    ("+config.layers.value", ["r0", "r1", "r2", "r3", "r4", "r6", "r5"]),  # then newest first
])
def test_orders(api: wandb.Api, runs_project: str, order: str, expected: list[str]) -> None:
    assert ids(api.runs(runs_project, order=order, per_page=3)) == expected


def test_a_filter_the_server_cannot_read_is_an_error_naming_it(api: wandb.Api,
                                                               runs_project: str) -> None:
    with pytest.raises(Exception, match=r"unknown top-level operator \$where"):
        list(api.runs(runs_project, filters={"$where": "sleep(1)"}))


def test_a_runs_config_summary_tags_state_and_user(api: wandb.Api, runs_project: str) -> None:
    run = api.runs(runs_project, filters={"displayName": "run-2"})[0]
    assert (run.id, run.name, run.state, run.tags, run.group) == (
        "r2", "run-2", "finished", ["even"], "g1")
    assert run.config == {"lr": 0.01, "opt": "adamw", "layers": 2}
    assert run.summary["acc"] == 0.2
    assert "loss" not in run.summary_metrics
    assert run.user.username == "bob"
    assert run.created_at == "2024-03-01T02:00:00.000000Z"


def test_one_run_by_its_path(api: wandb.Api, runs_project: str) -> None:
    run = api.run(f"{runs_project}/r5")
    assert (run.name, run.state, run.config["opt"], run.summary["loss"]) == (
        "run-5", "finished", "adamw", 0.5)
    with pytest.raises(Exception, match="Could not find run"):
        api.run(f"{runs_project}/absent").load(force=True)


def test_projects_of_the_entity_and_one_by_name(api: wandb.Api, runs_project: str) -> None:
    projects = {project.name: project for project in api.projects(DEFAULT_ENTITY)}
    assert RUNS_PROJECT in projects
    assert projects[RUNS_PROJECT].entity == DEFAULT_ENTITY
    assert api.project(RUNS_PROJECT, DEFAULT_ENTITY).owner.username == DEFAULT_ENTITY  # loaded


# History ---------------------------------------------------------------------------------------

HISTORY_PROJECT = "sdk-history"
HISTORY = [{"_step": step, "loss": 1 / (step + 1), **({"acc": step / 20} if step % 2 else {})}
           for step in range(15)] + [{"_step": 40, "loss": 0.01, "phase": "eval"}]


@pytest.fixture(scope="module")
def history_run(api: wandb.Api, view_server: ViewServer) -> Any:
    view_server.add_runs(DEFAULT_ENTITY, HISTORY_PROJECT, [
        {"id": "h1", "created_at": START, "summary": {"loss": 0.01}, "history": HISTORY},
        {"id": "h0", "created_at": START}])
    return api.run(f"{DEFAULT_ENTITY}/{HISTORY_PROJECT}/h1")


def test_history_gives_the_stored_rows(history_run: Any) -> None:
    assert history_run.history(pandas=False) == HISTORY
    frame = history_run.history()
    assert list(frame["_step"]) == [row["_step"] for row in HISTORY]


def test_history_of_keys_gives_the_rows_holding_them(history_run: Any) -> None:
    assert history_run.history(keys=["acc"], pandas=False) == [
        {"_step": row["_step"], "acc": row["acc"]} for row in HISTORY if "acc" in row]


def test_history_samples_evenly_with_the_first_and_last_rows(history_run: Any) -> None:
    assert [row["_step"] for row in history_run.history(samples=3, pandas=False)] == [0, 8, 40]


def test_scan_history_gives_every_row_in_pages(history_run: Any) -> None:
    assert list(history_run.scan_history(page_size=4, use_cache=False)) == HISTORY
    assert list(history_run.scan_history(keys=["acc"], page_size=4, use_cache=False)) == [
        {"_step": row["_step"], "acc": row["acc"]} for row in HISTORY if "acc" in row]
    assert list(history_run.scan_history(min_step=3, max_step=6, use_cache=False)) == HISTORY[3:6]


def test_a_run_without_history_has_none(api: wandb.Api, history_run: Any) -> None:
    run = api.run(f"{DEFAULT_ENTITY}/{HISTORY_PROJECT}/h0")
    assert run.history(pandas=False) == []
    assert list(run.scan_history(use_cache=False)) == []
    assert history_run.lastHistoryStep == 40


def test_history_rows_need_a_step_of_their_own(view_server: ViewServer) -> None:
    with pytest.raises(wsquery.WorkspaceError, match="history row 1 has no _step"):
        view_server.add_runs(DEFAULT_ENTITY, HISTORY_PROJECT, [
            {"id": "bad", "history": [{"_step": 0}, {"loss": 1}]}])
    with pytest.raises(wsquery.WorkspaceError, match="history row 1 repeats _step 0"):
        view_server.add_runs(DEFAULT_ENTITY, HISTORY_PROJECT, [
            {"id": "bad", "history": [{"_step": 0}, {"_step": 0}]}])


# End to end: the runs-api target through the SDK -----------------------------------------------

NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
#: The README's runs-API examples, beside the language cases.
README_QUERIES = [
    r'name =~ "^run-\d+$"',
    'config.lr == 0.1 and state == "finished"',
    'config.optimizer in ["adam", "sgd"] or tags in ["best", "keep"]',
    "CreatedTimestamp within last 3 days order by config.lr desc",
    'state == "finished" and summary.acc > 0.9',
    'tags == "best" order by summary.acc desc',
]
#: The language cases the runs-api target warns about (so refuses under strict): it cannot
#: group, order by more than one key, reach keys with dots, or say what W&B does with runs
#: that lack a key for !=, not in, is null and the like.
WARNED_CASES = 31
RUNS_PER_QUERY = 12


def queries() -> tuple[list[str], list[str]]:
    """The queries compared end to end, and those the runs-api target warns about."""
    compared, warned = [], []
    for text in [*VALID, *README_QUERIES]:
        try:
            wsquery.compile(text, target="runs-api", now=NOW, strict=True)
        except TargetError:
            warned.append(text)
        else:
            compared.append(text)
    return compared, warned


COMPARED, WARNED = queries()


#: Values of other types a run may hold. Not lists or objects: the runs API matches a list
#: element by element, which the runs-api target documents (tests/test_runs_api.py holds it).
SCALARS = [value for value in ODD_VALUES if not isinstance(value, list | dict)]


def value_pool(field: Field, text: str) -> list[Any]:
    """The values a run may hold for a field the query reads: its literals and their
    neighbours, values of other types (of config and summary keys), null. (A state is one of
    W&B's, and tags a list: W&B's runs have no others.)"""
    query = wsquery.parse(text)
    found = [value for leaf in leaves(query.filter) if leaf.field == field
             for value in literals(leaf)]
    if field.section == "run":  # a run attribute has its one type, as in W&B
        return [*found, None]
    return [*found, *SCALARS, *NAMES[:3]]


def runs_meeting(text: str) -> list[dict[str, Any]]:
    """Runs whose values meet the query's leaves often, drawn by a generator seeded with the
    query, so a failure repeats."""
    draw = random.Random(text)
    query = wsquery.parse(text)
    fields = {leaf.field for leaf in leaves(query.filter)} | {
        key.field for key in query.order_by}
    fields -= {strategies.CREATED_AT, strategies.STATE, strategies.TAGS}
    tags = [value for value in value_pool(strategies.TAGS, text) if isinstance(value, str)]
    runs = []
    for index in range(RUNS_PER_QUERY):
        values = {field: draw.choice(value_pool(field, text)) for field in sorted(fields, key=str)
                  if draw.random() < 0.85}
        values[strategies.STATE] = draw.choice(STATES)
        values[strategies.TAGS] = draw.sample(tags, min(len(tags), draw.randint(0, 2)))
        run = run_from(values)
        run.update(id=f"e{index:02d}",
                   created_at=NOW - timedelta(days=draw.choice([0, 1, 2, 5, 30, 400]),
                                              hours=draw.randint(0, 3)))
        runs.append(run)
    return runs


def test_the_compared_queries_are_the_cases_without_warnings() -> None:
    assert len(WARNED) == WARNED_CASES
    assert len(COMPARED) == len(VALID) + len(README_QUERIES) - WARNED_CASES


def test_the_sdk_gets_what_evaluate_selects_in_its_order(
        api: wandb.Api, view_server: ViewServer, client: GraphQLClient) -> None:
    """Each query over runs of its own project: ``Api.runs`` with the compiled arguments, and
    ``wsquery.runs``, give exactly ``evaluate``'s runs in ``evaluate``'s order."""
    differences = []
    for number, text in enumerate(COMPARED):
        runs = runs_meeting(text)
        project = f"sdk-e2e-{number:03d}"
        view_server.add_runs(DEFAULT_ENTITY, project, runs)
        expected = [run["id"] for run in wsquery.evaluate(text, runs, now=NOW)]
        arguments = wsquery.compile(text, target="runs-api", now=NOW).to_json()
        through_sdk = ids(api.runs(f"{DEFAULT_ENTITY}/{project}", **arguments))
        through_wsquery = [run["name"] for run in wsquery.runs(
            DEFAULT_ENTITY, project, text, client=client, now=NOW)]
        if not through_sdk == through_wsquery == expected:
            differences.append((text, json.dumps(arguments), expected, through_sdk,
                                through_wsquery))
    assert differences == []


def test_the_runs_meet_the_queries(tmp_path: Path) -> None:
    """Not a vacuous comparison: most compared queries select some of their runs, not all."""
    proper = [text for text in COMPARED
              if 0 < len(wsquery.evaluate(text, runs_meeting(text), now=NOW)) < RUNS_PER_QUERY]
    assert len(proper) >= len(COMPARED) // 2
