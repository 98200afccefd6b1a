"""Python values -> checked ``Query`` nodes: build a query in code, never by pasting text.

``field("summary.val_loss") < 0.1`` is the ``Compare`` node the parser builds from that text;
``and_``, ``or_`` and ``not_`` join conditions, and ``query`` makes the whole ``Query``. Field
names are read by the parser itself (the language's spellings, bare names in any case, the
UI's names); a literal is typed as the parser types it (``bool``, ``int``, ``float``, ``str``,
``Duration``; a ``date``/``datetime`` becomes its ISO-8601 string, a ``timedelta`` a duration
in seconds) and every leaf is checked as the parser checks it. So a built query is one the
parser could have built, ``parse(str(q)) == q`` always holds, and a value is only ever a
literal: no string can change the structure of the query it is put in.

Mistakes raise what the parser raises for the same text: ``QuerySyntaxError`` for a name that
is no field, ``QueryValidationError`` for a literal that can never match (shown on the text
of the condition); a Python value with no literal at all (a dict, an object) is a
``TypeError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, ClassVar, TypeAlias, TypeVar, assert_never

import attrs

from wsquery.ast import (
    LEAF_TYPES,
    UNIT_SECONDS,
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
    Scalar,
    Within,
    comparison,
    format_value,
    walk,
)
from wsquery.errors import Diagnostic, QuerySyntaxError, QueryValidationError
from wsquery.syntax import validate as _validate
from wsquery.syntax.validate import MAX_DEPTH, bad_limit, list_for_one_value, null_compared

__all__ = ["FieldBuilder", "and_", "duration", "field", "not_", "or_", "query"]

#: What names a field: its text, its AST node, or a builder.
FieldLike: TypeAlias = "str | Field | FieldBuilder"

_ORDERING = ("==", "!=", "<", "<=", ">", ">=")
_FIELD_PREFIX = "group by "
_DURATION_PREFIX = "created_at within last "
_Leaf = TypeVar("_Leaf", Compare, In, Match, Contains, Within)
_ONE_FIELD = Diagnostic("a field name is one name, with nothing after it", (0, 0),
                     hint="pass one field name such as summary.val_loss or state")
_ONE_DURATION = Diagnostic("a duration is one length of time, with nothing after it", (0, 0),
                        hint="write a duration such as 90s, 5m, 2h, 3d or 1w")

class FieldBuilder:
    """A field to build conditions on; ``field(...)`` makes one. Comparison operators build
    nodes instead of comparing builders (so a builder has no hash):

    - ``==`` ``!=`` ``<`` ``<=`` ``>`` ``>=``: ``Compare`` (for ``tags``, ``== "x"`` is the
      parser's has-the-tag ``Contains`` and ``!= "x"`` its negation);
    - ``isin``, ``not_in``, ``between``, ``matches``, ``contains``, ``is_null``,
      ``is_not_null``, ``within_last``: the node the parser builds for ``in``, ``not in``,
      ``between``, ``=~``, ``contains``, ``is null``, ``is not null``, ``within last``;
    - ``asc``/``desc``: an ``OrderKey`` for ``order by``.
    """

    __slots__ = ("field",)
    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    field: Field

    def __init__(self, name: str | Field) -> None:
        self.field = _as_field(name)

    def __repr__(self) -> str:
        return f"field({str(self.field)!r})"

    def __str__(self) -> str:
        return str(self.field)

    def __eq__(self, value: object) -> Expr:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: object) -> Expr:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: object) -> Expr:
        return self._compare("<", value)

    def __le__(self, value: object) -> Expr:
        return self._compare("<=", value)

    def __gt__(self, value: object) -> Expr:
        return self._compare(">", value)

    def __ge__(self, value: object) -> Expr:
        return self._compare(">=", value)

    def isin(self, values: Iterable[object]) -> In:
        """``field in [values]``: equal to one of them (for ``tags``: has any of them)."""
        node = In(self.field, self._values("in", values))
        return _checked(node)

    def not_in(self, values: Iterable[object]) -> Not:
        """``field not in [values]``."""
        return Not(self.isin(values))

    def between(self, low: object, high: object) -> And:
        """``field between low and high``: ``field >= low and field <= high``."""
        return And((self._compare(">=", low), self._compare("<=", high)))

    def matches(self, pattern: object) -> Match:
        """``field =~ "pattern"``: the value contains a match of the RE2 pattern."""
        if not isinstance(pattern, str):
            _literal(pattern, lambda: f"{self.field} =~ ?")  # a TypeError if it is no literal
            raise _refused(f"{self.field} =~ {_show(pattern)}",
                           "'=~' needs a regular expression in quotes",
                           f'write {self.field} =~ "^pattern"')
        return _checked(Match(self.field, _plain_str(pattern)))

    def contains(self, value: object) -> Contains:
        """``field contains value``: a substring of a string, or a member of a list."""
        literal = self._scalar("contains", value)
        return _checked(Contains(self.field, literal))

    def is_null(self) -> IsNull:
        """``field is null``: the key is missing or holds null."""
        return IsNull(self.field)

    def is_not_null(self) -> Not:
        """``field is not null``."""
        return Not(IsNull(self.field))

    def within_last(self, length: str | Duration | timedelta) -> Within:
        """``field within last length``; ``length`` as the language spells it (``"3d"``,
        ``"2 weeks"``), a ``Duration`` or a ``timedelta``."""
        return _checked(Within(self.field, duration(length)))

    def asc(self) -> OrderKey:
        return OrderKey(self.field, True)

    def desc(self) -> OrderKey:
        return OrderKey(self.field, False)

    def _compare(self, op: str, value: object) -> Expr:
        literal = self._scalar(op, value)
        if literal is None:
            raise _refused_as(f"{self.field} {op} null", null_compared(self.field, op, (0, 0)))
        node = comparison(self.field, op, literal)
        _check_leaf(node.operand if type(node) is Not else node)
        return node

    def _scalar(self, op: str, value: object) -> Scalar:
        if isinstance(value, list | tuple | set | frozenset):
            items = self._values(op, value)
            raise _refused_as(f"{self.field} {op} {format_value(items)}",
                              list_for_one_value(self.field, op, (0, 0)))
        return _literal(value, lambda: f"{self.field} {op} {_show(value)}")

    def _values(self, op: str, values: Iterable[object]) -> tuple[Scalar, ...]:
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise TypeError(f"{op!r} takes a list of values, not {type(values).__name__} "
                            f"{values!r}")
        items = list(values)
        text = f"{self.field} {op} [{', '.join(_show(v) for v in items)}]"
        if any(isinstance(v, list | tuple | set | frozenset) for v in items):
            raise _refused(text, "a list holds single values, not lists",
                           f"write {self.field} in [1, 2, 3]")
        return tuple([_literal(v, lambda: text) for v in items])


def field(name: FieldLike) -> FieldBuilder:
    """A builder for the field ``name``, spelt as in a query (``summary.val_loss``,
    ``config.optimizer.lr``, ``summary_metrics.acc``, ``run.commit``, bare run attributes such
    as ``state`` or ``created_at`` in any case, the UI's ``State``), or a ``Field`` node.
    Raises ``QuerySyntaxError``/``QueryValidationError`` as the parser does for that text."""
    if isinstance(name, FieldBuilder):
        return name
    return FieldBuilder(name)


def duration(length: str | Duration | timedelta) -> Duration:
    """A ``Duration`` from its text as the language spells it (``"90s"``, ``"1.5d"``,
    ``"2 weeks"``), or a ``Duration`` or ``timedelta`` checked to have such a spelling."""
    if isinstance(length, str):
        return _parse_duration(length)
    if isinstance(length, timedelta):
        seconds = length.total_seconds()
        length = Duration(int(seconds) if seconds.is_integer() else seconds, "s")
    if not isinstance(length, Duration):
        raise TypeError(f"not a duration: {length!r}")
    return _check_duration(length)


def not_(condition: Expr) -> Not:
    """``not condition``."""
    return Not(_as_expr(condition))


def and_(*conditions: Expr) -> Expr:
    """All of ``conditions`` hold: an ``And`` of them as given (an ``And`` operand stays
    nested, as parentheses keep it in text); one condition is itself, none is ``true``."""
    return _join(And, conditions, True)


def or_(*conditions: Expr) -> Expr:
    """Any of ``conditions`` holds: an ``Or`` of them as given; one is itself, none ``false``."""
    return _join(Or, conditions, False)


def query(filter: Expr | None = None,
          group_by: FieldLike | Iterable[FieldLike] = (),
          order_by: FieldLike | OrderKey | Iterable[FieldLike | OrderKey] = (),
          limit: int | None = None) -> Query:
    """The ``Query`` of a filter, ``group by`` fields, ``order by`` keys (a field alone sorts
    ascending; ``field(...).desc()`` descending) and a limit; one field or key may stand for a
    list of one. The whole filter is checked as the parser checks a query, nodes built by
    hand included: ``str()`` of the result always parses back to it."""
    if filter is not None:
        _check_condition(_as_expr(filter))
    groups = tuple([_as_field(f) for f in _items(group_by)])
    keys = tuple([k if isinstance(k, OrderKey) and _check_key(k) else OrderKey(_as_field(k))
                  for k in _items(order_by)])
    if limit is not None:
        _check_limit(limit)
    return Query(filter, groups, keys, limit)


# Fields and durations, read by the parser ---------------------------------------------------

def _as_field(name: object) -> Field:
    if isinstance(name, FieldBuilder):
        return name.field
    if isinstance(name, str):
        return _parse_field(name)
    if isinstance(name, Field):
        text = str(name)
        parsed = _parse_field(text)
        if parsed != name:
            raise QueryValidationError(text, [Diagnostic(
                f"{name!r} prints as {text}, which names another field", (0, len(text)))])
        return name
    raise TypeError(f"not a field: {name!r}")


@lru_cache(maxsize=1024)
def _parse_field(text: str) -> Field:
    """The field ``text`` names, read by the parser as the one field of a ``group by``."""
    name = text.strip()
    try:
        parsed = _parse_part(_FIELD_PREFIX, name)
    except QuerySyntaxError as error:
        _refuse_trailing(error, _FIELD_PREFIX, name, _ONE_FIELD)
        raise
    if not parsed.group_by:  # `group by` and nothing, for an empty name
        raise QuerySyntaxError(name, [Diagnostic("expected a field", (0, 0),
                                              expected=("a field",))])
    found = parsed.group_by[0]
    span = found.span or (0, 0)
    end = span[1] - len(_FIELD_PREFIX)
    if parsed != Query(None, (found,)) or end != len(name):
        raise QuerySyntaxError(name, [attrs.evolve(_ONE_FIELD, span=(end, len(name)))])
    return Field(found.section, found.path)


@lru_cache(maxsize=256)
def _parse_duration(text: str) -> Duration:
    """The duration ``text`` spells, read by the parser from ``created_at within last text``."""
    length = text.strip()
    try:
        parsed = _parse_part(_DURATION_PREFIX, length)
    except QuerySyntaxError as error:
        _refuse_trailing(error, _DURATION_PREFIX, length, _ONE_DURATION)
        raise
    found = parsed.filter
    end = (found.span or (0, 0))[1] - len(_DURATION_PREFIX) if found is not None else 0
    if not isinstance(found, Within) or parsed != Query(found) or end != len(length):
        raise QuerySyntaxError(length, [attrs.evolve(_ONE_DURATION, span=(end, len(length)))])
    return found.duration


def _refuse_trailing(error: QuerySyntaxError, prefix: str, text: str, problem: Diagnostic) -> None:
    """When a start of ``text`` is read without error, the trouble is that more follows: say
    that, rather than what the parser expected next in the query it was given. Starts end
    where the error is or before a space (``config.`a b` c``: at the second space)."""
    ends = {i for i, ch in enumerate(text) if ch.isspace()}
    start = error.span[0]
    if 0 < start < len(text) and text[start] not in ".`":
        ends.add(start)
    for end in sorted(ends):
        head = text[:end].rstrip()
        try:
            _parse_part(prefix, head)
        except QueryValidationError:
            pass  # one field or duration, if not a meaningful one
        except QuerySyntaxError:
            continue
        rest = len(text) - len(text[end:].lstrip())
        raise QuerySyntaxError(text, [attrs.evolve(problem, span=(rest, len(text)))]) from None


def _parse_part(prefix: str, text: str) -> Query:
    """``prefix + text`` parsed; an error is shown on ``text`` alone."""
    from wsquery.syntax.parser import parse

    try:
        return parse(prefix + text)
    except QuerySyntaxError as error:
        def shift(span: tuple[int, int]) -> tuple[int, int]:
            return (max(0, min(len(text), span[0] - len(prefix))),
                    max(0, min(len(text), span[1] - len(prefix))))
        problems = [attrs.evolve(p, span=shift(p.span)) for p in error.problems]
        raise type(error)(text, problems) from None


def _check_duration(length: Duration) -> Duration:
    amount = length.amount
    if (length.unit not in UNIT_SECONDS or type(amount) not in (int, float)
            or not 0 <= amount < math.inf):
        raise _refused(f"Duration({amount!r}, {length.unit!r})",
                       "a duration is a finite length of time, zero or more",
                       "write a duration such as 90s, 5m, 2h, 3d or 1w")
    text = str(length)
    try:
        spelt = _parse_duration(text)
    except QuerySyntaxError:
        spelt = None
    if spelt != length:
        raise _refused(text, "this duration has no spelling in the query language",
                       "write its amount in plain digits, as in Duration(90, 's')")
    return length


# Literals -----------------------------------------------------------------------------------

def _literal(value: object, text: Any) -> Scalar:
    """``value`` typed as the parser types a literal; ``text()`` shows where, on an error."""
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        number = int(value) if isinstance(value, int) else float(value)
        try:
            format_value(number)
        except ValueError:  # not finite, or more digits than Python prints
            raise _refused(text(), "number out of range",
                           "numbers are 64-bit floats or integers of at most 4300 digits"
                           ) from None
        return number
    if isinstance(value, str):
        return _plain_str(value)
    if isinstance(value, Duration):
        return _check_duration(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration(value)
    raise TypeError(f"not a query literal: {value!r} (literals are None, bools, numbers, "
                    "strings, durations and dates)")


def _plain_str(value: str) -> str:
    return str.__str__(value)


def _show(value: object) -> str:
    try:
        return format_value(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    try:
        return repr(value)
    except ValueError:  # an int of more digits than Python prints
        return f"<{type(value).__name__}>"


# Checks -------------------------------------------------------------------------------------

def _refused(text: str, message: str, hint: str | None) -> QueryValidationError:
    return QueryValidationError(text, [Diagnostic(message, (0, len(text)), hint=hint)])


def _refused_as(text: str, problem: Diagnostic) -> QueryValidationError:
    """The parser's ``problem``, shown under the whole of ``text``."""
    return _refused(text, problem.message, problem.hint)


def _checked(node: _Leaf) -> _Leaf:
    """``node``, checked as the parser checks the leaf it builds."""
    _check_leaf(node)
    return node


def _check_leaf(node: Expr) -> None:
    problems: list[Diagnostic] = []
    _validate.check_leaf(node, problems)
    if problems:
        text = str(node)
        raise QueryValidationError(
            text, [attrs.evolve(p, span=(0, len(text))) for p in problems])


def _as_expr(condition: object) -> Expr:
    if isinstance(condition, Expr):
        return condition
    if isinstance(condition, FieldBuilder):
        raise TypeError(f"{condition!r} is a field, not a condition: compare it, as in "
                        f"{condition!r} == 1")
    raise TypeError(f"not a condition: {condition!r}")


def _join(kind: type[And] | type[Or], conditions: tuple[Expr, ...], empty: bool) -> Expr:
    operands = tuple([_as_expr(c) for c in conditions])
    if not operands:
        return Constant(empty)
    if len(operands) == 1:
        return operands[0]
    return kind(operands)


def _check_condition(condition: Expr) -> None:
    """Refuse what the parser could not have built from ``str(condition)``: a literal of no
    spelling, a leaf the parser refuses, an and/or of fewer than two, nesting too deep."""
    depths: dict[int, int] = {}
    for node in _post_order(condition):
        match node:
            case And() | Or():
                if len(node.operands) < 2:
                    raise TypeError(f"{type(node).__name__} of {len(node.operands)} operands: "
                                    "build it with and_()/or_()")
                depth = 1 + max(depths[id(o)] for o in node.operands)
            case Not():
                depth = 1 + depths[id(node.operand)]
            case Field():
                continue
            case _:
                _rebuild_leaf(node)
                depth = 0
        if depth > MAX_DEPTH:
            text = f"{type(node).__name__} nested {depth} levels deep"
            raise QueryValidationError(text, [Diagnostic(
                f"conditions nest deeper than {MAX_DEPTH} levels", (0, len(text)),
                hint="split the query, or flatten needless parentheses and double negations")])
        depths[id(node)] = depth


def _post_order(condition: Expr) -> list[Any]:
    order = list(walk(condition))
    order.reverse()
    return order


def _rebuild_leaf(node: Any) -> None:
    """Check a leaf as if the builder had built it from its parts."""
    if not isinstance(node, LEAF_TYPES):
        raise TypeError(f"not a condition: {node!r}")
    if isinstance(node, Constant):
        if type(node.value) is not bool:
            raise TypeError(f"a Constant holds true or false, not {node.value!r}")
        return
    builder = FieldBuilder(node.field)
    match node:
        case Compare():
            if node.op not in _ORDERING:
                raise TypeError(f"not a comparison operator: {node.op!r}")
            literal = builder._scalar(node.op, node.value)
            if literal != node.value or type(literal) is not type(node.value):
                raise TypeError(f"not a query literal as the parser types it: {node.value!r}")
            if literal is None:
                builder._compare(node.op, None)
        case In():
            if not isinstance(node.values, tuple):
                raise TypeError(f"In holds a tuple of values, not {node.values!r}")
            values = builder._values("in", node.values)
            if any(type(a) is not type(b) for a, b in zip(values, node.values, strict=True)):
                raise TypeError(f"not query literals as the parser types them: {node.values}")
        case Match():
            builder.matches(node.pattern)
        case Contains():
            builder._scalar("contains", node.value)
        case Within():
            if not isinstance(node.duration, Duration):
                raise TypeError(f"Within holds a Duration, not {node.duration!r}")
            _check_duration(node.duration)
        case IsNull():
            pass  # its field, checked above, is all it holds
        case _:
            assert_never(node)
    _check_leaf(node)


def _check_key(key: OrderKey) -> bool:
    _as_field(key.field)
    if type(key.ascending) is not bool:
        raise TypeError(f"OrderKey.ascending is True or False, not {key.ascending!r}")
    return True


def _check_limit(limit: object) -> None:
    if isinstance(limit, int | float) and not isinstance(limit, bool):
        if type(limit) is int and limit >= 1 and _printable(limit):
            return
        text = f"limit {_show(limit)}"
        raise QueryValidationError(text, [bad_limit((6, len(text)))])
    raise TypeError(f"limit is a whole number of runs or None, not {limit!r}")


def _printable(number: int) -> bool:
    try:
        format_value(number)
    except ValueError:
        return False
    return True


def _items(items: Any) -> list[Any]:
    if isinstance(items, str | Field | FieldBuilder | OrderKey):
        return [items]
    return list(items)
