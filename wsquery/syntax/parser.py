"""Query text -> ``Query``: the lark LALR parser, its inline transformer and error translation.

A tight loop drives the LALR tables lark makes from ``grammar/wsquery.lark`` and builds AST
nodes as it reduces, so no parse tree is ever built, and checks each leaf as it builds it; the
commonest predicates are lexed in one match each (``_predicate_lexer``). The tables are made
once and kept in the user's cache directory for the next run, under a key of the grammar's
whole text, lark's version, Python's and this module's, so a changed grammar always gets new
ones. The tables are lark's insides: when they cannot be read as expected, lark's own
parser, through its public API, builds the same AST with the same methods (``_driver``
decides once which of the two parses). Lark's exceptions never leave this module: on an error
lark re-runs the text, and what it raises becomes ``QuerySyntaxError`` with the position,
what was expected and a hint.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import attrs

from wsquery.ast import (
    BARE_NAMES,
    LEAF_TYPES,
    RUN_ATTRIBUTES,
    RUN_KEY_ATTRIBUTES,
    TAGS_PATH,
    UI_RUN_NAMES,
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
    comparison,
    format_value,
    slot_constructor,
)
from wsquery.errors import Problem, QuerySyntaxError, QueryValidationError
from wsquery.syntax import validate as _validate
from wsquery.syntax.grammar import grammar_path, read_text
from wsquery.syntax.validate import MAX_DEPTH, UNCHECKED_LITERALS, UNTYPED_SECTIONS

if TYPE_CHECKING:
    from lark import Lark, Token, Transformer_NonRecursive
    from lark.exceptions import UnexpectedInput, UnexpectedToken
    from lark.parsers.lalr_interactive_parser import InteractiveParser

#: A terminal as the driver shifts it: the match of its regex (named group = terminal name),
#: trailing whitespace included, so ``start()`` is where it starts and ``_text`` its text.
_Terminal: TypeAlias = "re.Match[str]"

_TOO_DEEP = f"conditions nest deeper than {MAX_DEPTH} levels"

_SECTION_ALIASES = {"config": "config", "summary": "summary", "summary_metrics": "summary",
                    "run": "run"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_UNIT_WORDS = {"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
               "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
               "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
               "d": "d", "day": "d", "days": "d", "w": "w", "wk": "w", "wks": "w",
               "week": "w", "weeks": "w"}
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r", "b": "\b",
            "f": "\f", "/": "/"}

_new_field = slot_constructor(Field)
_new_compare = slot_constructor(Compare)
_new_in = slot_constructor(In)
_new_and = slot_constructor(And)
_new_or = slot_constructor(Or)
_new_not = slot_constructor(Not)
_new_query = slot_constructor(Query)
#: The nodes that nest nothing.
_LEAVES = frozenset(LEAF_TYPES)
#: Comparison operators as the AST spells them, and the literal types a comparison takes.
_ORDERING = frozenset({"==", "!=", "<", "<=", ">", ">="})
_SCALARS = frozenset({str, int, float, bool, Duration})
_INFINITE = (math.inf, -math.inf)
#: Field text -> (section, path), for the field names met so far (at most that many kept).
_KNOWN_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {}
_KNOWN_FIELDS_KEPT = 4096


#: A literal value and the span of its source text: ``(value, start, end)``, alive only
#: during a parse (a tuple: one is built for every literal).
_Literal: TypeAlias = "tuple[Any, int, int]"


class _Chain:
    """An and/or chain still open for more operands (``a or b or c`` builds one Or, not two)."""

    __slots__ = ("depth", "kind", "operands", "start")

    def __init__(self, kind: type[And] | type[Or], operands: list[Expr], start: int,
                 depth: int) -> None:
        self.kind = kind
        self.operands = operands
        self.start = start
        self.depth = depth


def _joiner(kind: type[And] | type[Or]) -> Callable[[_Build, Any, _Terminal, Any], _Chain]:
    """The ``_Build`` method of the and/or rule: ``left kind right`` as an open chain."""

    def join(build: _Build, left: Any, op: _Terminal, right: Any) -> _Chain:
        if type(right) in _LEAVES:  # most often: a leaf joins a chain, or starts one
            if type(left) is _Chain and left.kind is kind:
                left.operands.append(right)
                return left
            if type(left) in _LEAVES:
                return _Chain(kind, [left, right], left.span[0], 1)
        return build.chain(kind, left, right)

    return join


def _text(token: _Terminal) -> str:
    return token[token.lastindex]  # type: ignore[index]


def _end(token: _Terminal) -> int:
    return token.end(token.lastindex)  # type: ignore[arg-type]


def _end_of(item: Expr | _Chain) -> int:
    if isinstance(item, _Chain):
        return _end_of(item.operands[-1])
    return item.span[1]  # type: ignore[index]


class _Build:
    """One parse: builds AST nodes as the driver reduces, one method per rule alias, called with
    the rule's children (None where an optional part is absent, given by the method's defaults
    when the absent parts come last; see the grammar). It keeps the problems met while
    building, those of checking each leaf, and the nesting depth of every node that has one
    (leaves have none)."""

    __slots__ = ("checks", "depths", "problems")

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.checks: list[Problem] = []
        self.depths: dict[int, int] = {}

    def query(self, condition: Any = None, group_by: Any = None, order_by: Any = None,
              limit: int | None = None) -> Query:
        node = None if condition is None else self.close(condition)
        return _new_query(node, group_by or (), order_by or (), limit, None)

    or_ = _joiner(Or)
    and_ = _joiner(And)

    def chain(self, kind: type[And] | type[Or], left: Any, right: Any) -> _Chain:
        """Extend ``left``'s open chain with ``right`` (itself an open chain from a range)."""
        if type(left) is _Chain and left.kind is kind:
            chain = left
        else:
            left = self.close(left)
            chain = _Chain(kind, [left], left.span[0], self.depth(left) + 1)
        if type(right) in _LEAVES:  # a leaf nests nothing: the chain is as deep as it was
            chain.operands.append(right)
            return chain
        if type(right) is _Chain and right.kind is kind:
            chain.operands.extend(right.operands)
            depth = right.depth
        else:
            right = self.close(right)
            chain.operands.append(right)
            depth = self.depth(right) + 1
        if depth > chain.depth:
            chain.depth = depth
            if depth == MAX_DEPTH + 1:
                self.too_deep(chain.start, _end_of(right))
        return chain

    def close(self, item: Expr | _Chain) -> Expr:
        """Finish an open chain into its And/Or node; other nodes pass through."""
        if type(item) is not _Chain:
            return item  # type: ignore[return-value]
        new = _new_and if item.kind is And else _new_or
        node: Expr = new(tuple(item.operands), (item.start, item.operands[-1].span[1]))  # type: ignore[index]
        self.depths[id(node)] = item.depth
        return node

    def depth(self, node: Expr | _Chain) -> int:
        if type(node) is _Chain:
            return node.depth
        return self.depths.get(id(node), 0)

    def too_deep(self, start: int, end: int) -> None:
        self.problems.append(Problem(
            _TOO_DEEP, (start, end),
            hint="split the query, or flatten needless parentheses and double negations"))

    def not_(self, op: _Terminal, operand: Any) -> Not:
        inner = self.close(operand)
        start, end = op.start(), inner.span[1]  # type: ignore[index]
        node: Not = _new_not(inner, (start, end))
        depth = self.depth(inner) + 1
        self.depths[id(node)] = depth
        if depth == MAX_DEPTH + 1:
            self.too_deep(start, end)
        return node

    def group(self, lpar: _Terminal, inner: Any, rpar: _Terminal) -> Expr:
        """The parenthesized condition, its span widened to take in the parentheses (and so
        the span of a leaf's problems)."""
        node = self.close(inner)
        span = (lpar.start(), _end(rpar))
        widened = attrs.evolve(node, span=span)
        depth = self.depths.get(id(node))
        if depth is not None:
            self.depths[id(widened)] = depth
        elif type(node) in _LEAVES:
            checks = self.checks
            for index in range(len(checks) - 1, -1, -1):
                if checks[index].span != node.span:
                    break
                checks[index] = attrs.evolve(checks[index], span=span)
        return widened

    def constant(self, token: _Terminal) -> Constant:
        return Constant(token.lastgroup == "TRUE", span=(token.start(), _end(token)))

    def leaf(self, node: Expr) -> Expr:
        """``node``, checked (its problems go to ``checks``)."""
        _validate.check_leaf(node, self.checks)
        return node

    def comparison(self, field: Field, op: str, value: _Literal, span: tuple[int, int]) -> Expr:
        """``field op value`` for every operator spelling, including ``=~``/``!~`` and lists."""
        literal = value[0]
        if op == "=":
            op = "=="
        elif op == "=~" or op == "!~":
            if not isinstance(literal, str):
                self.problems.append(Problem(
                    f"'{op}' needs a regular expression in quotes", value[1:],
                    hint=f'write {field} {op} "^pattern"'))
                return Constant(False, span=span)
            checked = len(self.checks)
            match = self.leaf(Match(field, literal, span=span))
            if len(self.checks) > checked:
                self.point_into_pattern(literal, value)
            return match if op == "=~" else Not(match, span=span)
        if isinstance(literal, tuple):
            self.problems.append(_validate.list_for_one_value(field, op, value[1:]))
            return Constant(False, span=span)
        if literal is None:
            self.problems.append(_validate.null_compared(field, op, span))
            return Constant(False, span=span)
        node = comparison(field, op, literal, span)
        self.leaf(node.operand if type(node) is Not else node)
        return node

    def point_into_pattern(self, pattern: str, value: _Literal) -> None:
        """Narrow the last check, a pattern RE2 refuses, to the place in the pattern it names,
        when the literal spells the pattern as it is (no escape changed its length)."""
        from wsquery.regex import check

        refused = check(pattern)
        start, end = value[1], value[2]
        if refused is None or end - start != len(pattern) + 2:
            return
        first = start + 1 + refused.offset
        self.checks[-1] = attrs.evolve(
            self.checks[-1], span=(first, min(first + max(refused.length, 1), end - 1)))

    # Predicates --------------------------------------------------------------------------

    def compare(self, field: Field, op: _Terminal, value: _Literal) -> Expr:
        return self.compare_text(field, op[op.lastindex], value)  # type: ignore[index]

    def compare_text(self, field: Field, text: str, value: _Literal) -> Expr:
        literal = value[0]
        span = (field.span[0], value[2])  # type: ignore[index]
        if text in _ORDERING and type(literal) in _SCALARS and field.path != TAGS_PATH:
            node: Compare = _new_compare(field, text, literal, span)  # most often: as it is
            if field.section not in UNTYPED_SECTIONS or type(literal) not in UNCHECKED_LITERALS:
                _validate.check_leaf(node, self.checks)
            return node
        return self.comparison(field, text, value, span)

    def lexed_predicate(self, match: _Terminal, items: _ItemFinder) -> Expr:
        """``field op value`` or ``field [not] in [...]``, lexed by the driver in one match
        (groups as ``_predicate_lexer`` numbers them; ``items`` finds a list's items): built
        as the rules' own methods build them."""
        start = match.start()
        name = match[1]
        field = (self.field_text(name, start, False) if name is not None
                 else self.field_text(match[2], start, True))
        op = match[3]
        if op is None:
            end = match.end(8)
            values = tuple([
                _unquote(item[2]) if item[1] is None
                else self.number_text(item[1], item.start(1))[0]
                for item in items(match.string, match.start(8) + 1, end - 1)])
            node: Expr = _new_in(field, values, (start, end))
            if field.section not in UNTYPED_SECTIONS:  # numbers and strings suit the others
                _validate.check_leaf(node, self.checks)
            return node if match[7] is None else _new_not(node, (start, end))
        number = match[4]
        if number is not None:
            value = self.number_text(number, match.start(4))
        elif match[5] is not None:
            value = self.string_text(match[5], match.start(5))
        else:
            value = (match[6][0] in "tT", match.start(6), match.end(6))
        return self.compare_text(field, op, value)

    def compare_flipped(self, value: _Literal, op: _Terminal, field: Field) -> Expr:
        span = (value[1], field.span[1])  # type: ignore[index]
        text = _text(op)
        if text in ("=~", "!~"):
            self.problems.append(Problem(
                f"the pattern of '{text}' goes on its right", span,
                hint=f"write {field} {text} <pattern>"))
            return Constant(False, span=span)
        return self.comparison(field, _FLIP[_op(text)], value, span)

    def range(self, low: _Literal, op1: _Terminal, field: Field, op2: _Terminal,
              high: _Literal) -> Expr | _Chain:
        span = (low[1], high[2])
        ops = (_op(_text(op1)), _op(_text(op2)))
        if not (set(ops) <= {"<", "<="} or set(ops) <= {">", ">="}):
            self.problems.append(Problem(
                "a range needs two '<'/'<=' or two '>'/'>=' operators", span,
                hint=f"write 0 <= {field} <= 1"))
            return Constant(False, span=span)
        return _range(self.comparison(field, _FLIP[ops[0]], low, span),
                      self.comparison(field, ops[1], high, span))

    def between(self, field: Field, kw: _Terminal, low: _Literal, kw_and: _Terminal,
                high: _Literal) -> _Chain:
        span = (field.span[0], high[2])  # type: ignore[index]
        return _range(self.comparison(field, ">=", low, span),
                      self.comparison(field, "<=", high, span))

    def in_(self, field: Field, kw: _Terminal, values: _Literal) -> Expr:
        return self.leaf(In(field, values[0], span=(field.span[0], values[2])))  # type: ignore[index]

    def not_in(self, field: Field, kw: _Terminal, kw_in: _Terminal, values: _Literal) -> Not:
        span = (field.span[0], values[2])  # type: ignore[index]
        return Not(self.leaf(In(field, values[0], span=span)), span=span)

    def contains(self, field: Field, kw: _Terminal, value: _Literal) -> Expr:
        span = (field.span[0], value[2])  # type: ignore[index]
        if isinstance(value[0], tuple):  # lists are for `in` only
            self.problems.append(_validate.list_for_one_value(field, "contains", value[1:]))
            return Constant(False, span=span)
        return self.leaf(Contains(field, value[0], span=span))

    def member(self, value: _Terminal, kw: _Terminal, field: Field) -> Expr:
        span = (value.start(), field.span[1])  # type: ignore[index]
        return self.leaf(Contains(field, _unquote(_text(value)), span=span))

    def not_member(self, value: _Terminal, kw: _Terminal, kw_in: _Terminal, field: Field) -> Not:
        span = (value.start(), field.span[1])  # type: ignore[index]
        return Not(self.leaf(Contains(field, _unquote(_text(value)), span=span)), span=span)

    def is_null(self, field: Field, kw: _Terminal, null: _Terminal) -> IsNull:
        return IsNull(field, span=(field.span[0], _end(null)))  # type: ignore[index]

    def is_not_null(self, field: Field, kw: _Terminal, kw_not: _Terminal,
                    null: _Terminal) -> Not:
        span = (field.span[0], _end(null))  # type: ignore[index]
        return Not(IsNull(field, span=span), span=span)

    def within(self, field: Field, kw: _Terminal, last: _Terminal, duration: _Literal) -> Expr:
        return self.leaf(Within(field, duration[0], span=(field.span[0], duration[2])))  # type: ignore[index]

    # Clauses -----------------------------------------------------------------------------

    def group_clause(self, kw: _Terminal, fields: list[Field]) -> tuple[Field, ...]:
        return tuple(fields)

    def order_clause(self, kw: _Terminal, keys: list[OrderKey]) -> tuple[OrderKey, ...]:
        return tuple(keys)

    def limit_clause(self, kw: _Terminal, number: _Terminal) -> int | None:
        count, start, end = self.number_text(_text(number), number.start())
        if type(count) is int and count >= 1:
            return count
        self.problems.append(_validate.bad_limit((start, end)))
        return None

    def items(self, head: Any, comma: _Terminal | None = None, item: Any = None) -> list[Any]:
        """A comma-separated list, grown left to right (also ``fields`` and ``order_keys``)."""
        if comma is None:
            return [head]
        head.append(item)
        return head  # type: ignore[no-any-return]

    fields = order_keys = items

    def order_key(self, field: Field, direction: _Terminal | None = None) -> OrderKey:
        ascending = direction is None or direction.lastgroup == "ASC"
        end = field.span[1] if direction is None else _end(direction)  # type: ignore[index]
        return OrderKey(field, ascending, span=(field.span[0], end))  # type: ignore[index]

    def field(self, token: _Terminal) -> Field:
        return self.field_text(token[token.lastindex], token.start(),  # type: ignore[index]
                               token.lastgroup == "NAME")

    def field_text(self, text: str, start: int, bare: bool) -> Field:
        """The field spelt ``text`` at ``start``: a bare run attribute name, or a dotted key."""
        span = (start, start + len(text))
        known = _KNOWN_FIELDS.get(text)
        if known is None:
            if bare:
                key = BARE_NAMES.get(text.lower())
                if key is None:
                    self.problems.append(_unknown_name(text, span))
                    return _new_field("run", (text,), span)
                known = ("run", (key,))
            else:
                section, _, rest = text.partition(".")
                known = (_SECTION_ALIASES[section], _segments(rest))
            if len(_KNOWN_FIELDS) >= _KNOWN_FIELDS_KEPT:
                _KNOWN_FIELDS.clear()
            _KNOWN_FIELDS[text] = known
        return _new_field(known[0], known[1], span)

    # Literals ----------------------------------------------------------------------------

    def number(self, token: _Terminal) -> _Literal:
        return self.number_text(token[token.lastindex], token.start())  # type: ignore[index]

    def number_text(self, text: str, start: int) -> _Literal:
        end = start + len(text)
        try:
            value = _number(text)
        except ValueError:  # more digits than Python converts
            value = math.inf
        if value in _INFINITE:
            self.problems.append(Problem(
                "number out of range", (start, end),
                hint="numbers are 64-bit floats or integers of at most 4300 digits"))
            value = 0
        return (value, start, end)

    def string(self, token: _Terminal) -> _Literal:
        return self.string_text(token[token.lastindex], token.start())  # type: ignore[index]

    def string_text(self, text: str, start: int) -> _Literal:
        body = text[1:-1]
        return (body if "\\" not in body else _unquote(text), start, start + len(text))

    def true(self, token: _Terminal) -> _Literal:
        return (True, token.start(), _end(token))

    def false(self, token: _Terminal) -> _Literal:
        return (False, token.start(), _end(token))

    def null(self, token: _Terminal) -> _Literal:
        return (None, token.start(), _end(token))

    def duration(self, amount: _Terminal, unit: _Terminal | None = None) -> _Literal:
        if unit is None:
            text = _text(amount)
            number, unit_text = text[:-1], text[-1]
        else:
            number, unit_text = _text(amount), _text(unit)
        start, end = amount.start(), _end(unit or amount)
        try:
            count = _number(number)
        except ValueError:  # more digits than Python converts
            count = math.inf
        if not 0 <= count < math.inf:
            self.problems.append(Problem(
                "a duration is a finite length of time, zero or more", (start, end),
                hint="write a duration such as 90s, 5m, 2h, 3d or 1w"))
            count = 0
        return (Duration(count, _UNIT_WORDS[unit_text.lower()]), start, end)

    def list(self, lsqb: _Terminal, *rest: Any) -> _Literal:
        """``[`` items [``,``] ``]``, or the empty list ``[ ]``."""
        values = tuple([item[0] for item in rest[0]]) if len(rest) > 1 else ()
        return (values, lsqb.start(), _end(rest[-1]))


def _range(low: Expr, high: Expr) -> _Chain:
    """Both bounds of a range as an open and-chain, so ``a between 1 and 2 and b`` stays flat."""
    return _Chain(And, [low, high], low.span[0], 1)  # type: ignore[index]


def _unknown_name(name: str, span: tuple[int, int]) -> Problem:
    if name in _SECTION_ALIASES:
        example = {"config": "lr", "run": "commit"}.get(name, "val_loss")
        return Problem(f"'{name}' needs a key", span,
                       hint=f"write {name}.<key>, e.g. {name}.{example}")
    listed = "Bare names are run attributes: " + ", ".join(RUN_ATTRIBUTES) + "."
    spellings = _attribute_spellings()
    attribute = spellings.get(_folded(name))
    if attribute is not None:  # a run attribute spelt in another case: W&B's key, say
        return Problem(f"unknown field '{name}'", span, hint=f"did you mean {attribute}? {listed}")
    import difflib  # here: only a mistake needs it

    close = difflib.get_close_matches(_folded(name), list(spellings), n=4, cutoff=0.7)
    options = [*dict.fromkeys(spellings[spelt] for spelt in close)][:2]
    options += [f"summary.{name}", f"config.{name}"]
    return Problem(
        f"unknown field '{name}'", span,
        hint="did you mean " + ", ".join(options[:-1]) + " or " + options[-1] + "? " + listed)


def _folded(name: str) -> str:
    """A name without case, ``_`` or ``-``: ``createdAt``, ``created_at`` and ``CREATED-AT``
    are one name."""
    return name.replace("_", "").replace("-", "").lower()


@cache
def _attribute_spellings() -> dict[str, str]:
    """Every spelling of a run attribute, folded (its name, W&B's key, the UI's name) -> the
    name a query writes it with (the UI's name when the language has none)."""
    spellings: dict[str, str] = {}
    for ui_name, key in UI_RUN_NAMES.items():
        written = RUN_KEY_ATTRIBUTES.get(key, ui_name)
        if written.isidentifier():
            spellings[_folded(ui_name)] = spellings.setdefault(_folded(key), written)
    for attribute, key in RUN_ATTRIBUTES.items():
        spellings.setdefault(_folded(key), attribute)
    for attribute in RUN_ATTRIBUTES:  # last: W&B's key of id is name, which is another's name
        spellings[_folded(attribute)] = attribute
    return spellings


def _unquote(token: str) -> str:
    body = token[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and _is_hex4(body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        else:
            # Any other backslash sequence stays as written, so regexes like \d need no doubling.
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


def _is_hex4(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)


def _number(text: str) -> int | float:
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def _op(text: str) -> str:
    return "==" if text == "=" else text


def _segments(rest: str) -> tuple[str, ...]:
    """Split ``a.`b.c`.d`` into its segments, keeping dots inside backticks."""
    if "`" not in rest:
        return tuple(rest.split("."))
    segments: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i] == "`":
            close = rest.index("`", i + 1)
            segments.append(rest[i + 1:close])
            i = close + 2
        else:
            dot = rest.find(".", i)
            dot = len(rest) if dot == -1 else dot
            segments.append(rest[i:dot])
            i = dot + 1
    return tuple(segments)


@cache
def _lark() -> Lark:
    """Lark's LALR parser: it makes the driver's tables, and it explains syntax errors."""
    from lark import Lark

    grammar = read_text(grammar_path())
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


class _LarkParser:
    """Lark's own LALR parser, through its public API only: what parses when lark's tables
    cannot be read (see ``_driver``). It builds the same AST with the same ``_Build`` methods,
    called in the order the driver calls them (the parse tree's nodes bottom-up, left to
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
        """Where lark's parser stands after the terminals of ``text`` (see ``prefix``)."""
        from lark.exceptions import UnexpectedInput

        try:
            parser = self.lark.parse_interactive(text)
            tokens = parser.exhaust_lexer()
        except UnexpectedInput:
            return None
        return _LarkPrefix(parser, tuple(
            (token.type, token.start_pos or 0, token.end_pos or 0) for token in tokens))


class _LarkPrefix:
    """A prefix as lark's interactive parser reads it (``Prefix``)."""

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


#: What the driver calls to reduce by a rule: a ``_Build`` method, or None when the rule is a
#: one-child ``?rule`` whose child is the result as it is.
_Reducer: TypeAlias = "Callable[..., Any] | None"


#: A table entry that is no action: the terminal is an error in that state.
_ERROR = 1 << 30


def _tables(lark: Lark) -> dict[str, Any]:
    """What the driver needs of lark's parser, as plain data: the terminals in lark's lexing
    order with their regexes and first characters, the rules, and the LALR table (one row of
    actions per state, and the gotos with the one-child ``?rule`` reductions after them
    folded in)."""
    from lark.parsers.lalr_analysis import Shift

    table = lark.parser.parser.parser.parse_table
    ordered = sorted(lark.terminals, key=lambda t: (
        -t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    ignored = "|".join(t.pattern.to_regexp() for t in ordered if t.name in lark.ignore_tokens)
    terminals = [(t.name, t.pattern.to_regexp()) for t in ordered
                 if t.name not in lark.ignore_tokens]
    for name, regex in terminals:
        if re.compile(regex).groups:
            raise ValueError(f"terminal {name} has a capturing group")
    numbers = {name: number for number, (name, _) in enumerate(terminals, 1)}
    end = numbers["$END"] = len(terminals) + 1
    rules = list(dict.fromkeys(rule for actions in table.states.values()
                               for action, rule in actions.values() if action is not Shift))
    rule_numbers = {rule: number for number, rule in enumerate(rules)}
    nonterminals = {name: number for number, name in enumerate(
        dict.fromkeys(str(rule.origin.name) for rule in rules))}
    passes = {number for number, rule in enumerate(rules)
              if rule.options.expand1 and not rule.alias and len(rule.expansion) == 1}
    states = range(max(table.states) + 1)
    rows = [[_ERROR] * (end + 1) for _ in states]
    gotos: list[list[int | None]] = [[None] * len(nonterminals) for _ in states]
    for state, actions in table.states.items():
        for name, (action, arg) in actions.items():
            if str(name) in numbers:
                rows[state][numbers[str(name)]] = arg if action is Shift else ~rule_numbers[arg]
            elif str(name) in nonterminals:
                gotos[state][nonterminals[str(name)]] = arg
    # lark accepts on reaching the end state with the end of input next; here the end state
    # shifts the end of input, which the loop takes as accepting.
    rows[table.end_states["start"]][end] = table.end_states["start"]

    def ahead(below: int, target: int) -> list[int]:
        """Per next terminal, the state after going to ``target`` from ``below`` and reducing
        every one-child ``?rule`` that follows: those reductions leave the values as they
        are, and each goes to its rule's state from ``below`` again."""
        states = []
        for kind in range(end + 1):
            state = target
            while rows[state][kind] < 0 and ~rows[state][kind] in passes:
                state = gotos[below][nonterminals[str(rules[~rows[state][kind]].origin.name)]]  # type: ignore[assignment]
            states.append(state)
        return states

    return {
        "ignored": ignored,
        "terminals": [[name, regex, None if first is None else "".join(sorted(first))]
                      for name, regex in terminals for first in [_first_characters(regex)]],
        "rules": [[None if number in passes else rule.alias or str(rule.origin.name),
                   len(rule.expansion), nonterminals[str(rule.origin.name)],
                   list(rule.options.empty_indices) or None]
                  for number, rule in enumerate(rules)],
        "rows": rows,
        "gotos": [[None if target is None else ahead(state, target) for target in targets]
                  for state, targets in enumerate(gotos)],
        "nonterminals": list(nonterminals),
        "accepted": [sorted(str(name) for name in table.states.get(state, {}) if name in numbers)
                     for state in states],
        "start": table.start_states["start"],
    }


class _Lexers(dict[Any, "_Lexer"]):
    """Lexers compiled when first needed, by key: ``make`` makes one, kept if ``keep``."""

    def __init__(self, make: Callable[[Any], _Lexer],
                 keep: Callable[[Any], bool] = lambda key: True) -> None:
        super().__init__()
        self.make = make
        self.keep = keep

    def __missing__(self, key: Any) -> _Lexer:
        lexer = self.make(key)
        if self.keep(key):
            self[key] = lexer
        return lexer


class _Driver:
    """A tight LALR loop over lark's own tables, lexing contextually like lark does.

    Terminals are numbered in lark's lexing order. A state's table row says, per terminal
    number, to shift (the next state, >= 0), to reduce (``~rule``) or that it is an error
    (``_ERROR``). Lark's lexer picks the first terminal, in that order, that matches; so does the
    driver, with the regex of the terminals that can start with the next character (the
    whitespace after a terminal is part of its match). When the state does not accept that
    terminal, the state's own regex (only the terminals it accepts) decides, exactly as lark's
    contextual lexer does: a terminal the state accepts that matched earlier in the order
    would have been picked first. Where a predicate may start, the predicate lexer is tried
    first: a whole ``field op value`` or ``field [not] in [...]`` and the terminal after it.
    On any error the driver gives up, and ``parse`` lets lark re-run the text to explain it.
    Each regex is compiled the first time it is needed.
    """

    def __init__(self, tables: dict[str, Any]) -> None:
        ignored = tables["ignored"]
        terminals: dict[str, str] = {name: regex for name, regex, _ in tables["terminals"]}
        numbers = {name: number for number, name in enumerate(terminals, 1)}
        self.end = len(terminals) + 1
        #: Terminal names by number (0: none).
        self.names = ["", *terminals, "$END"]
        firsts = {name: None if first is None else frozenset(first)
                  for name, _, first in tables["terminals"]}
        # The loop tells the end of the text itself; only a state's own lexer may meet it.
        terminals["$END"], numbers["$END"], firsts["$END"] = r"\Z", self.end, frozenset()

        def lexer(names: list[str], accepted: frozenset[str] | None = None) -> _Lexer:
            """The regex of ``names`` in order (those not ``accepted`` never match), and the
            terminal number of each of its groups."""
            alternatives = "|".join(
                f"(?P<{name.strip('$')}>"
                f"{terminals[name] if accepted is None or name in accepted else '(?!)'})"
                for name in names) or "(?!)"
            return (re.compile(f"(?:{alternatives})(?:{ignored})*+").match,
                    [0, *(numbers[name] for name in names)])

        self.skip = re.compile(f"(?:{ignored})*+").match  # matches everywhere, even empty
        #: First characters of text that need no skipping (its first terminal starts at once).
        self.no_skip = frozenset(_ASCII) - (_first_characters(ignored) or frozenset(_ASCII))
        #: Lexers by the next character, of the terminals that can start with it; beyond ASCII,
        #: of all terminals.
        everything = _Lexers(lambda _: lexer(list(terminals)))
        by_names = _Lexers(lambda names: lexer(list(names)))

        def by_character(character: str) -> _Lexer:
            if character not in _FIRSTS:
                return everything[None]
            return by_names[tuple(name for name, first in firsts.items()
                                  if first is None or character in first)]

        self.by_character = _Lexers(by_character, keep=_FIRSTS.__contains__)
        #: Per rule: what reducing by it calls (None only for size one), its size, the
        #: nonterminal it makes.
        self.rules: list[tuple[Any, int, int]] = [
            (_reducer(name, size, empty), size, origin)
            for name, size, origin, empty in tables["rules"]]
        self.rows: list[list[int]] = tables["rows"]
        #: Per state and nonterminal, per next terminal: the state to go to (None where the
        #: table has no goto, which no reduction reaches).
        self.gotos: list[list[Any]] = tables["gotos"]
        #: Per state, the lexer of the terminals it accepts.
        by_accepted = _Lexers(lambda accepted: lexer(list(terminals), accepted))
        self.lexers = _Lexers(lambda state: by_accepted[frozenset(tables["accepted"][state])])
        self.start: int = tables["start"]
        #: Per state, where a predicate goes to (as ``gotos``), None where none starts.
        predicate = tables["nonterminals"].index("predicate")
        self.predicate_gotos: list[list[int] | None] = [row[predicate] for row in self.gotos]
        self.lex_predicate, self.predicate_kinds, self.list_items = _predicate_lexer(
            terminals, numbers, ignored)

    def parse(self, text: str, build: _Build) -> Any:
        """The ``Query`` built, or ``None`` when lark must explain an error."""
        by_character = self.by_character
        rows, gotos, rules, end = self.rows, self.gotos, self.rules, self.end
        state = self.start
        states = [state]
        values: list[Any] = []
        push_state, push_value, pop_value = states.append, values.append, values.pop
        length = len(text)
        position = 0 if text[:1] in self.no_skip else self.skip(text).end()  # type: ignore[union-attr]
        token = None
        predicate_gotos, lex_predicate = self.predicate_gotos, self.lex_predicate
        predicate_kinds, list_items = self.predicate_kinds, self.list_items
        while True:
            if position < length:
                ahead = predicate_gotos[state]
                if ahead is not None and (token := lex_predicate(text, position)) is not None:
                    # a whole predicate, reduced at once, and the terminal after it; the
                    # match then stands for that terminal (its last group, which ``_end``
                    # reads, is that terminal's)
                    push_value(build.lexed_predicate(token, list_items))
                    kind = predicate_kinds[token.lastindex]  # type: ignore[index]
                    state = ahead[kind]
                    push_state(state)
                    action = rows[state][kind]
                else:
                    lex, numbering = by_character[text[position]]
                    token = lex(text, position)
                    if token is None:
                        return None
                    kind = numbering[token.lastindex]  # type: ignore[index]
                    action = rows[state][kind]
                    if action == _ERROR:  # the state does not take this terminal: another?
                        lex, numbering = self.lexers[state]
                        token = lex(text, position)
                        if token is None:
                            return None
                        kind = numbering[token.lastindex]  # type: ignore[index]
                        action = rows[state][kind]
                position = token.end()
            else:
                kind = end
                action = rows[state][end]
            while action < 0:  # reduce; the stacks shrink by the rule's size, then grow by one
                reduce, size, origin = rules[~action]
                if size == 1:
                    if reduce is not None:
                        values[-1] = reduce(build, values[-1])
                    state = gotos[states[-2]][origin][kind]
                    states[-1] = state
                    action = rows[state][kind]
                    continue
                if size == 3:
                    right = pop_value()
                    middle = pop_value()
                    values[-1] = reduce(build, values[-1], middle, right)
                    del states[-2:]
                    state = gotos[states[-2]][origin][kind]
                    states[-1] = state
                    action = rows[state][kind]
                    continue
                if size:
                    children = values[-size:]
                    del values[-size:]
                    push_value(reduce(build, *children))
                    del states[-size:]
                else:
                    push_value(reduce(build))
                state = gotos[states[-1]][origin][kind]
                push_state(state)
                action = rows[state][kind]
            if action == _ERROR:
                return None
            if kind == end:  # only the end state shifts the end of input
                return values[-1]
            state = action
            push_state(state)
            push_value(token)

    def prefix(self, text: str) -> _DriverPrefix | None:
        """Where the tables stand after the terminals of ``text`` (see ``prefix``): the loop of
        ``parse`` on states alone, lexing terminal by terminal as it does without a predicate
        in one match."""
        states = [self.start]
        tokens: list[tuple[str, int, int]] = []
        length = len(text)
        position = self.skip(text).end()  # type: ignore[union-attr]
        while position < length:
            lex, numbering = self.by_character[text[position]]
            token = lex(text, position)
            if token is None:
                return None
            if self.rows[states[-1]][numbering[token.lastindex]] == _ERROR:  # type: ignore[index]
                lex, numbering = self.lexers[states[-1]]
                token = lex(text, position)
                if token is None:
                    return None
            if not self.shift(states, numbering[token.lastindex]):  # type: ignore[index]
                return None
            tokens.append((self.names[numbering[token.lastindex]], token.start(), _end(token)))  # type: ignore[index]
            position = token.end()
        return _DriverPrefix(self, states, tuple(tokens))

    def shift(self, states: list[int], kind: int) -> bool:
        """Reduce ``states`` as the terminal ``kind`` next makes the parser reduce, then shift
        it; False (with ``states`` spoilt) when the table has no action for it."""
        rows, gotos, rules = self.rows, self.gotos, self.rules
        action = rows[states[-1]][kind]
        while action < 0:
            _, size, origin = rules[~action]
            if size:
                del states[-size:]
            state = gotos[states[-1]][origin][kind]
            states.append(state)
            action = rows[state][kind]
        if action == _ERROR:
            return False
        states.append(action)
        return True


class _DriverPrefix:
    """A prefix as the driver reads it (``Prefix``): its stack of states."""

    __slots__ = ("driver", "states", "tokens")

    def __init__(self, driver: _Driver, states: list[int],
                 tokens: tuple[tuple[str, int, int], ...]) -> None:
        self.driver = driver
        self.states = states
        self.tokens = tokens

    def accepts(self) -> frozenset[str]:
        shift, states = self.driver.shift, self.states
        return frozenset(name for kind, name in enumerate(self.driver.names)
                         if kind and shift(states[:], kind))

    def after(self, terminal: str) -> _DriverPrefix | None:
        states = self.states[:]
        if not self.driver.shift(states, self.driver.names.index(terminal)):
            return None
        return _DriverPrefix(self.driver, states, self.tokens)


#: A lexer of the driver: a regex's ``match`` and the terminal number of each of its groups.
_Lexer: TypeAlias = "tuple[Callable[[str, int], _Terminal | None], list[int]]"

#: Finds the items of a list lexed with a predicate: ``(text, start, end)`` -> matches whose
#: group 1 is a number, group 2 a string.
_ItemFinder: TypeAlias = "Callable[[str, int, int], Iterator[_Terminal]]"

#: The terminals that may follow a predicate, and so end one lexed in one match.
_FOLLOWS = frozenset({"AND", "OR", "RPAR", "GROUP_BY", "ORDER_BY", "LIMIT"})


def _predicate_lexer(terminals: dict[str, str], numbers: dict[str, int],
                     ignored: str) -> tuple[Callable[[str, int], _Terminal | None], list[int],
                                            _ItemFinder]:
    """One regex for the commonest predicates, ``field op value`` (a number, string or
    boolean value) and ``field [not] in [...]`` (numbers and strings), together with the
    terminal after them or the end of the text: a query is mostly these, and one match then
    does the work of four or more terminals and their reductions.

    The match is the one tokenization lark's lexer gives that text. At each place the
    terminals that may stand there are tried in lark's order, each with its own regex, and
    the first that matches is taken whole: an atomic group, which the regex engine never
    backs into to make the rest match (lark's lexer does not either: ``config.a-in [1]`` is
    the field ``config.a-in``, then an error). The terminal after the predicate is one that
    only a finished predicate takes. So in any state where a predicate may start, the parser
    would reduce exactly this predicate, then meet that terminal. Groups: 1 FIELD, 2 NAME,
    3 OP, 4 NUMBER, 5 STRING, 6 TRUE or FALSE, 7 NOT, 8 the list, then one per following
    terminal, in lark's order, and the end of the text last. Returned: the regex's ``match``,
    the terminal number of each group, and what finds the items of a matched list."""
    skip = f"(?:{ignored})*+"

    def token(*alternatives: str) -> str:
        return f"(?>{'|'.join(alternatives)}){skip}"

    def group(name: str) -> str:
        return f"({terminals[name]})"

    item = token(terminals["NUMBER"], terminals["STRING"])
    comma = token(terminals["COMMA"])
    follows = [name for name in terminals if name in _FOLLOWS]
    regex = (token(group("FIELD"), group("NAME"))
             + f"(?:{token(group('OP'))}"
             + token(group("NUMBER"), group("STRING"),
                     f"({terminals['TRUE']}|{terminals['FALSE']})")
             + f"|(?:{token(group('NOT'))})?{token(terminals['IN'])}"
             + f"({terminals['LSQB']}{skip}(?:{item}(?:{comma}{item})*(?:{comma})?)?"
             + f"{terminals['RSQB']}){skip})"
             + token(*[group(name) for name in follows], r"(\Z)"))
    compiled = re.compile(regex)
    if compiled.groups != 9 + len(follows):
        raise ValueError("a terminal of the predicate lexer has a capturing group")
    items = re.compile(f"{group('NUMBER')}|{group('STRING')}").finditer
    return (compiled.match, [0] * 9 + [numbers[name] for name in follows] + [numbers["$END"]],
            items)


_ASCII = [chr(code) for code in range(128)]
#: The next characters whose terminals are told apart by their first characters.
_FIRSTS = frozenset(_ASCII)


def _first_characters(regex: str) -> frozenset[str] | None:
    """The ASCII characters a match of ``regex`` can start with; None when any character may
    start one, or when that cannot be told. Too many is safe: the lexer only tries more
    terminals than it needs to. Python's own regex parser reads the regex; it is private, so
    anything unexpected of it means "cannot be told"."""
    try:
        from re import _constants as sre
        from re import _parser as sre_parse

        parsed = sre_parse.parse(regex)
        first, nullable = _first_of(sre, parsed, bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE))
    except Exception:
        return None
    return None if first is None or nullable else frozenset(first)


def _first_of(sre: Any, items: Any, ignore_case: bool) -> tuple[set[str] | None, bool]:
    """The first characters of a parsed regex sequence (None: any), and whether it can be empty."""
    characters: set[str] = set()
    for op, argument in items:
        if op is sre.LITERAL:
            first, nullable = _cased({chr(argument)}, ignore_case), False
        elif op is sre.IN:
            first, nullable = {c for c in _ASCII if _in_set(sre, argument, c, ignore_case)}, False
        elif op is sre.BRANCH:
            first, nullable = set(), False
            for branch in argument[1]:
                branch_first, branch_nullable = _first_of(sre, branch, ignore_case)
                if branch_first is None:
                    return None, False
                first |= branch_first
                nullable = nullable or branch_nullable
        elif op is sre.SUBPATTERN:
            _, add, remove, inner = argument
            cased = (ignore_case or bool(add & sre.SRE_FLAG_IGNORECASE)) and not (
                remove & sre.SRE_FLAG_IGNORECASE)
            first_or_none, nullable = _first_of(sre, inner, cased)
            if first_or_none is None:
                return None, False
            first = first_or_none
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, _, inner = argument
            first_or_none, nullable = _first_of(sre, inner, ignore_case)
            if first_or_none is None:
                return None, False
            first, nullable = first_or_none, nullable or low == 0
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):  # zero width
            first, nullable = set(), True
        else:
            return None, False
        characters |= first
        if not nullable:
            return characters, False
    return characters, True


def _cased(characters: set[str], ignore_case: bool) -> set[str]:
    if not ignore_case:
        return characters
    return characters | {c.lower() for c in characters} | {c.upper() for c in characters}


def _in_set(sre: Any, items: Any, character: str, ignore_case: bool) -> bool:
    """Whether a character set may match ``character`` (erring towards yes)."""
    negated = bool(items) and items[0][0] is sre.NEGATE
    if negated and ignore_case:
        return True
    variants = _cased({character}, ignore_case)
    hit = any(_item_matches(sre, op, argument, variant)
              for op, argument in items if op is not sre.NEGATE for variant in variants)
    return hit is not negated


def _item_matches(sre: Any, op: Any, argument: Any, character: str) -> bool:
    if op is sre.LITERAL:
        return bool(ord(character) == argument)
    if op is sre.RANGE:
        return bool(argument[0] <= ord(character) <= argument[1])
    if op is sre.CATEGORY:
        digit, space = character.isdecimal(), character.isspace()
        word = character.isalnum() or character == "_"
        categories = {sre.CATEGORY_DIGIT: digit, sre.CATEGORY_NOT_DIGIT: not digit,
                      sre.CATEGORY_SPACE: space, sre.CATEGORY_NOT_SPACE: not space,
                      sre.CATEGORY_WORD: word, sre.CATEGORY_NOT_WORD: not word}
        if argument in categories:
            return categories[argument]
    raise ValueError(f"unknown character set item {op} {argument}")


def _reducer(name: str | None, size: int, empty: list[bool] | None) -> _Reducer:
    """What reducing by a rule calls: the ``_Build`` method named, with None for the absent
    optional parts that ``empty`` marks, slot by slot (the method's defaults when they come
    last); None for a one-child ``?rule``."""
    if name is None:
        return None
    method: Callable[..., Any] = getattr(_Build, name)
    if not empty or not any(empty[:size]):
        return method
    slots = iter(range(size))
    plan = [None if absent else next(slots) for absent in empty]

    def with_placeholders(build: _Build, *children: Any) -> Any:
        return method(build, *[None if i is None else children[i] for i in plan])

    return with_placeholders


@cache
def _driver() -> _Driver | _LarkParser:
    """The parser every parse uses, chosen here once: the driver over lark's LALR tables (those
    of the last run when lark and the grammar are the same), or lark's own parser through its
    public API when lark's tables cannot be read as this module expects them (reading them
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
    except Exception:  # lark's insides are not what this module reads
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
    terminals by widths Python's regex parser reports) and this module, which makes them
    from lark's. A part that cannot be told is None, and then no tables are kept."""
    return {"grammar": read_text(grammar_path()), "lark": _lark_version(),
            "python": list(sys.version_info[:3]), "maker": _source_stamp()}


def _source_stamp() -> str | None:
    """The length and CRC-32 of this module's source."""
    try:
        with open(__file__, "rb") as file:
            source = file.read()
    except OSError:
        return None
    return f"{len(source)}:{zlib.crc32(source):08x}"


def _tables_path(key: dict[str, Any]) -> str:
    """Where the tables for ``key`` are kept: the user's cache directory, one file per key
    (so environments with different lark versions do not take turns)."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = zlib.crc32(json.dumps(key, sort_keys=True).encode())
    return os.path.join(home, "wsquery", f"parser-tables-{digest:08x}.json")


def _keep(path: str, content: dict[str, Any]) -> None:
    """Write ``content`` to ``path`` whole or not at all; a cache that cannot be written is
    no cache."""
    import tempfile

    try:
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=name,
                                         delete=False) as file:
            json.dump(content, file)
        os.replace(file.name, path)
    except OSError:
        pass


def _lark_version() -> str | None:
    """lark's version, read from its source when lark is not imported yet (importing it costs
    much of what keeping the tables saves); None when it cannot be told, and then no tables
    are kept."""
    if "lark" in sys.modules:
        version = getattr(sys.modules["lark"], "__version__", None)
        return version if isinstance(version, str) else None
    try:
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec("lark", None) if find_spec is not None else None
            if spec is not None:
                break
        else:
            return None
        source = read_text(spec.origin or "")
    except (OSError, ImportError, ValueError):
        return None
    found = re.search(r"^__version__\b[^=\n]*=\s*[\"']([^\"']+)[\"']", source, re.MULTILINE)
    return found.group(1) if found else None


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


def spelling(terminal: str) -> str | None:
    """How a terminal with one spelling is typed (``GROUP_BY``: ``group by``, ``LPAR``:
    ``(``); None for the others (fields, values, operators)."""
    described = _DESCRIPTIONS.get(terminal, "")
    return described[1:-1] if described.startswith("'") else None


# Error translation ---------------------------------------------------------------------------

#: The comparison operators as the language spells them (``=`` is also read as ``==``).
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "=~", "!~")

_OPERATORS = ", ".join(f"'{op}'" for op in OPERATORS)
_DESCRIPTIONS = {
    "AND": "'and'", "OR": "'or'", "FIELD": "a field", "NAME": "a field", "NUMBER": "a number",
    "STRING": "a string",
    "DURATION": "a duration", "UNIT": "a unit (s, m, h, d, w)",
    "OP": f"an operator ({_OPERATORS})", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['",
    "RSQB": "']'", "COMMA": "','", "GROUP_BY": "'group by'", "ORDER_BY": "'order by'",
    "$END": "end of input", "NOT": "'not'", "IN": "'in'",
    "BETWEEN": "'between'", "CONTAINS": "'contains'", "IS": "'is'", "NULL": "'null'",
    "TRUE": "'true'", "FALSE": "'false'", "WITHIN": "'within'", "LAST": "'last'",
    "ASC": "'asc'", "DESC": "'desc'", "LIMIT": "'limit'",
}
_VALUE_TERMINALS = {"NUMBER", "STRING", "DURATION", "TRUE", "FALSE", "NULL"}
_ORDER = ["AND", "OR", "FIELD", "NAME", "NOT", "LPAR", "NUMBER", "STRING", "DURATION", "TRUE",
          "FALSE", "NULL", "LSQB", "OP", "IN", "BETWEEN", "CONTAINS", "IS", "WITHIN", "LAST",
          "UNIT", "ASC", "DESC", "COMMA", "RSQB", "RPAR", "GROUP_BY", "ORDER_BY", "LIMIT", "$END"]


def _describe_expected(names: set[str]) -> tuple[str, ...]:
    names = set(names)
    if "OR" in names:
        names.add("AND")  # LALR reduced the and-chain before failing; 'and' fits there too
    if len(names) > 1:
        names.discard("UNIT")  # "5 days" is rare; listing units after every number is noise
    described: list[str] = []
    if "FIELD" in names and "NOT" in names and "LPAR" in names:
        described.append("a condition")
        names -= {"FIELD", "NAME", "NOT", "LPAR", "LSQB"} | _VALUE_TERMINALS
    if len(names & _VALUE_TERMINALS) >= 3:
        described.append("a value")
        names -= _VALUE_TERMINALS | ({"LSQB"} if "OP" not in names else set())
    if "OP" in names and "IN" in names:
        described.append(f"an operator ({_OPERATORS}, 'in', 'not in', 'between', "
                         "'contains', 'is null', 'within last')")
        names -= {"OP", "IN", "NOT", "BETWEEN", "CONTAINS", "IS", "WITHIN"}
    ordered = sorted(names, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER))
    described.extend(_DESCRIPTIONS.get(n, n) for n in ordered)
    return tuple(dict.fromkeys(described))


def _join(options: tuple[str, ...]) -> str:
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + " or " + options[-1]


def _syntax_problem(text: str, error: UnexpectedInput) -> Problem:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(error, UnexpectedToken):
        token = error.token
        accepted = _accepted(error)
        expected = _describe_expected(accepted)
        if token.type == "$END":
            position = len(text.rstrip())
            return Problem(f"expected {_join(expected)}, found end of input",
                           (position, position), _hint_at_end(text, expected), expected)
        span = (token.start_pos, token.end_pos)
        found = f"'{token}'"
        return Problem(f"expected {_join(expected)}, found {found}", span,
                       _hint_for_token(text, token, accepted), expected)
    assert isinstance(error, UnexpectedCharacters)
    offset = error.pos_in_stream or 0
    char = text[offset]
    expected = _describe_expected(set(error.allowed or ()))
    if char in "\"'":
        line_end = text.find("\n", offset)
        return Problem("unterminated string",
                       (offset, len(text) if line_end == -1 else line_end),
                       f"close the string with {char}; strings end on the line they start",
                       expected)
    if char == "." and text[:offset].rstrip().split()[-1:] in (["config"], ["summary"],
                                                                  ["run"], ["summary_metrics"]):
        return Problem("expected a key after the section", (offset, offset + 1),
                       "write a key such as config.lr or summary.`val loss`", expected)
    if char == "`":
        return Problem("unexpected backtick", (offset, offset + 1),
                       "backticks quote one key segment after a section: summary.`val loss`",
                       expected)
    if char.isdigit() or (char in "+-." and offset + 1 < len(text)):
        end = offset
        while end < len(text) and (text[end].isalnum() or text[end] in "+-._"):
            end += 1
        return Problem(f"'{text[offset:end]}' is not a number, duration or field",
                       (offset, max(end, offset + 1)),
                       "durations are a number and a unit: 90s, 5m, 2h, 3d, 1w", expected)
    hint = "a regex match is written '=~'" if char == "~" else None
    return Problem(f"unexpected character {char!r}", (offset, offset + 1), hint, expected)


def _accepted(error: UnexpectedToken) -> set[str]:
    """The terminals the parser really accepts here; LALR's own list over-approximates."""
    try:
        return set(error.interactive_parser.accepts())  # type: ignore[no-untyped-call]
    except Exception:  # the parser state cannot be replayed; fall back to the table's list
        return set(error.expected)


_MISSPELT_OPERATORS = {"=>": ">=", "=<": "<=", "<>": "!=", "===": "==", "!==": "!=",
                       "~=": "=~"}


def _hint_for_token(text: str, token: Token, expected: set[str]) -> str | None:
    value = str(token).lower()
    before = text[:token.start_pos].rstrip()
    for wrong, right in _MISSPELT_OPERATORS.items():
        if (before + value).endswith(wrong) and len(value) < len(wrong):
            return f"'{wrong}' is written '{right}'"
    if expected == {"LSQB"}:
        return "write the values as a list: in [1, 2]"
    if "LAST" in expected:
        return "write 'within last 3d'"
    if expected <= {"NULL", "NOT"}:
        return "'is' only takes null: is null, is not null; compare values with '=='"
    if "OP" in expected and value in ("like", "matches", "match", "regex", "~"):
        return "a regex match is written '=~'"
    if token.type in ("GROUP_BY", "ORDER_BY") and expected == {"$END"}:
        return "'limit' comes last, after 'group by' and 'order by'"
    if token.type == "GROUP_BY" and "GROUP_BY" not in expected and "ORDER_BY" not in expected:
        return "'group by' comes before 'order by'"
    if token.type == "RPAR" and "RPAR" not in expected:
        return "this ')' closes no '('"
    if token.type == "NAME" and "STRING" in expected and "FIELD" not in expected:
        return f"text is written in quotes: {format_value(str(token))}"
    if "AND" in expected and token.type in ("FIELD", "NAME", "STRING", "NUMBER", "LPAR"):
        return "join conditions with 'and' or 'or'"
    if "OP" in expected and token.type in ("STRING", "NUMBER", "DURATION"):
        return "compare with an operator: field == value"
    return None


def _hint_at_end(text: str, expected: tuple[str, ...]) -> str | None:
    if "')'" in expected and text.count("(") > text.count(")"):
        return "every '(' needs a matching ')'"
    if "']'" in expected:
        return "close the list with ']'"
    return None
