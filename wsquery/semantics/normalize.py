"""Query -> the same query in normal form, selecting exactly the same runs.

The normal form has ``not`` only in front of leaves, flat and/or without duplicates or
constants, equalities on one field merged into ``in``, and parts that are certainly TRUE or can
never be TRUE folded to ``true``/``false``. Which runs match never changes under the
three-valued semantics. Pushing ``not`` down uses only exact 3VL laws; after that every and/or
sits in a positive context, where TRUE depends only on which operands are TRUE, so a part that
can never be TRUE may become ``false`` even when it was UNKNOWN for some runs.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeAlias, assert_never

import attrs

from wsquery.ast import (
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
    Query,
    Scalar,
    Span,
    Within,
)
from wsquery.facts.attributes import CONVERTED_KINDS, kind, typed

#: Run attributes whose values follow rules of their own.
CREATED_AT = Field("run", ("createdAt",))
TAGS = Field("run", ("tags",))
DISPLAY_NAME = Field("run", ("displayName",))

#: What a value means to ``==`` and ordering: ``(class, value)``; equal keys are equal values.
ValueKey: TypeAlias = "tuple[str, Any]"

NEGATED_OP = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
#: Value classes a comparison can hold for; any other class never compares TRUE.
_COMPARABLE = frozenset({"bool", "num", "str", "time"})
_ORDERED = frozenset({"num", "str", "time"})


_Place: TypeAlias = "tuple[str, tuple[str, ...]]"
_AND_OR = frozenset({And, Or})
#: Literal types of which a list on a config or summary key repeats a value only when it
#: repeats a literal (``value_key`` is the literal's class and the literal).
_JUST_STR = frozenset({str})


class _Normal:
    """A normalized node; the place of its field when it is a (negated) leaf; for and/or its
    operands already normalized and its signature. ``key`` tells nodes apart by meaning
    (``literal_key``); it is worked out only when needed, as two nodes can share a key only
    when they share a place (leaves) or a signature (and/or)."""

    __slots__ = ("expr", "known_key", "parts", "place", "signature")

    def __init__(self, expr: Expr, key: Hashable | None, place: _Place | None = None,
                 parts: tuple[_Normal, ...] | None = None, signature: Hashable = None) -> None:
        self.expr = expr
        self.known_key = key
        self.place = place
        self.parts = parts
        self.signature = signature

    @property
    def key(self) -> Hashable:
        if self.known_key is None:
            if self.parts is None:
                self.known_key = literal_key(self.expr)
            else:
                self.known_key = (type(self.expr).__name__,
                                  frozenset([part.key for part in self.parts]))
        return self.known_key


def normalize(query: Query) -> Query:
    """``query`` with its filter in normal form; ``group by`` and ``order by`` are untouched.

    Idempotent, and it keeps the spans of the nodes that survive; a filter that is always TRUE
    becomes ``Constant(True)``, one that can never be TRUE ``Constant(False)``."""
    if query.filter is None:
        return query
    expr = _normal_form(query.filter)
    return query if expr is query.filter else attrs.evolve(query, filter=expr)


def never_true(condition: Expr) -> bool:
    """Whether ``condition`` certainly selects no run: its normal form is ``false``."""
    normal = _normal_form(condition)
    return type(normal) is Constant and not normal.value


def _normal_form(condition: Expr) -> Expr:
    fast = _normal_fast(condition)
    return _normal(condition, False, None).expr if fast is None else fast


def _normal_fast(condition: Expr) -> Expr | None:
    """``condition`` itself when it is in normal form as it is, for the commonest shapes: a
    comparison, a list of distinct values, an and/or of those on distinct fields, and an
    and/or of those and of such and/ors of the other kind (``a and b or c and d``), where no
    two of its own leaves share a field and no two of its and/ors the same set of fields;
    else None. Where it gives a node, ``_normal`` gives back that very node: it only spares
    working that out (2-3x on ``normalize``, ``benchmarks/stages.py``)."""
    if type(condition) in _AND_OR:
        plain = _plain_places(condition, nest=True) is not None  # type: ignore[arg-type]
    else:
        plain = _plain_leaf(condition)
    return condition if plain else None


def _plain_leaf(node: Expr) -> bool:
    """A comparison, or a list of values none of which comes twice."""
    if type(node) is Compare:
        return True
    return type(node) is In and bool(node.values) and _unique_values(
        node.field, node.values) is node.values


def _plain_places(node: And | Or, nest: bool) -> frozenset[_Place] | None:
    """The fields of the leaves of a plain and/or (see ``_normal_fast``; ``nest`` lets it hold
    and/ors of the other kind), or None when it is not plain."""
    places = set()
    groups = set()
    for operand in node.operands:
        if _plain_leaf(operand):
            places.add((operand.field.section, operand.field.path))  # type: ignore[union-attr]
        elif nest and type(operand) in _AND_OR and type(operand) is not type(node):
            inner = _plain_places(operand, False)  # type: ignore[arg-type]
            if inner is None:
                return None
            groups.add(inner)
        else:
            return None
    if not len(places) + len(groups) == len(node.operands) > 1:
        return None  # fields or groups that repeat may merge, repeat or contradict
    return frozenset(places)


def value_key(field: Field, value: Scalar) -> ValueKey:
    """The meaning of ``value`` on ``field`` under ``==`` and ordering (``attributes.typed``); a
    literal no run value compares TRUE with keeps its own spelling, so that two such literals
    still print apart."""
    typed_value = typed(field, value)
    if typed_value[0] == "never":
        return ("never", "nan" if value != value else _literal_key(value))
    return typed_value


def literal_key(expr: Expr) -> Hashable:
    """A key equal for two leaves (or negated leaves) exactly when they select the same runs
    for the same reason: ``x == 1`` and ``x == 1.0`` share one, ``x == 1`` and ``x == true``
    do not (Python's ``1 == True`` would merge them)."""
    match expr:
        case Compare():
            return ("cmp", _place(expr.field), expr.op, value_key(expr.field, expr.value))
        case In():
            keys = frozenset([value_key(expr.field, v) for v in expr.values])
            return ("in", _place(expr.field), keys)
        case Match():
            return ("match", _place(expr.field), expr.pattern)
        case Contains():
            return ("contains", _place(expr.field), _literal_key(expr.value))
        case IsNull():
            return ("null", _place(expr.field))
        case Within():
            return ("within", _place(expr.field), expr.duration.seconds)
        case Constant():
            return ("const", expr.value)
        case Not():
            return ("not", literal_key(expr.operand))
        case And() | Or():
            return (type(expr).__name__, frozenset(literal_key(o) for o in expr.operands))
        case _:
            assert_never(expr)


def _is(field: Field, special: Field) -> bool:
    """``field == special``, without attrs' slower generated ``__eq__`` on the hot path."""
    return field.path == special.path and field.section == special.section


def _place(field: Field) -> _Place:
    """What tells fields apart, as a plain tuple: cheaper to hash than the ``Field``."""
    return (field.section, field.path)


def _literal_key(value: Scalar) -> Hashable:
    """A literal as itself, typed so that ``1``, ``1.0`` and ``true`` stay apart where Python
    would not keep them apart (``1 == True``) and numbers stay together."""
    match value:
        case bool():
            return ("bool", value)
        case int() | float():
            return ("num", value)
        case Duration():
            return ("num", value.seconds)
        case str():
            return ("str", value)
        case None:
            return ("null", None)
        case _:
            assert_never(value)


# Pushing `not` down ----------------------------------------------------------------------------

def _normal(node: Expr, negate: bool, not_span: Span) -> _Normal:
    """``node`` (negated when ``negate``) in normal form. ``not_span`` is the span of the ``not``
    being pushed down, which the node it lands on takes over."""
    span = node.span if not_span is None else not_span
    match node:
        case Compare():
            if negate:
                node = Compare(node.field, NEGATED_OP[node.op], node.value, span=span)
            return _leaf(node, node.field)
        case In():
            values = _unique_values(node.field, node.values)
            if not values:
                return _constant(negate, span if negate else node.span)
            if values is not node.values:
                node = In(node.field, values, span=node.span)
            return _leaf(Not(node, span=span) if negate else node, node.field)
        case Not():
            return _normal(node.operand, not negate, node.span)
        case And() | Or():
            conjunction = isinstance(node, And) is not negate
            parts = [_normal(operand, negate, None) for operand in node.operands]
            return _combine(conjunction, parts, span, None if negate else node)
        case Match() | Contains() | IsNull() | Within():
            return _leaf(Not(node, span=span) if negate else node, node.field)
        case Constant():
            return _constant(node.value is not negate, span if negate else node.span)
        case _:
            assert_never(node)


def _leaf(expr: Expr, field: Field) -> _Normal:
    """A leaf, or a negated one, on ``field``."""
    return _Normal(expr, None, (field.section, field.path))


def _constant(value: bool, span: Span) -> _Normal:
    return _Normal(Constant(value, span=span), ("const", value))


def _unique_values(field: Field, values: tuple[Scalar, ...]) -> tuple[Scalar, ...]:
    """``values`` without repeats (by meaning on ``field``), first occurrences in order; the
    very tuple given when it has none."""
    if len(values) < 2:
        return values
    if field.section != "run" and _JUST_STR.issuperset(map(type, values)):  # most often
        return values if len(set(values)) == len(values) else tuple(dict.fromkeys(values))
    keys = [value_key(field, v) for v in values]
    if len(set(keys)) == len(keys):
        return values
    seen: set[ValueKey] = set()
    unique = []
    for key, value in zip(keys, values, strict=True):
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return tuple(unique)


# and/or ----------------------------------------------------------------------------------------

def _combine(conjunction: bool, parts: list[_Normal], span: Span,
             original: And | Or | None) -> _Normal:
    """An and (``conjunction``) or an or of normalized ``parts``: flattened, constants folded,
    duplicates dropped, equalities merged, certain contradictions and tautologies folded.
    ``original`` is the node itself when ``parts`` are its operands, kept if nothing changed."""
    kind = And if conjunction else Or
    places = {part.place for part in parts}
    if len(places) == len(parts) > 1 and None not in places:  # most often: leaves on
        # distinct fields, so no constant, nothing to flatten, repeat or merge: kept as they are
        return _and_or(kind, parts, span, original, places, set())
    operands: list[_Normal] = []
    places = set()
    signatures: set[Hashable] = set()
    alike = False  # whether two parts share a place or a signature: only then can they repeat
    for part in _flatten(kind, parts):
        expr = part.expr
        if type(expr) is Constant:
            if expr.value is conjunction:  # `e and true`, `e or false`
                continue
            return _constant(not conjunction, span if expr.span is None else expr.span)
        if part.place is None:
            count = len(signatures)
            signatures.add(part.signature)
            alike = alike or len(signatures) == count
        else:
            count = len(places)
            places.add(part.place)
            alike = alike or len(places) == count
        operands.append(part)
    if alike:
        operands = _unique(operands)
        places = {part.place for part in operands if part.place is not None}
        if len(places) < sum(part.place is not None for part in operands):
            # two leaves test one field: merges and certain truths need that
            if conjunction and _contradiction(operands):
                return _constant(False, span)
            if not conjunction and _tautology(operands):
                return _constant(True, span)
            operands = _merge(operands, conjunction)
        signatures = {part.signature for part in operands if part.place is None}
    if not operands:
        return _constant(conjunction, span)
    if len(operands) == 1:
        return operands[0]
    return _and_or(kind, operands, span, original, places, signatures)


def _and_or(kind: type[And] | type[Or], operands: list[_Normal], span: Span,
            original: And | Or | None, places: set[_Place | None],
            signatures: set[Hashable]) -> _Normal:
    """The and/or of ``operands``: ``original`` itself when they are its very operands."""
    parts = tuple(operands)
    exprs = tuple([part.expr for part in parts])
    if original is not None and len(exprs) == len(original.operands) and all(
            map(operator.is_, exprs, original.operands)):
        combined: Expr = original
    else:
        combined = kind(exprs, span=span)
    return _Normal(combined, None, None, parts, (kind, frozenset(places), frozenset(signatures)))


def _unique(operands: list[_Normal]) -> list[_Normal]:
    """``operands`` without repeats (by key), first occurrences in order."""
    seen: set[Hashable] = set()
    unique = []
    for part in operands:
        count = len(seen)
        seen.add(part.key)  # keys are nested tuples: hashing them once is what costs least
        if len(seen) > count:
            unique.append(part)
    return unique


def _flatten(kind: type[And] | type[Or], parts: list[_Normal]) -> list[_Normal]:
    """``parts`` with the operands of each part that is a ``kind`` itself in its place."""
    flat: list[_Normal] = []
    for part in parts:
        if part.parts is not None and type(part.expr) is kind:
            flat.extend(part.parts)
        else:
            flat.append(part)
    return flat


def _merge(operands: list[_Normal], conjunction: bool) -> list[_Normal]:
    """In an or, ``x == a`` and ``x in [...]`` on one field become one ``in``; in an and,
    ``x != a`` and ``x not in [...]`` one ``not in``. The merged node takes the place of the
    first one it replaces. (Not for ``tags ==``: tags compare as a list, ``in`` as members.)"""
    positions: dict[_Place, list[int]] = {}
    for index, part in enumerate(operands):
        field = _mergeable_field(part.expr, conjunction)
        if field is not None:
            positions.setdefault(_place(field), []).append(index)
    merged: dict[int, _Normal | None] = {}
    for indexes in positions.values():
        if len(indexes) < 2:
            continue
        nodes = [_equality(operands[i].expr) for i in indexes]
        field = nodes[0].field
        values = _unique_values(field, tuple(v for node in nodes for v in _values(node)))
        span = _cover([operands[i].expr.span for i in indexes])
        union = In(field, values, span=span)
        merged[indexes[0]] = _leaf(Not(union, span=span) if conjunction else union, field)
        merged.update(dict.fromkeys(indexes[1:]))
    if not merged:
        return operands
    result = []
    for index, part in enumerate(operands):
        replacement = merged.get(index, part)
        if replacement is not None:
            result.append(replacement)
    return result


def _mergeable_field(expr: Expr, conjunction: bool) -> Field | None:
    match expr:
        case Compare() if expr.op == ("!=" if conjunction else "==") and not _is(expr.field, TAGS):
            return expr.field
        case In() if not conjunction:
            return expr.field
        case Not(operand=In() as inner) if conjunction:
            return inner.field
    return None


def _equality(expr: Expr) -> Compare | In:
    """The positive equality inside a merge candidate (``x != a`` reads as ``x == a``)."""
    inner = expr.operand if isinstance(expr, Not) else expr
    assert isinstance(inner, Compare | In)
    return inner


def _values(node: Compare | In) -> tuple[Scalar, ...]:
    return node.values if isinstance(node, In) else (node.value,)


def _cover(spans: Sequence[Span]) -> Span:
    """The smallest span holding all of ``spans``; None when one is unknown."""
    starts, ends = [], []
    for span in spans:
        if span is None:
            return None
        starts.append(span[0])
        ends.append(span[1])
    return (min(starts), max(ends))


# Certain truths --------------------------------------------------------------------------------

def _tautology(operands: list[_Normal]) -> bool:
    """An or holding both ``x is null`` and ``x is not null``: TRUE for every run."""
    exprs = [part.expr for part in operands]
    null = {expr.field for expr in exprs if isinstance(expr, IsNull)}
    if not null:
        return False
    return any(isinstance(expr, Not) and isinstance(expr.operand, IsNull)
               and expr.operand.field in null for expr in exprs)


def _contradiction(operands: list[_Normal]) -> bool:
    """Whether the conditions an and puts on some field can never all be TRUE together (one
    condition alone is left as it is, as it would be outside an and)."""
    by_field: dict[_Place, list[Expr]] = {}
    for part in operands:
        if part.place is not None:
            by_field.setdefault(part.place, []).append(part.expr)
    return any(len(leaves) > 1 and not _satisfiable(Field(*place), leaves)
               for place, leaves in by_field.items())


def _satisfiable(field: Field, leaves: Sequence[Expr]) -> bool:
    """Whether one value of ``field`` could make all ``leaves`` TRUE. Only certain conflicts
    count: ``is null`` with anything else, equalities with no value in common, or with no value
    that passes the other comparisons, comparisons that need two value classes at once, empty
    ranges."""
    if any(isinstance(leaf, IsNull) for leaf in leaves):
        return len(leaves) == 1  # every other leaf is UNKNOWN on null; duplicates are gone
    if kind(field) == "tags":
        return True  # members and comparisons of a list: no reasoning here
    candidates: set[ValueKey] | None = None
    others: list[Expr] = []
    for leaf in leaves:
        match leaf:
            case Compare(op="=="):
                keys = {value_key(field, leaf.value)}
            case In():
                keys = {value_key(field, v) for v in leaf.values}
            case _:
                others.append(leaf)
                continue
        keys = {key for key in keys if key[0] in _COMPARABLE}
        candidates = keys if candidates is None else candidates & keys
        if not candidates:
            return False
    if candidates is not None:
        plain = kind(field) not in CONVERTED_KINDS
        return any(all(_may_hold(leaf, field, key, plain) for leaf in others)
                   for key in candidates)
    return _consistent(field, others)


def _may_hold(leaf: Expr, field: Field, key: ValueKey, plain: bool) -> bool:
    """Whether ``leaf`` may be TRUE for a value whose key is ``key``. ``plain`` says the key's
    value is the run's value itself (not a lower-cased state or a parsed datetime), so regexes
    and substrings can be tried on it."""
    match leaf:
        case Compare():
            return _compares(key, leaf.op, value_key(field, leaf.value))
        case Not(operand=In() as inner):
            return all(_compares(key, "!=", value_key(field, v)) for v in inner.values)
        case Match() if plain:
            return key[0] == "str" and _searches(leaf.pattern, key[1]) is not False
        case Not(operand=Match() as inner) if plain:
            return key[0] == "str" and _searches(inner.pattern, key[1]) is not True
        case Contains() if plain:
            return key[0] == "str" and isinstance(leaf.value, str) and leaf.value in key[1]
        case Not(operand=Contains() as inner) if plain:
            return key[0] == "str" and isinstance(inner.value, str) and inner.value not in key[1]
        case IsNull():
            return False
    return True


def _compares(key: ValueKey, op: str, literal: ValueKey) -> bool:
    """``value op literal`` for a value whose key is ``key``: TRUE only within one class."""
    if key[0] != literal[0] or key[0] not in _COMPARABLE:
        return False
    if op == "==":
        return bool(key[1] == literal[1])
    if op == "!=":
        return bool(key[1] != literal[1])
    return key[0] in _ORDERED and _ORDER[op](key[1], literal[1])


def _searches(pattern: str, value: str) -> bool | None:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return None


def _consistent(field: Field, leaves: Sequence[Expr]) -> bool:
    """Whether comparisons without an equality can hold together: one value class for all of
    them, a non-empty range, and not every value of that range (or both booleans) excluded."""
    plain = kind(field) not in CONVERTED_KINDS
    classes: frozenset[str] | None = None
    bounds: list[tuple[str, Any]] = []
    excluded: list[Any] = []
    for leaf in leaves:
        match leaf:
            case Compare():
                key = value_key(field, leaf.value)
                if key[0] not in (_COMPARABLE if leaf.op == "!=" else _ORDERED):
                    return False
                allowed = frozenset({key[0]})
                if leaf.op == "!=":
                    excluded.append(key[1])
                else:
                    bounds.append((leaf.op, key[1]))
            case Not(operand=In() as inner):
                keys = [value_key(field, v) for v in inner.values]
                allowed = frozenset(key[0] for key in keys)
                if len(allowed) != 1 or not allowed <= _COMPARABLE:
                    return False  # unequal to values of two classes at once
                excluded.extend(key[1] for key in keys)
            case Match() | Not(operand=Match()) if plain:
                allowed = frozenset({"str"})
            case Contains(value=literal) | Not(operand=Contains(value=literal)) if plain:
                allowed = frozenset({"str", "list"} if isinstance(literal, str) else {"list"})
            case _:
                continue
        classes = allowed if classes is None else classes & allowed
        if not classes:
            return False
    # Every bound and excluded value now belongs to the one class left, so they compare.
    if classes == frozenset({"bool"}) and True in excluded and False in excluded:
        return False
    return _range_holds(bounds, excluded)


def _range_holds(bounds: list[tuple[str, Any]], excluded: list[Any]) -> bool:
    """Whether some value passes every ``(op, value)`` bound and is none of ``excluded``
    (decided only when the bounds pin a single value; otherwise assumed)."""
    lower: tuple[Any, bool] | None = None  # (value, strict)
    upper: tuple[Any, bool] | None = None
    for op, value in bounds:
        strict = op in ("<", ">")
        if op in ("<", "<="):
            if upper is None or value < upper[0] or (value == upper[0] and strict):
                upper = (value, strict)
        elif lower is None or value > lower[0] or (value == lower[0] and strict):
            lower = (value, strict)
    if lower is None or upper is None:
        return True
    if lower[0] != upper[0]:
        return bool(lower[0] < upper[0])
    return not (lower[1] or upper[1] or lower[0] in excluded)
