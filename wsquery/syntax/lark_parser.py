"""Query text -> AST through lark's own LALR parser and its public API only: the fallback for
when lark's tables cannot be read as ``lalr`` expects.

Apart from the driver because it relies on nothing of lark's insides: it parses with
``Lark.parse`` and ``Lark.parse_interactive`` and turns the parse tree into nodes with the
builder the driver uses (``tree._Build``), so both give the same query, spans included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from wsquery.syntax.fast_lexer import _Terminal
from wsquery.syntax.tree import _Build

if TYPE_CHECKING:
    from lark import Lark, Token, Transformer_NonRecursive
    from lark.parsers.lalr_interactive_parser import InteractiveParser


class _LarkParser:
    """Lark's own LALR parser, through its public API only: what parses when lark's tables
    cannot be read (see ``parser._driver``). It builds the same AST with the same ``_Build``
    methods, called in the order the driver calls them (the parse tree's nodes bottom-up, left to
    right, and never recursively), each terminal given as a match like the driver's. It has
    no predicate fast path."""

    def __init__(self, lark: Lark) -> None:
        self.lark = lark

    def parse(self, text: str, build: _Build) -> Any:
        """The ``Query`` built, or ``None`` when lark must explain an error."""
        from lark.exceptions import UnexpectedInput

        try:
            tree = self.lark.parse(text)
        except UnexpectedInput:
            return None
        return _tree_builder()(text, build).transform(tree)

    def prefix(self, text: str) -> _LarkPrefix | None:
        """Where lark's parser stands after the terminals of ``text`` (see ``parser.prefix``)."""
        from lark.exceptions import UnexpectedInput

        try:
            parser = self.lark.parse_interactive(text)
            tokens = parser.exhaust_lexer()
        except UnexpectedInput:
            return None
        return _LarkPrefix(parser, tuple(
            (token.type, token.start_pos or 0, token.end_pos or 0) for token in tokens))


class _LarkPrefix:
    """A prefix as lark's interactive parser reads it (``parser.Prefix``)."""

    __slots__ = ("parser", "tokens")

    def __init__(self, parser: InteractiveParser, tokens: tuple[tuple[str, int, int], ...]
                 ) -> None:
        self.parser = parser
        self.tokens = tokens

    def accepts(self) -> frozenset[str]:
        return frozenset(self.parser.accepts())  # type: ignore[no-untyped-call]

    def after(self, terminal: str) -> _LarkPrefix | None:
        from lark import Token
        from lark.exceptions import UnexpectedInput

        parser = self.parser.copy(deepcopy_values=False)  # type: ignore[no-untyped-call]
        try:
            parser.feed_token(Token(terminal, ""))
        except UnexpectedInput:
            return None
        return _LarkPrefix(parser, self.tokens)


@cache
def _tree_builder() -> Callable[[str, _Build], Transformer_NonRecursive[Token, Any]]:
    """A transformer of lark's parse tree of ``text`` that reduces each rule by the ``_Build``
    method of its name or alias and turns each token into a match as the driver lexes it."""
    from lark import Token, Transformer_NonRecursive

    class TreeBuilder(Transformer_NonRecursive[Token, Any]):
        def __init__(self, text: str, build: _Build) -> None:
            super().__init__()
            self.source = text
            self.rules = build

        def __default__(self, data: str, children: list[Any], meta: Any) -> Any:
            return getattr(self.rules, data)(*children)

        def __default_token__(self, token: Token) -> _Terminal | None:
            """The token as a match of a group named for its terminal and spanning its text."""
            return re.compile(f"(?P<{token.type}>(?s:.*))").match(
                self.source, token.start_pos or 0, token.end_pos or 0)

    return TreeBuilder
