"""The generated selector (``compile_select_fast``) against the closures it stands in for:
None, or exactly the runs ``compile_predicate(expr)(adapt(run))`` holds TRUE for, in their
order, for every run shape; literals bound, never written into its source."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsquery
from tests import strategies
from wsquery.ast import (
    RUN_ATTRIBUTES,
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
    OrderKey,
    Query,
    total_order,
)
from wsquery.errors import WsqueryError
from wsquery.semantics import selector
from wsquery.semantics.evaluate import adapt, compile_predicate, compile_select_fast
from wsquery.semantics.order import sort_value
from wsquery.semantics.predicates import field_value

NOW = datetime(2024, 1, 2, tzinfo=UTC)

#: Run keys a plain dict spells otherwise or as an object, and one it holds as it is.
RUN_KEYS = [Field("run", (key,)) for key in ("_step", "username", "sweep", "name", "notes")]
_run_key_leaves = st.one_of(
    st.builds(Compare, st.sampled_from(RUN_KEYS), st.sampled_from(["==", "!=", "<", ">="]),
              st.one_of(strategies.numbers, strategies.strings)),
    st.builds(IsNull, st.sampled_from(RUN_KEYS)),
    st.builds(In, st.sampled_from(RUN_KEYS),
              st.lists(st.one_of(strategies.numbers, strategies.strings), max_size=2).map(tuple)),
)
FILTERS = strategies.expressions(st.one_of(strategies.predicates(), _run_key_leaves))

_names = st.one_of(strategies.strings, st.none(), strategies.numbers)
_run_keys = st.fixed_dictionaries({}, optional={
    "step": st.one_of(strategies.numbers, st.none()),
    "user": st.one_of(_names, st.builds(lambda name: {"username": name}, _names)),
    "sweep": st.one_of(_names, st.builds(lambda name: {"name": name}, _names)),
    "notes": _names,
})


def _with_run_keys(run: dict[str, Any], extra: dict[str, Any], summary_step: Any) -> dict[str, Any]:
    run = {**run, **extra}
    if summary_step is not None and isinstance(run.get("summary"), dict):
        run["summary"] = {**run["summary"], "_step": summary_step}
    return run


PLAIN_RUNS = st.builds(_with_run_keys, strategies.runs, _run_keys,
                       st.one_of(st.none(), strategies.numbers))
#: Runs the generated code reads itself: plain dicts with both sections.
READ_RUNS = st.builds(lambda run: {"config": {}, "summary": {}, **run}, PLAIN_RUNS)


def _as_graphql(run: dict[str, Any]) -> dict[str, Any]:
    config = {key: {"value": value, "desc": None} for key, value in run.get("config", {}).items()}
    return {"displayName": run.get("name"), "name": run.get("id"), "state": run.get("state"),
            "tags": run.get("tags"), "config": json.dumps(config),
            "summaryMetrics": json.dumps(run.get("summary", {}))}


class _Attributes:
    def __init__(self, run: dict[str, Any]) -> None:
        self.id = None
        for key, value in run.items():
            setattr(self, key, value)


def _other_shapes(run: dict[str, Any]) -> list[Any]:
    """The run as W&B JSON, as an object, with its sections as JSON text, under
    ``summary_metrics``, and as a mapping that is not a dict."""
    texts: dict[str, Any] = dict(run)
    for key in ("config", "summary"):
        if key in run:
            texts[key] = json.dumps(run[key])
    moved = {key: value for key, value in run.items() if key != "summary"}
    moved["summary_metrics"] = run.get("summary")
    return [_as_graphql(run), _Attributes(run), texts, moved, _Mapping(run)]


class _Mapping(dict[str, Any]):
    """A dict subclass: adapted like a dict, but not read by the generated code."""


def _check(expr: Expr, runs: list[Any]) -> None:
    """The selector, under ``expr`` and ``not expr`` (where FALSE and UNKNOWN part), keeps the
    runs the closures hold TRUE, in their order."""
    for condition in (expr, Not(expr)):
        select = compile_select_fast(condition, NOW)
        assert select is not None, condition  # it takes every filter of this depth
        general = compile_predicate(condition, NOW)
        expected = [id(run) for run in runs if general(adapt(run)) is True]
        assert [id(run) for run in select(iter(runs))] == expected, (str(condition), runs)


@settings(max_examples=400, deadline=None)
@given(FILTERS, st.lists(READ_RUNS, min_size=1, max_size=4))
def test_the_selector_keeps_what_the_closures_keep_of_plain_dicts(
        expr: Expr, runs: list[dict[str, Any]]) -> None:
    _check(expr, runs)


@settings(max_examples=200, deadline=None)
@given(FILTERS, PLAIN_RUNS)
def test_the_selector_keeps_what_the_closures_keep_of_every_run_shape(
        expr: Expr, run: dict[str, Any]) -> None:
    _check(expr, [run, *_other_shapes(run)])


@settings(max_examples=200, deadline=None)
@given(strategies.queries, st.lists(PLAIN_RUNS, max_size=5))
def test_evaluate_selects_what_the_closures_select(
        query: Query, runs: list[dict[str, Any]]) -> None:
    test = None if query.filter is None else compile_predicate(query.filter, NOW)
    expected = [run for run in runs if test is None or test(adapt(run)) is True]
    selected = list(map(id, wsquery.evaluate(query, runs, now=NOW)))
    chosen = list(map(id, expected))
    if query.limit is None:  # the same runs, in the query's order
        assert sorted(selected) == sorted(chosen)
    else:
        assert set(selected) <= set(chosen)
        assert len(selected) == min(query.limit, len(chosen))


def _shaped(run: dict[str, Any], shape: int) -> Any:
    """``run`` as a plain dict (0) or in one of its other shapes."""
    return run if shape == 0 else _other_shapes(run)[shape - 1]


#: Queries whose filter often holds for many runs (so that there is an order to see), ordered
#: by a few keys (run keys a plain dict spells otherwise among them), some limited.
_ORDERED_QUERIES = st.builds(
    Query, st.one_of(st.just(Constant(True)), st.builds(Not, st.builds(IsNull, st.sampled_from(
        [Field("run", ("name",)), Field("config", ("lr",))]))), FILTERS),
    st.just(()), st.lists(st.one_of(strategies.order_keys, st.builds(
        OrderKey, st.sampled_from(RUN_KEYS), st.booleans())), max_size=2).map(tuple),
    st.one_of(st.none(), st.integers(0, 4)))


@settings(max_examples=400, deadline=None)
@given(_ORDERED_QUERIES,
       st.lists(st.tuples(PLAIN_RUNS, st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5])), max_size=6))
def test_evaluate_orders_runs_of_every_shape_as_the_order_contract_says(
        query: Query, drawn: list[tuple[dict[str, Any], int]]) -> None:
    """The order keys the selector reads from the plain dicts it keeps sort them as the keys
    read from each run adapted do: each key's values ranked by ``sort_value``, missing last in
    either direction, stable; the first ``limit``."""
    runs = [_shaped(run, shape) for run, shape in drawn]
    test = None if query.filter is None else compile_predicate(query.filter, NOW)
    chosen = [(adapt(run), run) for run in runs if test is None or test(adapt(run)) is True]
    for key in reversed(total_order(query)):
        value_of = sort_value(key.field)
        present = [pair for pair in chosen if value_of(pair[0]) is not None]
        missing = [pair for pair in chosen if value_of(pair[0]) is None]
        present.sort(key=lambda pair: value_of(pair[0]), reverse=not key.ascending)
        chosen = present + missing
    expected = [id(run) for _, run in chosen][:query.limit]
    assert list(map(id, wsquery.evaluate(query, runs, now=NOW))) == expected


class _Float(float):
    pass


class _Text(str):
    __slots__ = ()


#: Values at the edges of the comparisons the generated code writes out in line.
NAN = float("nan")
EDGE_VALUES: list[Any] = [0, 1, -1, 1.5, 2**70, NAN, float("inf"), -0.0, True,
                          False, _Float(1.5), _Float(NAN), "", "a", "b", _Text("a"), None,
                          [1], {"a": 1}, Duration(1, "m")]
EDGE_LITERALS: list[Any] = [1, 1.5, -0.0, "a", "", True, None, NAN, Duration(90, "s")]


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("field", [Field("config", ("x",)), Field("run", ("duration",)),
                                   Field("run", ("state",)), Field("run", ("createdAt",))])
def test_comparisons_written_in_line_give_what_their_tests_give(op: str, field: Field) -> None:
    runs = [{"config": {"x": value}, "summary": {}, "runtime": value, "state": value,
             "created_at": value} for value in EDGE_VALUES]
    for literal in EDGE_LITERALS:
        comparison = Compare(field, op, literal)
        _check(comparison, runs)  # and its negation: each in line, at the top and inside
        _check(And((comparison, IsNull(Field("config", ("y",))))), runs)
        _check(Or((comparison, IsNull(Field("config", ("x",))))), runs)


#: Values at the edges of the lists, texts and states the generated code tests in line.
LIST_EDGE_VALUES: list[Any] = [*EDGE_VALUES, "Finished", "FINISHED", "finished", "a7b",
                               ["a", "b"], ["A"], ("a",), [1, "a"], [_Text("a")], [NAN], [],
                               [True], [1.0], ["a", None]]


@pytest.mark.parametrize("field", [Field("config", ("x",)), Field("run", ("state",)),
                                   Field("run", ("tags",)), Field("run", ("displayName",))])
@pytest.mark.parametrize("leaf", ["in strings", "in numbers", "in both", "contains", "regex",
                                  "state"])
def test_lists_texts_and_states_written_in_line_give_what_their_tests_give(
        field: Field, leaf: str) -> None:
    key = {"x": "notes", "state": "state", "tags": "tags", "displayName": "name"}[field.key]
    runs = [{"config": {"x": value}, "summary": {}, key: value} for value in LIST_EDGE_VALUES]
    node: Expr
    match leaf:
        case "in strings":
            node = In(field, ("a", "finished", ""))
        case "in numbers":
            node = In(field, (1, 1.5, -0.0))
        case "in both":
            node = In(field, ("a", 1))
        case "contains":
            node = Contains(field, "a")
        case "regex":
            node = Match(field, "^[a-f]+$")
        case _:
            node = Compare(field, "!=", "finished")
    _check(node, runs)  # and its negation: each in line, at the top and inside
    _check(And((node, IsNull(Field("config", ("y",))))), runs)
    _check(Or((node, IsNull(Field("config", ("x",))))), runs)


def test_a_filter_nested_deeper_than_python_blocks_is_left_to_the_closures() -> None:
    expr: Expr = Compare(Field("config", ("lr",)), "==", 1)
    for depth in range(30):
        other = IsNull(Field("config", (f"k{depth}",)))
        expr = And((expr, other)) if depth % 2 else Or((expr, other))
    assert compile_select_fast(expr, NOW) is None
    run = {"config": {"lr": 1}, "summary": {}}
    assert compile_predicate(expr, NOW)(adapt(run)) is True
    assert wsquery.evaluate(Query(expr), [run], now=NOW) == [run]


def test_a_dotted_key_of_the_run_section_is_left_to_the_closures() -> None:
    expr = Compare(Field("run", ("notes", "first")), "==", 1)
    assert compile_select_fast(expr, NOW) is None
    assert wsquery.evaluate(Query(expr), [{"notes": {"first": 1}}]) == [{"notes": {"first": 1}}]


def test_literals_and_keys_are_bound_so_filters_of_one_shape_share_one_source() -> None:
    first = compile_select_fast(Compare(Field("config", ("a",)), "==", "x"), NOW)
    assert first is not None
    before = selector._maker.cache_info()
    hostile = "') or True or ('\"\n"
    expr = Compare(Field("config", (hostile,)), "==", hostile)
    second = compile_select_fast(expr, NOW)
    after = selector._maker.cache_info()
    assert second is not None
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    runs = [{"config": {hostile: hostile}}, {"config": {hostile: "x"}}, {"config": {"a": "x"}}]
    assert second(runs) == [runs[0]]


@pytest.mark.parametrize("not_a_run", [5, "run-1", None, [1, 2], object()])
def test_what_is_not_a_run_is_refused_as_adapt_refuses_it(not_a_run: Any) -> None:
    select = compile_select_fast(Or((Constant(True), Not(IsNull(Field("summary", ("x",)))))))
    assert select is not None
    with pytest.raises(WsqueryError, match=r"^not a run: "):
        select([{}, not_a_run])


def test_what_the_closures_refuse_to_compile_is_refused_too() -> None:
    with pytest.raises(WsqueryError, match="unknown section 'params'"):
        compile_select_fast(Compare(Field("params", ("x",)), "==", 1))


def test_times_held_as_text_sort_as_parse_datetime_reads_them() -> None:
    """The sort reads a time's text with its offset directly, and mends any other as
    ``parse_datetime`` does: the same moments, so the same order, unreadable text last."""
    from wsquery.facts.attributes import parse_datetime

    texts = ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00+02:00", "2024-01-01T00:30:00",
             " 2024-01-02", "2024-01-01T00:00:00z", "garbage", "2024-01-01T00:00:00.5Z",
             "2023-12-31T23:00:00.000001-00:00", "2024-01-01"]
    runs = [{"id": f"r{index}", "created_at": text} for index, text in enumerate(texts)]
    moments = [parse_datetime(text) for text in texts]
    readable = sorted((index for index, moment in enumerate(moments) if moment is not None),
                      key=lambda index: (-moments[index].timestamp(), f"r{index}"))
    unreadable = [index for index, moment in enumerate(moments) if moment is None]
    ordered = wsquery.evaluate(wsquery.parse("order by created_at desc"), runs)
    assert [run["id"] for run in ordered] == [f"r{index}" for index in readable + unreadable]


def test_a_plain_run_without_a_step_sorts_by_its_summary_step() -> None:
    """Runs read where they stand sort by their own step, else their summary's ``_step``."""
    runs = [{"id": "a", "step": 5, "summary": {"_step": 1}}, {"id": "b", "summary": {"_step": 7}},
            {"id": "c", "summary": {}}, {"id": "d", "step": 3, "summary": {"_step": 9}}]
    ordered = wsquery.evaluate(wsquery.parse("order by step desc"), runs)
    assert [run["id"] for run in ordered] == ["b", "a", "d", "c"]
    by_user = wsquery.evaluate(wsquery.parse("order by user"), [
        {"id": "x", "user": {"username": "zed"}}, {"id": "y", "user": "amy"}])
    assert [run["id"] for run in by_user] == ["y", "x"]


#: One run as a plain dict and as W&B's run JSON (which also holds a node ``id`` of its own
#: and names its sweep ``sweepName``).
_PLAIN_RUN = {"id": "r1", "name": "one", "state": "finished", "tags": ["a"],
              "created_at": "2024-01-01T00:00:00Z", "runtime": 5, "user": "amy", "sweep": "s1",
              "group": "g", "job_type": "train", "host": "h", "step": 3,
              "config": {"lr": 1}, "summary": {"acc": 1}}
_GRAPHQL_RUN = {"id": "UnVuOjE=", "name": "r1", "displayName": "one", "state": "finished",
                "tags": ["a"], "createdAt": "2024-01-01T00:00:00Z", "duration": 5,
                "username": "amy", "sweepName": "s1", "group": "g", "jobType": "train",
                "host": "h", "_step": 3, "config": json.dumps({"lr": {"value": 1}}),
                "summaryMetrics": json.dumps({"acc": 1})}


@pytest.mark.parametrize("key", sorted(RUN_ATTRIBUTES.values()))
def test_an_and_reads_every_run_attribute_of_w_and_b_json_as_the_closures_do(key: str) -> None:
    """An and's first operands may test a run before it is asked which shape it is, but only
    on keys both shapes hold alike: the same run in either shape is kept alike."""
    field = Field("run", (key,))
    held = field_value(_PLAIN_RUN, field)
    assert held == field_value(_GRAPHQL_RUN, field)
    for operand in (Not(IsNull(field)), Compare(field, "==", held) if key != "tags" else (
            In(field, ("a",)))):
        expr = And((operand, Compare(Field("config", ("lr",)), "==", 1)))
        select = compile_select_fast(expr, NOW)
        assert select is not None
        assert select([_PLAIN_RUN, _GRAPHQL_RUN]) == [_PLAIN_RUN, _GRAPHQL_RUN], (key, operand)


def test_a_regex_searched_in_line_reads_the_empty_text_as_re2_does() -> None:
    """Python's ``re`` runs in line only on text it reads as RE2 does: ``\\B`` holds in the
    empty text for RE2, never for Python."""
    runs = [{"id": "a", "name": ""}, {"id": "b", "name": "x"}, {"id": "c", "name": "é"}]
    query = wsquery.parse('name =~ "\\\\B"')
    assert [run["id"] for run in wsquery.evaluate(query, runs)] == ["a", "c"]
