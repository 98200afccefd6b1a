"""Query text -> Pygments tokens: the ``wsquery`` lexer for highlighting (REPL, docs, editors).

Installed as a Pygments plugin (entry point group ``pygments.lexers``), so ``pygmentize -l
wsquery`` and Sphinx ``code-block:: wsquery`` find it. It follows grammar/wsquery.lark:
keywords are whole words in any case, a field segment may be spelt like a keyword
(``config.in``), and only characters no query can hold are ``Error`` tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from pygments.lexer import RegexLexer, bygroups, default
from pygments.token import (
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from wsquery.ast import BARE_NAMES
from wsquery.syntax.grammar import keywords

_SEGMENT = r"[^\W\d][\w\-/]*"
_DECIMAL = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT_WORDS = (r"(?i:seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)"
               r"\b")

#: A duration written as one word (``90s``) or as a number and a unit word (``5 days``).
Duration = Number.Duration


#: Keyword terminals of the grammar shown as word operators and as constants; every other
#: keyword of the grammar shows as a keyword.
_WORD_OPERATORS = ("AND", "OR", "NOT")
_CONSTANTS = ("TRUE", "FALSE", "NULL")


def _keywords(terminals: Iterable[str]) -> str:
    words = [keywords()[terminal].replace(" ", r"\s+") for terminal in terminals]
    return r"\b(?i:" + "|".join(words) + r")\b"


_OTHER_KEYWORDS = [terminal for terminal in keywords()
                   if terminal not in (*_WORD_OPERATORS, *_CONSTANTS)]


class WsqueryLexer(RegexLexer):
    """Lexer for wsquery, the query language for the runs a W&B workspace shows."""

    name = "wsquery"
    aliases: ClassVar[list[str]] = ["wsquery"]
    filenames: ClassVar[list[str]] = ["*.wsq"]
    mimetypes: ClassVar[list[str]] = ["text/x-wsquery"]
    url = "https://pypi.org/project/wsquery/"

    tokens: ClassVar[dict[str, list[Any]]] = {
        "root": [
            (r"\s+", Whitespace),
            (_keywords(_WORD_OPERATORS), Operator.Word),
            (r"&&|\|\||!(?![=~])", Operator),
            (_keywords(_OTHER_KEYWORDS), Keyword),
            (_keywords(_CONSTANTS), Keyword.Constant),
            (r"(config|summary_metrics|summary|run)(\.)(?=[^\W\d]|`)",
             bygroups(Name.Namespace, Punctuation), "segment"),  # type: ignore[no-untyped-call]
            (r"(?i)\b(?:" + "|".join(BARE_NAMES) + r")\b", Name.Builtin),
            (_DECIMAL + r"(?i:[smhdw])\b", Duration),
            (r"([+-]?" + _DECIMAL + r")(\s+)(" + _UNIT_WORDS + ")",
             bygroups(Duration, Whitespace, Duration)),  # type: ignore[no-untyped-call]
            (r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.])", Number.Float),
            (r"[+-]?\d+[eE][+-]?\d+(?![\w.])", Number.Float),
            (r"[+-]?\d+(?![\w.])", Number.Integer),
            (r'"', String.Double, "double"),
            (r"'", String.Single, "single"),
            (r"==|=~|!=|!~|<=|>=|=|<|>", Operator),
            (r"[()\[\],]", Punctuation),
            (r"[^\W\d]\w*", Name),
        ],
        "segment": [
            (_SEGMENT, Name.Attribute, ("#pop", "more")),
            (r"`[^`\n]+`", Name.Attribute, ("#pop", "more")),
            default("#pop"),
        ],
        "more": [
            (r"\.(?=[^\W\d]|`)", Punctuation, ("#pop", "segment")),
            default("#pop"),
        ],
        "double": [
            (r'[^"\\\n]+', String.Double),
            (r"\\.", String.Escape),
            (r'"', String.Double, "#pop"),
            (r"\n", Error, "#pop"),
        ],
        "single": [
            (r"[^'\\\n]+", String.Single),
            (r"\\.", String.Escape),
            (r"'", String.Single, "#pop"),
            (r"\n", Error, "#pop"),
        ],
    }
