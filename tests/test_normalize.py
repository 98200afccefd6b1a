"""normalize(): the rewrites it makes (query text -> canonical text of the result), the spans it
keeps, and properties over generated filters and runs: idempotent, normal form, and exactly the
runs the original selects (judged by the evaluator)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
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
    Not,
    Or,
    OrderKey,
    Query,
    Within,
)

from . import strategies

NOW = datetime(2024, 1, 2, 12, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CASES = [
    # not pushed to the leaves, De Morgan
    ('not summary.loss < 1', 'summary.loss >= 1'),
    ('not summary.loss <= 1', 'summary.loss > 1'),
    ('not summary.loss > 1', 'summary.loss <= 1'),
    ('not summary.loss >= 1', 'summary.loss < 1'),
    ('not config.x == 1', 'config.x != 1'),
    ('not config.x != 1', 'config.x == 1'),
    ('not not config.x == 1', 'config.x == 1'),
    ('not not not config.x == 1', 'config.x != 1'),
    ('not (config.a == 1 and config.b == 2)', 'config.a != 1 or config.b != 2'),
    ('not (config.a == 1 or config.b == 2)', 'config.a != 1 and config.b != 2'),
    ('not (config.a == 1 and (config.b == 2 or config.c < 3))',
     'config.a != 1 or config.b != 2 and config.c >= 3'),
    ('not config.x in [1, 2]', 'config.x not in [1, 2]'),
    ('not config.x not in [1, 2]', 'config.x in [1, 2]'),
    ('config.s !~ "a"', 'config.s !~ "a"'),
    ('not config.s !~ "a"', 'config.s =~ "a"'),
    ('not tags contains "a"', 'tags != "a"'),
    ('not config.x is not null', 'config.x is null'),
    ('not created_at within last 1d', 'not created_at within last 1d'),
    ('not true', 'false'),
    ('not (config.a == 1 and false)', 'true'),
    # flattened, duplicates dropped (by meaning: 1 and 1.0 are one value, 1 and true two)
    ('config.a == 1 and (config.b == 2 and config.c == 3)',
     'config.a == 1 and config.b == 2 and config.c == 3'),
    ('(config.a == 1 or config.b == 2) or config.c == 3',
     'config.a == 1 or config.b == 2 or config.c == 3'),
    ('config.a == 1 and config.b == 2 and config.a == 1', 'config.a == 1 and config.b == 2'),
    ('config.a == 1 or config.a == 1.0', 'config.a == 1'),
    ('config.a == 1 or config.a == true', 'config.a in [1, true]'),
    ('(config.a == 1 and config.b == 2) or (config.b == 2 and config.a == 1)',
     'config.a == 1 and config.b == 2'),
    ('state == "running" and state == "RUNNING"', 'state == "running"'),
    ('(config.a == 1 and config.b == 2) or (config.a == 1 and config.c == 2)',
     'config.a == 1 and config.b == 2 or config.a == 1 and config.c == 2'),
    ('runtime > 60 and runtime > 1m', 'runtime > 60'),
    # constants folded
    ('config.x == 1 and true', 'config.x == 1'),
    ('config.x == 1 or false', 'config.x == 1'),
    ('config.x == 1 or true', 'true'),
    ('config.x == 1 and false', 'false'),
    ('true', 'true'),
    ('false', 'false'),
    ('true and false', 'false'),
    ('true or false', 'true'),
    ('not (config.x == 1 or true)', 'false'),
    # equalities on one field merged into in / not in
    ('config.x == 1 or config.x == 2', 'config.x in [1, 2]'),
    ('config.x == 1 or config.y == 2 or config.x == 3', 'config.x in [1, 3] or config.y == 2'),
    ('config.x in [1, 2] or config.x in [2, 3]', 'config.x in [1, 2, 3]'),
    ('config.x == 1 or config.x in [2, 1]', 'config.x in [1, 2]'),
    ('config.x != 1 and config.x != 2', 'config.x not in [1, 2]'),
    ('config.x not in [1] and config.y == 2 and config.x != 3',
     'config.x not in [1, 3] and config.y == 2'),
    ('not (config.x == "a" or config.x == "b")', 'config.x not in ["a", "b"]'),
    ('tags in ["a"] or tags in ["b", "a"]', 'tags in ["a", "b"]'),
    ('"a" in tags or "b" in tags', 'tags == "a" or tags == "b"'),
    ('config.x in [1, 1, 2]', 'config.x in [1, 2]'),
    ('config.x in ["b", "a", "b", "a"]', 'config.x in ["b", "a"]'),
    ('config.x in ["a", "A"]', 'config.x in ["a", "A"]'),
    ('state in ["running", "RUNNING"]', 'state in ["running"]'),
    # contradictions: never TRUE (FALSE or UNKNOWN)
    ('config.x == 1 and config.x == 2', 'false'),
    ('config.x == 1 and config.x != 1', 'false'),
    ('config.x in [1, 2] and config.x in [3]', 'false'),
    ('config.x in [1, 2] and config.x in [2, 3]', 'config.x in [1, 2] and config.x in [2, 3]'),
    ('config.x > 5 and config.x < 3', 'false'),
    ('config.x > 3 and config.x < 3', 'false'),
    ('config.x >= 3 and config.x < 3', 'false'),
    ('config.x == 1 and config.x != "a"', 'false'),
    ('config.x == 1 and config.x < 5', 'config.x == 1 and config.x < 5'),
    ('config.x >= 3 and config.x <= 3', 'config.x >= 3 and config.x <= 3'),
    ('config.x >= 3 and config.x <= 3 and config.x != 3', 'false'),
    ('config.x == 1 and config.x > 1', 'false'),
    ('config.x is null and config.x == 1', 'false'),
    ('config.x is null and config.x is not null', 'false'),
    ('config.x < 1 and config.x > "a"', 'false'),
    ('config.x != 1 and config.x != "a"', 'false'),
    ('config.x == "abc" and config.x =~ "^z"', 'false'),
    ('config.x == "abc" and config.x =~ "^a"', 'config.x == "abc" and config.x =~ "^a"'),
    ('config.x == 1 and config.x =~ "1"', 'false'),
    ('config.f != true and config.f != false', 'false'),
    ('config.x in []', 'false'),
    ('config.y == 1 and config.x in []', 'false'),
    ('created_at == "2024-01-01" and created_at == "2024-01-01T00:00:00Z"',
     'created_at == "2024-01-01"'),
    ('created_at < "2024-01-01" and created_at > "2024-02-01"', 'false'),
    ('state == "running" and state == "finished"', 'false'),
    ('config.y == 1 and (config.x == 1 and config.x == 2)', 'false'),
    ('(config.x == 1 and config.x == 2) or config.y == 1', 'config.y == 1'),
    # not contradictions or tautologies under three-valued logic
    ('config.x == 1 or config.x != 1', 'config.x == 1 or config.x != 1'),
    ('config.x < 1 or config.x >= 1', 'config.x < 1 or config.x >= 1'),
    ('config.x >= 1 and config.x < 2', 'config.x >= 1 and config.x < 2'),
    ('tags in ["a"] and tags in ["b"]', 'tags in ["a"] and tags in ["b"]'),
    ('state == "running" and state =~ "^R"', 'state == "running" and state =~ "^R"'),
    ('config.f not in [true] and config.f != true', 'config.f not in [true]'),
    # tautologies: TRUE for every run
    ('config.x is null or config.x is not null', 'true'),
    ('config.y == 1 or config.x is null or config.x is not null', 'true'),
    ('not config.x in []', 'true'),
    ('not (config.x is null and config.x is not null)', 'true'),
    # group by and order by pass through
    ('config.x == 1 or config.x == 2 group by config.opt order by summary.acc desc',
     'config.x in [1, 2] group by config.opt order by summary.acc desc'),
    ('group by config.opt', 'group by config.opt'),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text for text, _ in CASES])
def test_normal_form(text: str, expected: str) -> None:
    normal = wsquery.normalize(text)
    assert str(normal) == expected
    assert wsquery.normalize(normal) == normal
    assert wsquery.parse(expected) == normal


def test_a_query_already_normal_comes_back_as_itself() -> None:
    query = wsquery.parse('config.a == 1 and (config.b == 2 or name =~ "^s") order by step')
    assert wsquery.normalize(query) is query
    empty = Query(group_by=(Field("config", ("opt",)),))
    assert wsquery.normalize(empty) is empty


def test_spans_of_surviving_and_rewritten_nodes() -> None:
    text = "not (config.a == 1 and config.b < 2)"
    query = wsquery.parse(text)
    normal = wsquery.normalize(query).filter
    assert isinstance(normal, Or)
    assert query.filter is not None and normal.span == query.filter.span  # the not's span
    first, second = normal.operands
    assert (str(first), first.span) == ("config.a != 1", (5, 18))
    assert (str(second), second.span) == ("config.b >= 2", (23, 35))

    text = "config.x == 1 or config.y == 2 or config.x == 3"
    merged, kept = wsquery.normalize(text).filter.operands  # type: ignore[union-attr]
    assert merged.span == (0, len(text))
    assert kept.span == (17, 30)

    text = 'config.y == 1 and (config.x == 1 and config.x == 2) group by config.y'
    folded = wsquery.normalize(text).filter
    assert folded == Constant(False)
    assert folded is not None and folded.span == (18, 51)
    assert text[18:51] == "(config.x == 1 and config.x == 2)"

    text = "config.x == 1 and false"
    folded = wsquery.normalize(text).filter
    assert folded is not None and folded.span == (18, 23)


def test_code_built_nodes_fold_without_spans() -> None:
    x = Field("config", ("x",))
    assert wsquery.normalize(Query(And(()))).filter == Constant(True)
    assert wsquery.normalize(Query(Or(()))).filter == Constant(False)
    assert wsquery.normalize(Query(And((Compare(x, "==", 1),)))).filter == Compare(x, "==", 1)
    normal = wsquery.normalize(Query(Not(Or((Compare(x, "==", 1), Compare(x, "==", 2))))))
    assert str(normal) == "config.x not in [1, 2]"
    assert normal.filter is not None and normal.filter.span is None


def test_deep_negation_and_wide_disjunction() -> None:
    assert str(wsquery.normalize("not " * 51 + "config.x < 1")) == "config.x >= 1"
    wide = " or ".join(f"config.x == {i}" for i in range(500))
    normal = wsquery.normalize(wide).filter
    assert isinstance(normal, In) and normal.values == tuple(range(500))


# Properties ------------------------------------------------------------------------------------

def _assert_normal_form(expr: Expr, top: bool = True) -> None:
    """Nots only in front of leaves, and/or flat with two or more operands, constants only as
    the whole filter."""
    match expr:
        case Constant():
            assert top, f"a constant inside the filter: {expr}"
        case Not():
            assert isinstance(expr.operand, In | Match | Contains | IsNull | Within), str(expr)
        case And() | Or():
            assert len(expr.operands) >= 2
            for operand in expr.operands:
                assert not isinstance(operand, type(expr)), f"not flat: {expr}"
                _assert_normal_form(operand, top=False)
        case Compare() | In() | Match() | Contains() | IsNull() | Within():
            pass


def _assert_same_runs(query: Query, normal: Query, runs: list[dict[str, Any]]) -> None:
    for run in runs:
        assert wsquery.matches(query, run, now=NOW) == wsquery.matches(normal, run, now=NOW), (
            f"{query} and its normal form {normal} disagree on {run}")


@PROPERTY
@given(strategies.queries, st.lists(strategies.runs, min_size=1, max_size=8))
def test_normalize_is_idempotent_and_selects_the_same_runs(
        query: Query, runs: list[dict[str, Any]]) -> None:
    normal = wsquery.normalize(query)
    assert wsquery.normalize(normal) == normal
    assert (normal.group_by, normal.order_by) == (query.group_by, query.order_by)
    if normal.filter is not None:
        _assert_normal_form(normal.filter)
    _assert_same_runs(query, normal, runs)


# Every literal on every field, including the ones validation refuses (null, booleans in
# ranges, dates that are not dates, mixed types in one list): normalize must stay exact there.
_FIELDS = st.sampled_from([*strategies.ALL_FIELDS, strategies.CREATED_AT,
                           Field("run", ("duration",))])
_LITERALS = st.sampled_from([0, 1, 2, 0.5, -1, 1.0, True, False, None, "a", "b", "", "adam",
                             "running", "RUNNING", "2024-01-01", "2024-01-01T00:00:00Z",
                             "not a date", Duration(1, "m"), 60])
_ANY_LEAF = st.one_of(
    st.builds(Compare, _FIELDS, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _LITERALS),
    st.builds(In, _FIELDS, st.lists(_LITERALS, max_size=3).map(tuple)),
    st.builds(Match, _FIELDS, st.sampled_from(["^a", "b$", "d", "2024", "^$"])),
    st.builds(Contains, _FIELDS, _LITERALS),
    st.builds(IsNull, _FIELDS),
    st.builds(Within, _FIELDS, st.sampled_from([Duration(1, "d"), Duration(2, "w")])),
)


@PROPERTY
@given(strategies.expressions(_ANY_LEAF, max_leaves=10),
       st.lists(strategies.runs, min_size=1, max_size=8))
def test_normalize_is_exact_for_any_literal(expr: Expr, runs: list[dict[str, Any]]) -> None:
    query = Query(expr, order_by=(OrderKey(Field("summary", ("acc",))),))
    normal = wsquery.normalize(query)
    assert wsquery.normalize(normal) == normal
    assert normal.filter is not None
    _assert_normal_form(normal.filter)
    _assert_same_runs(query, normal, runs)



# Shapes normalize takes as they are, without working them out (``_normal_fast``): and/or
# of comparisons and lists over few fields, nested one level, so fields and groups often repeat.
_FEW_FIELDS = st.sampled_from([Field("config", ("a",)), Field("config", ("b",)),
                               Field("summary", ("c",)), strategies.TAGS, strategies.STATE])
_PLAIN_LEAF = st.one_of(
    st.builds(Compare, _FEW_FIELDS, st.sampled_from(["==", "!=", "<", ">="]), _LITERALS),
    st.builds(In, _FEW_FIELDS, st.lists(_LITERALS, max_size=3).map(tuple)),
)


def _joined(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.builds(lambda kind, operands: kind(tuple(operands)), st.sampled_from([And, Or]),
                     st.lists(children, min_size=1, max_size=4))


@settings(PROPERTY, max_examples=500)
@given(st.one_of(_PLAIN_LEAF, _joined(_PLAIN_LEAF), _joined(st.one_of(_PLAIN_LEAF,
                                                                      _joined(_PLAIN_LEAF)))))
def test_what_normalize_takes_as_it_is_is_its_own_normal_form(expr: Expr) -> None:
    """The fast path gives None, or exactly what the general path gives: where it takes a
    filter, working the normal form out gives back the very same node."""
    from wsquery.semantics import normalize as _normalize

    fast = _normalize._normal_fast(expr)
    if fast is not None:
        assert fast is expr
        assert _normalize._normal(expr, False, None).expr is expr
        assert wsquery.normalize(Query(expr)).filter is expr


def test_the_common_shapes_are_taken_as_they_are() -> None:
    from wsquery.semantics import normalize as _normalize

    for text in ['config.a == 1', 'tags in ["a", "b"]', 'config.a == 1 and summary.b < 2',
                 'config.a == 1 and summary.b in [1, 2] or config.a == 2 and summary.c > 1']:
        assert _normalize._normal_fast(wsquery.parse(text).filter) is not None, text  # type: ignore[arg-type]
    for text in ['config.a == 1 and config.a == 2', 'config.a in [1, 1]', 'config.a in []',
                 'not config.a == 1', '(config.a == 1 or config.b == 1) and (config.b == 1 or '
                 'config.a == 1)', 'config.a == 1 and (config.b == 1 and config.c == 1)']:
        assert _normalize._normal_fast(wsquery.parse(text).filter) is None, text  # type: ignore[arg-type]
