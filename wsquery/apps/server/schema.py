"""The GraphQL side of the server: the schema it implements (a subset of W&B's) and what one
document may cost before any field is resolved (length, complexity, depth, argument sizes).
Apart from the resolvers, since these checks hold for any document whatever it reads."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from wsquery.apps.server import limits
from wsquery.apps.server.json_input import LONE_SURROGATE
from wsquery.errors import WorkspaceError

if TYPE_CHECKING:
    from graphql import (
        DocumentNode,
        ExecutionResult,
        GraphQLError,
        GraphQLNamedType,
        GraphQLSchema,
        SelectionSetNode,
    )


#: The extra that brings the server's one dependency.
SERVER_EXTRA = "server"
#: The fields besides the root ones (every query and mutation) that read the database.
_DATABASE_FIELDS = frozenset({
    ("Project", "allViews"), ("Project", "runs"), ("Project", "runCount"), ("Project", "run"),
    ("Run", "history"), ("Run", "sampledHistory"), ("Run", "historyKeys"),
    ("Run", "parquetHistory")})

#: The part of W&B's GraphQL schema this server implements: same type, field and argument
#: names and types as W&B's (checked by the tests against the shared schema, with the fields
#: W&B's clients send that it lacks: ``wandb_schema_extensions.graphql``). Fields beyond
#: views name the wandb 0.31.0 document that reads them (``wandb/apis/public/runs.py``,
#: ``wandb/apis/_generated/``, and the GraphQL documents of its ``wandb-core`` binary).
SCHEMA_SDL = """
schema {
  query: Query
  mutation: Mutation
}

scalar DateTime
scalar JSONString
scalar JSON
scalar Int64

interface Node {
  id: ID!
}

type Query {
  viewer(entityName: String): User
  project(name: String, entityName: String): Project
  view(id: ID!, type: String): View
  # Api.projects: _generated GetProjects
  models(entityName: String, after: String, first: Int): ProjectConnection
}

type Mutation {
  deleteView(input: DeleteViewInput!): DeleteViewPayload
  upsertView(input: UpsertViewInput!): UpsertViewPayload
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type User implements Node {
  id: ID!
  name: String!
  username: String
  entity: String
  # wandb-core's Viewer (Api() signing in) and _generated UserFragment (Api.viewer,
  # Api.projects' project.user):
  email: String
  flags: String
  teams(before: String, after: String, first: Int, last: Int): EntityConnection
  admin: Boolean
  deletedAt: DateTime
  apiKeys: ApiKeyConnection
}

# _generated UserFragment's apiKeys and teams
type ApiKey implements Node {
  id: ID!
  name: String!
  description: String
}

type ApiKeyConnection {
  edges: [ApiKeyEdge!]!
}

type ApiKeyEdge {
  node: ApiKey
}

type Entity implements Node {
  id: ID!
  name: String!
  isTeam: Boolean!
}

type EntityConnection {
  edges: [EntityEdge!]!
}

type EntityEdge {
  node: Entity
  cursor: String!
}

type Project implements Node {
  createdAt: DateTime!
  id: ID!
  name: String!
  entityName: String!
  allViews(
    viewType: String
    viewName: String
    userName: String
    first: Int
    after: String
  ): ViewConnection
  runs(filters: JSONString, order: String, first: Int, after: String): RunConnection
  # runs.py Runs (Api.runs): internalId, runCount(filters), readOnly
  internalId: ID!
  runCount(filters: JSONString): Int
  readOnly: Boolean
  # runs.py Run, RunState, RunSampledHistory, RunFullHistory, RunHistoryKeys (Api.run, a
  # run's history) and wandb-core's HistoryPage, SampledHistoryPage, RunState
  run(name: String!): Run
  # _generated ProjectFragment (Api.projects)
  isBenchmark: Boolean!
  user: User
}

type ProjectConnection {
  pageInfo: PageInfo!
  edges: [ProjectEdge!]!
}

type ProjectEdge {
  node: Project
  cursor: String!
}

type Run implements Node {
  createdAt: DateTime!
  name: String!
  jobType: String
  config: JSONString
  summaryMetrics: JSONString
  displayName: String
  heartbeatAt: DateTime
  user: User
  id: ID!
  tags: [String!]
  sweepName: String
  state: String
  group: String
  # runs.py RunFragment and LightweightRunFragment, and the Runs document's projectId
  commit: String
  readOnly: Boolean
  description: String
  notes: String
  projectId: ID!
  systemMetrics: JSONString
  historyLineCount: Int
  # runs.py RunFragment and RunHistoryKeys (Run.lastHistoryStep, read by scan_history)
  historyKeys: JSON
  # runs.py RunFullHistory (Run.history without keys); wandb-core's HistoryPage
  # (Run.scan_history)
  history(minStep: Int64, maxStep: Int64, samples: Int): [String!]!
  # runs.py RunSampledHistory (Run.history with keys); wandb-core's SampledHistoryPage
  sampledHistory(specs: [JSONString!]!): [JSON]
  # wandb-core's RunParquetHistory (Run.scan_history): no rows are exported to Parquet here,
  # so every row is live
  parquetHistory(liveKeys: [String!]!): ParquetHistory!
}

type ParquetHistory {
  liveData: [JSON!]!
  parquetUrls: [String!]!
}

type RunConnection {
  totalCount: Int!
  pageInfo: PageInfo!
  edges: [RunEdge!]!
}

type RunEdge {
  node: Run!
  cursor: String!
}

enum ViewSource {
  WANDB_UI
  WANDB_UI_SHARE_PANEL
  WANDB_SDK
  WEAVE_UI
}

type View implements Node {
  createdAt: DateTime!
  updatedAt: DateTime
  id: ID!
  name: String
  displayName: String
  type: String
  description: String
  spec: JSONString
  entityName: String!
  projectName: String!
  createdUsing: ViewSource!
}

type ViewConnection {
  totalCount: Int!
  pageInfo: PageInfo!
  edges: [ViewEdge!]!
}

type ViewEdge {
  node: View
  cursor: String!
}

input DeleteViewInput {
  id: ID
}

type DeleteViewPayload {
  success: Boolean
}

input UpsertViewInput {
  id: ID
  entityName: String
  projectName: String
  name: String
  displayName: String
  description: String
  type: String
  spec: String
  createdUsing: ViewSource
}

type UpsertViewPayload {
  view: View
  inserted: Boolean
}
"""


@functools.cache
def server_schema() -> GraphQLSchema:
    """The executable schema, built once; a WorkspaceError names the extra when graphql-core
    is missing."""
    try:
        from graphql import build_schema
    except ImportError:
        raise WorkspaceError(
            "the local view server needs graphql-core: "
            f"pip install 'wsquery[{SERVER_EXTRA}]'") from None
    return build_schema(SCHEMA_SDL)


def graphql_error(message: str, code: str) -> GraphQLError:
    from graphql import GraphQLError

    return GraphQLError(message, extensions={"code": code})


def error_body(message: str, code: str) -> dict[str, Any]:
    """A GraphQL-style answer carrying one error, for requests refused before GraphQL."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _bounded_arguments(resolve: Callable[..., Any], root: Any, info: Any,
                       **arguments: Any) -> Any:
    """Middleware refusing, before any resolver reads it, an argument longer than
    ``MAX_ARGUMENT_LENGTH`` (a spec: ``MAX_SPEC_LENGTH``) or holding a lone surrogate."""
    pending: list[tuple[str, Any]] = list(arguments.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.items())
        elif isinstance(value, list):
            pending.extend((name, item) for item in value)
        elif isinstance(value, str):
            limit = limits.MAX_SPEC_LENGTH if name == "spec" else limits.MAX_ARGUMENT_LENGTH
            if len(value) > limit:
                raise graphql_error(f"{info.field_name}: {name} has {len(value)} characters, "
                                     f"more than the limit of {limit}", "BAD_USER_INPUT")
            if LONE_SURROGATE.search(value):
                raise graphql_error(f"{info.field_name}: {name} holds a lone UTF-16 "
                                     "surrogate, which is not text", "BAD_USER_INPUT")
    return resolve(root, info, **arguments)


def run_document(root: object, body: Mapping[str, Any]) -> ExecutionResult:
    """Parse, check the cost, validate and execute one request's document, its fields
    resolved on ``root`` (the resolvers' ``Root``)."""
    from graphql import ExecutionResult

    text: str = body["query"]
    if len(text) > limits.MAX_DOCUMENT_LENGTH:
        return ExecutionResult(None, [graphql_error(
            f"the query document has {len(text)} characters, more than the limit of "
            f"{limits.MAX_DOCUMENT_LENGTH}", limits.COMPLEXITY_CODE)])
    try:
        return _parsed_and_run(root, body, text)
    except RecursionError:
        return ExecutionResult(None, [graphql_error(
            "the query document is nested too deeply to read", limits.COMPLEXITY_CODE)])


def _parsed_and_run(root: object, body: Mapping[str, Any], text: str) -> ExecutionResult:
    from graphql import (
        ExecutionResult,
        GraphQLError,
        KnownFragmentNamesRule,
        NoFragmentCyclesRule,
        NoUnusedFragmentsRule,
        execute_sync,
        parse,
        validate,
    )

    try:
        document = parse(text)
    except GraphQLError as error:
        return ExecutionResult(None, [error])
    schema = server_schema()
    # Fragments first (cheap), so the cost below counts every field the full validation reads.
    errors = validate(schema, document, [KnownFragmentNamesRule, NoUnusedFragmentsRule,
                                         NoFragmentCyclesRule])
    if not errors:
        errors = _over_limits(schema, document) or validate(schema, document)
    if errors:
        return ExecutionResult(None, errors)
    return execute_sync(schema, document, root_value=root,
                        variable_values=body.get("variables"),
                        # W&B's SDK sends "" for "the only operation", as servers take it
                        operation_name=body.get("operationName") or None,
                        middleware=[_bounded_arguments])


def _over_limits(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """The errors of a document whose complexity or depth is over the limit (none when
    within): every operation counts, each fragment is walked once."""
    try:
        complexity, depth = _cost(schema, document)
    except RecursionError:
        complexity, depth = 0, limits.MAX_DEPTH + 1
    errors = []
    if complexity > limits.MAX_COMPLEXITY:
        errors.append(graphql_error(f"operation has complexity {complexity}, which exceeds "
                                    f"the limit of {limits.MAX_COMPLEXITY}",
                                    limits.COMPLEXITY_CODE))
    if depth > limits.MAX_DEPTH:
        errors.append(graphql_error(f"operation has depth {depth}, which exceeds the limit "
                                     f"of {limits.MAX_DEPTH}", limits.COMPLEXITY_CODE))
    return errors


def _cost(schema: GraphQLSchema, document: DocumentNode) -> tuple[int, int]:
    """(complexity, depth) of every operation of a document whose fragments are known and
    acyclic; fields the schema lacks count as plain ones (validation refuses them next)."""
    from graphql import (
        FieldNode,
        FragmentDefinitionNode,
        FragmentSpreadNode,
        GraphQLInterfaceType,
        GraphQLObjectType,
        InlineFragmentNode,
        OperationDefinitionNode,
        get_named_type,
    )

    fragments = {definition.name.value: definition for definition in document.definitions
                 if isinstance(definition, FragmentDefinitionNode)}
    roots = {schema.query_type, schema.mutation_type}
    walked: dict[str, tuple[int, int]] = {}

    def selections(selection_set: SelectionSetNode, parent: GraphQLNamedType | None
                   ) -> tuple[int, int]:
        complexity = depth = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found = field(selection, parent)
            elif isinstance(selection, FragmentSpreadNode):
                found = fragment(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                found = selections(selection.selection_set, parent if condition is None
                                   else schema.get_type(condition.name.value))
            complexity, depth = complexity + found[0], max(depth, found[1])
        return complexity, depth

    def field(node: FieldNode, parent: GraphQLNamedType | None) -> tuple[int, int]:
        name = node.name.value
        reads = parent in roots or (getattr(parent, "name", ""), name) in _DATABASE_FIELDS
        own = limits.DATABASE_FIELD_COST if reads else 1
        if node.selection_set is None:
            return own, 1
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType
                                             ) else {}
        child = get_named_type(fields[name].type) if name in fields else None
        complexity, depth = selections(node.selection_set, child)
        return own + complexity, 1 + depth

    def fragment(name: str) -> tuple[int, int]:
        if name not in walked:
            definition = fragments[name]
            walked[name] = selections(definition.selection_set,
                                      schema.get_type(definition.type_condition.name.value))
        return walked[name]

    total = deepest = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            complexity, depth = selections(definition.selection_set, root)
            total, deepest = total + complexity, max(deepest, depth)
    return total, deepest
