"""Query text -> ``Query``: the entry point, which picks the parser once and translates its
errors.

Two parsers build the same AST with the same builder (``tree._Build``), checking each leaf as
they build it: the driver over lark's LALR tables (``lalr``), whose tables are kept in the
user's cache directory under a key of the grammar's whole text, lark's version, Python's and
the source of the modules that make them, so a changed grammar always gets new ones; and, when
lark's tables cannot be read as expected, lark's own parser through its public API
(``lark_parser``). ``_driver`` decides once which of the two parses. Lark's exceptions never
leave the package: on an error lark re-runs the text, and what it raises becomes
``QuerySyntaxError`` with the position, what was expected and a hint (``diagnostics``).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from wsquery.ast import Query
from wsquery.errors import QuerySyntaxError, QueryValidationError
from wsquery.syntax.diagnostics import OPERATORS as OPERATORS
from wsquery.syntax.diagnostics import _syntax_problem
from wsquery.syntax.diagnostics import spelling as spelling
from wsquery.syntax.grammar import grammar_path, read_text
from wsquery.syntax.lalr import (
    _Driver,
    _keep,
    _lark_version,
    _source_stamp,
    _tables,
    _tables_path,
)
from wsquery.syntax.lark_parser import _LarkParser
from wsquery.syntax.lark_parser import _LarkPrefix as _LarkPrefix  # the fallback's prefixes
from wsquery.syntax.tree import _TOO_DEEP, _Build

if TYPE_CHECKING:
    from lark import Lark


@cache
def _lark() -> Lark:
    """Lark's LALR parser: it makes the driver's tables, and it explains syntax errors."""
    from lark import Lark

    grammar = read_text(grammar_path())
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


@cache
def _driver() -> _Driver | _LarkParser:
    """The parser every parse uses, chosen here once: the driver over lark's LALR tables (those
    of the last run when lark and the grammar are the same), or lark's own parser through its
    public API when lark's tables cannot be read as ``lalr`` expects them (reading them
    fails, or a driver made from them does not parse ``_PROBE`` exactly as lark does)."""
    key = _tables_key()
    keeps = None not in key.values()
    path = _tables_path(key)
    if keeps:
        try:
            kept = json.loads(read_text(path))
            if kept["key"] == key:
                return _Driver(kept["tables"])
        except (OSError, ValueError, LookupError, TypeError):
            pass
    lark = _lark()
    fallback = _LarkParser(lark)
    expected = _probe(fallback)
    try:
        tables = _tables(lark)
        driver = _Driver(tables)
        if _probe(driver) != expected or driver.parse(_NO_QUERY, _Build()) is not None:
            return fallback
    except Exception:  # lark's insides are not what ``lalr`` reads
        return fallback
    if keeps:
        _keep(path, {"key": key, "tables": tables})
    return driver


#: A query using every rule of the grammar (with one problem, ``== null``), and a text that is
#: no query: a driver must build the first exactly as lark's parser does, and give up on the
#: second.
_PROBE = ('not (config.lr >= 1e-3 or 2 < summary.acc <= 3 or false) and name =~ "^a" '
          'and tags contains "t" and "x" not in tags and state in ["running", "finished",] '
          "and config.b between 1 and 2 and summary.c is not null and config.d is null "
          "and 0.5 > summary.e and config.f not in [] and config.g == 1 and true "
          """and "y" in tags and config.h != false and config.n == null and runtime < 2h """
          "and created_at within last 3 days and runtime > 5 m "
          "group by config.a, name order by summary.acc desc, name asc, config.a limit 5")
_NO_QUERY = "config.a == 1 and (summary.b <"


def _probe(parser: _Driver | _LarkParser) -> tuple[Any, ...]:
    """What ``parser`` builds of ``_PROBE``: every field of every node, spans included, and
    the problems met."""
    build = _Build()
    query = parser.parse(_PROBE, build)
    if not isinstance(query, Query):
        return (query,)
    return attrs.astuple(query), build.problems, build.checks


def _tables_key() -> dict[str, Any]:
    """What the tables depend on: the grammar, lark's version, Python's (lark orders
    terminals by widths Python's regex parser reports) and the modules that make them from
    lark's (``lalr._source_stamp``). A part that cannot be told is None, and then no tables
    are kept."""
    return {"grammar": read_text(grammar_path()), "lark": _lark_version(),
            "python": list(sys.version_info[:3]), "maker": _source_stamp()}


def parse(text: str) -> Query:
    """Parse query text into a ``Query``; raise ``QuerySyntaxError`` (or its subclass
    ``QueryValidationError``) pointing at the exact place when it is not a valid query."""
    if not isinstance(text, str):
        raise TypeError(f"parse() takes query text, not {type(text).__name__}")
    build = _Build()
    query = _driver().parse(text, build)
    if query is None:
        from lark.exceptions import UnexpectedInput

        try:
            _lark().parse(text)  # raises the error the driver met, with lark's details
        except UnexpectedInput as error:
            raise QuerySyntaxError(text, [_syntax_problem(text, error)]) from None
        raise AssertionError(f"wsquery and lark disagree on {text!r}")
    problems = build.problems
    if not problems:
        problems = build.checks
    elif not any(p.message == _TOO_DEEP for p in problems):  # too deep says it all then
        problems += build.checks
    if problems:
        raise QueryValidationError(text, sorted(problems, key=lambda p: p.span))
    return query  # type: ignore[no-any-return]


class Prefix(Protocol):
    """Where the parser stands after the start of a query: what completion asks of the grammar.
    Terminals are named as in the grammar (``FIELD``, ``OP``, ``GROUP_BY``, ``$END``)."""

    #: The terminals read: name, start and end offsets.
    tokens: tuple[tuple[str, int, int], ...]

    def accepts(self) -> frozenset[str]:
        """The terminals the grammar takes next (``$END``: the text is a whole query)."""

    def after(self, terminal: str) -> Prefix | None:
        """Where the parser stands after ``terminal`` too; None when it does not take it."""


def prefix(text: str) -> Prefix | None:
    """The parser's state after the terminals of ``text``, the start of a query (up to a
    cursor, say); None when no query starts with them. Only syntax: no leaf is checked."""
    return _driver().prefix(text)

