"""The parser lexes the commonest predicates, with the terminal after them, in one match
(``parser_module._predicate_lexer``). That is a shortcut and nothing more: with it and without it,
every text parses to the same query, spans included, or fails with the same problems."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsquery import QuerySyntaxError
from wsquery.syntax import parser as parser_module

from .strategies import queries
from .test_fuzz import mutated_queries, token_soup

CASES = json.loads((Path(__file__).parent / "cases" / "language.json").read_text("utf-8"))


def _without_shortcut() -> parser_module._Driver:
    driver = copy.copy(parser_module._driver())
    driver.predicate_gotos = [None] * len(driver.predicate_gotos)
    return driver


def _with_spans(value: Any) -> Any:
    """A node as nested tuples that include every span (spans take no part in equality)."""
    if attrs.has(type(value)):
        return (type(value).__name__, *(
            _with_spans(getattr(value, field.name)) for field in attrs.fields(type(value))))
    if isinstance(value, tuple):
        return tuple(_with_spans(item) for item in value)
    return value


def _outcome(text: str) -> Any:
    try:
        return _with_spans(parser_module.parse(text))
    except QuerySyntaxError as error:
        return type(error).__name__, str(error)


def assert_same_either_way(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shortcut = _outcome(text)
    with monkeypatch.context() as patch:
        slow = _without_shortcut()
        patch.setattr(parser_module, "_driver", lambda: slow)
        assert _outcome(text) == shortcut, text


def test_the_shortcut_is_taken() -> None:
    """Without it the parser would still pass every test: make sure it is there at all."""
    driver = parser_module._driver()
    assert sum(goto is not None for goto in driver.predicate_gotos) >= 3
    match = driver.lex_predicate('config.lr >= 0.1 and x', 0)
    assert match is not None and match.end() == len("config.lr >= 0.1 and ")
    assert driver.lex_predicate('tags not in ["a", 1,] )', 0) is not None


@pytest.mark.parametrize("case", CASES, ids=[case["query"] for case in CASES])
def test_language_cases(case: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_either_way(case["query"], monkeypatch)


#: Pieces of predicates and what joins them: valid ones, then odd ones.
FIELDS = (["config.lr", "summary.acc", "config.`a b`", "config.a-b/c", "summary_metrics.x"],
          ["state", "name", "tags", "run.commit", "days", "m", "group", "order", "nope",
           "config", "NOT", "Null"])
COMPARISONS = (["==", "=", "!=", "<", "<=", ">", ">="],
               ["1", "-2.5", "+3", ".5", "1.", "1e5", "1E-3", '"x"', "'y'", '"a\\"b"',
                '"\\u00e9"', '""', "true", "FALSE"])
MEMBERSHIPS = (["in", "not in", "!in", "NOT  IN"],
               ['["a", 1]', "[1,]", "[ 1 , 2 ]", "[]", "['x' ,'y' , ]"])
ODD_OPS = ["=~", "!~", "contains", "is", "between", "==="]
ODD_VALUES = ["1e999", "5m", "5 m", "2 hours", "0x1", "trueish", "null", "[1 2]", "[true]",
              "[null]", "[5m]", "[", "1.5.5"]
JOINS = ([" and ", " AND ", "&&", " || ", " or ", "\nor\n"],
         ["", "or", "and", " orderby ", " andx ", " , ", " < 2 ", " not ", ")", "("])
SPACES = (["", " ", "  ", "\t", "\n"], ["\u3000", "\r\n", "\f"])


def piece(draw: st.DrawFn, valid: list[str], odd: list[str]) -> str:
    """Mostly a valid piece, at times an odd one."""
    return draw(st.sampled_from(odd if draw(st.integers(0, 19)) == 0 else valid))


@st.composite
def predicate_texts(draw: st.DrawFn) -> str:
    """Predicate-like pieces joined by and/or, in parentheses at random, spaced at random:
    mostly valid queries, some of them with an odd piece."""
    text, depth = draw(st.sampled_from(["", "", "not ", "1 < "])), 0
    for index in range(draw(st.integers(1, 5))):
        if index:
            text += piece(draw, *JOINS)
        if draw(st.booleans()):
            text, depth = text + "(", depth + 1
        ops, values = draw(st.sampled_from([COMPARISONS, MEMBERSHIPS]))
        text += piece(draw, *FIELDS) + piece(draw, *SPACES) + piece(draw, ops, ODD_OPS)
        text += piece(draw, *SPACES) + piece(draw, values, ODD_VALUES) + piece(draw, *SPACES)
        if depth and draw(st.booleans()):
            text, depth = text + ")", depth - 1
    text += ")" * depth
    return text + draw(st.sampled_from(["", " order by config.lr", " GROUP  BY name", " )"]))


def test_every_single_predicate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field, operator and value above, alone and followed by each join."""
    ops = [*COMPARISONS[0], *MEMBERSHIPS[0], *ODD_OPS]
    values = [*COMPARISONS[1], *MEMBERSHIPS[1], *ODD_VALUES]
    for field in [*FIELDS[0], *FIELDS[1]]:
        for op in ops:
            for value in values:
                assert_same_either_way(f"{field} {op} {value}", monkeypatch)
    for join in [*JOINS[0], *JOINS[1], *SPACES[1], " order by name", " group by name", ")"]:
        for value in values:
            assert_same_either_way(f"(config.lr == {value}{join} config.x == 1)", monkeypatch)
            assert_same_either_way(f"config.lr in [{value}]{join}summary.x != 1", monkeypatch)


def test_a_field_is_taken_whole_as_lark_takes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A field segment may end in ``-`` or ``/``, and a keyword may follow with no space:
    ``config.a-in [1]`` is the field ``config.a-in`` and then an error, never ``config.a-``
    in a list (the regex engine must not back into the field to make the rest match)."""
    for field in ["config.a-", "config.a/", "summary.x-", "run.x-", "config.a-b", "name"]:
        for op in ["in", "IN", "not in", "!in", "==", "!=", "and", "or", "is null"]:
            for value in ["[1]", "[]", "['s', 2,]", "1", '"s"', "true", ""]:
                for text in (f"{field}{op} {value}", f"{field}{op}{value}",
                             f"{field}{op} {value} and config.y == 2"):
                    assert_same_either_way(text, monkeypatch)


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(text=predicate_texts())
def test_predicate_like_text(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_either_way(text, monkeypatch)


@SETTINGS
@given(query=queries)
def test_printed_queries(query: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_either_way(str(query), monkeypatch)


@SETTINGS
@given(text=st.one_of(mutated_queries(), token_soup))
def test_mutated_and_random_text(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_either_way(text, monkeypatch)
