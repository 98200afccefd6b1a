"""Query text -> ``Query``: the lark LALR parser, its inline transformer and error translation.

The parser is built once, on first use, from ``grammar/wsquery.lark``. The transformer runs
inside the LALR parser, so no parse tree is ever built. Lark's exceptions never leave this
module: they become ``QuerySyntaxError`` with the position, what was expected and a hint.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_analysis import Shift

from . import _validate
from .ast import (
    RUN_ATTRIBUTES,
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
)
from .errors import Problem, QuerySyntaxError, QueryValidationError

if TYPE_CHECKING:

    class Token(str):
        """lark's Token as this module uses it: positions are always set."""

        type: str
        start_pos: int
        end_pos: int
else:
    from lark import Token

#: Deepest nesting of and/or/not accepted; deeper input is refused before any pass recurses.
MAX_DEPTH = 100
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


def grammar_path() -> Path:
    """The grammar file: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "grammar" / "wsquery.lark", here.parent / "grammar" / "wsquery.lark"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("grammar/wsquery.lark is missing from the wsquery installation")


class _Literal:
    """A literal value with the end of its source text, alive only during a parse."""

    __slots__ = ("end", "start", "value")

    def __init__(self, value: Any, start: int, end: int) -> None:
        self.value = value
        self.start = start
        self.end = end


class _Chain:
    """An and/or chain still open for more operands (``a or b or c`` builds one Or, not two)."""

    __slots__ = ("depth", "kind", "operands", "start")

    def __init__(self, kind: type[And] | type[Or], first: Expr, start: int, depth: int) -> None:
        self.kind = kind
        self.operands = [first]
        self.start = start
        self.depth = depth


class _ParseState(threading.local):
    """What one parse collects on the side: problems found so far and node nesting depths."""

    def reset(self, text: str) -> None:
        self.text = text
        self.problems: list[Problem] = []
        self.depths: dict[int, int] = {}


_state = _ParseState()


def _start(item: Any) -> int:
    if isinstance(item, Token):
        return item.start_pos
    if isinstance(item, _Literal | _Chain):
        return item.start
    return item.span[0]  # type: ignore[no-any-return]


def _end(item: Any) -> int:
    if isinstance(item, Token):
        return item.end_pos
    if isinstance(item, _Literal):
        return item.end
    return item.span[1]  # type: ignore[no-any-return]


def _close(item: Expr | _Chain) -> Expr:
    """Finish an open chain into its And/Or node; other nodes pass through."""
    if not isinstance(item, _Chain):
        return item
    node = item.kind(tuple(item.operands), span=(item.start, _end(item.operands[-1])))
    _state.depths[id(node)] = item.depth
    return node


def _depth(node: Expr | _Chain) -> int:
    if isinstance(node, _Chain):
        return node.depth
    return _state.depths.get(id(node), 0)


def _too_deep(start: int, end: int) -> None:
    _state.problems.append(Problem(
        _TOO_DEEP, (start, end),
        hint="split the query, or flatten needless parentheses and double negations"))


def _unknown_name(token: Token) -> Problem:
    name = str(token)
    span = (token.start_pos, token.end_pos)
    if name in _SECTION_ALIASES:
        example = {"config": "lr", "run": "commit"}.get(name, "val_loss")
        return Problem(f"'{name}' needs a key", span,
                       hint=f"write {name}.<key>, e.g. {name}.{example}")
    suggestions = [f"summary.{name}", f"config.{name}"]
    close = difflib.get_close_matches(name.lower(), list(RUN_ATTRIBUTES), n=2, cutoff=0.7)
    options = close + suggestions
    return Problem(
        f"unknown field '{name}'", span,
        hint="did you mean " + ", ".join(options[:-1]) + " or " + options[-1] + "? "
        "Bare names are run attributes: " + ", ".join(RUN_ATTRIBUTES) + ".")


def _unquote(token: Token) -> str:
    body = token[1:-1]
    if "\\" not in body:
        return str(body)
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
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


class _Builder:
    """Builds AST nodes while the LALR parser reduces: one method per rule alias, called with
    the rule's children (None where an optional part is absent); see the grammar."""

    def query(self, condition: Any, group_by: Any, order_by: Any) -> Query:
        node = None if condition is None else _close(condition)
        return Query(node, group_by or (), order_by or ())

    def or_(self, left: Any, op: Token, right: Any) -> _Chain:
        return self._chain(Or, left, right)

    def and_(self, left: Any, op: Token, right: Any) -> _Chain:
        return self._chain(And, left, right)

    def _chain(self, kind: type[And] | type[Or], left: Any, right: Any) -> _Chain:
        """Extend ``left``'s open chain with ``right`` (itself an open chain from a range)."""
        if isinstance(left, _Chain) and left.kind is kind:
            chain = left
        else:
            left = _close(left)
            chain = _Chain(kind, left, _start(left), _depth(left) + 1)
        if isinstance(right, _Chain) and right.kind is kind:
            chain.operands.extend(right.operands)
            depth = right.depth
        else:
            right = _close(right)
            chain.operands.append(right)
            depth = _depth(right) + 1
        if depth > chain.depth:
            chain.depth = depth
            if depth == MAX_DEPTH + 1:
                _too_deep(chain.start, _end(right))
        return chain

    def not_(self, op: Token, operand: Any) -> Not:
        inner = _close(operand)
        node = Not(inner, span=(op.start_pos, _end(inner)))
        depth = _depth(inner) + 1
        _state.depths[id(node)] = depth
        if depth == MAX_DEPTH + 1:
            _too_deep(op.start_pos, _end(inner))
        return node

    def group(self, lpar: Token, inner: Any, rpar: Token) -> Expr:
        """The parenthesized condition, its span widened to take in the parentheses."""
        node = _close(inner)
        widened = attrs.evolve(node, span=(lpar.start_pos, rpar.end_pos))
        depth = _state.depths.get(id(node))
        if depth is not None:
            _state.depths[id(widened)] = depth
        return widened

    def constant(self, token: Token) -> Constant:
        return Constant(token.type == "TRUE", span=(token.start_pos, token.end_pos))

    # Predicates --------------------------------------------------------------------------

    def compare(self, field: Field, op: Token, value: _Literal) -> Expr:
        span = (field.span[0], value.end)  # type: ignore[index]
        return _comparison(field, str(op), value, span)

    def compare_flipped(self, value: _Literal, op: Token, field: Field) -> Expr:
        span = (value.start, field.span[1])  # type: ignore[index]
        if op in ("=~", "!~"):
            _state.problems.append(Problem(
                f"the pattern of '{op}' goes on its right", span,
                hint=f"write {field} {op} <pattern>"))
            return Constant(False, span=span)
        return _comparison(field, _FLIP[_op(op)], value, span)

    def range(self, low: _Literal, op1: Token, field: Field, op2: Token,
              high: _Literal) -> Expr | _Chain:
        span = (low.start, high.end)
        ops = (_op(op1), _op(op2))
        if not (set(ops) <= {"<", "<="} or set(ops) <= {">", ">="}):
            _state.problems.append(Problem(
                "a range needs two '<'/'<=' or two '>'/'>=' operators", span,
                hint=f"write 0 <= {field} <= 1"))
            return Constant(False, span=span)
        return _range(_comparison(field, _FLIP[ops[0]], low, span),
                      _comparison(field, ops[1], high, span))

    def between(self, field: Field, kw: Token, low: _Literal, kw_and: Token,
                high: _Literal) -> _Chain:
        span = (field.span[0], high.end)  # type: ignore[index]
        return _range(_comparison(field, ">=", low, span), _comparison(field, "<=", high, span))

    def in_(self, field: Field, kw: Token, values: _Literal) -> In:
        return In(field, values.value, span=(field.span[0], values.end))  # type: ignore[index]

    def not_in(self, field: Field, kw: Token, kw_in: Token, values: _Literal) -> Not:
        span = (field.span[0], values.end)  # type: ignore[index]
        return Not(In(field, values.value, span=span), span=span)

    def contains(self, field: Field, kw: Token, value: _Literal) -> Contains:
        return Contains(field, value.value, span=(field.span[0], value.end))  # type: ignore[index]

    def member(self, value: Token, kw: Token, field: Field) -> Contains:
        return Contains(field, _unquote(value), span=(value.start_pos, field.span[1]))  # type: ignore[index]

    def not_member(self, value: Token, kw: Token, kw_in: Token, field: Field) -> Not:
        span = (value.start_pos, field.span[1])  # type: ignore[index]
        return Not(Contains(field, _unquote(value), span=span), span=span)

    def is_null(self, field: Field, kw: Token, null: Token) -> IsNull:
        return IsNull(field, span=(field.span[0], null.end_pos))  # type: ignore[index]

    def is_not_null(self, field: Field, kw: Token, kw_not: Token, null: Token) -> Not:
        span = (field.span[0], null.end_pos)  # type: ignore[index]
        return Not(IsNull(field, span=span), span=span)

    def within(self, field: Field, kw: Token, last: Token, duration: _Literal) -> Within:
        return Within(field, duration.value, span=(field.span[0], duration.end))  # type: ignore[index]

    # Clauses -----------------------------------------------------------------------------

    def group_clause(self, kw: Token, fields: list[Field]) -> tuple[Field, ...]:
        return tuple(fields)

    def order_clause(self, kw: Token, keys: list[OrderKey]) -> tuple[OrderKey, ...]:
        return tuple(keys)

    def items(self, head: Any, comma: Token | None = None, item: Any = None) -> list[Any]:
        """A comma-separated list, grown left to right (also ``fields`` and ``order_keys``)."""
        if comma is None:
            return [head]
        head.append(item)
        return head  # type: ignore[no-any-return]

    fields = order_keys = items

    def order_key(self, field: Field, direction: Token | None) -> OrderKey:
        ascending = direction is None or direction.type == "ASC"
        end = field.span[1] if direction is None else direction.end_pos  # type: ignore[index]
        return OrderKey(field, ascending, span=(field.span[0], end))  # type: ignore[index]

    def field(self, token: Token) -> Field:
        span = (token.start_pos, token.end_pos)
        if token.type == "NAME":
            key = RUN_ATTRIBUTES.get(str(token))
            if key is None:
                _state.problems.append(_unknown_name(token))
                key = str(token)
            return Field("run", (key,), span=span)
        section, _, rest = str(token).partition(".")
        return Field(_SECTION_ALIASES[section], _segments(rest), span=span)

    # Literals ----------------------------------------------------------------------------

    def number(self, token: Token) -> _Literal:
        try:
            value = _number(token)
        except ValueError:  # more digits than Python converts
            value = math.inf
        if value in (math.inf, -math.inf):
            _state.problems.append(Problem(
                "number out of range", (token.start_pos, token.end_pos),
                hint="numbers are 64-bit floats or integers of at most 4300 digits"))
            value = 0
        return _Literal(value, token.start_pos, token.end_pos)

    def string(self, token: Token) -> _Literal:
        return _Literal(_unquote(token), token.start_pos, token.end_pos)

    def true(self, token: Token) -> _Literal:
        return _Literal(True, token.start_pos, token.end_pos)

    def false(self, token: Token) -> _Literal:
        return _Literal(False, token.start_pos, token.end_pos)

    def null(self, token: Token) -> _Literal:
        return _Literal(None, token.start_pos, token.end_pos)

    def duration(self, amount: Token, unit: Token | None = None) -> _Literal:
        if unit is None:
            text = str(amount)
            number, unit_text = text[:-1], text[-1]
        else:
            number, unit_text = str(amount), str(unit)
        start, end = amount.start_pos, (unit or amount).end_pos
        try:
            count = _number(number)
        except ValueError:  # more digits than Python converts
            count = math.inf
        if not 0 <= count < math.inf:
            _state.problems.append(Problem(
                "a duration is a finite length of time, zero or more", (start, end),
                hint="write a duration such as 90s, 5m, 2h, 3d or 1w"))
            count = 0
        return _Literal(Duration(count, _UNIT_WORDS[unit_text.lower()]), start, end)

    def list(self, lsqb: Token, *rest: Any) -> _Literal:
        """``[`` items [``,``] ``]``, or the empty list ``[ ]``."""
        values = tuple(item.value for item in rest[0]) if len(rest) > 1 else ()
        return _Literal(values, lsqb.start_pos, rest[-1].end_pos)


def _range(low: Expr, high: Expr) -> _Chain:
    """Both bounds of a range as an open and-chain, so ``a between 1 and 2 and b`` stays flat."""
    chain = _Chain(And, low, _start(low), 1)
    chain.operands.append(high)
    return chain


def _op(token: Token | str) -> str:
    return "==" if token == "=" else str(token)


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


def _comparison(field: Field, op_text: str, value: _Literal, span: tuple[int, int]) -> Expr:
    """``field op value`` for every operator spelling, including ``=~``/``!~`` and lists."""
    op = _op(op_text)
    if op in ("=~", "!~"):
        if not isinstance(value.value, str):
            _state.problems.append(Problem(
                f"'{op}' needs a regular expression in quotes", (value.start, value.end),
                hint=f'write {field} {op} "^pattern"'))
            return Constant(False, span=span)
        match = Match(field, value.value, span=span)
        return match if op == "=~" else Not(match, span=span)
    if isinstance(value.value, tuple):
        _state.problems.append(Problem(
            f"'{op}' compares with one value, not a list", (value.start, value.end),
            hint=f"write {field} in [...] to match any of several values"))
        return Constant(False, span=span)
    if value.value is None:
        wanted = "is null" if op == "==" else "is not null"
        _state.problems.append(Problem(
            f"nothing is {'equal' if op == '==' else 'compared'} to null", span,
            hint=f"write {field} {wanted}"))
        return Constant(False, span=span)
    return Compare(field, op, value.value, span=span)


@cache
def _lark() -> Lark:
    """Lark's LALR parser: its tables drive ``_Driver``, and it explains syntax errors."""
    grammar = grammar_path().read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


_PASS = None  # a reduction of a one-child ``?rule``: the child itself is the result


class _Driver:
    """A tight LALR loop over lark's own tables, lexing contextually with one regex per state.

    It accepts exactly what lark accepts (same tables, same terminals in lark's order, so the
    same token at every position) but calls ``_Builder`` directly, skips one-child ``?rule``
    reductions and makes no per-token objects beyond the tokens. On any error it gives up, and
    ``parse`` lets lark re-run the text to explain the error.
    """

    def __init__(self, lark: Lark) -> None:
        table = lark.parser.parser.parser.parse_table
        self.start = table.start_states["start"]
        self.end = table.end_states["start"]
        ordered = sorted(lark.terminals, key=lambda t: (
            -t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        ignored = "|".join(t.pattern.to_regexp() for t in ordered if t.name in lark.ignore_tokens)
        self.skip = re.compile(f"(?:{ignored})*")
        builder = _Builder()
        # Names become plain str: lark's are Tokens, whose __eq__ slows every dict lookup.
        reductions = {rule: (len(rule.expansion), _reducer(builder, rule), str(rule.origin.name))
                      for actions in table.states.values()
                      for action, rule in actions.values() if action is not Shift}
        by_names: dict[frozenset[str], re.Pattern[str]] = {}
        self.actions: dict[int, dict[str, tuple[bool, Any]]] = {}
        self.lexers: dict[int, re.Pattern[str]] = {}
        for state, actions in table.states.items():
            self.actions[state] = {
                str(name): (True, arg) if action is Shift else (False, reductions[arg])
                for name, (action, arg) in actions.items()}
            names = frozenset(actions)
            if names not in by_names:
                alternatives = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})"
                                        for t in ordered if t.name in names)
                by_names[names] = re.compile(alternatives or "(?!)")
            self.lexers[state] = by_names[names]

    def parse(self, text: str) -> Any:
        """The ``Query`` built, or ``None`` when lark must explain an error."""
        actions, lexers = self.actions, self.lexers
        skip = self.skip.match  # matches everywhere: it accepts the empty string
        states = [self.start]
        values: list[Any] = []
        position = skip(text).end()  # type: ignore[union-attr]
        length = len(text)
        new_token = str.__new__
        while True:
            state = states[-1]
            if position < length:
                found = lexers[state].match(text, position)
                if found is None:
                    return None
                kind = found.lastgroup or ""
                end = found.end()
                token = new_token(Token, found.group())
                token.type, token.start_pos, token.end_pos = kind, position, end
                position = skip(text, end).end()  # type: ignore[union-attr]
            else:
                kind, token = "$END", None
            while True:
                step = actions[state].get(kind)
                if step is None:
                    return None
                shift, target = step
                if shift:
                    if token is None:
                        return values[-1]
                    states.append(target)
                    values.append(token)
                    break
                size, reduce, origin = target
                if reduce is _PASS:
                    del states[-1]
                elif size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                    values.append(reduce(*children))
                else:
                    values.append(reduce())
                state = actions[states[-1]][origin][1]
                states.append(state)
                if token is None and state == self.end:
                    return values[-1]


def _reducer(builder: _Builder, rule: Any) -> Any:
    """What reducing ``rule`` calls: the builder's method, with None for absent optionals."""
    name = rule.alias or rule.origin.name
    if rule.options.expand1 and not rule.alias and len(rule.expansion) == 1:
        return _PASS
    method = getattr(builder, name)
    empty = rule.options.empty_indices
    if not empty:
        return method
    # empty_indices marks, slot by slot, where an absent optional part stands (True).
    slots = iter(range(len(rule.expansion)))
    plan = [None if absent else next(slots) for absent in empty]

    def with_placeholders(*children: Any) -> Any:
        return method(*[None if i is None else children[i] for i in plan])

    return with_placeholders


@cache
def _driver() -> _Driver:
    return _Driver(_lark())


def parse(text: str) -> Query:
    """Parse query text into a ``Query``; raise ``QuerySyntaxError`` (or its subclass
    ``QueryValidationError``) pointing at the exact place when it is not a valid query."""
    if not isinstance(text, str):
        raise TypeError(f"parse() takes query text, not {type(text).__name__}")
    _state.reset(text)
    try:
        query = _driver().parse(text)
        if query is None:
            _lark().parse(text)  # raises the error the driver met, with lark's details
            raise AssertionError(f"wsquery and lark disagree on {text!r}")
    except UnexpectedInput as error:
        raise QuerySyntaxError(text, [_syntax_problem(text, error)]) from None
    finally:
        problems, _state.problems = _state.problems, []
        _state.depths = {}
    if not any(p.message == _TOO_DEEP for p in problems):  # checking would recurse too deep
        problems += _validate.check(query)
    if problems:
        raise QueryValidationError(text, sorted(problems, key=lambda p: p.span))
    return query  # type: ignore[no-any-return]


# Error translation ---------------------------------------------------------------------------

_OPERATORS = "'==', '!=', '<', '<=', '>', '>=', '=~', '!~'"
_DESCRIPTIONS = {
    "AND": "'and'", "OR": "'or'", "FIELD": "a field", "NAME": "a field", "NUMBER": "a number",
    "STRING": "a string",
    "DURATION": "a duration", "UNIT": "a unit (s, m, h, d, w)",
    "OP": f"an operator ({_OPERATORS})", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['",
    "RSQB": "']'", "COMMA": "','", "GROUP_BY": "'group by'", "ORDER_BY": "'order by'",
    "$END": "end of input", "NOT": "'not'", "IN": "'in'",
    "BETWEEN": "'between'", "CONTAINS": "'contains'", "IS": "'is'", "NULL": "'null'",
    "TRUE": "'true'", "FALSE": "'false'", "WITHIN": "'within'", "LAST": "'last'",
    "ASC": "'asc'", "DESC": "'desc'",
}
_VALUE_TERMINALS = {"NUMBER", "STRING", "DURATION", "TRUE", "FALSE", "NULL"}
_ORDER = ["AND", "OR", "FIELD", "NAME", "NOT", "LPAR", "NUMBER", "STRING", "DURATION", "TRUE",
          "FALSE", "NULL", "LSQB", "OP", "IN", "BETWEEN", "CONTAINS", "IS", "WITHIN", "LAST",
          "UNIT", "ASC", "DESC", "COMMA", "RSQB", "RPAR", "GROUP_BY", "ORDER_BY", "$END"]


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
    if token.type == "GROUP_BY" and "GROUP_BY" not in expected and "ORDER_BY" not in expected:
        return "'group by' comes before 'order by'"
    if token.type == "RPAR" and "RPAR" not in expected:
        return "this ')' closes no '('"
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
