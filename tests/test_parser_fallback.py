"""When lark's LALR tables cannot be read, lark's own parser parses (``parser_module._LarkParser``):
every language case gives the same query, spans included, or the same error, either way; and
when the tables read fine, the driver over them is what parses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsquery import QuerySyntaxError, QueryValidationError
from wsquery.syntax import parser as parser_module

from .strategies import queries
from .test_fuzz import mutated_queries, token_soup

CASES = json.loads((Path(__file__).parent / "cases" / "language.json").read_text("utf-8"))
VALID = [c for c in CASES if "canonical" in c]
ERRORS = [c for c in CASES if "error" in c]


def _unreadable(lark: Any) -> Any:
    raise AttributeError("'Lark' object has no attribute 'parser'")


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No kept tables, and the parser chosen anew on first use (and again after)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parser_module._driver.cache_clear()
    yield
    parser_module._driver.cache_clear()


@pytest.fixture(scope="module")
def fallback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The parser ``_driver`` chooses when reading lark's tables fails."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(parser_module, "_tables", _unreadable)
        parser_module._driver.cache_clear()
        chosen = parser_module._driver()
    parser_module._driver.cache_clear()
    assert isinstance(chosen, parser_module._LarkParser)
    yield chosen


def _with_spans(value: Any) -> Any:
    """A node as nested tuples that include every span (spans take no part in equality)."""
    if attrs.has(type(value)):
        return (type(value).__name__, *(
            _with_spans(getattr(value, field.name)) for field in attrs.fields(type(value))))
    if isinstance(value, tuple):
        return tuple(_with_spans(item) for item in value)
    return value


def _through(parser: Any, text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The query ``parser`` gives for ``text`` through ``parser_module.parse``, or its error."""
    with monkeypatch.context() as patch:
        patch.setattr(parser_module, "_driver", lambda: parser)
        try:
            return parser_module.parse(text)
        except QuerySyntaxError as error:
            return error


@pytest.mark.parametrize("case", VALID, ids=[c["query"] for c in VALID])
def test_valid_cases_build_the_same_query(case: dict[str, str], fallback: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    normal = parser_module.parse(case["query"])
    query = _through(fallback, case["query"], monkeypatch)
    assert query == normal
    assert _with_spans(query) == _with_spans(normal)
    assert _with_spans(query.filter) == _with_spans(normal.filter)
    assert str(query) == str(normal) == case["canonical"]


@pytest.mark.parametrize("case", ERRORS, ids=[c["query"] for c in ERRORS])
def test_error_cases_give_the_same_error(case: dict[str, str], fallback: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(QuerySyntaxError) as normal:
        parser_module.parse(case["query"])
    error = _through(fallback, case["query"], monkeypatch)
    assert type(error) is type(normal.value)
    assert str(error) == str(normal.value) == case["error"]
    assert error.problems == normal.value.problems


def test_every_case_is_run() -> None:
    assert len(VALID) + len(ERRORS) == len(CASES)


def _outcome(parser: Any, text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    result = _through(parser, text, monkeypatch)
    if isinstance(result, QuerySyntaxError):
        return type(result).__name__, str(result), result.problems
    return _with_spans(result)


@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.one_of(queries.map(str), mutated_queries(), token_soup))
def test_any_text_gives_the_same_outcome(text: str, fallback: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _outcome(parser_module._driver(), text, monkeypatch)
    assert _outcome(fallback, text, monkeypatch) == expected


def test_deep_and_wide_queries_need_no_recursion(fallback: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "(" * 10_000 + "config.a == 1" + ")" * 10_000
    assert str(_through(fallback, deep, monkeypatch)) == "config.a == 1"
    too_deep = _through(fallback, "not (" * 200 + "config.a == 1" + ")" * 200, monkeypatch)
    assert isinstance(too_deep, QueryValidationError)
    assert too_deep.message == "conditions nest deeper than 100 levels"
    wide = " or ".join(f"config.a == {i}" for i in range(2_000))
    assert _through(fallback, wide, monkeypatch) == parser_module.parse(wide)


def test_the_driver_parses_when_the_tables_read_fine(fresh: None) -> None:
    assert type(parser_module._driver()) is parser_module._Driver
    parser_module._driver.cache_clear()
    assert type(parser_module._driver()) is parser_module._Driver  # from the kept tables


def test_tables_that_cannot_be_read_choose_lark(fresh: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser_module, "_tables", _unreadable)
    assert type(parser_module._driver()) is parser_module._LarkParser
    parsed = parser_module.parse("config.a == 1 or name == 'x'")
    assert str(parsed) == 'config.a == 1 or name == "x"'


def test_tables_of_an_unexpected_shape_choose_lark(fresh: None, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables that read without an error but do not parse as lark does (here the driver gives
    up on valid text) are not used, nor kept for the next run."""
    read = parser_module._tables

    def shifted(lark: Any) -> dict[str, Any]:
        tables = read(lark)
        tables["rows"] = tables["rows"][1:] + tables["rows"][:1]
        return tables

    monkeypatch.setattr(parser_module, "_tables", shifted)
    assert type(parser_module._driver()) is parser_module._LarkParser
    assert not (tmp_path / "cache" / "wsquery").exists()
    assert str(parser_module.parse("config.a == 1")) == "config.a == 1"
