"""The embedded view server over real HTTP: views saved, loaded, listed, deleted; keys and
entities; concurrent savers; its schema is a faithful subset of W&B's."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    ObjectTypeExtensionNode,
    build_schema,
    extend_schema,
    parse,
    print_ast,
)

import wsquery.apps.server
from wsquery.apps.server import (
    COMPLEXITY_CODE,
    DATABASE_FIELD_COST,
    DEFAULT_ENTITY,
    MAX_COMPLEXITY,
    MAX_DEPTH,
    MAX_DOCUMENT_LENGTH,
    SCHEMA_SDL,
    ViewServer,
)
from wsquery.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    WorkspaceError,
)
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings

from .shared import shared_path


def project_name() -> str:
    """A project no other test uses, on the shared session server."""
    return f"test-{uuid.uuid4().hex[:10]}"


def view_name(number: int) -> str:
    return f"nw-{number:011d}-v"


def save(client: GraphQLClient, project: str, name: str, spec: dict[str, Any] | None = None,
         **options: Any) -> dict[str, Any]:
    return client.upsert_view(entity=DEFAULT_ENTITY, project=project, name=name,
                              display_name=options.pop("display_name", f"View {name}"),
                              description=options.pop("description", ""),
                              spec=json.dumps(spec or {"section": {}}), **options)


#: The fields W&B's clients send that the shared subset lacks, each with its source.
EXTENSIONS = Path(wsquery.apps.server.__file__).with_name("wandb_schema_extensions.graphql")


def wandb_schema() -> GraphQLSchema:
    """The shared subset of W&B's schema with ``EXTENSIONS`` added. A field the subset has
    already that ``EXTENSIONS`` lists again keeps its type and its arguments there."""
    shared = build_schema(shared_path("wandb-schema", "schema.graphql").read_text("utf-8"))
    extensions = parse(EXTENSIONS.read_text("utf-8"))
    for definition in extensions.definitions:
        if not isinstance(definition, ObjectTypeExtensionNode):
            continue
        shared_type = shared.type_map[definition.name.value]
        assert isinstance(shared_type, GraphQLObjectType), definition.name.value
        for field in definition.fields or ():
            old = shared_type.fields.get(field.name.value)
            if old is None:
                continue
            assert print_ast(field.type) == str(old.type), field.name.value
            given = {argument.name.value: print_ast(argument.type)
                     for argument in field.arguments or ()}
            assert {name: str(arg.type) for name, arg in old.args.items()}.items() <= (
                given.items()), field.name.value
    # assume_valid_sdl lets a field listed again replace the subset's (checked just above)
    return extend_schema(shared, extensions, assume_valid_sdl=True)


def test_schema_is_a_subset_of_the_shared_wandb_schema() -> None:
    ours = build_schema(SCHEMA_SDL)
    theirs = wandb_schema()
    for name, our_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        their_type = theirs.type_map.get(name)
        assert type(their_type) is type(our_type), name
        match our_type:
            case GraphQLObjectType() | GraphQLInterfaceType() | GraphQLInputObjectType():
                assert isinstance(their_type, (GraphQLObjectType, GraphQLInterfaceType,
                                               GraphQLInputObjectType))
                their_fields = their_type.fields
                assert {i.name for i in getattr(our_type, "interfaces", ())} <= {
                    i.name for i in getattr(their_type, "interfaces", ())}, name
                for field_name, field in our_type.fields.items():
                    assert field_name in their_fields, f"{name}.{field_name}"
                    assert str(field.type) == str(their_fields[field_name].type), field_name
                    our_args = getattr(field, "args", {})
                    their_args = getattr(their_fields[field_name], "args", {})
                    for arg_name, arg in our_args.items():
                        assert str(arg.type) == str(their_args[arg_name].type), arg_name
            case GraphQLEnumType():
                assert isinstance(their_type, GraphQLEnumType)
                assert set(our_type.values) <= set(their_type.values)
            case GraphQLScalarType():
                pass
            case _:
                raise AssertionError(f"unexpected type {name}")
    assert ours.query_type and ours.mutation_type
    assert theirs.query_type and theirs.mutation_type
    assert ours.query_type.name == theirs.query_type.name
    assert ours.mutation_type.name == theirs.mutation_type.name


def test_save_load_update_delete(client: GraphQLClient) -> None:
    project = project_name()
    first = save(client, project, view_name(1), {"section": {"name": "first"}},
                 description="about it")
    assert first["inserted"] is True
    view = first["view"]
    assert (view["name"], view["displayName"], view["description"], view["type"]) == (
        view_name(1), f"View {view_name(1)}", "about it", "project-view")
    assert (view["entityName"], view["projectName"]) == (DEFAULT_ENTITY, project)
    assert json.loads(view["spec"]) == {"section": {"name": "first"}}
    assert client.find_view(DEFAULT_ENTITY, project, view_name(1)) == view
    assert client.get_view(view["id"]) == view

    by_id = save(client, project, view_name(1), {"section": {"name": "second"}},
                 view_id=view["id"], display_name="Renamed")
    assert by_id["inserted"] is False
    assert by_id["view"]["id"] == view["id"]
    again_by_name = save(client, project, view_name(1), {"section": {"name": "third"}})
    assert again_by_name["inserted"] is False
    assert again_by_name["view"]["id"] == view["id"]
    loaded = client.get_view(view["id"])
    assert loaded is not None
    assert json.loads(loaded["spec"]) == {"section": {"name": "third"}}
    assert loaded["displayName"] == f"View {view_name(1)}"
    assert loaded["createdAt"] == view["createdAt"]
    assert loaded["updatedAt"] > view["updatedAt"]

    assert client.delete_view(view["id"]) is True
    assert client.get_view(view["id"]) is None
    assert client.find_view(DEFAULT_ENTITY, project, view_name(1)) is None
    with pytest.raises(NotFoundError):
        client.delete_view(view["id"])


def test_update_of_a_missing_view_is_not_found(client: GraphQLClient) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        save(client, project_name(), view_name(1), view_id="Vmlldzo5OTk5OTk=")


def test_missing_things_are_empty_results(client: GraphQLClient) -> None:
    project = project_name()
    assert client.find_view(DEFAULT_ENTITY, project, view_name(1)) is None
    assert list(client.iter_views(DEFAULT_ENTITY, project)) == []
    assert client.get_view("Vmlldzo5OTk5OTk=") is None
    assert client.get_view("not an id") is None
    save(client, project, view_name(1))
    assert client.find_view(DEFAULT_ENTITY, project, view_name(2)) is None


def test_list_pages_through_every_view(view_server: ViewServer,
                                       client: GraphQLClient) -> None:
    project = project_name()
    saved = [save(client, project, view_name(n))["view"] for n in range(7)]
    save(client, project_name(), view_name(99))
    before = len(view_server.received)
    listed = list(client.iter_views(DEFAULT_ENTITY, project, page_size=3))
    assert listed == saved
    pages = [r.operation_name for r in list(view_server.received)[before:]]
    assert pages == ["ListViews"] * 3


def test_list_answer_shape(client: GraphQLClient) -> None:
    project = project_name()
    for n in range(3):
        save(client, project, view_name(n))
    variables = {"entityName": DEFAULT_ENTITY, "projectName": project, "first": 2,
                 "after": None}
    data = client.execute(
        "query Q($entityName: String!, $projectName: String!, $first: Int!, $after: String) {"
        " project(name: $projectName, entityName: $entityName) {"
        "  allViews(viewType: \"project-view\", first: $first, after: $after) {"
        "   totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
        "   edges { cursor node { name } } } } }", variables)
    views = data["project"]["allViews"]
    assert views["totalCount"] == 3
    assert [edge["node"]["name"] for edge in views["edges"]] == [view_name(0), view_name(1)]
    assert views["pageInfo"]["hasNextPage"] is True
    assert views["pageInfo"]["endCursor"] == views["edges"][-1]["cursor"]
    with pytest.raises(ServerError, match="invalid cursor"):
        client.execute(
            "query Q($p: String!) { project(name: $p) { allViews(after: \"x\") { totalCount }}}",
            {"p": project})


def test_other_view_types_are_not_workspaces(client: GraphQLClient) -> None:
    project = project_name()
    client.execute(
        "mutation M($input: UpsertViewInput!) { upsertView(input: $input) { inserted } }",
        {"input": {"entityName": DEFAULT_ENTITY, "projectName": project, "name": "report-1",
                   "type": "runs", "spec": "{}"}})
    save(client, project, view_name(1))
    assert [v["name"] for v in client.iter_views(DEFAULT_ENTITY, project)] == [view_name(1)]
    assert client.find_view(DEFAULT_ENTITY, project, "report-1") is None


def test_a_request_without_a_key_is_401_with_graphql_errors(view_server: ViewServer) -> None:
    response = requests.post(f"{view_server.url}/graphql", json={"query": "{ viewer { id } }"},
                             timeout=10)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Basic" in response.headers["WWW-Authenticate"]


def test_a_wrong_key_is_an_authentication_error(view_server: ViewServer) -> None:
    client = GraphQLClient(Settings(view_server.url, "not-a-key", view_server.url),
                           deadline=1.0, backoff=0.01)
    with pytest.raises(AuthenticationError) as caught:
        client.default_entity()
    assert caught.value.status == 401


def test_another_entitys_key_gets_403_by_name_and_nothing_by_id(view_server: ViewServer,
                                                                client: GraphQLClient) -> None:
    project = project_name()
    view = save(client, project, view_name(1))["view"]
    other_key = view_server.add_key("someone-else")
    other = GraphQLClient(Settings(view_server.url, other_key, view_server.url),
                          deadline=1.0, backoff=0.01)
    assert other.default_entity() == "someone-else"
    by_name: list[Callable[[], object]] = [
        lambda: save(other, project, view_name(2)),
        lambda: other.find_view(DEFAULT_ENTITY, project, view_name(1)),
        lambda: list(other.iter_views(DEFAULT_ENTITY, project)),
    ]
    for attempt in by_name:
        with pytest.raises(PermissionDeniedError) as caught:
            attempt()
        assert caught.value.status == 403
    # By id, another entity's view answers exactly as a missing one: ids reveal nothing.
    missing = client.upsert_view(entity=DEFAULT_ENTITY, project=project, name=view_name(3),
                                 display_name="", description="", spec="{}")["view"]
    client.delete_view(missing["id"])
    for view_id in (view["id"], missing["id"]):
        assert other.get_view(view_id) is None
        with pytest.raises(NotFoundError, match=f"view '{view_id}' not found"):
            other.delete_view(view_id)
        with pytest.raises(NotFoundError, match=f"view '{view_id}' not found"):
            save(other, project, view_name(1), view_id=view_id)
    assert client.get_view(view["id"]) == view
    assert [v["name"] for v in client.iter_views(DEFAULT_ENTITY, project)] == [view_name(1)]
    own = other.upsert_view(entity="someone-else", project=project, name=view_name(1),
                            display_name="", description="", spec="{}")
    assert own["inserted"] is True
    assert own["view"]["entityName"] == "someone-else"

    answers = [requests.post(f"{view_server.url}/graphql", auth=("api", other_key), timeout=10,
                             json={"query": "query V($id: ID!) { view(id: $id) { id } }",
                                   "variables": {"id": view_id}})
               for view_id in (view["id"], missing["id"])]
    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (200, {"data": {"view": None}})] * 2


def test_bad_input_is_refused(view_server: ViewServer, client: GraphQLClient) -> None:
    with pytest.raises(ServerError, match="spec is not valid JSON"):
        client.upsert_view(entity=DEFAULT_ENTITY, project=project_name(), name=view_name(1),
                           display_name="", description="", spec="{not json")
    with pytest.raises(ServerError, match="longer than 128"):
        client.execute("mutation M($input: UpsertViewInput!) { upsertView(input: $input) {"
                       " inserted } }", {"input": {"projectName": "p", "name": "n" * 129}})
    with pytest.raises(ServerError, match="needs projectName and name"):
        client.execute("mutation { upsertView(input: {name: \"x\"}) { inserted } }")
    for body in (b"not json", b"[]", b'{"query": 1}'):
        response = requests.post(f"{view_server.url}/graphql", data=body, timeout=10,
                                 headers={"Content-Type": "application/json"},
                                 auth=("api", view_server.api_key))
        assert response.status_code == 400
        assert response.json()["errors"]
    for length, status in (("abc", 400), ("-1", 400), (str(32 * 1024 * 1024), 413)):
        connection = http.client.HTTPConnection(urlsplit(view_server.url).netloc, timeout=10)
        connection.putrequest("POST", "/graphql")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", length)
        connection.endheaders()
        assert connection.getresponse().status == status
        connection.close()
    assert requests.get(f"{view_server.url}/graphql", timeout=10).status_code == 405
    assert requests.post(f"{view_server.url}/other", json={"query": "{ viewer { id } }"},
                         timeout=10).status_code == 404


def test_concurrent_savers_lose_no_update(view_server: ViewServer,
                                          server_settings: Settings) -> None:
    project = project_name()
    savers, views_each, updates = 8, 2, 4
    start = threading.Barrier(savers)
    failures: list[BaseException] = []

    def saver(number: int) -> None:
        try:
            with GraphQLClient(server_settings, deadline=10.0, backoff=0.01) as own:
                start.wait()
                for view in range(views_each):
                    name = view_name(number * 100 + view)
                    view_id = save(own, project, name, {"writer": number, "version": 0}
                                   )["view"]["id"]
                    for version in range(1, updates + 1):
                        save(own, project, name, {"writer": number, "version": version},
                             view_id=view_id)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=saver, args=(n,)) for n in range(savers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with GraphQLClient(server_settings) as reader:
        specs = {view["name"]: json.loads(view["spec"])
                 for view in reader.iter_views(DEFAULT_ENTITY, project, page_size=5)}
    assert specs == {view_name(n * 100 + v): {"writer": n, "version": updates}
                     for n in range(savers) for v in range(views_each)}


def test_concurrent_first_saves_of_one_name_make_one_view(server_settings: Settings) -> None:
    project = project_name()
    savers = 8
    start = threading.Barrier(savers)
    results: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def saver(number: int) -> None:
        try:
            with GraphQLClient(server_settings, deadline=10.0, backoff=0.01) as own:
                start.wait()
                results.append(save(own, project, view_name(7), {"writer": number}))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=saver, args=(n,)) for n in range(savers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(result["inserted"] for result in results) == [False] * 7 + [True]
    assert len({result["view"]["id"] for result in results}) == 1
    with GraphQLClient(server_settings) as reader:
        assert len(list(reader.iter_views(DEFAULT_ENTITY, project))) == 1


def test_views_and_keys_persist_in_the_database_file(tmp_path: Path) -> None:
    db_path = tmp_path / "views.sqlite3"
    with ViewServer(db_path=db_path) as server:
        key = server.api_key
        client = GraphQLClient(Settings(server.url, key, server.url))
        view = save(client, "kept", view_name(1))["view"]
    assert db_path.exists()
    with ViewServer(db_path=db_path) as server:
        assert server.entity_for(key) == DEFAULT_ENTITY
        client = GraphQLClient(Settings(server.url, key, server.url))
        assert client.get_view(view["id"]) == view


def test_an_unusable_database_is_a_workspace_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="':memory:'"):
        ViewServer(db_path=":memory:")
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("these are not views " * 100)
    with pytest.raises(WorkspaceError, match="cannot keep views in"):
        ViewServer(db_path=not_a_database)


def test_configured_keys_map_to_entities() -> None:
    with ViewServer(api_keys={"key-a": "team-a", "key-b": "team-b"}) as server:
        assert server.api_key == "key-a"
        for key, entity in (("key-a", "team-a"), ("key-b", "team-b")):
            client = GraphQLClient(Settings(server.url, key, server.url))
            assert client.default_entity() == entity
        assert server.entity_for("key-c") is None
    assert "key-a" not in repr(server)


def test_run_server_prints_url_and_key_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    db_path = tmp_path / "served.sqlite3"
    code = ("import sys; from wsquery.apps.server import run_server; "
            f"sys.exit(run_server('127.0.0.1', 0, {str(db_path)!r}))")
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(7)]
        assert str(db_path) in lines[0]
        link = lines[1].strip().rpartition(" ")[2]
        base_url = lines[3].strip().removeprefix("export WANDB_BASE_URL=")
        key_path = tmp_path / "served.key"
        assert lines[4].strip() == f"export WANDB_API_KEY=$(cat {key_path})"
        assert lines[5].strip() == (f"The key acts as the entity 'wsquery'; it is kept in "
                                    f"{key_path} (readable by you alone).")
        assert lines[6].strip() == "Press Ctrl-C to stop."
        api_key = key_path.read_text(encoding="utf-8").strip()
        assert key_path.stat().st_mode & 0o777 == 0o600
        assert api_key not in "".join(lines)  # the key itself is never printed
        client = GraphQLClient(Settings(base_url, api_key, base_url))
        assert client.default_entity() == DEFAULT_ENTITY
        with requests.Session() as browser:
            assert browser.get(f"{base_url}/", timeout=10).status_code == 401
            assert browser.get(link, timeout=10).status_code == 200
            assert browser.get(f"{base_url}/", timeout=10).status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert db_path.exists()


def test_without_graphql_core_the_server_names_the_extra() -> None:
    code = ("import sys; sys.modules['graphql'] = None\n"
            "from wsquery.apps.server import ViewServer\n"
            "from wsquery.errors import WorkspaceError\n"
            "try:\n    ViewServer()\n"
            "except WorkspaceError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=30,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert result.stdout.strip() == (
        "the local view server needs graphql-core: pip install 'wsquery[server]'")


# What one request may cost ---------------------------------------------------------------------

def post_document(server: ViewServer, document: str) -> tuple[requests.Response, int]:
    """The answer to one GraphQL document, and how many database connections it opened."""
    before = server.connections_opened
    response = requests.post(f"{server.url}/graphql", json={"query": document},
                             auth=("api", server.api_key), timeout=60)
    return response, server.connections_opened - before


def refusal(response: requests.Response) -> str:
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": COMPLEXITY_CODE}
    return str(error["message"])


def test_ten_thousand_aliased_fields_are_refused_unread(view_server: ViewServer) -> None:
    document = "{" + " ".join(f"a{n}: viewer {{ id }}" for n in range(10_000)) + "}"
    response, opened = post_document(view_server, document)
    assert refusal(response) == (f"the query document has {len(document)} characters, more "
                                 f"than the limit of {MAX_DOCUMENT_LENGTH}")
    assert opened == 0


def test_aliases_count_each_and_database_fields_cost_more(view_server: ViewServer) -> None:
    per_viewer = DATABASE_FIELD_COST + 1
    allowed = MAX_COMPLEXITY // per_viewer
    document = "{" + " ".join(f"a{n}:viewer{{id}}" for n in range(2_000)) + "}"
    assert len(document) <= MAX_DOCUMENT_LENGTH
    response, opened = post_document(view_server, document)
    assert refusal(response) == (f"operation has complexity {2_000 * per_viewer}, which "
                                 f"exceeds the limit of {MAX_COMPLEXITY}")
    assert opened == 0

    over = "{" + " ".join(f"a{n}: viewer {{ id }}" for n in range(allowed + 1)) + "}"
    response, opened = post_document(view_server, over)
    assert refusal(response).startswith(f"operation has complexity {(allowed + 1) * per_viewer},")
    assert opened == 0

    within = "{" + " ".join(f"a{n}: viewer {{ id }}" for n in range(allowed)) + "}"
    response, opened = post_document(view_server, within)
    assert response.status_code == 200
    assert len(response.json()["data"]) == allowed
    assert opened == allowed


def test_one_field_name_repeated_is_counted_before_validation(view_server: ViewServer) -> None:
    document = "{ viewer {" + " id" * 15_000 + " } }"
    response, opened = post_document(view_server, document)
    assert refusal(response) == (f"operation has complexity {15_000 + DATABASE_FIELD_COST}, "
                                 f"which exceeds the limit of {MAX_COMPLEXITY}")
    assert opened == 0


def test_fragments_count_wherever_they_are_spread(view_server: ViewServer) -> None:
    levels = 20  # each fragment spreads the next twice: 2**20 viewer fields on paper
    fragments = [f"fragment Q{n} on Query {{ ...Q{n + 1} ... {{ ...Q{n + 1} }} }}"
                 for n in range(levels)]
    last = f"fragment Q{levels} on Query {{ viewer {{ id }} }}"
    document = "\n".join(["{ ...Q0 }", *fragments, last])
    response, opened = post_document(view_server, document)
    complexity = 2**levels * (DATABASE_FIELD_COST + 1)
    assert refusal(response) == (f"operation has complexity {complexity}, which exceeds the "
                                 f"limit of {MAX_COMPLEXITY}")
    assert opened == 0


def test_depth_is_capped(view_server: ViewServer) -> None:
    nested = "{ viewer " + "{ a " * MAX_DEPTH + "{ b }" + " }" * MAX_DEPTH + " }"
    response, opened = post_document(view_server, nested)
    assert refusal(response) == (f"operation has depth {MAX_DEPTH + 2}, which exceeds the limit "
                                 f"of {MAX_DEPTH}")
    assert opened == 0


def test_a_long_fragment_chain_is_refused_not_a_failure(view_server: ViewServer) -> None:
    chain = [f"fragment F{n} on Query {{ ...F{n + 1} }}" for n in range(1_700)]
    document = "\n".join(["{ ...F0 }", *chain, "fragment F1700 on Query { viewer { id } }"])
    assert len(document) <= MAX_DOCUMENT_LENGTH
    response, opened = post_document(view_server, document)
    assert response.status_code == 400
    assert response.json()["errors"]
    assert opened == 0


def test_the_documents_wsquery_sends_are_well_within_the_limits(client: GraphQLClient) -> None:
    from wsquery.wandb import graphql as documents

    for name in ("VIEWER", "FIND_VIEW", "GET_VIEW", "LIST_VIEWS", "LIST_RUNS", "UPSERT_VIEW",
                 "DELETE_VIEW"):
        document = getattr(documents, name)
        response = requests.post(f"{client.settings.base_url}/graphql", json={"query": document},
                                 auth=("api", client.settings.api_key), timeout=60)
        assert COMPLEXITY_CODE not in response.text, name
