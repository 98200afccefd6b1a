"""Query + runs -> the runs it selects, in its ``order by`` order: what every query means.

A filter is compiled once into a tree of closures (``compile_predicate``) that answers TRUE,
FALSE or UNKNOWN (``True``/``False``/``None``) for a ``Record``; each run is adapted once into a
``Record`` (``adapt``) whatever shape it came in. A run matches only when the filter is TRUE.
The closures are the specification. ``evaluate`` selects runs with one generated Python
function instead (``compile_select_fast``): a loop that reads plain dicts where they stand
(adapting a run costs more than testing it), tests values with the closures' own value tests,
and keeps exactly the runs the closures hold TRUE.

Runs may come in three shapes:

1. **W&B GraphQL run JSON**, recognised by any of the keys ``displayName``, ``summaryMetrics``,
   ``createdAt``, ``jobType``, ``username``: ``name`` is the run id, ``displayName``, ``state``,
   ``tags``, ``createdAt`` (ISO-8601; naive means UTC), ``duration`` (seconds), ``group``,
   ``jobType``, ``username`` (or ``user: {"username": ...}``), ``host``, ``sweep`` (a string or
   ``{"name": ...}``; ``sweepName`` also works), ``config`` with every top-level value wrapped as
   ``{"value": ..., "desc": ...}``, and ``summaryMetrics``. ``config`` and ``summaryMetrics`` may
   be JSON strings. ``run.<key>`` reads any other key of the JSON itself.
2. **Plain dicts** in the language's own names: ``id``, ``name`` (the display name), ``state``,
   ``tags``, ``created_at`` (ISO-8601 string or ``datetime``), ``runtime`` (seconds), ``user``,
   ``sweep``, ``group``, ``job_type``, ``host``, ``step``, ``config`` and ``summary`` (or
   ``summary_metrics``) with plain values (dicts or JSON strings). ``run.<key>`` reads any other
   key of the dict.
3. **Objects** such as ``wandb.apis.public.Run``: the same plain names read as attributes
   (``.id``, ``.name``, ``.state``, ``.tags``, ``.created_at``, ``.config``, ``.summary``, ...);
   ``run.<key>`` reads any other attribute. A ``user`` object gives its ``.username``, a
   ``sweep`` object its ``.id``; a config or summary that is not a dict but has ``keys()`` and
   ``get()`` (wandb's summary object) is read through ``get()``, only for the keys asked.

In every shape the step is the run's own step when it has one, else the summary's ``_step``.
A key with dots (``config.optimizer.lr``) is first looked up as the flat key
``"optimizer.lr"``; when that is absent or null, the nested dicts are walked one segment at a
time. Whatever cannot be found is missing, which the filter treats exactly like null; a config
or summary that is malformed JSON (or not a mapping at all) is empty. ``group by`` does not
change which runs are returned, or their order.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, Protocol, TypeAlias, assert_never

from wsquery.ast import (
    RUN_ATTRIBUTES,
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
    OrderKey,
    Predicate,
    Query,
    Scalar,
    Within,
    total_order,
    walk,
)
from wsquery.errors import WsqueryError
from wsquery.facts.attributes import Kind, kind, parse_datetime, typed
from wsquery.regex import compile_user_regex

Truth: TypeAlias = "bool | None"
#: A compiled filter: TRUE, FALSE or UNKNOWN (None) for one adapted run.
Filter: TypeAlias = "Callable[[Record], bool | None]"
#: A test of one value (as read from a run) against a literal.
_ValueTest: TypeAlias = "Callable[[Any], bool | None]"
_Getter: TypeAlias = "Callable[[Record], Any]"
_SortValue: TypeAlias = "tuple[int, Any] | None"

_Relation: TypeAlias = "Callable[[Any, Any], bool]"
_TestMaker: TypeAlias = "Callable[[_Relation, Any], _ValueTest]"
_RELATIONS: dict[str, _Relation] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
_NUMBER_TYPES = frozenset({int, float})
_GRAPHQL_KEYS = frozenset({"displayName", "summaryMetrics", "createdAt", "jobType", "username"})
#: Plain names that differ from their W&B run key; the others (state, tags, ...) are the same.
_PLAIN_NAMES = {key: attribute for attribute, key in RUN_ATTRIBUTES.items() if attribute != key}
_OBJECT_ATTRIBUTES = (*RUN_ATTRIBUTES, "config", "summary", "summary_metrics")
#: The step's run key: a run without a step of its own takes the summary's.
_STEP = RUN_ATTRIBUTES["step"]


class _Lookup(Protocol):
    """What a record reads keys through: a dict, or a dict-like object such as wandb's summary."""

    def get(self, key: str, /) -> Any: ...


class Record:
    """One run, adapted once: ``run`` holds its run keys under their W&B names (``displayName``,
    ``createdAt``, ``_step``, ...), ``config`` and ``summary`` its two sections, unwrapped."""

    __slots__ = ("config", "run", "summary")

    def __init__(self, run: _Lookup, config: _Lookup, summary: _Lookup) -> None:
        self.run = run
        self.config = config
        self.summary = summary


class _ObjectRun:
    """The run keys of a run object: the known attributes read once, any other key on demand."""

    __slots__ = ("known", "source")

    def __init__(self, source: object, known: dict[str, Any]) -> None:
        self.source = source
        self.known = known

    def get(self, key: str, /) -> Any:
        if key in self.known:
            return self.known[key]
        if key.startswith("__"):
            return None
        return getattr(self.source, key, None)


# Runs -> records -------------------------------------------------------------------------------

def adapt(run: Any) -> Record:
    """The record of one run in any accepted shape (see the module docstring); anything that is
    not a run raises ``WsqueryError``."""
    if isinstance(run, dict | Mapping):
        return _from_plain(run) if _GRAPHQL_KEYS.isdisjoint(run) else _from_graphql(run)
    if any(hasattr(run, name) for name in _OBJECT_ATTRIBUTES):
        return _from_object(run)
    shown = safe_repr(run)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise WsqueryError(
        f"not a run: {type(run).__name__} {shown}; a run is W&B run JSON, a dict with keys "
        "such as id, name, config and summary, or an object with those attributes")


def _from_graphql(source: Mapping[str, Any]) -> Record:
    config = _mapping(source.get("config"))
    config = {key: _unwrap(value) for key, value in config.items()}
    summary = _mapping(source.get("summaryMetrics"))
    run = dict(source)
    username = source.get("username")
    run["username"] = _user_name(source.get("user")) if username is None else username
    sweep = _sweep_id(source.get("sweep"))
    run["sweep"] = source.get("sweepName") if sweep is None else sweep
    return _record(run, config, summary)


def _from_plain(source: Mapping[str, Any]) -> Record:
    summary = source.get("summary")
    if summary is None:
        summary = source.get("summary_metrics")
    sections = _section(summary)
    return Record(_PlainRun(source, sections), _section(source.get("config")), sections)


class _PlainRun:
    """The run keys of a plain run, read as a query asks for them: under W&B's names, from the
    language's (``created_at`` -> ``createdAt``); a missing step from the summary. Adapting
    reads nothing, so sorting or testing a few keys of many runs costs only those keys."""

    __slots__ = ("source", "summary")

    def __init__(self, source: Mapping[str, Any], summary: _Lookup) -> None:
        self.source = source
        self.summary = summary

    def get(self, key: str, /) -> Any:
        value = self.source.get(_PLAIN_NAMES.get(key, key))
        name_of = _NAMED.get(key)
        if name_of is not None:
            value = name_of(value)
        if value is None and key == _STEP:
            value = self.summary.get(_STEP)
        return value

    def as_dict(self) -> dict[str, Any]:
        """Every key the run holds, and every run attribute, under W&B's names."""
        run = dict(self.source)
        for key in (*_PLAIN_NAMES, *_NAMED, _STEP):
            run[key] = self.get(key)
        return run


def run_keys(record: Record) -> dict[str, Any]:
    """A record's run keys as a dict under W&B's names (a run object's: the known ones)."""
    run = record.run
    if isinstance(run, _PlainRun):
        return run.as_dict()
    if isinstance(run, _ObjectRun):
        return dict(run.known)
    return dict(run) if isinstance(run, dict) else {}


def _from_object(source: object) -> Record:
    known = {key: getattr(source, attribute, None) for attribute, key in RUN_ATTRIBUTES.items()}
    known["username"] = _user_name(known["username"])
    known["sweep"] = _sweep_id(known["sweep"])
    summary = getattr(source, "summary", None)
    if summary is None:
        summary = getattr(source, "summary_metrics", None)
    config, summary = _section(getattr(source, "config", None)), _section(summary)
    if known[_STEP] is None:
        known[_STEP] = summary.get(_STEP)
    return Record(_ObjectRun(source, known), config, summary)


def _record(run: dict[str, Any], config: _Lookup, summary: _Lookup) -> Record:
    if run.get(_STEP) is None:
        run[_STEP] = summary.get(_STEP)
    return Record(run, config, summary)


def _mapping(value: Any) -> Mapping[str, Any]:
    """A section of run JSON as a mapping: JSON text is decoded, anything unreadable is empty."""
    if value.__class__ is dict:
        return value
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, Mapping) else {}


def _section(value: Any) -> _Lookup:
    """A config or summary: a mapping, or a dict-like object read key by key only as a query
    asks (wandb's summary object may download a stored tensor when one of its keys is read)."""
    return value if value.__class__ is dict or _is_dict_like(value) else _mapping(value)


def _is_dict_like(value: Any) -> bool:
    return isinstance(value, dict | Mapping) or (
        callable(getattr(value, "keys", None)) and callable(getattr(value, "get", None)))


def _unwrap(value: Any) -> Any:
    """A GraphQL config value without its ``{"value": ..., "desc": ...}`` wrapper."""
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _user_name(user: Any) -> Any:
    """A user's name: GraphQL spells it ``{"username": ...}``, wandb's User object
    ``.username``; any other value is the name itself."""
    if user is None or user.__class__ is str:
        return user
    if isinstance(user, Mapping):
        return user.get("username")
    return getattr(user, "username", user)


def _sweep_id(sweep: Any) -> Any:
    """A sweep's id: GraphQL spells it ``{"name": ...}``, wandb's Sweep object ``.id``; any
    other value is the id itself."""
    if sweep is None or sweep.__class__ is str:
        return sweep
    if isinstance(sweep, Mapping):
        return sweep.get("name")
    return getattr(sweep, "id", sweep)


#: Run keys whose value may come as an object that holds it (a user, a sweep), and how a plain
#: dict's value is read out.
_NAMED = {"username": _user_name, "sweep": _sweep_id}


# Filters -> closures ---------------------------------------------------------------------------

def compile_predicate(expr: Expr, now: datetime | None = None) -> Filter:
    """``expr`` as a function of one record giving True, False or None (UNKNOWN).

    ``now`` anchors ``within last`` (default: the current time; naive means UTC)."""
    moment = _moment(now)
    try:
        return _compile(expr, moment)
    except RecursionError:
        raise WsqueryError("the filter nests too deeply to evaluate") from None


def _compile(node: Expr, now: datetime) -> Filter:
    match node:
        case Compare() | In() | Contains() | Match() | IsNull() | Within():
            return _leaf(node.field, _test(node, now))
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


def _test(node: Predicate, now: datetime) -> _ValueTest:
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


def _leaf(field: Field, test: _ValueTest) -> Filter:
    """A predicate: ``test`` applied to the value of ``field``. A one-segment key (the common
    case) is read inline, which saves a call on the hot path."""
    section = _section_of(field)
    if len(field.path) > 1:
        read = _reader(field)

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


def getter(field: Field) -> _Getter:
    """How to read ``field`` from a record."""
    section = _section_of(field)
    read = _reader(field)

    def get(record: Record) -> Any:
        return read(section(record))

    return get


def _reader(field: Field) -> Callable[[_Lookup], Any]:
    """How to read ``field`` from its section: the flat key first, then the nested dicts."""
    key = field.key
    first, *rest = field.path

    def read(values: _Lookup) -> Any:
        value = values.get(key)
        if value is None and rest:
            value = values.get(first)
            for segment in rest:
                if value.__class__ is not dict and not _is_dict_like(value):
                    return None
                value = value.get(segment)
        return value

    return read


def _section_of(field: Field) -> Callable[[Record], _Lookup]:
    if field.section not in SECTIONS:
        raise WsqueryError(f"unknown section {field.section!r} in field {field.key!r}")
    return operator.attrgetter(field.section)


def _value_test(op: str, literal: Scalar, field: Field | None) -> _ValueTest:
    """``value op literal`` under the typing rules of the reference semantics: the literal as
    ``attributes.typed`` reads it on ``field`` (None: a value inside a list, of no known type)."""
    make, relation, value = _value_rule(op, literal, field)
    return make(relation, value)


def _value_rule(op: str, literal: Scalar, field: Field | None
                ) -> tuple[_TestMaker, _Relation, Any]:
    """Which test ``value op literal`` is: its maker, the relation, and the literal as
    ``attributes.typed`` reads it on ``field``."""
    relation = _RELATIONS.get(op)
    if relation is None:
        raise WsqueryError(f"unknown comparison operator {op!r}")
    literal_class, value = typed(field, literal)
    match literal_class:
        case "never":
            return _unknown_test, relation, value
        case "bool":
            return (_bool_test if op in ("==", "!=") else _unknown_test), relation, value
        case "num":
            return _number_test, relation, value
        case "str":
            if field is not None and kind(field) == "state":
                return _state_test, relation, value
            return _string_test, relation, value
        case "time":
            return _datetime_test, relation, value
        case _:
            assert_never(literal_class)


def _unknown_test(relation: _Relation, literal: Any) -> _ValueTest:
    return _unknown


def _unknown(value: Any) -> Truth:
    return None


def _bool_test(relation: _Relation, literal: bool) -> _ValueTest:
    def test_bool(value: Any) -> Truth:
        return relation(value, literal) if value.__class__ is bool else None

    return test_bool


def _number_test(relation: _Relation, literal: int | float) -> _ValueTest:
    def test_number(value: Any) -> Truth:
        if value.__class__ not in _NUMBER_TYPES and not _is_number(value):
            return None
        if value != value:  # NaN counts as missing
            return None
        return relation(value, literal)

    return test_number


def _string_test(relation: _Relation, literal: str) -> _ValueTest:
    def test_string(value: Any) -> Truth:
        return relation(value, literal) if isinstance(value, str) else None

    return test_string


def _state_test(relation: _Relation, lowered: str) -> _ValueTest:
    def test_state(value: Any) -> Truth:
        return relation(value.lower(), lowered) if isinstance(value, str) else None

    return test_state


def _datetime_test(relation: _Relation, moment: datetime) -> _ValueTest:
    def test_datetime(value: Any) -> Truth:
        when = as_datetime(value)
        return None if when is None else relation(when, moment)

    return test_datetime


def _contains_test(literal: Scalar) -> _ValueTest:
    """A substring of a string, or an element of a list equal to ``literal``."""
    equals = _value_test("==", literal, None)

    def test_contains(value: Any) -> Truth:
        if isinstance(value, str):
            return literal in value if isinstance(literal, str) else None
        if isinstance(value, list | tuple):
            return True in map(equals, value)
        return None

    return test_contains


def _in_test(node: In) -> _ValueTest:
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


def _match_test(pattern: str) -> _ValueTest:
    """A regex search that cannot hang (see ``_regex``): a refused pattern raises here."""
    search = compile_user_regex(pattern)

    def test_match(value: Any) -> Truth:
        return search(value) if isinstance(value, str) else None

    return test_match


def _is_none(value: Any) -> Truth:
    return value is None


def _within_test(duration: Duration, now: datetime) -> _ValueTest:
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


def _moment(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise WsqueryError(f"now must be a datetime, not {type(now).__name__}")
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


# Filters -> Python code -----------------------------------------------------------------------

#: The runs a filter selects: those of ``runs`` it holds TRUE for, the very objects, in their
#: order.
Selector: TypeAlias = "Callable[[Iterable[Any]], list[Any]]"
#: A filter of a run in any shape: TRUE, FALSE or UNKNOWN (None).
_RunFilter: TypeAlias = "Callable[[Any], bool | None]"
#: Deepest nesting of loops a generated selector takes, its own loop over the runs included
#: (Python allows 20 nested blocks).
_MAX_BLOCKS = 16
#: The locals a generated selector reads the sections into: the sections' own names.
_SECTION_LOCALS = {"config": "config", "summary": "summary"}


class _CannotTake(Exception):
    """A filter the generated code does not take."""


class _Inline(NamedTuple):
    """A comparison tested in line, for a value of exactly the literal's class, where the test
    comes to ``value op literal`` (UNKNOWN for NaN)."""

    #: The local holding the value.
    read: str
    #: The condition that the value is of that class.
    exact: str
    #: The condition that the comparison is TRUE then (no relation but ``!=`` holds for NaN).
    holds: str
    #: Its truth then.
    truth: str
    #: The test, for any other value.
    test: str


def compile_select_fast(expr: Expr, now: datetime | None = None) -> Selector | None:
    """``expr`` as one generated Python function selecting runs in any shape: exactly the runs
    ``compile_predicate(expr, now)(adapt(run))`` holds TRUE for; None when it cannot take
    ``expr`` (and/ors nested deeper than Python's blocks allow, a dotted key of the run
    section). Raises what ``compile_predicate``
    raises.

    Why: adapting a run, and a call per run, cost more than testing it. The function reads a
    plain dict (whose sections are dicts) where it stands, with the closures' own value tests;
    a value of one exact class it tests in line: a number, string or state compared, or in a
    list of literals of its class; a tags list holding a string; a text holding a substring
    or matching a regex. Any other run goes to the closures."""
    moment = _moment(now)
    return _fast(expr, moment, _adapting(compile_predicate(expr, moment)))


def _adapting(closures: Filter) -> _RunFilter:
    """``closures`` as a filter of runs in any shape."""
    def general(run: Any) -> Truth:
        return closures(adapt(run))

    return general


def _fast(expr: Expr, now: datetime, general: _RunFilter) -> Selector | None:
    """The generated selector of ``expr``, handing the runs it does not read to ``general``."""
    writer = _Writer(now)
    try:
        writer.select(expr)
    except (_CannotTake, RecursionError):
        return None
    lines = ["def make(general, disjoint, " + ", ".join(writer.values) + "):",
             "    def select(runs):",
             "        selected = []",
             "        for run in runs:",
             "            if run.__class__ is not dict or not disjoint(run):",
             *writer.fallback(4),
             *writer.lines,
             "        return selected",
             "    return select"]
    make = _maker("\n".join(lines))
    return make(general, _GRAPHQL_KEYS.isdisjoint, **writer.values)


@functools.lru_cache(maxsize=128)
def _maker(source: str) -> Callable[..., Selector]:
    """The function ``source`` defines. Filters of one shape share a source: their literals,
    keys and tests are bound to its parameters, never written into it."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "<wsquery selector>", "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


class _Writer:
    """The loop body of a generated selector, run by run: its lines, the values they name
    (``v0``, ...), and the sections of the run read so far. Truths land in locals ``t1``, ..."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.lines: list[str] = []
        self.values: dict[str, Any] = {}
        self.sections: set[str] = set()
        self.locals = 0

    def bind(self, value: Any) -> str:
        name = f"v{len(self.values)}"
        self.values[name] = value
        return name

    def local(self) -> str:
        self.locals += 1
        return f"t{self.locals}"

    def add(self, indent: int, *lines: str) -> None:
        self.lines += ["    " * indent + line for line in lines]

    @staticmethod
    def keep(indent: int) -> list[str]:
        """The line keeping the run."""
        return ["    " * indent + "selected.append(run)"]

    def fallback(self, indent: int) -> list[str]:
        """Lines handing the run to the closures, and going on to the next."""
        return ["    " * indent + "if general(run) is True:", *self.keep(indent + 1),
                "    " * indent + "continue"]

    # The top: keep the run when the filter is TRUE ------------------------------------------

    def select(self, node: Expr) -> None:
        """The loop body for ``node``: an and keeps the run when no operand fails to be TRUE,
        an or when one is TRUE; the first that decides spares reading the rest."""
        indent = 3
        match node:
            case And():
                for operand in node.operands:
                    self.fetch(operand, indent)
                    self.true_else(operand, ["continue"], indent)
                self.lines += self.keep(indent)
            case Or():
                for operand in node.operands:
                    self.fetch(operand, indent)
                    self.true_then(operand, [*self.keep(0), "continue"], indent)
            case _:
                self.fetch(node, indent)
                self.true_then(node, self.keep(0), indent)

    def fetch(self, node: Expr, indent: int) -> None:
        """Lines reading the sections ``node`` needs that are not read yet."""
        for section in sorted(_sections(node) - self.sections):
            local = _SECTION_LOCALS[section]
            self.add(indent, f'{local} = run.get("{local}")', f"if {local}.__class__ is not dict:")
            self.lines += self.fallback(indent + 1)
            self.sections.add(section)

    def true_else(self, node: Expr, lines: list[str], indent: int) -> None:
        """``lines`` when ``node`` is not TRUE."""
        inline = self.inline(node, indent)
        if inline is None:
            truth = self.local()
            self.write(node, truth, indent, 1)
            self.add(indent, f"if {truth} is not True:", *("    " + line for line in lines))
            return
        self.add(indent, f"if {inline.exact}:", f"    if not ({inline.holds}):",
                 *("        " + line for line in lines),
                 f"elif {inline.test}({inline.read}) is not True:",
                 *("    " + line for line in lines))

    def true_then(self, node: Expr, lines: list[str], indent: int) -> None:
        """``lines`` when ``node`` is TRUE."""
        inline = self.inline(node, indent)
        if inline is None:
            truth = self.local()
            self.write(node, truth, indent, 1)
            self.add(indent, f"if {truth} is True:", *("    " + line for line in lines))
            return
        self.add(indent, f"if {inline.exact}:", f"    if {inline.holds}:",
                 *("        " + line for line in lines),
                 f"elif {inline.test}({inline.read}) is True:", *("    " + line for line in lines))

    def inline(self, node: Expr, indent: int) -> _Inline | None:
        """For a leaf whose value, when of one class, is tested by one Python expression (a
        number, string or state compared; a string or number in a list, a tags list holding a
        string; a text holding a substring or matching a regex): lines reading the value into
        a local, and how it is tested in line. None for any other node."""
        match node:
            case Compare():
                make, relation, literal = _value_rule(node.op, node.value, node.field)
                if make not in (_number_test, _string_test, _state_test):
                    return None
                # node.op is one of _RELATIONS' keys: _value_rule refuses any other
                test = self.bind(make(relation, literal))
                return self.inlined(node.field, indent, test, make,
                                    f"{node.op} {self.bind(literal)}", nan_true=node.op == "!=")
            case In():
                return self.inline_in(node, indent)
            case Contains() if type(node.value) is str:
                test, literal = self.bind(_test(node, self.now)), self.bind(node.value)
                read = self.read(node.field, indent)
                holds = f"{literal} in {read}"
                return _Inline(read, f"{read}.__class__ is str", holds, holds, test)
            case Match():
                test, search = self.bind(_test(node, self.now)), self.bind(
                    compile_user_regex(node.pattern))
                read = self.read(node.field, indent)
                holds = f"{search}({read})"
                return _Inline(read, f"{read}.__class__ is str", holds, holds, test)
            case _:
                return None

    def inline_in(self, node: In, indent: int) -> _Inline | None:
        """``in``: a string, state or number in a set of the literals, or a tags list holding
        one of them (strings), when every literal is of that one class."""
        rules = [_value_rule("==", value, node.field) for value in node.values]
        makers = {make for make, _, _ in rules}
        if len(makers) != 1 or not makers <= {_number_test, _string_test, _state_test}:
            return None
        make = makers.pop()
        literals = [literal for _, _, literal in rules]
        test = self.bind(_test(node, self.now))
        if kind(node.field) == "tags":
            if make is not _string_test:
                return None
            read = self.read(node.field, indent)
            holds = " or ".join(f"{self.bind(literal)} in {read}" for literal in literals)
            return _Inline(read, f"{read}.__class__ is list", holds, holds, test)
        return self.inlined(node.field, indent, test, make,
                            f"in {self.bind(frozenset(literals))}", nan_true=False)

    def inlined(self, field: Field, indent: int, test: str, make: _TestMaker, relation: str,
                nan_true: bool) -> _Inline:
        """``value relation`` for a value of the class ``make`` tests: a number (UNKNOWN for
        NaN; ``nan_true`` when the relation holds for it), a string, or a state (lower-cased)."""
        read = self.read(field, indent)
        if make is _number_test:
            relation_text = f"{read} {relation}"
            return _Inline(read, f"{read}.__class__ is float or {read}.__class__ is int",
                           relation_text + (f" and {read} == {read}" if nan_true else ""),
                           f"{relation_text} if {read} == {read} else None", test)
        relation_text = f"{read}.lower() {relation}" if make is _state_test else (
            f"{read} {relation}")
        return _Inline(read, f"{read}.__class__ is str", relation_text, relation_text, test)

    def read(self, field: Field, indent: int) -> str:
        """A local holding the value of ``field``."""
        value, read = self.value(field, indent), self.local()
        self.add(indent, f"{read} = {value}")
        return read

    # Inside: the truth of a node, in a local ---------------------------------------------------

    def write(self, node: Expr, into: str, indent: int, blocks: int) -> None:
        """Lines that leave the truth of ``node`` (TRUE, FALSE or UNKNOWN, as the closures
        give it) in local ``into``; ``blocks`` counts the loops around them."""
        match node:
            case Compare() | In() | Contains() | Match() | IsNull() | Within():
                self.leaf(node, into, indent)
            case Constant():
                self.add(indent, f"{into} = {self.bind(node.value)}")
            case Not():
                truth = self.local()
                self.write(node.operand, truth, indent, blocks)
                self.add(indent, f"{into} = None if {truth} is None else not {truth}")
            case And() | Or():
                self.connective(node, into, indent, blocks)
            case _:
                assert_never(node)

    def leaf(self, node: Predicate, into: str, indent: int) -> None:
        """A leaf, in line where ``inline`` takes it (a number UNKNOWN for NaN), else its
        value test."""
        inline = self.inline(node, indent)
        if inline is None:
            test = self.bind(_test(node, self.now))
            self.add(indent, f"{into} = {test}({self.value(node.field, indent)})")
            return
        self.add(indent, f"if {inline.exact}:", f"    {into} = {inline.truth}",
                 "else:", f"    {into} = {inline.test}({inline.read})")

    def connective(self, node: And | Or, into: str, indent: int, blocks: int) -> None:
        """As ``_all`` and ``_any`` do: the first FALSE (TRUE) operand decides, else UNKNOWN
        if one was. The operands sit in a loop that the deciding one leaves by ``break``."""
        if blocks == _MAX_BLOCKS:
            raise _CannotTake
        conjunction = isinstance(node, And)
        self.add(indent, f"{into} = {conjunction}", "while True:")
        for operand in node.operands:
            truth = self.local()
            self.write(operand, truth, indent + 1, blocks + 1)
            self.add(indent + 1, f"if {truth} is False:" if conjunction else f"if {truth}:",
                     f"    {into} = {not conjunction}", "    break",
                     f"if {truth} is None:", f"    {into} = None")
        self.add(indent + 1, "break")

    def value(self, field: Field, indent: int) -> str:
        """An expression reading ``field`` from a plain dict ``run``, as ``adapt`` makes it."""
        if field.section != "run":
            section = _SECTION_LOCALS[field.section]
            if len(field.path) > 1:
                return f"{self.bind(_reader(field))}({section})"
            return f"{section}.get({self.bind(field.key)})"
        if len(field.path) > 1:
            raise _CannotTake  # the nested walk would start from a renamed key
        key = field.key
        value = f"run.get({self.bind(_PLAIN_NAMES.get(key, key))})"
        if key in _NAMED:
            value = f"{self.bind(_NAMED[key])}({value})"
        if key == _STEP:
            step = self.local()
            self.add(indent, f"{step} = {value}", f"if {step} is None:",
                     f"    {step} = summary.get({self.bind(_STEP)})")
            return step
        return value


def _sections(node: Expr) -> set[str]:
    """The sections a generated selector reads for ``node``: a missing step is the summary's
    (``_record``)."""
    sections = set()
    for part in walk(node):
        if type(part) is Field:
            if part.section != "run":
                sections.add(part.section)
            elif part.path == (_STEP,):
                sections.add("summary")
    return sections


# Ordering --------------------------------------------------------------------------------------

def _sort_value(field: Field) -> Callable[[Record], _SortValue]:
    """How ``field`` sorts a record: None (last) when missing, null or NaN, else
    ``(type rank, value)`` with bool < number < string < anything else (by repr); created_at as
    datetimes."""
    get = getter(field)
    rank = _ranked(kind(field))
    return lambda record: rank(get(record))


def _ranked(field_kind: Kind) -> Callable[[Any], _SortValue]:
    """A value's place in the sort (see ``_sort_value``) on a field of ``field_kind``."""
    if field_kind == "time":
        def moment_of(value: Any) -> _SortValue:
            when = as_datetime(value)
            return None if when is None else (1, when)

        return moment_of
    lower = field_kind == "state"

    def value_of(value: Any) -> _SortValue:
        if value is None:
            return None
        if isinstance(value, bool):
            return (0, value)
        if isinstance(value, int | float):
            return None if value != value else (1, value)
        if isinstance(value, str):
            return (2, value.lower() if lower else value)
        return (3, safe_repr(value))

    return value_of


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a stand-in where Python will not write it (an int inside it with
    more digits than Python converts, or nesting deeper than Python recurses)."""
    try:
        return repr(value)
    except (ValueError, RecursionError):
        return "(too large to show)"


def _ordered(runs: list[Any], keys: tuple[OrderKey, ...]) -> list[int]:
    """The positions of ``runs`` sorted by ``keys`` in turn (stable), missing values last in
    either direction: one stable sort per key, the last key first."""
    order = list(range(len(runs)))
    plain = {run.__class__ for run in runs} == {dict} and all(
        map(_GRAPHQL_KEYS.isdisjoint, runs))
    records: list[Record] = []  # the runs adapted, once, when a key needs them
    for key in reversed(keys):
        if not plain and not records:
            records = [adapt(run) for run in runs]
        values = _sort_keys(key.field, runs, records)
        if values is None:
            continue  # no run has it: every run ties
        present = [position for position in order if values[position] is not None]
        if len(present) < len(order):
            missing = [position for position in order if values[position] is None]
            present.sort(key=values.__getitem__, reverse=not key.ascending)
            order = present + missing
        else:
            order.sort(key=values.__getitem__, reverse=not key.ascending)
    return order


def _sort_keys(field: Field, runs: list[Any], records: list[Record]) -> list[Any] | None:
    """Each run's place under ``field`` (None: missing), ordered as ``_sort_value`` orders
    them; None when no run has a value. ``records`` are the runs adapted, or empty when every
    run is a plain dict: then a run key is read where it stands (as ``_PlainRun`` reads it),
    values all of one plain type stand for themselves (one type rank orders them alike), and
    a run is adapted only for a key that needs it."""
    key = field.key
    if records or field.section != "run" or len(field.path) > 1 or key in _NAMED or (
            key == _STEP):
        value_of = _sort_value(field)
        return [value_of(record) for record in records or map(adapt, runs)]
    plain_key = _PLAIN_NAMES.get(key, key)
    raw = [run.get(plain_key) for run in runs]
    classes = {value.__class__ for value in raw}
    classes.discard(type(None))
    field_kind = kind(field)
    if not classes:
        return None
    if field_kind != "time" and classes == {str}:
        if field_kind == "state":
            return [None if value is None else value.lower() for value in raw]
        return raw
    if field_kind != "time" and classes <= _NUMBER_TYPES:
        return [value if value == value else None for value in raw]  # NaN sorts as missing
    if field_kind == "time" and classes == {str}:
        return [None if value is None else _text_moment(value) for value in raw]
    rank = _ranked(field_kind)
    return [rank(value) for value in raw]


def _text_moment(text: str) -> datetime | None:
    """A time's text as ``as_datetime`` reads it, where every value of the key is text (one type
    rank, so the moments stand for themselves): a text Python reads as a moment with its offset
    (W&B writes ``...Z``) needs none of ``parse_datetime``'s mending."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return as_datetime(text)
    return moment if moment.tzinfo is not None else as_datetime(text)


# Entry points ----------------------------------------------------------------------------------

def evaluate(query: Query, runs: Iterable[Any], *, now: datetime | None = None) -> list[Any]:
    """The runs (the very objects given) that ``query``'s filter holds TRUE for, in the query's
    total order (its ``order by`` keys, then newest first, then by id: ``ast.total_order``;
    runs tied on all of them keep the input order), the first ``limit`` of them."""
    if isinstance(runs, Mapping) or not isinstance(runs, Iterable):
        raise WsqueryError(f"evaluate() takes an iterable of runs, not {type(runs).__name__}; "
                           "use matches() for a single run")
    selected = _selector(query.filter, now)(runs)
    if len(selected) > 1:
        order = _ordered(selected, total_order(query))
        selected = [selected[position] for position in order]
    return selected[:query.limit]


def matches(query: Query, run: Any, *, now: datetime | None = None) -> bool:
    """Whether ``query``'s filter is TRUE for ``run`` (UNKNOWN is no match; no filter matches).
    For one run, writing a predicate's code costs more than adapting the run: the closures
    test it."""
    record = adapt(run)
    return query.filter is None or compile_predicate(query.filter, now)(record) is True


def _selector(expr: Expr | None, now: datetime | None) -> Selector:
    """How ``evaluate`` selects runs: the generated selector when it takes ``expr``, else the
    closures run by run; without a filter, every run (and what is not a run is refused)."""
    if expr is None:
        return _selecting(_any_run)
    moment = _moment(now)
    general = _adapting(compile_predicate(expr, moment))
    return _fast(expr, moment, general) or _selecting(general)


def _selecting(test: _RunFilter) -> Selector:
    """The runs ``test`` holds TRUE for, one call per run."""
    def select(runs: Iterable[Any]) -> list[Any]:
        return [run for run in runs if test(run) is True]

    return select


def _any_run(run: Any) -> Truth:
    adapt(run)
    return True
