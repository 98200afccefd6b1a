"""The keywords read off the grammar: the one list the lexer, the REPL, completion and the
syntax errors use."""

from __future__ import annotations

import re

import pytest
from pygments.token import Keyword, Operator

from wsquery.syntax import parser
from wsquery.syntax.diagnostics import _describe_expected
from wsquery.syntax.grammar import grammar_path, keywords, read_text
from wsquery.syntax.lexer import WsqueryLexer


def test_every_keyword_terminal_is_read() -> None:
    assert keywords() == {
        "GROUP_BY": "group by", "ORDER_BY": "order by", "OR": "or", "AND": "and",
        "NOT": "not", "IN": "in", "BETWEEN": "between", "CONTAINS": "contains", "IS": "is",
        "NULL": "null", "TRUE": "true", "FALSE": "false", "WITHIN": "within", "LAST": "last",
        "ASC": "asc", "DESC": "desc", "LIMIT": "limit"}


def test_a_name_is_never_a_one_word_keyword() -> None:
    """NAME's lookahead in the grammar lists the words it may not be: exactly the keywords."""
    excluded = re.search(r"^NAME: /\(\?!\(\?i:([\w|]+)\)", read_text(grammar_path()), re.M)
    assert excluded is not None
    one_word = {words for words in keywords().values() if " " not in words}
    assert set(excluded.group(1).split("|")) == one_word


@pytest.mark.parametrize("words", sorted(keywords().values()))
def test_the_lexer_highlights_every_keyword(words: str) -> None:
    tokens = [(kind, text) for kind, text in WsqueryLexer().get_tokens(words.upper())
              if text.strip()]
    assert len(tokens) == 1, tokens
    kind, _ = tokens[0]
    assert kind in Keyword or kind in Operator, tokens


def test_syntax_errors_name_every_terminal_in_words() -> None:
    """A terminal the grammar adds is described, never shown by its name (``GROUP_BY``); a
    keyword as its words in quotes."""
    lark = parser._lark()
    for terminal in lark.terminals:
        if terminal.name in lark.ignore_tokens:
            continue
        described = _describe_expected({terminal.name})
        assert terminal.name not in described
        if terminal.name in keywords():
            assert f"'{keywords()[terminal.name]}'" in described
