"""The parser's reductions -> AST nodes: one ``_Build`` method per rule alias of the grammar, and
the literals' readings (strings, numbers, durations, dotted keys, bare names).

Apart from the parsers because both build through it: the driver over lark's tables (``lalr``)
and lark's own parser (``lark_parser``) call the same methods in the same order, so they build
the same nodes. Each leaf is checked as it is built (``validate.check_leaf``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any, TypeAlias

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
    slot_constructor,
)
from wsquery.errors import Diagnostic
from wsquery.syntax import validate as _validate
from wsquery.syntax.fast_lexer import _end, _ItemFinder, _Terminal, _text
from wsquery.syntax.validate import MAX_DEPTH, UNCHECKED_LITERALS, UNTYPED_SECTIONS

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
        self.problems: list[Diagnostic] = []
        self.checks: list[Diagnostic] = []
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
        self.problems.append(Diagnostic(
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
                self.problems.append(Diagnostic(
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
        from wsquery.regex import re2_refusal

        refused = re2_refusal(pattern)
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
            self.problems.append(Diagnostic(
                f"the pattern of '{text}' goes on its right", span,
                hint=f"write {field} {text} <pattern>"))
            return Constant(False, span=span)
        return self.comparison(field, _FLIP[_op(text)], value, span)

    def range(self, low: _Literal, op1: _Terminal, field: Field, op2: _Terminal,
              high: _Literal) -> Expr | _Chain:
        span = (low[1], high[2])
        ops = (_op(_text(op1)), _op(_text(op2)))
        if not (set(ops) <= {"<", "<="} or set(ops) <= {">", ">="}):
            self.problems.append(Diagnostic(
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
            self.problems.append(Diagnostic(
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
            self.problems.append(Diagnostic(
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


def _unknown_name(name: str, span: tuple[int, int]) -> Diagnostic:
    if name in _SECTION_ALIASES:
        example = {"config": "lr", "run": "commit"}.get(name, "val_loss")
        return Diagnostic(f"'{name}' needs a key", span,
                       hint=f"write {name}.<key>, e.g. {name}.{example}")
    listed = "Bare names are run attributes: " + ", ".join(RUN_ATTRIBUTES) + "."
    spellings = _attribute_spellings()
    attribute = spellings.get(_folded(name))
    if attribute is not None:  # a run attribute spelt in another case: W&B's key, say
        return Diagnostic(f"unknown field '{name}'", span,
                          hint=f"did you mean {attribute}? {listed}")
    import difflib  # here: only a mistake needs it

    close = difflib.get_close_matches(_folded(name), list(spellings), n=4, cutoff=0.7)
    options = [*dict.fromkeys(spellings[spelt] for spelt in close)][:2]
    options += [f"summary.{name}", f"config.{name}"]
    return Diagnostic(
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

