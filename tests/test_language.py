"""The language as data (tests/cases/language.json) and its parsing properties."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery import QuerySyntaxError, QueryValidationError, WsqueryError
from wsquery.ast import Compare, Field, Query

from .strategies import queries

CASES = json.loads((Path(__file__).parent / "cases" / "language.json").read_text("utf-8"))
VALID = [c for c in CASES if "canonical" in c]
ERRORS = [c for c in CASES if "error" in c]


def test_the_case_file_is_large_enough() -> None:
    assert len(CASES) >= 150
    assert len(ERRORS) >= 40


@pytest.mark.parametrize("case", VALID, ids=[c["query"] for c in VALID])
def test_valid_query_prints_canonically(case: dict[str, str]) -> None:
    query = wsquery.parse(case["query"])
    assert str(query) == case["canonical"]
    assert wsquery.parse(str(query)) == query
    assert str(wsquery.parse(case["canonical"])) == case["canonical"]


@pytest.mark.parametrize("case", ERRORS, ids=[c["query"] for c in ERRORS])
def test_error_message_is_exact(case: dict[str, str]) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        wsquery.parse(case["query"])
    assert str(caught.value) == case["error"]
    start, end = caught.value.span
    assert 0 <= start <= end <= len(case["query"])


def test_syntax_error_attributes() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        wsquery.parse("summary.val_loss < 0.1 and\n  config.lr >")
    error = caught.value
    assert (error.line, error.column) == (2, 14)
    assert error.span == (40, 40)
    assert error.expected == ("a value",)
    assert error.hint is None
    assert not isinstance(error, QueryValidationError)


def test_validation_error_collects_every_problem() -> None:
    with pytest.raises(QueryValidationError) as caught:
        wsquery.parse('stat == "x" and state == "finshed" or runtime > "slow"')
    messages = [p.message for p in caught.value.problems]
    assert messages == ["unknown field 'stat'", 'state is never "finshed"',
                        'runtime is a number, not "slow"']
    assert caught.value.hint is not None and "state" in caught.value.hint


def test_field_keys_and_aliases() -> None:
    query = wsquery.parse('summary_metrics.`val loss`.ema < 1 and config.`a.b` == 2')
    assert query.filter is not None
    first, second = query.filter.operands  # type: ignore[union-attr]
    assert first.field == Field("summary", ("val loss", "ema"))
    assert first.field.key == "val loss.ema"
    assert second.field.key == "a.b"


def test_literal_on_the_left_flips_the_operator() -> None:
    assert wsquery.parse("0.1 > summary.x") == wsquery.parse("summary.x < 0.1")


def test_spans_point_into_the_source() -> None:
    text = 'config.a == 1 and name =~ "^s"'
    query = wsquery.parse(text)
    assert query.filter is not None
    spans = [text[slice(*o.span)] for o in query.filter.operands]  # type: ignore[union-attr]
    assert spans == ["config.a == 1", 'name =~ "^s"']


def test_spans_take_no_part_in_equality() -> None:
    assert Compare(Field("config", ("a",)), "==", 1, span=(0, 5)) == Compare(
        Field("config", ("a",)), "==", 1)


def test_parse_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        wsquery.parse(b"config.a == 1")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_round_trip_of_generated_queries(query: Query) -> None:
    text = str(query)
    assert wsquery.parse(text) == query
    assert str(wsquery.parse(text)) == text


_fragments = st.sampled_from([
    "config.a", "summary.b", "name", "tags", "state", "created_at", "runtime", "==", "<", ">=",
    "!=", "=~", "in", "not", "and", "or", "(", ")", "[", "]", ",", "1", "-2.5e3", '"x"', "'y'",
    "true", "null", "is", "between", "contains", "within", "last", "3d", "group by",
    "order by", "desc", "`q r`", "\\", "\n", "@", "é", "\x00", "😀",
])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_fragments, max_size=14).map(" ".join)))
def test_any_string_parses_or_raises_a_pointed_syntax_error(text: str) -> None:
    try:
        query = wsquery.parse(text)
    except QuerySyntaxError as error:
        start, end = error.span
        assert 0 <= start <= end <= len(text)
        assert str(error)
    else:
        assert wsquery.parse(str(query)) == query


def test_deep_parentheses_give_a_result() -> None:
    depth = 10_000
    query = wsquery.parse("(" * depth + "config.a == 1" + ")" * depth)
    assert str(query) == "config.a == 1"


def test_deep_nesting_gives_a_clear_error_not_recursion() -> None:
    text = "not (" * 10_000 + "config.a == 1" + ")" * 10_000
    with pytest.raises(QueryValidationError) as caught:
        wsquery.parse(text)
    assert caught.value.message == "conditions nest deeper than 100 levels"


def test_long_negation_chain_is_refused() -> None:
    with pytest.raises(QueryValidationError, match="nest deeper than 100"):
        wsquery.parse("not " * 5_000 + "config.a == 1")


def test_megabyte_inputs_end_in_a_result_or_error() -> None:
    wide = " or ".join(f"config.a == {i}" for i in range(60_000))
    assert len(wide) > 1_000_000
    query = wsquery.parse(wide)
    assert len(query.filter.operands) == 60_000  # type: ignore[union-attr]
    with pytest.raises(QuerySyntaxError):
        wsquery.parse("config.a == " + "1" * 1_000_000 + " and")
    assert sys.getrecursionlimit() >= 1000


def test_errors_never_leak_lark() -> None:
    for text in ["\x00", "config.a == 1 ]", "[", "config.a in [1 2]", "`", "'\\"]:
        with pytest.raises(WsqueryError) as caught:
            wsquery.parse(text)
        assert type(caught.value).__module__ == "wsquery.errors"
