"""The typed syntax tree of a query; ``str(node)`` is its canonical text.

Nodes are frozen, slotted attrs classes. Every node may carry the ``span`` (start, end offsets
in the source text) it was parsed from; spans take no part in equality, hashing or repr, so two
queries that say the same thing compare equal wherever they came from.

This module imports nothing else of wsquery but the table of run attributes (``facts.attributes``,
itself free of imports): every pass builds on it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Never, NoReturn, TypeAlias, TypeVar, get_args, overload

import attrs

from wsquery.facts.attributes import ATTRIBUTES

Span: TypeAlias = "tuple[int, int] | None"

#: The sections a field lives in, named as W&B names them in run-set filter keys.
SECTIONS = ("config", "summary", "run")

#: Bare attribute names of the language -> key names in W&B's ``run`` section.
RUN_ATTRIBUTES: dict[str, str] = {
    attribute.name: attribute.key for attribute in ATTRIBUTES if attribute.name is not None}
#: W&B ``run`` key names -> the bare attribute name that prints them.
RUN_KEY_ATTRIBUTES: dict[str, str] = {key: attr for attr, key in RUN_ATTRIBUTES.items()}

#: The names W&B's UI and workspace library give run attributes (``Metric('State')``, a panel's
#: ``x="Step"``) -> the keys W&B stores for them.
UI_RUN_NAMES: dict[str, str] = {
    attribute.ui_name: attribute.key for attribute in ATTRIBUTES if attribute.ui_name is not None}

#: Every bare name a query may use for a run attribute, lower-cased (bare names are
#: case-insensitive): the language's own names and the UI's (``State``, ``CreatedTimestamp``).
BARE_NAMES: dict[str, str] = {
    **{name.lower(): key for name, key in UI_RUN_NAMES.items() if name.isidentifier()},
    **RUN_ATTRIBUTES,
}

#: The path of the run attribute ``tags``, whose ``==``/``!=`` test membership.
TAGS_PATH = (RUN_ATTRIBUTES["tags"],)

#: The first and last moments there are: where ``within last`` counts from when a duration
#: reaches past them.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

#: Duration units in canonical spelling -> seconds.
UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_PLAIN_SEGMENT = re.compile(r"[^\W\d][\w\-/]*")
_SPAN = attrs.field(default=None, eq=False, repr=False, kw_only=True)


@attrs.frozen(slots=True)
class Duration:
    """A length of time as written (``90s``, ``1.5d``); ``seconds`` is what it means."""

    amount: int | float
    unit: str

    @property
    def seconds(self) -> float:
        return self.amount * UNIT_SECONDS[self.unit]

    def before(self, now: datetime) -> datetime:
        """The moment this long before ``now`` (``within last`` counts from it): the earliest
        or latest moment there is when it lies beyond them."""
        seconds = self.seconds
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:
            return EARLIEST if seconds > 0 else LATEST

    def __str__(self) -> str:
        return f"{format_number(self.amount)}{self.unit}"


Scalar: TypeAlias = "bool | int | float | str | Duration | None"


@attrs.frozen(slots=True)
class Field:
    """A key of a run: ``section`` is config, summary or run; ``path`` its dot-separated segments.

    The W&B key name is ``key`` (the segments joined with ``.``). Run attributes are stored under
    their W&B ``run`` key (``name`` -> ``run.displayName``) and print under their bare name.
    """

    section: str
    path: tuple[str, ...]
    span: Span = _SPAN

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def attribute(self) -> str | None:
        """The bare attribute name when this is one of the known run attributes."""
        if self.section == "run" and len(self.path) == 1:
            return RUN_KEY_ATTRIBUTES.get(self.path[0])
        return None

    def __str__(self) -> str:
        attribute = self.attribute
        if attribute is not None:
            return attribute
        return self.section + "." + ".".join(format_segment(s) for s in self.path)


class _Logic:
    """``&``, ``|`` and ``~`` on conditions build ``And``, ``Or`` and ``Not`` as the parser
    does for ``and``, ``or`` and ``not``: ``a & b & c`` is one ``And`` of three, as
    ``a and b and c`` is."""

    __slots__ = ()

    def __and__(self, other: Expr) -> And:
        return And((*_chained(self, And), other))

    def __or__(self, other: Expr) -> Or:
        return Or((*_chained(self, Or), other))

    def __invert__(self) -> Not:
        return Not(self)  # type: ignore[arg-type]


def _chained(left: object, kind: type[And] | type[Or]) -> tuple[Expr, ...]:
    return left.operands if type(left) is kind else (left,)  # type: ignore[return-value]


@attrs.frozen(slots=True)
class Compare(_Logic):
    """``field op value`` with op one of ``== != < <= > >=``."""

    field: Field
    op: str
    value: Scalar
    span: Span = _SPAN

    def __str__(self) -> str:
        return f"{self.field} {self.op} {format_value(self.value)}"


@attrs.frozen(slots=True)
class In(_Logic):
    """``field in [values]``: equal to one of the values (for ``tags``: has any of them)."""

    field: Field
    values: tuple[Scalar, ...]
    span: Span = _SPAN

    def __str__(self) -> str:
        return f"{self.field} in {format_value(self.values)}"


@attrs.frozen(slots=True)
class Match(_Logic):
    """``field =~ "regex"``: the string value contains a match of the pattern."""

    field: Field
    pattern: str
    span: Span = _SPAN

    def __str__(self) -> str:
        return f"{self.field} =~ {format_value(self.pattern)}"


@attrs.frozen(slots=True)
class Contains(_Logic):
    """``field contains value``: a substring of a string, or a member of a list (``tags``)."""

    field: Field
    value: Scalar
    span: Span = _SPAN

    @property
    def has_tag(self) -> bool:
        """Whether this says a run has a tag: printed ``tags == "x"``, as the W&B UI's "is"."""
        field = self.field
        return field.path == TAGS_PATH and field.section == "run" and isinstance(self.value, str)

    def __str__(self) -> str:
        if self.has_tag:
            return f"{self.field} == {format_value(self.value)}"
        return f"{self.field} contains {format_value(self.value)}"


@attrs.frozen(slots=True)
class IsNull(_Logic):
    """``field is null``: the key is missing or holds null. Never unknown."""

    field: Field
    span: Span = _SPAN

    def __str__(self) -> str:
        return f"{self.field} is null"


@attrs.frozen(slots=True)
class Within(_Logic):
    """``field within last duration``: a timestamp no older than the duration."""

    field: Field
    duration: Duration
    span: Span = _SPAN

    def __str__(self) -> str:
        return f"{self.field} within last {self.duration}"


@attrs.frozen(slots=True)
class Constant(_Logic):
    """``true`` or ``false`` as a whole condition (normalization folds to these)."""

    value: bool
    span: Span = _SPAN

    def __str__(self) -> str:
        return "true" if self.value else "false"


@attrs.frozen(slots=True)
class Not(_Logic):
    operand: Expr
    span: Span = _SPAN

    def __str__(self) -> str:
        inner = self.operand
        match inner:
            case In():
                return f"{inner.field} not in {format_value(inner.values)}"
            case Match():
                return f"{inner.field} !~ {format_value(inner.pattern)}"
            case IsNull():
                return f"{inner.field} is not null"
            case Contains() if inner.has_tag:
                return f"{inner.field} != {format_value(inner.value)}"
            case And() | Or():
                return f"not ({inner})"
            case _:
                return f"not {inner}"


@attrs.frozen(slots=True)
class And(_Logic):
    """All operands hold; n-ary, at least two operands when built by the parser."""

    operands: tuple[Expr, ...]
    span: Span = _SPAN

    def __str__(self) -> str:
        return " and ".join(
            f"({o})" if isinstance(o, And | Or) else str(o) for o in self.operands)


@attrs.frozen(slots=True)
class Or(_Logic):
    """Any operand holds; n-ary, at least two operands when built by the parser."""

    operands: tuple[Expr, ...]
    span: Span = _SPAN

    def __str__(self) -> str:
        return " or ".join(f"({o})" if isinstance(o, Or) else str(o) for o in self.operands)


def comparison(field: Field, op: str, value: Scalar, span: Span = None) -> Compare | Contains | Not:
    """``field op value`` as the language reads it: on ``tags``, ``==`` and ``!=`` say the run
    has or lacks that tag (the W&B UI's "is" and "is not"); elsewhere a ``Compare``."""
    if field.path == TAGS_PATH and field.section == "run" and op in ("==", "!="):
        has_tag = Contains(field, value, span=span)
        return has_tag if op == "==" else Not(has_tag, span=span)
    return Compare(field, op, value, span=span)


#: The conditions on a field, and every condition. Real unions, not strings: the other tables
#: of node types (``LEAF_TYPES``, ``_EXPR_TYPES``) are read off them, so a node type is listed
#: here once.
Predicate: TypeAlias = Compare | In | Match | Contains | IsNull | Within
Expr: TypeAlias = Predicate | Constant | Not | And | Or


@attrs.frozen(slots=True)
class OrderKey:
    field: Field
    ascending: bool = True
    span: Span = _SPAN

    def __str__(self) -> str:
        return str(self.field) if self.ascending else f"{self.field} desc"


def _group_fields(items: Iterable[Any]) -> tuple[Field, ...]:
    """``group by`` fields as given: ``Field`` nodes, or what holds one (``wsquery.field``)."""
    if type(items) is tuple and all(type(item) is Field for item in items):
        return items  # as the parser builds them
    return tuple([_field_of(item) for item in items])


def _order_keys(items: Iterable[Any]) -> tuple[OrderKey, ...]:
    """``order by`` keys as given: ``OrderKey`` nodes, or fields (ascending)."""
    if type(items) is tuple and all(type(item) is OrderKey for item in items):
        return items
    return tuple([item if type(item) is OrderKey else OrderKey(_field_of(item))
                  for item in items])


def _field_of(item: Any) -> Field:
    field = getattr(item, "field", item)
    if type(field) is not Field:
        raise TypeError(f"expected a field, not {item!r}: write wsquery.field({item!r})"
                        if isinstance(item, str) else f"expected a field, not {item!r}")
    return field


@attrs.frozen(slots=True)
class Query:
    """A whole query: an optional filter, then ``group by``, ``order by`` and ``limit``
    clauses; ``limit`` keeps the first that many runs in order (None: all of them).
    ``group_by`` and ``order_by`` take any iterable of fields (``wsquery.field(...)`` too);
    fields in ``order_by`` sort ascending."""

    filter: Expr | None = None
    group_by: tuple[Field, ...] = attrs.field(default=(), converter=_group_fields)
    order_by: tuple[OrderKey, ...] = attrs.field(default=(), converter=_order_keys)
    limit: int | None = None
    span: Span = _SPAN

    def __str__(self) -> str:
        parts = [] if self.filter is None else [str(self.filter)]
        if self.group_by:
            parts.append("group by " + ", ".join(str(f) for f in self.group_by))
        if self.order_by:
            parts.append("order by " + ", ".join(str(k) for k in self.order_by))
        if self.limit is not None:
            parts.append(f"limit {self.limit}")
        return " ".join(parts)

    def where(self, condition: Expr | Query) -> Query:
        """This query with ``condition`` required too (``and``), its ``group by``, ``order by``
        and ``limit`` kept: text cannot do this by appending ``and ...`` once a clause ends
        it. ``condition`` is a condition (``wsquery.field("state") == "finished"``) or a query
        that is a filter alone (``wsquery.parse('state == "finished"')``). ``query & condition``
        is the same."""
        if isinstance(condition, Query):
            if condition.group_by or condition.order_by or condition.limit is not None:
                raise ValueError(f"{str(condition)!r} has clauses; only a filter can be added "
                                 "to a query")
            if condition.filter is None:
                return self
            condition = condition.filter
        if isinstance(condition, str):
            raise TypeError(f"{condition!r} is text: give wsquery.parse({condition!r})")
        if not isinstance(condition, _EXPR_TYPES):
            raise TypeError(f"not a condition: {condition!r}")
        joined = condition if self.filter is None else self.filter & condition
        return attrs.evolve(self, filter=joined, span=None)

    __and__ = where


#: The order every query ends with, after its own ``order by`` keys: newest first, then by id,
#: so that ties are broken the same way on every target (W&B's run ids are unique, so this is a
#: total order on W&B's runs). A query without ``order by`` lists its runs in this order.
DEFAULT_ORDER: tuple[OrderKey, ...] = (
    OrderKey(Field("run", (RUN_ATTRIBUTES["created_at"],)), ascending=False),
    OrderKey(Field("run", (RUN_ATTRIBUTES["id"],)), ascending=True),
)


def total_order(query: Query) -> tuple[OrderKey, ...]:
    """The keys ``query``'s runs are sorted by: its ``order by`` keys, then those of
    ``DEFAULT_ORDER`` on fields it does not already order by (missing values last either way)."""
    named = {key.field for key in query.order_by}
    return query.order_by + tuple(key for key in DEFAULT_ORDER if key.field not in named)


#: Everything ``walk`` yields and ``transform`` rebuilds: the query, its conditions, its order
#: keys and every field they name. Literals (numbers, strings, ``Duration``) are values, not nodes.
Node: TypeAlias = "Query | Expr | OrderKey | Field"


def walk(node: Node) -> Iterator[Node]:
    """Every node under ``node``, itself first: depth first, parents before their children,
    children in the order they print. Fields are nodes too: a leaf is followed by its field,
    a query by its filter's nodes, then its ``group by`` fields, then each order key followed
    by its field. So ``[n for n in walk(q) if isinstance(n, Field)]`` is every field ``q``
    names, in order. Iterative: no nesting depth exhausts the stack."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(_children(current)))


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Query():
            head: tuple[Node, ...] = () if node.filter is None else (node.filter,)
            return head + node.group_by + node.order_by
        case And() | Or():
            return node.operands
        case Not():
            return (node.operand,)
        case Compare() | In() | Match() | Contains() | IsNull() | Within() | OrderKey():
            return (node.field,)
        case Constant() | Field():
            return ()
        case _:
            _not_a_node(node)


def _not_a_node(node: Never) -> NoReturn:
    """Refuse a value that is no node; typed so that a node type a ``match`` forgot is a type
    error, as with ``assert_never``."""
    raise TypeError(f"not a query node: {node!r}")


@overload
def transform(node: Query, fn: Callable[[Node], Node]) -> Query: ...
@overload
def transform(node: Field, fn: Callable[[Node], Node]) -> Field: ...
@overload
def transform(node: OrderKey, fn: Callable[[Node], Node]) -> OrderKey: ...
@overload
def transform(node: Expr, fn: Callable[[Node], Node]) -> Expr: ...


def transform(node: Node, fn: Callable[[Node], Node]) -> Node:
    """``node`` rebuilt bottom up: each node's children are transformed first, then ``fn`` is
    called with the node (rebuilt on its new children) and what it returns takes its place;
    return the node given to keep it. ``fn`` sees the nodes ``walk`` yields, fields included.

    A replacement must be of the kind it replaces (a condition for a condition, a field for a
    field, an order key for an order key, a query for the query), else ``TypeError``; so the
    result is of the kind of ``node``. A node whose children are unchanged is kept as it is (the
    same object, span and all), and a rebuilt one keeps its span. The result is a tree as the
    parser would hold it only if ``fn`` returns such nodes: check it with ``str`` and ``parse``
    or build replacements with ``wsquery.build``."""
    kind = _KINDS.get(type(node), _EXPR_TYPES)
    result: Node = _replace(node, fn, kind)
    return result


def _transform(node: Node, fn: Callable[[Node], Node]) -> Node:
    match node:
        case Query():
            filter_ = None if node.filter is None else _replace(node.filter, fn, _EXPR_TYPES)
            group_by = tuple([_replace(f, fn, Field) for f in node.group_by])
            order_by = tuple([_replace(k, fn, OrderKey) for k in node.order_by])
            if (filter_ is not node.filter or _changed(group_by, node.group_by)
                    or _changed(order_by, node.order_by)):
                node = attrs.evolve(node, filter=filter_, group_by=group_by, order_by=order_by)
        case And() | Or():
            operands = tuple([_replace(o, fn, _EXPR_TYPES) for o in node.operands])
            if _changed(operands, node.operands):
                node = attrs.evolve(node, operands=operands)
        case Not():
            operand = _replace(node.operand, fn, _EXPR_TYPES)
            if operand is not node.operand:
                node = attrs.evolve(node, operand=operand)
        case Compare() | In() | Match() | Contains() | IsNull() | Within() | OrderKey():
            field = _replace(node.field, fn, Field)
            if field is not node.field:
                node = attrs.evolve(node, field=field)
        case Constant() | Field():
            pass
        case _:
            _not_a_node(node)
    return fn(node)


def _replace(node: Node, fn: Callable[[Node], Node], kind: type | tuple[type, ...]) -> Any:
    new = _transform(node, fn)
    if not isinstance(new, kind):
        raise TypeError(f"transform: {type(node).__name__} {str(node)!r} replaced by "
                        f"{type(new).__name__} {new!r}, which cannot take its place")
    return new


def _changed(new: tuple[Node, ...], old: tuple[Node, ...]) -> bool:
    return any(a is not b for a, b in zip(new, old, strict=True))


_EXPR_TYPES: tuple[type, ...] = get_args(Expr)
#: The conditions that nest no other condition: every ``Predicate``, and ``Constant``.
LEAF_TYPES: tuple[type[Predicate | Constant], ...] = (*get_args(Predicate), Constant)
_KINDS: dict[type, type] = {Query: Query, Field: Field, OrderKey: OrderKey}

_Node = TypeVar("_Node")


def slot_constructor(cls: type[_Node]) -> Callable[..., _Node]:
    """A constructor of a slotted attrs class taking every field positionally (``span`` last
    for nodes) that fills the slots directly. The object is the one ``cls(...)`` builds, for
    classes without validators, converters, factories or a post-init, as all here are. A
    frozen attrs ``__init__`` sets each field through ``object.__setattr__``, which costs more
    than all else in building a node, and a parse builds several nodes per condition."""
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    # A function written for the class's fields, as attrs writes its own __init__: one call
    # per slot, no loop over them.
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls, **{
        f"set_{index}": getattr(cls, name).__set__ for index, name in enumerate(names)}}
    values = ", ".join(f"value_{index}" for index in range(len(names)))
    sets = "".join(f"    set_{index}(node, value_{index})\n" for index in range(len(names)))
    exec(f"def construct({values}):\n    node = new(cls)\n{sets}    return node\n", scope)
    return scope["construct"]  # type: ignore[no-any-return]


def format_segment(segment: str) -> str:
    """A key segment as written: bare when it can be, else in backticks."""
    if _PLAIN_SEGMENT.fullmatch(segment):
        return segment
    return f"`{segment}`"


def format_number(number: int | float) -> str:
    """``repr`` keeps a float's ``.0`` or exponent, so int and float survive a round trip."""
    return repr(number)


def format_value(value: Scalar | tuple[Scalar, ...]) -> str:
    """A literal in canonical spelling: double-quoted strings, lower-case keywords."""
    match value:
        case None:
            return "null"
        case bool():
            return "true" if value else "false"
        case int() | float():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{value!r} has no literal in the query language")
            return format_number(value)
        case str():
            return json.dumps(value, ensure_ascii=False)
        case Duration():
            return str(value)
        case tuple():
            return "[" + ", ".join(format_value(v) for v in value) + "]"
    raise TypeError(f"not a query literal: {value!r}")
