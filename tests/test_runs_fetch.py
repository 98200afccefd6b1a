"""``wsquery.runs`` end to end over HTTP: compiled runs-API filters answered by the real local
server select (and order) exactly the runs ``evaluate`` selects from the same runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

import wsquery
from wsquery.apps.server import DEFAULT_ENTITY, ViewServer
from wsquery.errors import InvalidInputError, NotFoundError, WorkspaceError, WsqueryError
from wsquery.wandb.graphql import LIST_RUNS, GraphQLClient
from wsquery.wandb.runs import runs
from wsquery.wandb.settings import Settings

NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
PROJECT = "runs-fetch"

RUNS: list[dict[str, Any]] = [
    {"id": "r0", "name": "run-0", "state": "finished", "tags": ["best", "base"],
     "created_at": "2024-01-01T10:00:00Z", "runtime": 30, "user": "ada",
     "config": {"lr": 0.1, "opt": "adam", "layers": [64, 32]},
     "summary": {"acc": 0.91, "loss": 0.2}},
    {"id": "r1", "name": "run-1", "state": "crashed", "tags": [],
     "created_at": "2024-01-09T08:00:00Z", "runtime": 300, "user": "bob",
     "config": {"lr": 0.001, "opt": "sgd"}, "summary": {"acc": 0.4, "loss": 1}},
    {"id": "r2", "name": "run-2", "state": "finished", "tags": ["base"],
     "created_at": "2024-01-08T23:59:59.5Z", "runtime": 90, "user": "ada",
     "config": {"lr": 0.01, "opt": None}, "summary": {"acc": 0.75}},
    {"id": "r3", "name": "run-3", "state": "running", "tags": None,
     "created_at": "2024-01-05T00:00:00+02:00", "user": "ada",
     "config": {"lr": "high", "opt": 1, "layers": [128]}, "summary": {"acc": "n/a", "loss": 2}},
    {"id": "r4", "name": "run-4", "state": "finished", "tags": ["best"],
     "created_at": "2024-01-10T11:00:00Z", "runtime": 45.5, "user": "bob",
     "config": {"lr": 0.05, "opt": "adam", "layers": [64]}, "summary": {"acc": 0.88}},
    {"id": "r5", "name": "run-5", "state": "failed",
     "created_at": "2023-12-31T23:00:00Z", "runtime": 10, "user": "cy",
     "config": {"opt": "adamw"}, "summary": {"loss": 0.5}},
    {"id": "r6", "name": "warmup", "state": "finished", "tags": ["warm"],
     "created_at": "2024-01-07T12:00:00Z", "runtime": 600, "user": "ada",
     "config": {"lr": 0.1, "opt": "sgd", "layers": []}, "summary": {"acc": 0.91, "loss": 0.3}},
    {"id": "r7", "name": "run-7", "state": "killed", "tags": ["best", "warm"],
     "created_at": "2024-01-03T00:00:00Z", "runtime": 120, "user": "cy",
     "config": {"lr": 0.02, "opt": ["adam"]}, "summary": {"acc": 0.6, "loss": None}},
    {"id": "r8", "name": "run-8", "state": "finished", "tags": ["base"],
     "created_at": "2024-01-06T06:00:00Z", "runtime": 75, "user": "bob",
     "config": {"lr": 0.01, "opt": "adam"}, "summary": {"acc": 0.82, "loss": 0.25}},
    {"id": "r9", "name": "run-9", "state": "preempted", "tags": ["other"],
     "created_at": "2024-01-04T18:30:00Z", "runtime": 200, "user": "ada",
     "config": {"lr": 0.3, "opt": "sgd", "layers": [64, 64]}, "summary": {"acc": 0.1}},
]

QUERIES = [
    "",
    "summary.acc > 0.5",
    'config.opt == "adam" or config.lr < 0.01',
    'not (config.opt in ["adam", "sgd"])',
    '"best" in tags',
    'not (tags contains "best")',
    "config.opt is null",
    "config.layers contains 64",
    'state == "FINISHED" order by summary.acc desc',
    "created_at within last 3d order by created_at",
    'created_at < "2024-01-05" order by created_at desc',
    "summary.loss != 1 order by config.lr",
    "runtime > 1m order by runtime desc",
    'user == "ada" and config.lr >= 0.01 order by name',
    "summary.acc is not null and not (summary.loss < 0.5) order by summary.acc",
    "order by summary.loss",
    'name =~ "^run-[0-4]$" order by id desc',
    'name !~ "-[5-9]$"',
    'config.opt != "adam" order by config.lr',
    'tags != "best" and State == "finished"',
    "summary.acc > 0.5 order by summary.acc desc limit 3",
    "config.lr is not null limit 2",
]


@pytest.fixture(scope="module")
def stored(view_server: ViewServer) -> list[str]:
    """The runs stored in the session server's project ``runs-fetch``."""
    return view_server.add_runs(DEFAULT_ENTITY, PROJECT, RUNS)


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [run["name"] for run in found]


def expected(query: str) -> list[str]:
    """The ids ``evaluate`` selects, newest first without ``order by`` (as the API orders)."""
    parsed = wsquery.parse(query)
    if not parsed.order_by:
        parsed = attrs.evolve(parsed, order_by=wsquery.parse("order by created_at desc").order_by)
    return [run["id"] for run in wsquery.evaluate(parsed, RUNS, now=NOW)]


@pytest.mark.parametrize("query", QUERIES)
def test_fetched_runs_are_the_evaluated_runs(stored: list[str], client: GraphQLClient,
                                             query: str) -> None:
    fetched = runs(DEFAULT_ENTITY, PROJECT, query, client=client, now=NOW)
    assert set(ids(fetched)) == set(expected(query))
    if len(wsquery.parse(query).order_by) == 1:
        assert ids(fetched) == expected(query)


def test_without_order_by_runs_come_newest_first(stored: list[str],
                                                 client: GraphQLClient) -> None:
    assert ids(runs(DEFAULT_ENTITY, PROJECT, "", client=client)) == expected(
        "order by created_at desc")


def test_fetched_runs_are_wandb_run_json_that_evaluate_reads(stored: list[str],
                                                             client: GraphQLClient) -> None:
    query = 'summary.acc > 0.5 and config.opt == "adam" and "best" in tags order by name'
    fetched = runs(DEFAULT_ENTITY, PROJECT, query, client=client, now=NOW)
    assert ids(fetched) == ["r0", "r4"]
    first = fetched[0]
    assert first["displayName"] == "run-0"
    assert first["createdAt"] == "2024-01-01T10:00:00.000000Z"
    assert first["user"] == {"username": "ada"}
    assert first["config"]["opt"] == {"value": "adam", "desc": None}
    assert first["summaryMetrics"] == {"acc": 0.91, "loss": 0.2}
    assert wsquery.evaluate(query, fetched, now=NOW) == fetched


def test_pages_of_three_over_ten_runs(stored: list[str], view_server: ViewServer,
                                      client: GraphQLClient) -> None:
    before = sum(1 for r in view_server.received if r.operation_name == "ListRuns")
    fetched = runs(DEFAULT_ENTITY, PROJECT, "order by summary.acc desc", client=client,
                   page_size=3)
    requests = sum(1 for r in view_server.received if r.operation_name == "ListRuns") - before
    assert requests == 4
    assert len(fetched) == 10
    assert ids(fetched) == expected("order by summary.acc desc")


def test_a_page_ends_where_the_next_begins(stored: list[str], client: GraphQLClient) -> None:
    variables = {"entityName": DEFAULT_ENTITY, "projectName": PROJECT, "filters": "{}",
                 "order": "+name", "first": 4, "after": None}
    first = client.execute(LIST_RUNS, variables)["project"]["runs"]
    assert [edge["node"]["name"] for edge in first["edges"]] == ["r0", "r1", "r2", "r3"]
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": first["edges"][3]["cursor"]}
    rest = client.execute(LIST_RUNS, {**variables, "first": 10,
                                      "after": first["pageInfo"]["endCursor"]})
    page = rest["project"]["runs"]
    assert [edge["node"]["name"] for edge in page["edges"]] == [f"r{i}" for i in range(4, 10)]
    assert page["pageInfo"]["hasNextPage"] is False


def test_a_filter_that_can_never_be_true_sends_nothing(stored: list[str],
                                                       view_server: ViewServer,
                                                       client: GraphQLClient) -> None:
    count = len(view_server.received)
    assert runs(DEFAULT_ENTITY, PROJECT, "summary.acc < 0 and summary.acc > 1",
                client=client) == []
    assert len(view_server.received) == count


def test_settings_instead_of_a_client(stored: list[str], view_server: ViewServer) -> None:
    fetched = runs(DEFAULT_ENTITY, PROJECT, wsquery.parse('"warm" in tags order by id'),
                   base_url=view_server.url, api_key=view_server.api_key)
    assert ids(fetched) == ["r6", "r7"]


def test_a_missing_project_is_not_found(client: GraphQLClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        runs(DEFAULT_ENTITY, "no-such-project", "", client=client)
    assert str(caught.value) == f"project {DEFAULT_ENTITY}/no-such-project not found"


@pytest.mark.parametrize(("filters", "message"), [
    ("[1]", "filters must be a JSON object"),
    ("{", "filters is not JSON: Expecting property name enclosed in double quotes: "
          "line 1 column 2 (char 1)"),
    ('{"$where": "1"}', "unknown top-level operator $where"),
    ('{"a": {"$elemMatch": {}}}', "unknown operator $elemMatch"),
])
def test_the_server_refuses_filters_it_cannot_read(stored: list[str], client: GraphQLClient,
                                                   filters: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        client.execute(LIST_RUNS, {"entityName": DEFAULT_ENTITY, "projectName": PROJECT,
                                   "filters": filters, "first": 5})
    assert str(caught.value) == message


def test_page_size_must_be_positive(client: GraphQLClient) -> None:
    for size in (0, -1, True, 2.5):
        with pytest.raises(WsqueryError) as caught:
            runs(DEFAULT_ENTITY, PROJECT, "", client=client, page_size=size)  # type: ignore[arg-type]
        assert str(caught.value) == (
            f"page_size must be a positive whole number, not {size!r}")


def test_stored_runs_are_replaced_by_id_and_get_ids_and_dates() -> None:
    key = "k-runs-fetch"
    with ViewServer(api_keys={key: "team"}) as server:
        first = server.add_runs("team", "p", [{"id": "a", "config": {"x": 1}}, {"config": {}}])
        assert first[0] == "a" and len(first[1]) == 8
        server.add_runs("team", "p", [{"id": "a", "config": {"x": 2}}])
        with GraphQLClient(Settings(server.url, key, server.url)) as client:
            fetched = runs("team", "p", "config.x is not null", client=client)
            assert [(run["name"], run["config"]) for run in fetched] == [
                ("a", {"x": {"value": 2, "desc": None}})]
            assert fetched[0]["createdAt"].endswith("Z")
        with pytest.raises(WorkspaceError) as caught:
            server.add_runs("team", "p", [{"id": "b", "created_at": "soon"}])
        assert str(caught.value) == (
            "cannot store run {'id': 'b', 'created_at': 'soon'}: createdAt 'soon' is not an "
            "ISO-8601 date")
