"""A filter -> a tree of closures answering TRUE, FALSE or UNKNOWN for a ``Record``: the
specification of what every query means, which every other path is tested against."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeAlias, assert_never

from wsquery.ast import (
    SECTIONS,
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
    Predicate,
    Scalar,
    Within,
)
from wsquery.errors import WsqueryError
from wsquery.facts.attributes import kind, parse_datetime, typed
from wsquery.regex import compile_user_regex
from wsquery.semantics.records import (
    NAMED,
    PLAIN_NAMES,
    STEP,
    Lookup,
    Record,
    adapt,
    is_dict_like,
    plain_key,
)

Truth: TypeAlias = "bool | None"
#: A compiled filter: TRUE, FALSE or UNKNOWN (None) for one adapted run.
Filter: TypeAlias = "Callable[[Record], bool | None]"
#: A test of one value (as read from a run) against a literal.
ValueTest: TypeAlias = "Callable[[Any], bool | None]"
Getter: TypeAlias = "Callable[[Record], Any]"

Relation: TypeAlias = "Callable[[Any, Any], bool]"
TestMaker: TypeAlias = "Callable[[Relation, Any], ValueTest]"
RELATIONS: dict[str, Relation] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
NUMBER_TYPES = frozenset({int, float})


# Filters -> closures ---------------------------------------------------------------------------

def compile_predicate(expr: Expr, now: datetime | None = None) -> Filter:
    """``expr`` as a function of one record giving True, False or None (UNKNOWN).

    ``now`` anchors ``within last`` (default: the current time; naive means UTC)."""
    moment = now_or_current(now)
    try:
        return _compile(expr, moment)
    except RecursionError:
        raise WsqueryError("the filter nests too deeply to evaluate") from None


def _compile(node: Expr, now: datetime) -> Filter:
    match node:
        case Compare() | In() | Contains() | Match() | IsNull() | Within():
            return _leaf(node.field, predicate_test(node, now))
        case Constant():
            return _constant(node.value)
        case Not():
            return _not(_compile(node.operand, now))
        case And():
            return _all(tuple(_compile(operand, now) for operand in node.operands))
        case Or():
            return _any(tuple(_compile(operand, now) for operand in node.operands))
        case _:
            assert_never(node)


def predicate_test(node: Predicate, now: datetime) -> ValueTest:
    """What a predicate asks of its field's value."""
    match node:
        case Compare():
            return _value_test(node.op, node.value, node.field)
        case In():
            return _in_test(node)
        case Contains():
            return _contains_test(node.value)
        case Match():
            return _match_test(node.pattern)
        case IsNull():
            return _is_none
        case Within():
            return _within_test(node.duration, now)
        case _:
            assert_never(node)


def _leaf(field: Field, test: ValueTest) -> Filter:
    """A predicate: ``test`` applied to the value of ``field``. A one-segment key (the common
    case) is read inline, which saves a call on the hot path."""
    section = _section_of(field)
    if len(field.path) > 1:
        read = reader(field)

        def test_path(record: Record) -> Truth:
            return test(read(section(record)))

        return test_path
    key = field.key

    def test_key(record: Record) -> Truth:
        return test(section(record).get(key))

    return test_key


def field_value(run: Any, field: Field) -> Any:
    """The value ``field`` holds in ``run`` (any accepted shape), or None when it is missing."""
    return getter(field)(adapt(run))


def getter(field: Field) -> Getter:
    """How to read ``field`` from a record."""
    section = _section_of(field)
    read = reader(field)

    def get(record: Record) -> Any:
        return read(section(record))

    return get


def reader(field: Field) -> Callable[[Lookup], Any]:
    """How to read ``field`` from its section: the flat key first, then the nested dicts."""
    key = field.key
    first, *rest = field.path

    def read(values: Lookup) -> Any:
        value = values.get(key)
        if value is None and rest:
            value = values.get(first)
            for segment in rest:
                if value.__class__ is not dict and not is_dict_like(value):
                    return None
                value = value.get(segment)
        return value

    return read


def stored_values(field: Field, runs: list[dict[str, Any]]) -> list[Any] | None:
    """Each run's value of ``field`` as ``getter`` reads it from the run adapted, for runs
    that are all plain dicts, read where it stands for all the runs at once (adapting a run
    costs more than reading it); None where the runs must be adapted: a dotted run key, a
    section some run holds otherwise than as a dict."""
    stored = plain_key(field)
    if stored is not None:
        return [run.get(stored) for run in runs]
    if field.section != "run":
        sections = plain_sections(field.section, runs)
        return None if sections is None else list(map(reader(field), sections))
    key = field.key
    if len(field.path) > 1:
        return None
    values = [run.get(PLAIN_NAMES.get(key, key)) for run in runs]
    if key in NAMED:
        return list(map(NAMED[key], values))
    if not any(value is None for value in values):  # the step: the run's own ...
        return values
    summaries = plain_sections("summary", runs)  # ... else its summary's
    if summaries is None:
        return None
    return [summary.get(STEP) if value is None else value
            for value, summary in zip(values, summaries, strict=True)]


def plain_sections(section: str, runs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Each plain run's config or summary, where every run holds it as a dict (as a record
    then takes it); else None (and for any other section)."""
    if section not in ("config", "summary"):
        return None
    sections: list[Any] = [run.get(section) for run in runs]
    return sections if set(map(type, sections)) == {dict} else None


def _section_of(field: Field) -> Callable[[Record], Lookup]:
    if field.section not in SECTIONS:
        raise WsqueryError(f"unknown section {field.section!r} in field {field.key!r}")
    return operator.attrgetter(field.section)


def _value_test(op: str, literal: Scalar, field: Field | None) -> ValueTest:
    """``value op literal`` under the typing rules of the reference semantics: the literal as
    ``attributes.typed`` reads it on ``field`` (None: a value inside a list, of no known type)."""
    make, relation, value = value_rule(op, literal, field)
    return make(relation, value)


def value_rule(op: str, literal: Scalar, field: Field | None
                ) -> tuple[TestMaker, Relation, Any]:
    """Which test ``value op literal`` is: its maker, the relation, and the literal as
    ``attributes.typed`` reads it on ``field``."""
    relation = RELATIONS.get(op)
    if relation is None:
        raise WsqueryError(f"unknown comparison operator {op!r}")
    literal_class, value = typed(field, literal)
    match literal_class:
        case "never":
            return _unknown_test, relation, value
        case "bool":
            return (_bool_test if op in ("==", "!=") else _unknown_test), relation, value
        case "num":
            return number_test, relation, value
        case "str":
            if field is not None and kind(field) == "state":
                return state_test, relation, value
            return string_test, relation, value
        case "time":
            return _datetime_test, relation, value
        case _:
            assert_never(literal_class)


def _unknown_test(relation: Relation, literal: Any) -> ValueTest:
    return _unknown


def _unknown(value: Any) -> Truth:
    return None


def _bool_test(relation: Relation, literal: bool) -> ValueTest:
    def test_bool(value: Any) -> Truth:
        return relation(value, literal) if value.__class__ is bool else None

    return test_bool


def number_test(relation: Relation, literal: int | float) -> ValueTest:
    def test_number(value: Any) -> Truth:
        if value.__class__ not in NUMBER_TYPES and not _is_number(value):
            return None
        if value != value:  # NaN counts as missing
            return None
        return relation(value, literal)

    return test_number


def string_test(relation: Relation, literal: str) -> ValueTest:
    def test_string(value: Any) -> Truth:
        return relation(value, literal) if isinstance(value, str) else None

    return test_string


def state_test(relation: Relation, lowered: str) -> ValueTest:
    def test_state(value: Any) -> Truth:
        return relation(value.lower(), lowered) if isinstance(value, str) else None

    return test_state


def _datetime_test(relation: Relation, moment: datetime) -> ValueTest:
    def test_datetime(value: Any) -> Truth:
        when = as_datetime(value)
        return None if when is None else relation(when, moment)

    return test_datetime


def _contains_test(literal: Scalar) -> ValueTest:
    """A substring of a string, or an element of a list equal to ``literal``."""
    equals = _value_test("==", literal, None)

    def test_contains(value: Any) -> Truth:
        if isinstance(value, str):
            return literal in value if isinstance(literal, str) else None
        if isinstance(value, list | tuple):
            return True in map(equals, value)
        return None

    return test_contains


def _in_test(node: In) -> ValueTest:
    """Equal to one of the values (the OR of ``==``); for a tags list: holds one of them."""
    equals = tuple(_value_test("==", literal, node.field) for literal in node.values)
    holds = tuple(_contains_test(literal) for literal in node.values)
    is_tags = kind(node.field) == "tags"

    def test_in(value: Any) -> Truth:
        if is_tags and isinstance(value, list | tuple):
            return any(has(value) for has in holds)
        result: Truth = False
        for test in equals:
            truth = test(value)
            if truth:
                return True
            if truth is None:
                result = None
        return result

    return test_in


def _match_test(pattern: str) -> ValueTest:
    """A regex search that cannot hang (see ``_regex``): a refused pattern raises here."""
    search = compile_user_regex(pattern)

    def test_match(value: Any) -> Truth:
        return search(value) if isinstance(value, str) else None

    return test_match


def _is_none(value: Any) -> Truth:
    return value is None


def _within_test(duration: Duration, now: datetime) -> ValueTest:
    cutoff = duration.before(now)

    def test_within(value: Any) -> Truth:
        when = as_datetime(value)
        return None if when is None else when >= cutoff

    return test_within


def _constant(value: bool) -> Filter:
    def constant(record: Record) -> Truth:
        return value

    return constant


def _not(operand: Filter) -> Filter:
    def negation(record: Record) -> Truth:
        truth = operand(record)
        return None if truth is None else not truth

    return negation


def _all(operands: tuple[Filter, ...]) -> Filter:
    def conjunction(record: Record) -> Truth:
        result: Truth = True
        for operand in operands:
            truth = operand(record)
            if truth is False:
                return False
            if truth is None:
                result = None
        return result

    return conjunction


def _any(operands: tuple[Filter, ...]) -> Filter:
    def disjunction(record: Record) -> Truth:
        result: Truth = False
        for operand in operands:
            truth = operand(record)
            if truth:
                return True
            if truth is None:
                result = None
        return result

    return disjunction


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_datetime(value: Any) -> datetime | None:
    """A run's timestamp as an aware datetime (naive means UTC); None when it is not one."""
    if isinstance(value, str):
        return parse_datetime(value)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def text_moments(texts: list[str | None]) -> list[datetime | None]:
    """Times' texts (or None) as ``as_datetime`` reads them: when each is a moment Python reads
    with its offset (W&B writes ``...Z``), in one pass with none of ``parse_datetime``'s
    mending."""
    try:
        moments = list(map(datetime.fromisoformat, texts))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return [None if text is None else _text_moment(text) for text in texts]
    if None in map(_OFFSET_OF, moments):
        return [None if text is None else _text_moment(text) for text in texts]
    return moments  # type: ignore[return-value]


def _text_moment(text: str) -> datetime | None:
    """A time's text as ``as_datetime`` reads it: a text Python reads as a moment with its
    offset (W&B writes ``...Z``) needs none of ``parse_datetime``'s mending."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return as_datetime(text)
    return moment if moment.tzinfo is not None else as_datetime(text)


_OFFSET_OF = operator.attrgetter("tzinfo")


def now_or_current(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise WsqueryError(f"now must be a datetime, not {type(now).__name__}")
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
