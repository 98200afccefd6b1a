"""The runs-api target: the same runs as W&B's own ``QueryGenerator`` over the legacy run set of
every language case, only the operators ``Api.runs`` documents, exact arguments as data
(tests/cases/runs_api.json), the same runs as ``evaluate`` wherever W&B's meaning is known, and
``wsquery.runs`` end to end over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, assert_never

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wandb.apis.public.query_generator import QueryGenerator

import wsquery
from wsquery.apps.server import DEFAULT_ENTITY, ViewServer, matches_filter
from wsquery.ast import (
    RUN_KEY_ATTRIBUTES,
    And,
    Compare,
    Constant,
    Contains,
    Duration,
    Expr,
    Field,
    In,
    IsNull,
    Match,
    Not,
    Or,
    Query,
    Within,
)
from wsquery.compilers.runs_api import (
    DEFAULT_PER_PAGE,
    NO_RUN,
    RunsApiQuery,
    compile_runs_api,
    order_key,
)
from wsquery.errors import TargetError
from wsquery.facts.attributes import parse_datetime
from wsquery.facts.formats import iso_timestamp
from wsquery.wandb.graphql import GraphQLClient

from . import strategies
from .conformance import document, mongomock_selects

NOW = datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
PER_CASE = settings(max_examples=50, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CASES_DIR = Path(__file__).parent / "cases"
LANGUAGE = json.loads((CASES_DIR / "language.json").read_text("utf-8"))
VALID = [case["query"] for case in LANGUAGE if "canonical" in case]


def runs_api(text: str | Query, **options: Any) -> RunsApiQuery:
    compiled = wsquery.compile(text, target="runs-api", now=NOW, **options)
    assert isinstance(compiled, RunsApiQuery)
    return compiled


# The parts of a query ----------------------------------------------------------------------------

Leaf = Compare | In | Contains | Match | IsNull | Within


def leaves(node: Expr | None) -> Iterator[Leaf]:
    match node:
        case None | Constant():
            return
        case And() | Or():
            for operand in node.operands:
                yield from leaves(operand)
        case Not():
            yield from leaves(node.operand)
        case Compare() | In() | Contains() | Match() | IsNull() | Within():
            yield node
        case _:
            assert_never(node)


def walk(filters: Any) -> Iterator[tuple[str, Any]]:
    """Every key of a filter document, at any depth, with its value."""
    if isinstance(filters, dict):
        for key, value in filters.items():
            yield key, value
            yield from walk(value)
    elif isinstance(filters, list):
        for item in filters:
            yield from walk(item)


# 1. The same runs as W&B's own QueryGenerator ----------------------------------------------------

REGEX_SEARCH_NAME = {"section": "run", "name": "displayName"}


def wandb_tree(text: str) -> dict[str, Any] | str:
    """The legacy filter tree ``text`` compiles to, with its search box, for W&B's
    ``QueryGenerator``; or why the case is not compared."""
    try:
        runset = wsquery.compile(text, format="legacy", exact_ops=True).to_json()
    except TargetError:
        return "a legacy run set cannot hold it"
    tree: dict[str, Any] = runset["filters"]
    if any(key == "op" and value == "WITHINSECONDS" for key, value in walk(tree)):
        return "QueryGenerator has no WITHINSECONDS"
    search = runset["search"]
    if search.get("query"):
        if not search.get("isRegex"):
            return "a plain-text search box"
        # This test's reading of the search box: the run set shows the runs whose display name
        # holds a match of the regex, that is a REGEX leaf on displayName in every AND branch.
        leaf = {"key": REGEX_SEARCH_NAME, "op": "REGEX", "value": search["query"]}
        tree = {**tree, "filters": [{**branch, "filters": [*branch["filters"], leaf]}
                                    for branch in tree["filters"]]}
    return tree


def query_generator(tree: dict[str, Any] | str) -> Any:
    """What W&B's SDK sends for a run set's filter tree (``wandb_tree``'s)."""
    assert isinstance(tree, dict), tree
    return QueryGenerator().filter_to_mongo(tree)  # type: ignore[no-untyped-call]


def runnable(filters: Any) -> Any:
    """QueryGenerator's filters as mongomock runs them. An AND branch with no filter (every
    run) comes out as ``{"$and": []}``, which MongoDB and mongomock refuse: it is the empty
    filter, which selects every run."""
    if isinstance(filters, dict):
        if filters == {"$and": []}:
            return {}
        return {key: runnable(value) for key, value in filters.items()}
    if isinstance(filters, list):
        return [runnable(item) for item in filters]
    return filters


def fixed_width_dates(filters: Any, key: str | None = None) -> Any:
    """Date text compared with ``createdAt`` in the fixed width run documents hold. The legacy
    tree writes dates as ``2024-01-01T00:00:00Z``, the runs-api target and the documents as
    ``2024-01-01T00:00:00.000000Z``: as text the two order differently against a stored date
    (``.`` sorts before ``Z``), as moments they are one. This test reads W&B's server as
    comparing moments, which text of one width does."""
    if isinstance(filters, dict):
        return {name: fixed_width_dates(value, key if name.startswith("$") else name)
                for name, value in filters.items()}
    if isinstance(filters, list):
        return [fixed_width_dates(item, key) for item in filters]
    if key == "createdAt" and isinstance(filters, str):
        moment = parse_datetime(filters)
        assert moment is not None, filters
        return iso_timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return filters


def server_selects(filters: dict[str, Any], documents: list[dict[str, Any]]) -> set[int]:
    """The documents ``filters`` selects under MongoDB's own rules (the embedded server's
    matcher), where mongomock takes ``true`` for ``1``."""
    return {index for index, doc in enumerate(documents) if matches_filter(filters, doc)}


# Runs that meet a query: for each field it reads, its literals, their neighbours, values of other
# types, null, lists and a missing key.
ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 0.5, "a", "", [], ["a", 1], [1, 2],
                         float("nan"), {"k": 1}]
STATES = ["running", "finished", "crashed", "failed"]
NAMES = ["s", "sweep-1", "run-1", "run-12", "run-x", "a.b", "xa.by", "test", "adam", "A"]


def neighbours(value: Any) -> list[Any]:
    match value:
        case bool():
            return [value, not value]
        case int() | float():
            return [value, value - 1, value + 1, value + 0.5, -value, float(value)]
        case str():
            return [value, value + "x", "x" + value, value.upper(), value[:-1]]
        case datetime():
            return [value + timedelta(seconds=offset)
                    for offset in (0, -1, 1, 0.5, -0.5, 86400, -86400)]
        case _:
            return [value]


def literals(leaf: Leaf) -> list[Any]:
    """The values a leaf compares with, as a run would hold them."""
    values: list[Any]
    match leaf:
        case Compare() | Contains():
            values = [leaf.value]
        case In():
            values = list(leaf.values)
        case Match():
            values = [leaf.pattern, *NAMES]
        case IsNull():
            values = []
        case Within():
            values = [NOW - timedelta(seconds=leaf.duration.seconds)]
        case _:
            assert_never(leaf)
    held: list[Any] = []
    for value in values:
        if isinstance(value, Duration):
            value = value.seconds
        if leaf.field == strategies.CREATED_AT and isinstance(value, str):
            value = parse_datetime(value)
        held += neighbours(value)
    return held


def values_for(field: Field, query_leaves: list[Leaf]) -> st.SearchStrategy[Any]:
    """A field's literals and their neighbours half the time, other values the rest."""
    found = [value for leaf in query_leaves if leaf.field == field for value in literals(leaf)]
    if field == strategies.TAGS:
        tags = [value for value in found if isinstance(value, str)] + ["other"]
        return st.one_of(st.sampled_from([None, []]), st.lists(st.sampled_from(tags),
                                                               max_size=3))
    others: list[Any]
    if field == strategies.STATE:
        others = [*STATES, None]
    elif field == strategies.CREATED_AT:
        others = [NOW, NOW - timedelta(days=400), None, "not a date"]
    else:
        others = [*ODD_VALUES, *([value, "z"] for value in found[:3])]
    if not found:
        return st.sampled_from(others)
    return st.one_of(st.sampled_from(found), st.sampled_from(others))


def run_from(values: dict[Field, Any]) -> dict[str, Any]:
    """A plain run holding each field's value (a nested key as nested objects)."""
    run: dict[str, Any] = {"config": {}, "summary": {}}
    for field, value in values.items():
        if field.section == "run":
            run[RUN_KEY_ATTRIBUTES.get(field.key, field.key)] = value
            continue
        place = run[field.section]
        for segment in field.path[:-1]:
            place = place.setdefault(segment, {})
            if not isinstance(place, dict):
                break
        else:
            place.setdefault(field.path[-1], value)
    return run


def runs_for(query: Query) -> st.SearchStrategy[list[dict[str, Any]]]:
    query_leaves = list(leaves(query.filter))
    fields = {leaf.field for leaf in query_leaves} | {strategies.TAGS, strategies.STATE,
                                                      strategies.CREATED_AT}
    run = st.fixed_dictionaries({}, optional={
        field: values_for(field, query_leaves)
        for field in sorted(fields, key=str)}).map(run_from)
    return st.lists(run, max_size=8)


COMPARED: list[str] = []
SKIPPED: dict[str, list[str]] = {}


def _plan() -> None:
    for text in VALID:
        plan = wandb_tree(text)
        if isinstance(plan, str):
            SKIPPED.setdefault(plan, []).append(text)
        else:
            COMPARED.append(text)


_plan()


def test_most_language_cases_are_compared_with_query_generator() -> None:
    assert len(COMPARED) >= 100
    assert set(SKIPPED) <= {"a legacy run set cannot hold it", "a plain-text search box",
                            "QueryGenerator has no WITHINSECONDS"}


@pytest.mark.parametrize("text", COMPARED)
def test_the_same_runs_as_wandbs_query_generator(text: str) -> None:
    wandb_filters = query_generator(wandb_tree(text))
    assert all(part is not None for key, parts in walk(wandb_filters)
               if key in ("$and", "$or") for part in parts), wandb_filters  # no leaf left out
    try:
        ours = runs_api(text).filters
    except TargetError as error:  # QueryGenerator writes a path that reaches another key
        assert "which no runs-API path can reach" in error.message
        return
    theirs = fixed_width_dates(runnable(wandb_filters))
    assert fixed_width_dates(ours) == ours

    @PER_CASE
    @given(runs_for(wsquery.parse(text)))
    def same_runs(runs: list[dict[str, Any]]) -> None:
        documents = [document(run) for run in runs]
        assert mongomock_selects(ours, documents) == mongomock_selects(theirs, documents), (
            ours, wandb_filters)
        assert server_selects(ours, documents) == server_selects(theirs, documents), (
            ours, wandb_filters)

    same_runs()


def test_query_generator_writes_an_empty_branch_as_an_and_of_nothing() -> None:
    tree = wandb_tree("true")
    assert query_generator(tree) == {"$or": [{"$and": []}]}
    assert runnable(query_generator(tree)) == {"$or": [{}]}
    assert runs_api("true").filters == {}


def test_the_search_box_is_a_regex_leaf_in_every_branch() -> None:
    tree = wandb_tree('name =~ "^s" and (config.a == 1 or config.b == 2)')
    assert query_generator(tree) == {"$or": [
        {"$and": [{"config.a": 1}, {"displayName": {"$regex": "^s"}}]},
        {"$and": [{"config.b": 2}, {"displayName": {"$regex": "^s"}}]}]}
    assert runs_api('name =~ "^s" and (config.a == 1 or config.b == 2)').filters == {
        "displayName": {"$regex": "^s"}, "$or": [{"config.a": 1}, {"config.b": 2}]}


def test_dates_differ_as_text_of_two_widths() -> None:
    """Why ``fixed_width_dates``: as text of two widths, a run a quarter second after the
    literal is not after it."""
    text = 'created_at > "2024-01-01"'
    theirs = query_generator(wandb_tree(text))
    assert theirs == {"$or": [{"$and": [{"createdAt": {"$gt": "2024-01-01T00:00:00Z"}}]}]}
    assert runs_api(text).filters == {"createdAt": {"$gt": "2024-01-01T00:00:00.000000Z"}}
    runs = [{"created_at": "2024-01-01T00:00:00.25Z"}, {"created_at": "2024-01-01"}]
    as_text = [document(run) for run in runs]
    assert mongomock_selects(theirs, as_text) == set()
    assert mongomock_selects(runs_api(text).filters, as_text) == {0}
    assert mongomock_selects(fixed_width_dates(theirs), as_text) == {0}


# 2. Only what Api.runs documents -----------------------------------------------------------------

OPERATORS = {"$and", "$or", "$nor", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
             "$exists", "$regex"}


def assert_documented(query: Query, compiled: RunsApiQuery) -> None:
    """Only ``Api.runs``' operators, no array-index path, orders as its docstring spells them."""
    for key, value in walk(compiled.filters):
        if key.startswith("$"):
            assert key in OPERATORS, key
            if key in ("$and", "$or", "$nor"):
                assert isinstance(value, list) and value, (key, value)
            if key in ("$in", "$nin"):
                assert isinstance(value, list), (key, value)
        else:
            segments = key.split(".")
            assert not any(segment.isdigit() for segment in segments), key
            assert segments[0] in ("config", "summary_metrics") or len(segments) == 1, key
    sign, path = compiled.order[0], compiled.order[1:]
    assert sign in "+-", compiled.order
    if not query.order_by:
        assert compiled.order == "-created_at"
        return
    first = query.order_by[0]
    assert sign == ("+" if first.ascending else "-")
    match first.field.section:
        case "config":
            assert path.split(".")[2] == "value", path  # config.<key>.value[.<rest>]
        case "summary":
            assert path.startswith("summary_metrics."), path
        case "run":
            assert path == ("created_at" if first.field.key == "createdAt" else first.field.key)
    assert order_key(compiled.order) == first


@pytest.mark.parametrize("text", VALID)
def test_every_language_case_uses_only_documented_operators(text: str) -> None:
    query = wsquery.parse(text)
    try:
        compiled = runs_api(query)
    except TargetError as error:
        assert error.target == "runs-api"
        assert "which no runs-API path can reach" in error.message
        return
    assert_documented(query, compiled)


@PROPERTY
@given(strategies.queries)
def test_generated_queries_use_only_documented_operators(query: Query) -> None:
    try:
        compiled = runs_api(query)
    except TargetError as error:  # not (x contains "text") on a key other than tags
        assert error.target == "runs-api"
        assert error.message.startswith("the runs API cannot say not "), error.message
        return
    assert_documented(query, compiled)
    if compiled.warnings:
        with pytest.raises(TargetError):
            runs_api(query, strict=True)
    else:
        assert runs_api(query, strict=True) == compiled


# 3. Exact arguments, as data ---------------------------------------------------------------------

EXPECTED = json.loads((CASES_DIR / "runs_api.json").read_text("utf-8"))
EXPECTED_NOW = datetime.fromisoformat(EXPECTED["now"])


@pytest.mark.parametrize("case", EXPECTED["cases"], ids=[c["query"] for c in EXPECTED["cases"]])
def test_exact_arguments(case: dict[str, Any]) -> None:
    compiled = wsquery.compile(case["query"], target="runs-api", now=EXPECTED_NOW)
    assert compiled.to_json() == case["runs_api"]
    assert len(compiled.warnings) == case["warnings"]
    if case["warnings"]:
        with pytest.raises(TargetError) as caught:
            wsquery.compile(case["query"], target="runs-api", now=EXPECTED_NOW, strict=True)
        assert caught.value.target == "runs-api"
        assert caught.value.message == case["strict"]
    else:
        assert "strict" not in case
        assert wsquery.compile(case["query"], target="runs-api", now=EXPECTED_NOW,
                               strict=True) == compiled


def test_the_case_file_covers_every_form() -> None:
    queries = [case["query"] for case in EXPECTED["cases"]]
    for part in ("==", "<", "<=", ">", ">=", "!=", " in ", "not in", "tags ==", "tags !=",
                 "tags in", "contains", "=~", "!~", "is null", "is not null", "within last",
                 "runtime", "state", "created_at", "limit", "order by config",
                 "order by summary", "order by created_at", "order by name", "group by"):
        assert any(part in query for query in queries), part
    assert sum(1 for case in EXPECTED["cases"] if case["warnings"]) >= 8


# 4. The same runs as evaluate, where W&B's meaning is known --------------------------------------

def known_everywhere(expr: Any) -> bool:
    """Compiles without a warning: no ``!=``, ``not in``, ``!~``, ``is null`` (tags aside)
    and no ``contains`` on config or summary keys."""
    try:
        compile_runs_api(Query(expr), now=NOW, strict=True)
    except TargetError:
        return False
    return True


known_filters = strategies.expressions(strategies.predicates(with_null=False)).filter(
    known_everywhere)


def wandb_like_runs(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Runs as W&B stores them: tags a list of strings, state lower case, created_at a date;
    config and summary values drawn from ``values``, or missing."""
    def section(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))

    return st.fixed_dictionaries(
        {"tags": st.lists(strategies.strings, max_size=3),
         "state": strategies.states,
         "created_at": st.one_of(strategies.dates, st.just("2024-01-01T06:00:00"))},
        optional={
            "id": strategies.strings,
            "name": st.one_of(strategies.strings, st.none(), strategies.numbers),
            "runtime": st.one_of(strategies.numbers, st.sampled_from([30, 60, 90, 120]),
                                 st.none()),
            "config": st.fixed_dictionaries(
                {}, optional={"lr": values, "opt": st.one_of(values, section(["beta"]))}),
            "summary": section(["acc"]),
        })


SCALARS = st.one_of(strategies.numbers, strategies.strings, st.none(), st.just(float("nan")))


def evaluated(expr: Any, runs: list[dict[str, Any]]) -> set[int]:
    return {index for index, run in enumerate(runs) if wsquery.matches(Query(expr), run, now=NOW)}


@PROPERTY
@given(known_filters, st.lists(wandb_like_runs(SCALARS), max_size=8))
def test_known_forms_select_what_evaluate_selects(expr: Any,
                                                  runs: list[dict[str, Any]]) -> None:
    filters = compile_runs_api(Query(expr), now=NOW).filters
    documents = [document(run) for run in runs]
    expected = evaluated(expr, runs)
    assert mongomock_selects(filters, documents) == expected, (str(expr), filters)
    assert server_selects(filters, documents) == expected, (str(expr), filters)


@PROPERTY
@given(known_filters, st.lists(wandb_like_runs(st.one_of(SCALARS, st.booleans())), max_size=8))
def test_known_forms_select_what_evaluate_selects_with_booleans(
        expr: Any, runs: list[dict[str, Any]]) -> None:
    """Judged by MongoDB's rules alone (the embedded server's matcher): mongomock takes
    ``true`` for ``1`` under ``$eq`` and ``$in``, which MongoDB does not."""
    filters = compile_runs_api(Query(expr), now=NOW).filters
    documents = [document(run) for run in runs]
    assert server_selects(filters, documents) == evaluated(expr, runs), (str(expr), filters)


def test_mongomock_takes_true_for_one() -> None:
    filters = runs_api("config.x == 1").filters
    assert filters == {"config.x": 1}
    documents = [document({"config": {"x": True}})]
    assert mongomock_selects(filters, documents) == {0}
    assert not matches_filter(filters, documents[0])
    assert not wsquery.matches("config.x == 1", {"config": {"x": True}})


#: A list half the time, so that runs meet lists often.
SCALARS_OR_LISTS = st.booleans().flatmap(lambda listed: st.sampled_from(
    [[1, "a"], [0, 2], [0.5], [10, -1], ["adam", "sgd"], ["a"], [], [None]]) if listed
    else SCALARS)


#: Known forms on the keys that may hold lists, so that they meet the lists often.
KEYED_LEAVES = st.one_of(
    st.builds(Compare, st.sampled_from(strategies.NUMERIC_FIELDS),
              st.sampled_from(["==", "<", "<=", ">", ">="]), strategies.numbers),
    st.builds(Compare, st.just(Field("config", ("opt",))), st.just("=="), strategies.strings),
    st.builds(In, st.sampled_from(strategies.NUMERIC_FIELDS),
              st.lists(strategies.numbers, min_size=1, max_size=3).map(tuple)))


def fields_read(expr: Any) -> set[Field]:
    if isinstance(expr, And | Or):
        return set().union(*(fields_read(operand) for operand in expr.operands))
    if isinstance(expr, Not):
        return fields_read(expr.operand)
    return {expr.field}


def holds_a_list_on_the_way(run: dict[str, Any], fields: set[Field]) -> bool:
    """Whether ``run`` holds a list at (or on the way to) one of ``fields``."""
    for field in fields:
        value: Any = run.get(field.section)
        for segment in field.path:
            if isinstance(value, list):
                return True
            value = value.get(segment) if isinstance(value, dict) else None
        if isinstance(value, list):
            return True
    return False


@settings(PROPERTY, max_examples=300)
@given(strategies.expressions(KEYED_LEAVES, max_leaves=3, constants=False)
       .filter(known_everywhere),
       st.lists(wandb_like_runs(SCALARS_OR_LISTS), min_size=1, max_size=8))
def test_with_lists_the_known_forms_differ_only_as_documented(
        expr: Any, runs: list[dict[str, Any]]) -> None:
    """The README's one stated difference: MongoDB matches a list element by element (W&B's
    reading is not known), so only runs holding a list where the query reads may differ."""
    filters = compile_runs_api(Query(expr), now=NOW).filters
    documents = [document(run) for run in runs]
    differing = server_selects(filters, documents) ^ evaluated(expr, runs)
    fields = fields_read(expr)
    assert all(holds_a_list_on_the_way(runs[index], fields) for index in differing), (
        str(expr), filters)


def test_a_list_value_is_matched_element_by_element_as_documented() -> None:
    run = {"config": {"lr": [1, "a"]}}
    compiled = runs_api("config.lr == 1")
    assert compiled.filters == {"config.lr": 1} and not compiled.warnings
    assert not wsquery.matches("config.lr == 1", run)
    assert mongomock_selects(compiled.filters, [document(run)])
    assert matches_filter(compiled.filters, document(run))


# 5. wsquery.runs end to end ----------------------------------------------------------------------

FETCH_NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
PROJECT = "runs-api"

RUNS: list[dict[str, Any]] = [
    {"id": "a0", "name": "run-0", "state": "finished", "tags": ["best", "base"],
     "created_at": "2024-01-01T10:00:00Z", "runtime": 30, "user": "ada",
     "config": {"lr": 0.1, "opt": "adam"}, "summary": {"acc": 0.91, "loss": 0.2}},
    {"id": "a1", "name": "run-1", "state": "crashed", "tags": [],
     "created_at": "2024-01-09T08:00:00Z", "runtime": 300, "user": "bob",
     "config": {"lr": 0.001, "opt": "sgd"}, "summary": {"acc": 0.4, "loss": 1}},
    {"id": "a2", "name": "run-2", "state": "finished", "tags": ["base"],
     "created_at": "2024-01-08T23:59:59.5Z", "runtime": 90, "user": "ada",
     "config": {"lr": 0.01, "opt": None}, "summary": {"acc": 0.75}},
    {"id": "a3", "name": "run-3", "state": "running", "tags": ["wip"],
     "created_at": "2024-01-05T00:00:00+02:00", "user": "ada",
     "config": {"lr": "high", "opt": 1}, "summary": {"acc": "n/a", "loss": 2}},
    {"id": "a4", "name": "run-4", "state": "finished", "tags": ["best"],
     "created_at": "2024-01-10T11:00:00Z", "runtime": 45.5, "user": "bob",
     "config": {"lr": 0.05, "opt": "adam"}, "summary": {"acc": 0.88}},
    {"id": "a5", "name": "warmup", "state": "failed", "tags": ["wip", "warm"],
     "created_at": "2023-12-31T23:00:00Z", "user": "cy",
     "config": {"opt": "adamw"}, "summary": {"loss": 0.5}},
    {"id": "a6", "name": "run-6", "state": "finished", "tags": ["warm"],
     "created_at": "2024-01-07T12:00:00Z", "runtime": 600, "user": "ada",
     "config": {"lr": 0.1, "opt": "sgd"}, "summary": {"acc": 0.93, "loss": 0.3}},
    {"id": "a7", "name": "other-7", "state": "killed", "tags": ["best", "warm"],
     "created_at": "2024-01-03T00:00:00Z", "runtime": 120, "user": "cy",
     "config": {"lr": 0.02, "opt": ["adam"]}, "summary": {"acc": 0.6, "loss": None}},
]

FETCHED = [
    "",
    "summary.loss != 1",
    'config.opt != "adam" order by created_at',
    'config.opt not in ["adam", "sgd"]',
    'name !~ "^run-"',
    "config.opt is null",
    "summary.loss is not null order by summary.loss desc",
    'state != "finished" order by name',
    'tags != "best"',
    'tags not in ["wip", "best"]',
    'tags in ["wip", "warm"] order by summary.acc',
    "config.lr == 0.1",
    "created_at within last 3d",
    "runtime > 1m order by runtime desc",
    'created_at >= "2024-01-05" order by created_at desc',
    'user == "ada" and config.lr >= 0.01 order by config.lr desc',
    'name contains "-" and not (summary.acc < 0.5) order by summary.acc desc',
    "order by summary.acc desc limit 3",
    "limit 2",
    'config.lr != 0.1 order by summary.acc desc, name limit 2',
    'summary.loss != 0.2 limit 2',
    'config.opt is null or config.opt == "sgd" order by user, created_at desc',
    "group by config.opt order by config.lr",
]


#: The runs as a project lists them by default, newest first (the language's default order,
#: which the server follows too).
NEWEST_FIRST = wsquery.evaluate("order by created_at desc", RUNS)


@pytest.fixture(scope="module")
def stored(view_server: ViewServer) -> list[str]:
    return view_server.add_runs(DEFAULT_ENTITY, PROJECT, NEWEST_FIRST)


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [run["name"] for run in found]


def expected(text: str) -> list[str]:
    return [run["id"] for run in wsquery.evaluate(text, NEWEST_FIRST, now=FETCH_NOW)]


@pytest.mark.parametrize("text", FETCHED)
def test_runs_are_what_evaluate_selects_in_order(stored: list[str], client: GraphQLClient,
                                                 text: str) -> None:
    fetched = wsquery.runs(DEFAULT_ENTITY, PROJECT, text, client=client, now=FETCH_NOW)
    assert ids(fetched) == expected(text)


def test_the_server_answers_more_than_evaluate_where_the_meaning_is_not_known(
        stored: list[str], client: GraphQLClient) -> None:
    """What ``wsquery.runs`` leaves out: the embedded server reads ``$ne`` as MongoDB does, so
    it also sends the runs without ``summary.loss``."""
    filters = runs_api("summary.loss != 1").filters
    answer = client.iter_runs(DEFAULT_ENTITY, PROJECT, filters=filters, order="+created_at",
                              page_size=DEFAULT_PER_PAGE)
    assert sorted(run["name"] for run in answer) == ["a0", "a2", "a3", "a4", "a5", "a6", "a7"]
    fetched = wsquery.runs(DEFAULT_ENTITY, PROJECT, "summary.loss != 1 order by id",
                           client=client)
    assert ids(fetched) == ["a0", "a3", "a5", "a6"]


def test_a_filter_no_run_matches_is_never_sent(stored: list[str], view_server: ViewServer,
                                               client: GraphQLClient) -> None:
    assert runs_api("false").filters == NO_RUN
    count = len(view_server.received)
    assert wsquery.runs(DEFAULT_ENTITY, PROJECT, "false", client=client) == []
    assert len(view_server.received) == count


def test_runtime_is_the_servers_answer_as_it_is(stored: list[str],
                                                client: GraphQLClient) -> None:
    """As ``wsquery.runs`` says: the fetched run JSON holds no runtime, so a filter on it is
    not checked again, and where W&B's meaning is not known the server's answer stands (here
    MongoDB's: a run without a runtime is not 30)."""
    fetched = wsquery.runs(DEFAULT_ENTITY, PROJECT, "runtime != 30 order by id", client=client)
    assert ids(fetched) == ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]
    assert expected("runtime != 30 order by id") == ["a1", "a2", "a4", "a6", "a7"]


def test_limit_asks_for_no_more_than_it_needs(stored: list[str], view_server: ViewServer,
                                              client: GraphQLClient) -> None:
    assert runs_api("limit 500").per_page == DEFAULT_PER_PAGE
    before = sum(1 for r in view_server.received if r.operation_name == "ListRuns")
    text = "summary.acc > 0.5 order by summary.acc desc limit 2"
    fetched = wsquery.runs(DEFAULT_ENTITY, PROJECT, text, client=client)
    assert ids(fetched) == expected(text) == ["a6", "a0"]
    assert sum(1 for r in view_server.received if r.operation_name == "ListRuns") - before == 1
