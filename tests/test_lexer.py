"""The Pygments lexer: every part of a query gets its token type, and nothing valid is an error."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.token import (
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
    _TokenType,
)

from wsquery import parse
from wsquery.syntax.lexer import WsqueryLexer

from .strategies import queries

RICH = ('summary.val_loss < 0.1 AND name =~ "^s\\d" and not config.`lr.x`.in >= -1e-3 '
        'or tags contains "a" && \'b\' in tags || created_at within last 90s '
        "and runtime between 5 m and 2 hours and state in [\"finished\", 'crashed'] "
        "and config.x is not null and ! summary.y != false "
        "group by config.opt order BY summary.acc desc, step asc")


def _tokens(text: str) -> list[tuple[_TokenType, str]]:
    return [(token, value) for token, value in WsqueryLexer().get_tokens(text)
            if token is not Whitespace]


def test_rich_query_is_classified_part_by_part() -> None:
    parse(RICH)  # the sample is a real query
    field = [(Name.Namespace, "summary"), (Punctuation, ".")]
    assert _tokens(RICH) == [
        *field, (Name.Attribute, "val_loss"), (Operator, "<"), (Number.Float, "0.1"),
        (Operator.Word, "AND"),
        (Name.Builtin, "name"), (Operator, "=~"), (String.Double, '"'), (String.Double, "^s"),
        (String.Escape, "\\d"), (String.Double, '"'),
        (Operator.Word, "and"), (Operator.Word, "not"),
        (Name.Namespace, "config"), (Punctuation, "."), (Name.Attribute, "`lr.x`"),
        (Punctuation, "."), (Name.Attribute, "in"), (Operator, ">="), (Number.Float, "-1e-3"),
        (Operator.Word, "or"),
        (Name.Builtin, "tags"), (Keyword, "contains"), (String.Double, '"'),
        (String.Double, "a"), (String.Double, '"'),
        (Operator, "&&"),
        (String.Single, "'"), (String.Single, "b"), (String.Single, "'"), (Keyword, "in"),
        (Name.Builtin, "tags"),
        (Operator, "||"),
        (Name.Builtin, "created_at"), (Keyword, "within"), (Keyword, "last"),
        (Number.Duration, "90s"),
        (Operator.Word, "and"),
        (Name.Builtin, "runtime"), (Keyword, "between"), (Number.Duration, "5"),
        (Number.Duration, "m"), (Operator.Word, "and"), (Number.Duration, "2"),
        (Number.Duration, "hours"),
        (Operator.Word, "and"),
        (Name.Builtin, "state"), (Keyword, "in"), (Punctuation, "["), (String.Double, '"'),
        (String.Double, "finished"), (String.Double, '"'), (Punctuation, ","),
        (String.Single, "'"), (String.Single, "crashed"), (String.Single, "'"),
        (Punctuation, "]"),
        (Operator.Word, "and"),
        (Name.Namespace, "config"), (Punctuation, "."), (Name.Attribute, "x"),
        (Keyword, "is"), (Operator.Word, "not"), (Keyword.Constant, "null"),
        (Operator.Word, "and"), (Operator, "!"),
        *field, (Name.Attribute, "y"), (Operator, "!="), (Keyword.Constant, "false"),
        (Keyword, "group by"), (Name.Namespace, "config"), (Punctuation, "."),
        (Name.Attribute, "opt"),
        (Keyword, "order BY"), *field, (Name.Attribute, "acc"), (Keyword, "desc"),
        (Punctuation, ","), (Name.Builtin, "step"), (Keyword, "asc"),
    ]


def test_keywords_are_whole_words() -> None:
    assert _tokens("android") == [(Name, "android")]
    assert _tokens("config.and == 1")[:3] == [
        (Name.Namespace, "config"), (Punctuation, "."), (Name.Attribute, "and")]
    assert _tokens("summary_metrics.or_not") == [
        (Name.Namespace, "summary_metrics"), (Punctuation, "."), (Name.Attribute, "or_not")]
    assert _tokens("configured") == [(Name, "configured")]


def test_numbers_and_durations() -> None:
    assert _tokens("1 2.5 .5 1e3 90s 1.5H 3 days") == [
        (Number.Integer, "1"), (Number.Float, "2.5"), (Number.Float, ".5"),
        (Number.Float, "1e3"), (Number.Duration, "90s"), (Number.Duration, "1.5H"),
        (Number.Duration, "3"), (Number.Duration, "days")]


def test_only_what_no_query_holds_is_an_error() -> None:
    assert (Error, "@") in _tokens("config.a @ 1")
    assert any(token is Error for token, _ in _tokens('name == "open\nconfig.a == 1'))


def test_tokens_cover_the_text() -> None:
    text = 'config.`a b`.c in [1, "x"]'
    assert "".join(value for _, value in WsqueryLexer().get_tokens(text)) == text + "\n"


@settings(max_examples=200, deadline=None)
@given(queries)
def test_canonical_text_has_no_error_tokens(query: Any) -> None:
    text = str(query)
    assert [value for token, value in _tokens(text) if token is Error] == []


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_characters="\r"), max_size=60))
def test_any_text_lexes_to_itself(text: str) -> None:
    """Every character lands in some token (Pygments itself turns carriage returns into
    newlines before lexing, hence none here)."""
    tokens = WsqueryLexer(stripnl=False, ensurenl=False).get_tokens(text)
    assert "".join(value for _, value in tokens) == text
