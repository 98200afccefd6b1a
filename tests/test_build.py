"""Building queries in code (wsquery.build) and visiting them (walk, transform).

A built query is one the parser could have built: the same nodes as parsing its text, the
same errors for the same mistakes, and no value that can change a query's structure.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery import QuerySyntaxError, QueryValidationError
from wsquery.ast import (
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
    Node,
    Not,
    Or,
    OrderKey,
    Query,
    Within,
    transform,
    walk,
)
from wsquery.build import FieldBuilder, and_, duration, field, not_, or_, query

from .strategies import queries

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


def rebuild(node: Expr) -> Expr:
    """``node`` built again with the builder, from field text and Python values only."""
    match node:
        case Compare():
            return _OPS[node.op](field(str(node.field)), node.value)  # type: ignore[no-any-return]
        case In():
            return field(str(node.field)).isin(list(node.values))
        case Match():
            return field(str(node.field)).matches(node.pattern)
        case Contains() if node.has_tag:
            return field(str(node.field)) == node.value
        case Contains():
            return field(str(node.field)).contains(node.value)
        case IsNull():
            return field(str(node.field)).is_null()
        case Within():
            return field(str(node.field)).within_last(str(node.duration))
        case Constant():
            return and_() if node.value else or_()
        case Not(operand=In() as inner):
            return field(str(inner.field)).not_in(inner.values)
        case Not(operand=IsNull() as inner):
            return field(str(inner.field)).is_not_null()
        case Not(operand=Contains() as inner) if inner.has_tag:
            return field(str(inner.field)) != inner.value
        case Not():
            return not_(rebuild(node.operand))
        case And():
            return and_(*[rebuild(o) for o in node.operands])
        case Or():
            return or_(*[rebuild(o) for o in node.operands])
    raise AssertionError(node)


def rebuild_query(q: Query) -> Query:
    return query(
        filter=None if q.filter is None else rebuild(q.filter),
        group_by=[str(f) for f in q.group_by],
        order_by=[str(k.field) if k.ascending else field(str(k.field)).desc()
                  for k in q.order_by],
        limit=q.limit)


queries_with_limits = st.builds(
    lambda q, limit: attrs.evolve(q, limit=limit), queries, st.none() | st.integers(1, 10**6))


@SETTINGS
@given(queries_with_limits)
def test_building_a_query_gives_what_parsing_its_text_gives(q: Query) -> None:
    built = rebuild_query(q)
    parsed = wsquery.parse(str(q))
    assert built == parsed
    assert repr(built) == repr(parsed)  # the same literal types: 1 and 1.0, 1 and true differ
    assert str(built) == str(q)


@SETTINGS
@given(queries_with_limits)
def test_a_built_query_prints_text_that_parses_back_to_it(q: Query) -> None:
    built = rebuild_query(q)
    assert wsquery.parse(str(built)) == built
    assert repr(wsquery.parse(str(built))) == repr(built)


# Values are literals, whatever they hold -------------------------------------------------

INJECTIONS = [
    '"a" or config.x == 1',
    "' or 1 == 1 or '",
    'x" or name == "y',
    "a\\",
    '\\"',
    '\\" or true or \\"',
    "and", "or", "not", "null", "true", "false", "in", "limit 1", "group by name",
    "order by name desc",
    ") or (true",
    "config.x == 1) or (config.x",
    "\n or true",
    "`",
    "a`b",
    "\\u0022 or true",
    "\u2028",
    "",
]


def _only_leaf(q: Query) -> Expr:
    nodes = [n for n in walk(q) if not isinstance(n, Query | Field)]
    assert len(nodes) == 1, nodes
    return nodes[0]  # type: ignore[return-value]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("make", [
    lambda v: field("config.x") == v,
    lambda v: field("name") != v,
    lambda v: field("summary_metrics.`a b`") < v,
    lambda v: field("config.x").contains(v),
    lambda v: field("tags") == v,
    lambda v: field("tags").isin([v, "b"]),
    lambda v: field("group").isin([v]),
], ids=["eq", "ne", "lt", "contains", "has_tag", "tags_in", "in"])
def test_a_string_stays_one_literal(make: Callable[[str], Expr], value: str) -> None:
    q = query(filter=make(value))
    parsed = wsquery.parse(str(q))
    assert parsed == q
    leaf = _only_leaf(parsed) if not isinstance(q.filter, Not) else q.filter.operand
    literals = leaf.values if isinstance(leaf, In) else (leaf.value,)  # type: ignore[union-attr]
    assert value in literals


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_pattern_stays_one_literal_or_is_refused_as_a_regex(value: str) -> None:
    try:
        node = field("name").matches(value)
    except QueryValidationError as error:
        assert "not an RE2 regular expression" in error.message
        return
    assert wsquery.parse(str(query(node))) == Query(Match(Field("run", ("displayName",)), value))


@SETTINGS
@given(st.text())
def test_any_string_is_one_literal(value: str) -> None:
    for node in (field("config.x") == value, field("name").contains(value),
                 field("tags") != value, field("config.x").isin([value, 1])):
        q = query(node)
        assert wsquery.parse(str(q)) == q


@SETTINGS
@given(st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False),
                 st.booleans()))
def test_numbers_keep_their_type(value: int | float | bool) -> None:
    q = query(field("summary.acc") >= value)
    assert repr(wsquery.parse(str(q))) == repr(q)


@pytest.mark.parametrize("text", [
    'name == "a" or config.x',
    "config.x == 1",
    "name) or (true",
    "name, state",
    "name limit 5",
    "name desc",
    "state\nor true",
    "config.`a` or true",
])
def test_a_field_name_is_one_field_or_refused(text: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        field(text)
    assert 0 <= caught.value.span[0] <= caught.value.span[1] <= len(text)


@pytest.mark.parametrize("text", ["3d or true", "3d limit 2", "1w, 2d", "3d or name == 1", "3 4"])
def test_a_duration_is_one_duration_or_refused(text: str) -> None:
    with pytest.raises(QuerySyntaxError):
        duration(text)


# Fields --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("summary.val_loss", Field("summary", ("val_loss",))),
    ("summary_metrics.val_loss", Field("summary", ("val_loss",))),
    ("config.optimizer.lr", Field("config", ("optimizer", "lr"))),
    ("config.`a.b`.c", Field("config", ("a.b", "c"))),
    ("run.commit", Field("run", ("commit",))),
    ("name", Field("run", ("displayName",))),
    ("NAME", Field("run", ("displayName",))),
    ("Created_At", Field("run", ("createdAt",))),
    ("State", Field("run", ("state",))),
    ("CreatedTimestamp", Field("run", ("createdAt",))),
    ("  state  ", Field("run", ("state",))),
])
def test_field_reads_the_languages_spellings(name: str, expected: Field) -> None:
    assert field(name).field == expected
    assert wsquery.parse(f"{name} is null").filter == IsNull(expected)


@pytest.mark.parametrize("name", ["bogus", "summary", "config.", "", "1x", "Config.x", "and",
                                  "summary.`a", "summary.a."])
def test_a_bad_field_raises_what_the_parser_raises(name: str) -> None:
    with pytest.raises(QuerySyntaxError) as built:
        field(name)
    with pytest.raises(QuerySyntaxError) as parsed:
        wsquery.parse(f"group by {name.strip()}")
    assert type(built.value) is type(parsed.value)
    assert built.value.message == parsed.value.message
    assert built.value.text == name.strip()


def test_an_unknown_bare_name_shows_the_parsers_hint() -> None:
    with pytest.raises(QueryValidationError) as caught:
        field("val_loss")
    assert str(caught.value) == (
        "line 1, column 1: unknown field 'val_loss'\n"
        "    val_loss\n"
        "    ~~~~~~~~\n"
        "hint: did you mean summary.val_loss or config.val_loss? Bare names are run attributes: "
        "name, id, state, tags, created_at, runtime, user, sweep, group, job_type, host, step.")


def test_a_trailing_part_is_pointed_at() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        field('name == "a" or config.x')
    assert str(caught.value) == (
        "line 1, column 6: a field name is one name, with nothing after it\n"
        '    name == "a" or config.x\n'
        "         ~~~~~~~~~~~~~~~~~~\n"
        "hint: pass one field name such as summary.val_loss or state")


def test_field_takes_a_field_node_or_a_builder() -> None:
    node = Field("config", ("a b", "c"))
    assert field(node).field is node
    builder = field("state")
    assert isinstance(builder, FieldBuilder)
    assert field(builder) is builder
    with pytest.raises(QuerySyntaxError):
        field(Field("bogus", ("x",)))
    with pytest.raises(QuerySyntaxError):
        field(Field("config", ("a`b",)))
    with pytest.raises(TypeError):
        field(3)  # type: ignore[arg-type]


@SETTINGS
@given(st.sampled_from(["config", "summary", "run"]), st.lists(st.text(), min_size=1, max_size=3))
def test_a_field_node_is_taken_when_its_text_names_it(section: str, path: list[str]) -> None:
    node = Field(section, tuple(path))
    try:
        builder = field(node)
    except QuerySyntaxError:  # a segment no spelling reaches: empty, or holding a backtick
        assert any(segment == "" or "`" in segment for segment in path)
        return
    assert field(str(node)).field == node
    assert wsquery.parse(str(query(builder.is_null()))).filter == IsNull(node)


def test_a_builder_prints_as_its_field_and_has_no_hash() -> None:
    builder = field("summary_metrics.acc")
    assert str(builder) == "summary.acc"
    assert repr(builder) == "field('summary.acc')"
    with pytest.raises(TypeError):
        hash(builder)


# Each method builds the parser's node ----------------------------------------------------------

@pytest.mark.parametrize(("built", "text"), [
    (lambda: field("summary.loss") == 1, "summary.loss == 1"),
    (lambda: field("summary.loss") != 1.0, "summary.loss != 1.0"),
    (lambda: field("summary.loss") < 0.5, "summary.loss < 0.5"),
    (lambda: field("summary.loss") <= -2, "summary.loss <= -2"),
    (lambda: field("summary.loss") > True, "summary.loss > true"),
    (lambda: field("summary.loss") >= "x", 'summary.loss >= "x"'),
    (lambda: 1 < field("summary.loss"), "1 < summary.loss"),  # noqa: SIM300
    (lambda: field("runtime") > Duration(2, "h"), "runtime > 2h"),
    (lambda: field("runtime") > timedelta(minutes=90), "runtime > 5400s"),
    (lambda: field("state") == "finished", 'state == "finished"'),
    (lambda: field("tags") == "best", 'tags == "best"'),
    (lambda: field("tags") != "best", 'tags != "best"'),
    (lambda: field("tags").contains("best"), 'tags contains "best"'),
    (lambda: field("tags").isin(["a", "b"]), 'tags in ["a", "b"]'),
    (lambda: field("config.opt").isin(("adam", 1, 2.0, True, "")),
     'config.opt in ["adam", 1, 2.0, true, ""]'),
    (lambda: field("config.opt").isin([]), "config.opt in []"),
    (lambda: field("config.opt").not_in(["adam"]), 'config.opt not in ["adam"]'),
    (lambda: field("config.lr").between(0.1, 1), "config.lr between 0.1 and 1"),
    (lambda: field("name").matches("^a.*\\d$"), 'name =~ "^a.*\\d$"'),
    (lambda: field("name").contains("x"), 'name contains "x"'),
    (lambda: field("config.n").contains(3), "config.n contains 3"),
    (lambda: field("config.x").is_null(), "config.x is null"),
    (lambda: field("config.x").is_not_null(), "config.x is not null"),
    (lambda: field("created_at").within_last("3d"), "created_at within last 3d"),
    (lambda: field("created_at").within_last("2 weeks"), "created_at within last 2w"),
    (lambda: field("created_at").within_last(Duration(1.5, "h")), "created_at within last 1.5h"),
    (lambda: field("created_at").within_last(timedelta(days=1)),
     "created_at within last 86400s"),
    (lambda: field("created_at") >= "2024-05-01", 'created_at >= "2024-05-01"'),
    (lambda: field("created_at") >= date(2024, 5, 1), 'created_at >= "2024-05-01"'),
    (lambda: field("created_at") < datetime(2024, 5, 1, 12, tzinfo=UTC),
     'created_at < "2024-05-01T12:00:00+00:00"'),
    (lambda: not_(field("config.x") == 1), "not config.x == 1"),
    (lambda: and_(field("config.x") == 1, field("config.y") == 2, field("config.z") == 3),
     "config.x == 1 and config.y == 2 and config.z == 3"),
    (lambda: or_(field("config.x") == 1, and_(field("config.y") == 2, field("config.z") == 3)),
     "config.x == 1 or config.y == 2 and config.z == 3"),
    (lambda: and_(field("config.x") == 1, or_(field("config.y") == 2, field("config.z") == 3)),
     "config.x == 1 and (config.y == 2 or config.z == 3)"),
    (lambda: and_(field("config.x") == 1, and_(field("config.y") == 2, field("config.z") == 3)),
     "config.x == 1 and (config.y == 2 and config.z == 3)"),
    (lambda: and_(field("config.x") == 1), "config.x == 1"),
    (lambda: and_(), "true"),
    (lambda: or_(), "false"),
    (lambda: not_(or_(field("config.x").is_null(), field("config.y").is_null())),
     "not (config.x is null or config.y is null)"),
])
def test_each_method_builds_the_node_the_parser_builds(built: Callable[[], Expr],
                                                       text: str) -> None:
    node = built()
    parsed = wsquery.parse(text).filter
    assert node == parsed
    assert repr(node) == repr(parsed)


def test_the_tags_comparisons_are_the_parsers_has_tag() -> None:
    tags = Field("run", ("tags",))
    assert (field("tags") == "x") == Contains(tags, "x")
    assert (field("tags") != "x") == Not(Contains(tags, "x"))
    assert str(field("tags") != "x") == 'tags != "x"'


def test_order_keys_and_a_whole_query() -> None:
    q = query(
        filter=and_(field("state") == "finished", field("summary.val_loss") < 0.3,
                    not_(field("tags") == "bad")),
        group_by=["config.optimizer", field("group")],
        order_by=[field("created_at").desc(), "summary.val_loss", Field("run", ("state",))],
        limit=10)
    assert str(q) == ('state == "finished" and summary.val_loss < 0.3 and tags != "bad" '
                      "group by config.optimizer, group "
                      "order by created_at desc, summary.val_loss, state limit 10")
    assert wsquery.parse(str(q)) == q
    assert field("name").asc() == OrderKey(Field("run", ("displayName",)), True)


def test_one_field_or_key_stands_for_a_list_of_one() -> None:
    assert query(group_by="state", order_by=field("name").desc()) == wsquery.parse(
        "group by state order by name desc")
    assert query() == Query()


# Invalid literals: the parser's errors ------------------------------------------------------

@pytest.mark.parametrize(("built", "text"), [
    (lambda: field("state") == "done", 'state == "done"'),
    (lambda: field("state").isin(["finished", "done"]), 'state in ["finished", "done"]'),
    (lambda: field("runtime") > "3d", 'runtime > "3d"'),
    (lambda: field("config.lr") > Duration(3, "d"), "config.lr > 3d"),
    (lambda: field("created_at") < "yesterday", 'created_at < "yesterday"'),
    (lambda: field("created_at") < 5, "created_at < 5"),
    (lambda: field("tags") < "x", 'tags < "x"'),
    (lambda: field("tags").isin([1]), "tags in [1]"),
    (lambda: field("tags") == 1, "tags == 1"),
    (lambda: field("name") == 1, "name == 1"),
    (lambda: field("name").matches("(("), 'name =~ "(("'),
    (lambda: field("name").matches(1), "name =~ 1"),
    (lambda: field("step").matches("a"), 'step =~ "a"'),
    (lambda: field("runtime").contains("x"), 'runtime contains "x"'),
    (lambda: field("config.x").contains(None), "config.x contains null"),
    (lambda: field("config.x").contains([1]), "config.x contains [1]"),
    (lambda: field("config.x").within_last("3d"), "config.x within last 3d"),
    (lambda: field("config.x") == None, "config.x == null"),  # noqa: E711
    (lambda: field("config.x") != None, "config.x != null"),  # noqa: E711
    (lambda: field("config.x") < None, "config.x < null"),
    (lambda: field("config.x") == [1, 2], "config.x == [1, 2]"),
    (lambda: field("config.x").isin([None]), "config.x in [null]"),
    (lambda: field("config.x") == float("inf"), "config.x == 1e999"),
])
def test_an_invalid_literal_raises_the_parsers_error(built: Callable[[], Expr],
                                                     text: str) -> None:
    with pytest.raises(QueryValidationError) as caught:
        built()
    with pytest.raises(QueryValidationError) as parsed:
        wsquery.parse(text)
    assert [p.message for p in caught.value.problems] == [
        p.message for p in parsed.value.problems]
    assert [p.hint for p in caught.value.problems] == [p.hint for p in parsed.value.problems]


def test_an_invalid_literal_is_shown_on_the_condition() -> None:
    with pytest.raises(QueryValidationError) as caught:
        field("State") == "done"  # noqa: B015
    assert str(caught.value) == (
        'line 1, column 1: state is never "done"\n'
        '    state == "done"\n'
        "    ~~~~~~~~~~~~~~~\n"
        "hint: states are running, pending, preempting, crashed, failed, killed, finished, "
        "preempted")


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), 10**5000],
                         ids=["nan", "-inf", "5001 digits"])
def test_a_number_without_a_literal_is_out_of_range(value: float) -> None:
    with pytest.raises(QueryValidationError, match="number out of range"):
        field("config.x") == value  # noqa: B015


@pytest.mark.parametrize("value", [{}, object(), b"x", 1j])
def test_a_value_without_a_literal_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="not a query literal"):
        field("config.x") == value  # noqa: B015


def test_isin_takes_a_list_not_a_string() -> None:
    with pytest.raises(TypeError):
        field("config.x").isin("abc")
    with pytest.raises(QueryValidationError, match="single values"):
        field("config.x").isin([[1]])


@pytest.mark.parametrize("length", [Duration(-1, "d"), Duration(1, "y"), Duration(1e999, "s"),
                                    Duration(1e-7, "s"), Duration(True, "s"), timedelta(-1)])
def test_a_duration_without_a_spelling_is_refused(length: Any) -> None:
    with pytest.raises(QueryValidationError):
        duration(length)


def test_subclasses_of_literal_types_are_typed_as_the_parser_types_them() -> None:
    class Color(enum.StrEnum):
        RED = "red"

    class Size(enum.IntEnum):
        BIG = 3

    class Ratio(float):
        def __repr__(self) -> str:
            return "Ratio!"

    assert repr(field("config.c") == Color.RED) == repr(wsquery.parse('config.c == "red"').filter)
    assert repr(field("config.s") == Size.BIG) == repr(wsquery.parse("config.s == 3").filter)
    assert str(field("config.r") == Ratio(0.5)) == "config.r == 0.5"


# query() checks what it is given --------------------------------------------------------------

X = Field("config", ("x",))


@pytest.mark.parametrize(("node", "error"), [
    (And((Compare(X, "==", 1),)), TypeError),
    (Or(()), TypeError),
    (Compare(X, "=", 1), TypeError),
    (Compare(X, "==", (1, 2)), QueryValidationError),  # type: ignore[arg-type]
    (Compare(X, "==", None), QueryValidationError),
    (Compare(X, "==", date(2024, 1, 1)), TypeError),  # type: ignore[arg-type]
    (Compare(Field("run", ("tags",)), "==", "x"), QueryValidationError),
    (Compare(Field("run", ("state",)), "==", "done"), QueryValidationError),
    (Compare(Field("bogus", ("x",)), "==", 1), QuerySyntaxError),
    (In(X, [1, 2]), TypeError),  # type: ignore[arg-type]
    (Match(X, "(("), QueryValidationError),
    (Within(X, Duration(1, "d")), QueryValidationError),
    (Within(Field("run", ("createdAt",)), Duration(-1, "d")), QueryValidationError),
    (Constant(1), TypeError),  # type: ignore[arg-type]
    (Not(field("state")), TypeError),  # type: ignore[arg-type]
])
def test_query_refuses_nodes_the_parser_could_not_build(node: Any, error: type) -> None:
    with pytest.raises(error):
        query(node)


def test_query_refuses_nesting_the_parser_refuses() -> None:
    node: Expr = field("config.x") == 1
    for _ in range(100):
        node = not_(node)
    assert wsquery.parse(str(query(node))).filter == node
    with pytest.raises(QueryValidationError, match="nest deeper than 100 levels"):
        query(not_(node))


@pytest.mark.parametrize(("limit", "error"), [
    (0, QueryValidationError), (-1, QueryValidationError), (1.5, QueryValidationError),
    (10**5000, QueryValidationError), (True, TypeError), ("3", TypeError)],
    ids=["0", "-1", "1.5", "5001 digits", "True", "'3'"])
def test_query_refuses_a_bad_limit(limit: Any, error: type) -> None:
    with pytest.raises(error):
        query(limit=limit)


def test_query_refuses_bad_clauses() -> None:
    with pytest.raises(QuerySyntaxError):
        query(group_by=["state", "name desc"])
    with pytest.raises(TypeError):
        query(order_by=[OrderKey(X, 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        query(filter=True)  # type: ignore[arg-type]


# walk and transform --------------------------------------------------------------------------

PARSED = wsquery.parse('config.lr > 1 and not (name =~ "a" or tags == "x") '
                       "group by state order by created_at desc limit 3")


def test_walk_goes_depth_first_parents_before_children_fields_included() -> None:
    assert [(type(n).__name__, str(n)) for n in walk(PARSED)][1:] == [
        ("And", 'config.lr > 1 and not (name =~ "a" or tags == "x")'),
        ("Compare", "config.lr > 1"),
        ("Field", "config.lr"),
        ("Not", 'not (name =~ "a" or tags == "x")'),
        ("Or", 'name =~ "a" or tags == "x"'),
        ("Match", 'name =~ "a"'),
        ("Field", "name"),
        ("Contains", 'tags == "x"'),
        ("Field", "tags"),
        ("Field", "state"),
        ("OrderKey", "created_at desc"),
        ("Field", "created_at"),
    ]
    assert next(iter(walk(PARSED))) is PARSED
    assert list(walk(Field("config", ("x",)))) == [Field("config", ("x",))]
    assert list(walk(Query())) == [Query()]


def test_walk_does_not_recurse() -> None:
    node: Expr = Constant(True)
    for _ in range(20000):
        node = Not(node)
    assert sum(1 for _ in walk(node)) == 20001


def test_transform_without_change_keeps_every_node() -> None:
    assert transform(PARSED, lambda n: n) is PARSED


def test_transform_renames_a_field_everywhere() -> None:
    renamed = Field("run", ("displayName",))

    def rename(node: Node) -> Node:
        return Field("config", ("label",)) if node == renamed else node

    out = transform(wsquery.parse('name == "a" or name contains "b" order by name'), rename)
    assert str(out) == 'config.label == "a" or config.label contains "b" order by config.label'


def test_transform_calls_fn_children_first_on_rebuilt_nodes() -> None:
    seen: list[str] = []

    def record(node: Node) -> Node:
        seen.append(type(node).__name__)
        if isinstance(node, Match):
            return field("name").contains("a")
        return node

    out = transform(PARSED, record)
    assert seen == ["Field", "Compare", "Field", "Match", "Field", "Contains", "Or", "Not", "And",
                    "Field", "Field", "OrderKey", "Query"]
    assert str(out) == ('config.lr > 1 and not (name contains "a" or tags == "x") '
                        "group by state order by created_at desc limit 3")
    assert out.filter.span == PARSED.filter.span  # type: ignore[union-attr]
    assert out.group_by[0] is PARSED.group_by[0]


def test_transform_replaces_the_root() -> None:
    def fold(node: Node) -> Node:
        return Constant(False) if isinstance(node, Not) else node

    assert transform(not_(field("config.x") == 1), fold) == Constant(False)


@pytest.mark.parametrize(("root", "kind", "replacement"), [
    (PARSED, Field, Constant(True)),
    (PARSED, Compare, Field("config", ("y",))),
    (PARSED, OrderKey, X),
    (PARSED, Query, Constant(True)),
    (PARSED.filter, And, Query()),
    (X, Field, OrderKey(X)),
])
def test_transform_refuses_a_replacement_of_another_kind(root: Any, kind: type,
                                                         replacement: Node) -> None:
    def swap(node: Node) -> Node:
        return replacement if type(node) is kind else node

    with pytest.raises(TypeError, match="cannot take its place"):
        transform(root, swap)


@SETTINGS
@given(queries)
def test_transform_rebuilding_every_node_gives_an_equal_query(q: Query) -> None:
    def copy(node: Node) -> Node:
        return attrs.evolve(node)

    out = transform(q, copy)
    assert out == q
    assert [type(n) for n in walk(out)] == [type(n) for n in walk(q)]


def test_operators_join_conditions_as_the_parser_does() -> None:
    built = ((wsquery.field("summary.val_loss") <= 0.1) & (wsquery.field("State") == "finished")
             & ~(wsquery.field("tags") == "wip") | wsquery.field("config.lr").isin([0.1]))
    text = ('summary.val_loss <= 0.1 and state == "finished" and tags != "wip" or '
            "config.lr in [0.1]")
    assert built == wsquery.parse(text).filter
    nested = wsquery.field("config.a") == 1
    nested = nested & ((wsquery.field("config.b") == 2) & (wsquery.field("config.c") == 3))
    assert nested == wsquery.parse("config.a == 1 and (config.b == 2 and config.c == 3)").filter
    assert ~~nested == wsquery.parse("not not (config.a == 1 and (config.b == 2 and "
                                     "config.c == 3))").filter


def test_query_takes_builders_for_group_by_and_order_by() -> None:
    built = wsquery.Query(filter=field("summary.val_loss") <= 0.1,
                          group_by=[field("config.opt")],
                          order_by=[field("summary.acc").desc(), field("config.lr")])
    assert built == wsquery.parse(
        "summary.val_loss <= 0.1 group by config.opt order by summary.acc desc, config.lr")


def test_query_refuses_text_where_a_field_belongs() -> None:
    with pytest.raises(TypeError, match=r"write wsquery.field\('config.opt'\)"):
        wsquery.Query(group_by=["config.opt"])


def test_where_adds_a_condition_and_keeps_the_clauses() -> None:
    """Appending `and ...` to a query's text breaks once a clause ends it; ``where`` does not."""
    query = wsquery.parse("config.lr < 0.1 or summary.acc > 0.5 order by summary.acc desc limit 3")
    finished = wsquery.field("state") == "finished"
    added = query.where(finished)
    assert str(added) == ('(config.lr < 0.1 or summary.acc > 0.5) and state == "finished" '
                          "order by summary.acc desc limit 3")
    assert wsquery.parse(str(added)) == added
    assert (query & finished) == added
    assert query.where(wsquery.parse('state == "finished"')) == added
    assert query.where(wsquery.parse("")) == query
    assert wsquery.parse("order by name").where(finished) == wsquery.parse(
        'state == "finished" order by name')
    runs = [{"id": str(i), "state": state, "config": {"lr": 0.01}, "summary": {"acc": i / 10}}
            for i, state in enumerate(["finished", "crashed", "finished", "running", "finished"])]
    assert [run["id"] for run in wsquery.evaluate(added, runs)] == ["4", "2", "0"]


def test_where_refuses_clauses_and_what_is_not_a_condition() -> None:
    query = wsquery.parse("config.a == 1")
    with pytest.raises(ValueError, match="has clauses; only a filter can be added"):
        query.where(wsquery.parse("config.b == 2 order by name"))
    with pytest.raises(TypeError, match=r"is text: give wsquery.parse\('config.b == 2'\)"):
        query.where("config.b == 2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a condition: 3"):
        query.where(3)  # type: ignore[arg-type]
