"""A run table (one row per run, typed columns named as the language names them; built by
``compilers.run_columns``), and a query's leaves and order keys -> plans over the columns of
such a table, which the table targets (``sql``, ``polars``, ``pandas``) render each in its own
engine.

**The table.** A column per run attribute (``id``, ``name``, ``state``, ``tags``,
``created_at``, ``runtime``, ``user``, ``sweep``, ``group``, ``job_type``, ``host``,
``step``), then one per config key (``config.<key>``) and summary key (``summary.<key>``) any
run holds, nested keys as dotted paths (``config.optimizer.lr``, read as ``evaluate`` reads
them: the flat key first, then the nested dicts). Each value is sorted into the part its type
makes it: ``bool``, ``number`` (int64 when every number is an integer that fits, else float64;
NaN stays NaN and is not null), ``string``, ``time`` (``created_at`` only: a UTC timestamp, as
``evaluate`` reads ISO-8601 text and datetimes there), the elements of a list by their type
(``bools``, ``numbers``, ``strings``: lists of that type; a list's other elements can never
equal a literal, so they are left out) and ``other`` (Python's ``repr`` of a dict, a list
beside other kinds of value, or any other value: ``evaluate`` sorts such values by it).

**Mixed types.** A key whose values all fall in one part is one column, named as the key and
typed as the part (``config.lr`` float64). A key whose values fall in several parts, or only in
``other``, becomes one column per part, named ``<key>:<part>`` (``config.lr:number``,
``config.lr:string``): each row holds its value in the part its type picks and null in the
others (a list also fills every list part, empty where it has no such element). So every
column has one type in every engine, and a test of a value against a literal reads the one
part the literal's type can match, exactly as ``evaluate`` does: a string is never equal to a
number, and a run without the key is null in every part.

**Plans.** A leaf becomes a ``Leaf``: tests on part columns, of which the first that is not
null gives the answer (only one part is set in a row), or ``IsNullPlan``; an order key becomes
an ``OrderPlan``. ``Shape`` is what a target knows of a table: its columns and their parts,
read from a frame (``shape_of``) or, without one, assumed from the query itself.

**Rules paid once.** Given the table itself (its rows, not only a schema), ``learn`` reads what
its rows say of the columns a query tests, so that a rule costs once per query, not once per
row: the texts a ``state`` column holds (a case-less test becomes a test of exactly the
spellings that pass it, with no row lower-cased) and which float columns hold no NaN (read
without a NaN guard). An expression written with them is for that table: it reads another
table rightly only if that one holds no other spelling of a state and no NaN there.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal, TypeAlias, assert_never

import attrs

from wsquery.ast import (
    RUN_KEY_ATTRIBUTES,
    Compare,
    Contains,
    Expr,
    Field,
    In,
    IsNull,
    Match,
    OrderKey,
    Predicate,
    Scalar,
    Within,
    walk,
)
from wsquery.compilers.base import Context
from wsquery.errors import WsqueryError
from wsquery.facts.attributes import Kind, kind, typed

#: The part of a column a value falls in (see the module docstring).
Part: TypeAlias = Literal["bool", "number", "string", "time", "bools", "numbers", "strings",
                          "other"]
PARTS: tuple[Part, ...] = ("bool", "number", "string", "time", "bools", "numbers", "strings",
                           "other")
#: List parts -> the part of their elements.
LIST_PARTS: dict[Part, Part] = {"bools": "bool", "numbers": "number", "strings": "string"}
ELEMENT_LISTS: dict[Part, Part] = {element: part for part, element in LIST_PARTS.items()}
#: How ``evaluate`` ranks the types of values it sorts: bool < number < string < other.
SORT_RANKS: dict[Part, int] = {"bool": 0, "number": 1, "string": 2, "other": 3}
#: Where int64 ends: a column of integers beyond it is float64.
INT64 = 2 ** 63
#: The part a typed literal can match.
_TYPED_PARTS: dict[str, Part] = {"bool": "bool", "num": "number", "str": "string",
                                 "time": "time"}
#: The kind a column takes when nothing says otherwise: a run attribute's own.
KIND_PARTS: dict[Kind, Part | None] = {
    "text": "string", "state": "string", "number": "number", "seconds": "number",
    "time": "time", "tags": "strings", "any": None}


# Column names ----------------------------------------------------------------------------------

def column_key(field: Field) -> str:
    """The name a table gives ``field``: a run attribute's own (``created_at``), else the
    section and the key (``config.optimizer.lr``, ``run.inputArtifacts``)."""
    attribute = field.attribute
    return attribute if attribute is not None else f"{field.section}.{field.key}"


def field_of_column(key: str) -> Field:
    """The field a column of a run table reads: run attributes by their W&B key; config and
    summary keys as dotted paths (the flat key is read first, as ``evaluate`` does)."""
    section, dot, rest = key.partition(".")
    if section in ("config", "summary") and dot:
        return Field(section, tuple(rest.split(".")))
    names = {name: key for key, name in RUN_KEY_ATTRIBUTES.items()}
    return Field("run", (names[key],))


# The table ---------------------------------------------------------------------------------------

@attrs.frozen(slots=True)
class Shape:
    """What a target knows of a table: each key's parts and the column holding each part.
    ``known`` is False when the shape was assumed from the query (no table was given);
    ``nan_free`` names number columns whose type holds no NaN (integers), which a test reads
    without guarding against NaN. What the rows say, when they were read (``rows_seen``,
    ``learn``): ``rows_nan_free``, the number columns holding no NaN; ``spellings``, every
    text a column of a case-less attribute (``state``) holds."""

    parts: Mapping[str, Mapping[Part, str]]
    known: bool = True
    nan_free: frozenset[str] = frozenset()
    rows_nan_free: frozenset[str] = frozenset()
    spellings: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    rows_seen: bool = False

    def holds_no_nan(self, column: str) -> bool:
        """Whether a number column holds no NaN, by its type or its rows."""
        return column in self.nan_free or column in self.rows_nan_free

    def of(self, field: Field) -> Mapping[Part, str]:
        return self.parts.get(column_key(field), {})


@attrs.frozen(slots=True)
class TableColumns:
    """The columns of a run table in order, each with its part and its values, one per run."""

    names: tuple[str, ...]
    parts: tuple[Part, ...]
    values: tuple[list[Any], ...]

    @property
    def shape(self) -> Shape:
        """The table's shape, with what its values say (``learn``): every state column's
        spellings, and the number columns holding no NaN."""
        shape = _shape_from(zip(self.names, self.parts, strict=True))
        values = dict(zip(self.names, self.values, strict=True))
        nan_free = frozenset(name for name, part in zip(self.names, self.parts, strict=True)
                             if part == "number"
                             and not any(value != value for value in values[name]))
        spellings = {column: frozenset(value for value in values[column] if value is not None)
                     for column in _state_columns(shape)}
        return attrs.evolve(shape, rows_nan_free=nan_free, rows_seen=True, spellings={
            column: texts for column, texts in spellings.items()
            if len(texts) <= MAX_SPELLINGS})


def _shape_from(columns: Iterable[tuple[str, Part]],
                nan_free: frozenset[str] = frozenset()) -> Shape:
    parts: dict[str, dict[Part, str]] = {}
    for name, part in columns:
        key, _, suffix = name.rpartition(":")
        key = key if key and suffix == part else name
        parts.setdefault(key, {})[part] = name
    return Shape(parts, nan_free=nan_free)


def shape_of(table: Any) -> Shape:
    """The shape of a pandas or polars DataFrame, a pyarrow Table or Schema, a polars Schema,
    a ``Shape`` (what ``to_sqlite`` gives) or a mapping of column names to parts: each
    column's part is its ``:<part>`` suffix, else what its type says (integers and floats are
    numbers, lists are lists of their elements).
    Integer and decimal columns are ``nan_free``; a mapping says nothing of NaN."""
    if isinstance(table, Shape):
        return table
    if isinstance(table, TableColumns):
        return table.shape
    if isinstance(table, Mapping) and all(part in PARTS for part in table.values()):
        return _shape_from(table.items())
    import pyarrow

    schema: Any = table
    if hasattr(table, "to_arrow") and hasattr(table, "schema"):  # polars DataFrame
        schema = table.head(0).to_arrow().schema
    elif hasattr(table, "dtypes") and hasattr(table, "iloc"):  # pandas DataFrame
        schema = pyarrow.Schema.from_pandas(table.head(0), preserve_index=False)
    elif hasattr(table, "schema"):
        schema = table.schema
    if not isinstance(schema, pyarrow.Schema):
        try:
            import polars

            schema = polars.DataFrame(schema=schema).to_arrow().schema
        except Exception as error:  # not a schema polars knows either
            raise WsqueryError(f"cannot read the columns of {type(table).__name__}; give a "
                               "frame, a schema, or a mapping of column names to parts "
                               + ", ".join(PARTS)) from error
    import pyarrow.types as is_type

    nan_free = frozenset(field.name for field in schema if is_type.is_integer(field.type)
                         or is_type.is_decimal(field.type))
    return _shape_from(((field.name, _arrow_part(field.name, field.type)) for field in schema),
                       nan_free)


def _arrow_part(name: str, arrow_type: Any) -> Part:
    import pyarrow.types as is_type

    suffix = name.rpartition(":")[2]
    if ":" in name and suffix in PARTS:
        return suffix
    if is_type.is_list(arrow_type) or is_type.is_large_list(arrow_type):
        element = _arrow_part("", arrow_type.value_type)
        return ELEMENT_LISTS.get(element, "other")
    if is_type.is_boolean(arrow_type):
        return "bool"
    if is_type.is_integer(arrow_type) or is_type.is_floating(arrow_type) or (
            is_type.is_decimal(arrow_type)):
        return "number"
    if is_type.is_timestamp(arrow_type) or is_type.is_date(arrow_type):
        return "time"
    if is_type.is_string(arrow_type) or is_type.is_large_string(arrow_type):
        return "string"
    return "other"


#: The most spellings of a state ``learn`` keeps; a column holding more is lower-cased row by row.
MAX_SPELLINGS = 64


def _state_columns(shape: Shape) -> list[str]:
    """The text columns of the case-less attributes (``state``)."""
    return [parts["string"] for key, parts in shape.parts.items()
            if "string" in parts and kind(field_of_column(key)) == "state"]


def learn(shape: Shape, table: Any, predicates: Iterable[Predicate]) -> Shape:
    """``shape`` with what the rows of ``table`` (a polars or pandas DataFrame, a pyarrow
    Table) say of the columns ``predicates`` test: each state column's spellings (up to
    ``MAX_SPELLINGS``), and the float columns that hold no NaN. ``shape`` as it is for a
    schema, a mapping or a ``Shape``, which hold no rows."""
    column_of = _column_reader(table)
    if column_of is None:
        return shape
    tested = {column for node in predicates for column in shape.of(node.field).values()}
    spellings = dict(shape.spellings)
    for column in _state_columns(shape):
        if column in tested and column not in spellings:
            found = _distinct(column_of(column))
            if len(found) <= MAX_SPELLINGS:
                spellings[column] = frozenset(text for text in found if isinstance(text, str))
    nan_free = set(shape.rows_nan_free)
    for key_parts in shape.parts.values():
        number = key_parts.get("number")
        if number in tested and not shape.holds_no_nan(number) and not _holds_nan(
                column_of(number)):
            nan_free.add(number)
    return attrs.evolve(shape, spellings=spellings, rows_nan_free=frozenset(nan_free),
                        rows_seen=True)


def _column_reader(table: Any) -> Callable[[str], Any] | None:
    """How to read a column of ``table`` as an Arrow array, or None when it holds no rows:
    pandas' NumPy columns as pandas reads them (NaN as missing), as the pandas target does."""
    if isinstance(table, Shape | TableColumns | Mapping):
        return None
    if hasattr(table, "to_arrow") and hasattr(table, "get_column"):  # polars DataFrame
        return lambda name: table.get_column(name).to_arrow()
    import pyarrow

    if isinstance(table, pyarrow.Table):
        return lambda name: table.column(name)
    if hasattr(table, "dtypes") and hasattr(table, "iloc"):  # pandas DataFrame
        return lambda name: pyarrow.array(table[name])
    return None


def _distinct(values: Any) -> list[Any]:
    """The distinct values of an Arrow array."""
    import pyarrow.compute as pc

    return pc.unique(values).to_pylist()  # type: ignore[no-any-return]


def _holds_nan(values: Any) -> bool:
    import pyarrow.compute as pc
    import pyarrow.types as is_type

    if not is_type.is_floating(values.type):
        return False
    return pc.any(pc.is_nan(values)).as_py() is True


def assumed_shape(predicates: Iterable[Predicate], order_by: Iterable[OrderKey]) -> Shape:
    """The shape a target assumes without a table: every key one column named as the key,
    typed as its run attribute is (``tags`` a list of strings, ``created_at`` a timestamp) or,
    for config and summary keys, as the literals compared with it are; a key compared with
    literals of two types needs the table's real shape."""
    parts: dict[str, dict[Part, str]] = {}
    for field, part in _assumed_parts(predicates, order_by):
        key = column_key(field)
        known = parts.setdefault(key, {})
        if part is None:
            continue
        if known and part not in known:
            raise WsqueryError(
                f"{field} is compared with a {next(iter(known))} and a {part}; a column holds "
                "one type: pass columns= (the table, or its schema) to say which it holds")
        known[part] = key
    for key, known in parts.items():
        if not known:  # a column of no known type: only null tests and order read it
            known["other"] = key
    return Shape(parts, known=False)


def _assumed_parts(predicates: Iterable[Predicate], order_by: Iterable[OrderKey]
                   ) -> Iterator[tuple[Field, Part | None]]:
    for node in predicates:
        field_part = KIND_PARTS[kind(node.field)]
        if field_part is not None:
            yield node.field, field_part
            continue
        match node:
            case Compare() | Contains():
                literal_part = _TYPED_PARTS.get(typed(None, node.value)[0])
                yield node.field, literal_part
            case In():
                for value in node.values:
                    yield node.field, _TYPED_PARTS.get(typed(None, value)[0])
            case Match():
                yield node.field, "string"
            case Within():
                yield node.field, "time"
            case IsNull():
                yield node.field, None
            case _:
                assert_never(node)
    for key in order_by:
        yield key.field, KIND_PARTS[kind(key.field)]


def leaves(expr: Expr | None) -> list[Predicate]:
    """The predicates of a filter, in order."""
    if expr is None:
        return []
    return [node for node in walk(expr)
            if isinstance(node, Compare | In | Match | Contains | IsNull | Within)]


def resolve_shape(columns: Any, predicates: list[Predicate], order_by: tuple[OrderKey, ...],
                  context: Context) -> Shape:
    """The shape ``columns`` gives (a frame, a schema or a mapping), with what its rows say
    (``learn``), or the assumed one."""
    try:
        if columns is None:
            return assumed_shape(predicates, order_by)
        return learn(shape_of(columns), columns, predicates)
    except WsqueryError as error:
        raise context.error(str(error), None) from None


# Plans -----------------------------------------------------------------------------------------

@attrs.frozen(slots=True)
class Test:
    """One test of a part column against a literal; null when the column is null.

    ``op`` is a comparison (``== != < <= > >=``, on ``lower(column)`` when ``lower``),
    ``one_of`` (the value equals one of the tuple ``value``: TRUE or FALSE, null on null),
    ``substring`` (the literal is in the text), ``has`` (an element of the list equals it),
    ``never`` (FALSE where the column is set: a list with no element of the literal's type,
    or a state none of whose spellings passes) or ``regex`` (RE2 ``value`` finds a match)."""

    column: str
    part: Part
    op: str
    value: Any
    lower: bool = False


@attrs.frozen(slots=True)
class Leaf:
    """A predicate: the first of ``tests`` that is not null, else UNKNOWN (no test: always
    UNKNOWN). ``any_of`` is the OR (three-valued) of several such leaves (``in``)."""

    tests: tuple[Test, ...] = ()
    any_of: tuple[Leaf, ...] = ()


@attrs.frozen(slots=True)
class IsNullPlan:
    """TRUE when every one of ``columns`` is null (no column: always TRUE); never UNKNOWN."""

    columns: tuple[str, ...]


@attrs.frozen(slots=True)
class OrderPlan:
    """How one ``order by`` key sorts: by ``ranks`` (part column -> the rank of its type; the
    first set column gives the rank) when several parts are set, then by each part column, on
    ``lower(column)`` for ``lowered`` ones; nulls and NaN last in either direction."""

    columns: tuple[tuple[str, Part], ...]
    ranks: tuple[tuple[str, int], ...]
    ascending: bool
    lowered: bool


def leaf_plan(node: Predicate, shape: Shape, context: Context, moment: datetime
              ) -> Leaf | IsNullPlan:
    """What ``node`` tests on a table of ``shape`` (``moment``: where ``within last`` counts
    back from), as ``evaluate`` reads it."""
    parts = shape.of(node.field)
    field_kind = kind(node.field)
    match node:
        case IsNull():
            return IsNullPlan(tuple(parts.values()))
        case Compare():
            return Leaf(_compare(shape, parts, field_kind, node.op, node.field, node.value))
        case In():
            equal = tuple(Leaf(_compare(shape, parts, field_kind, "==", node.field, value)
                               + (_has(parts, value) if field_kind == "tags" else ()))
                          for value in node.values)
            if len(equal) == 1:
                return equal[0]
            return _one_of(equal, shape) or Leaf(any_of=equal)
        case Contains():
            if field_kind == "time":
                raise context.error(f"{node}: a table holds created_at as a timestamp, not "
                                    "its text", node.span)
            substring = (Test(parts["string"], "string", "substring", node.value)
                         if "string" in parts and isinstance(node.value, str) else None)
            return Leaf((() if substring is None else (substring,)) + _has(parts, node.value))
        case Match():
            if field_kind == "time":
                raise context.error(f"{node}: a table holds created_at as a timestamp, not "
                                    "its text", node.span)
            return Leaf((Test(parts["string"], "string", "regex", node.pattern),)
                        if "string" in parts else ())
        case Within():
            if field_kind != "time":
                raise context.error(f"{node}: 'within last' applies to created_at only",
                                    node.span)
            cutoff = node.duration.before(moment)
            return Leaf((Test(parts["time"], "time", ">=", cutoff),) if "time" in parts
                        else ())
        case _:
            assert_never(node)


#: A comparison's relation, as Python makes it for the spellings of a state.
_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


def _compare(shape: Shape, parts: Mapping[Part, str], field_kind: Kind, op: str, field: Field,
             value: Scalar) -> tuple[Test, ...]:
    literal_type, literal = typed(field, value)
    if literal_type == "never" or (literal_type == "bool" and op not in ("==", "!=")):
        return ()
    part = _TYPED_PARTS[literal_type]
    if part not in parts:
        return ()
    column = parts[part]
    if field_kind != "state":
        return (Test(column, part, op, literal),)
    spellings = shape.spellings.get(column)
    if spellings is None:
        return (Test(column, part, op, literal, lower=True),)
    # the spellings that pass, worked out once: TRUE on them, FALSE on the others, null on null
    passing = tuple(sorted(text for text in spellings if _RELATIONS[op](text.lower(), literal)))
    return (Test(column, part, "one_of", passing) if passing
            else Test(column, part, "never", None),)


def _one_of(equal: tuple[Leaf, ...], shape: Shape) -> Leaf | None:
    """An ``in`` list whose every value is one test of equality on the same text column, or
    number column holding no NaN, as one test of membership; None for any other."""
    tests = [leaf.tests[0] for leaf in equal if len(leaf.tests) == 1 and not leaf.any_of]
    if len(tests) != len(equal) or len({(test.column, test.part) for test in tests}) != 1:
        return None
    first = tests[0]
    if first.part not in ("string", "number") or (
            first.part == "number" and not shape.holds_no_nan(first.column)):
        return None
    values: list[Any] = []
    for test in tests:
        if test.lower or test.op not in ("==", "one_of"):
            return None
        for value in test.value if test.op == "one_of" else (test.value,):
            if value not in values:
                values.append(value)
    if len({type(value) for value in values}) != 1:
        return None  # an int beside a float: an engine's list holds one type
    return Leaf((Test(first.column, first.part, "one_of", tuple(values)),))


def _has(parts: Mapping[Part, str], value: Scalar) -> tuple[Test, ...]:
    """An element of a list equal to ``value`` (typed as a value of no known field): TRUE or
    FALSE on every list, null on anything else."""
    lists = [part for part in LIST_PARTS if part in parts]
    if not lists:
        return ()
    literal_type, literal = typed(None, value)
    element = _TYPED_PARTS.get(literal_type)
    list_part = None if element is None else ELEMENT_LISTS.get(element)
    if list_part is not None and list_part in parts:
        return (Test(parts[list_part], list_part, "has", literal),)
    return (Test(parts[lists[0]], lists[0], "never", None),)


def order_plan(key: OrderKey, shape: Shape, context: Context) -> OrderPlan:
    """How ``key`` sorts on a table of ``shape``, as ``evaluate`` sorts: created_at by time,
    others by type (bool < number < string < other), then value; a state without case."""
    parts = shape.of(key.field)
    field_kind = kind(key.field)
    if field_kind == "time":
        columns: tuple[tuple[str, Part], ...] = (
            ((parts["time"], "time"),) if "time" in parts else ())
    else:
        if any(part in parts for part in LIST_PARTS) and "other" not in parts:
            raise context.error(
                f"order by {key.field}: its values are lists, which wsquery sorts by their "
                "Python text, and a table holds them as lists", key.span,
                "order by another column")
        columns = tuple((parts[part], part) for part in SORT_RANKS if part in parts)
    ranks = tuple((column, SORT_RANKS[part]) for column, part in columns
                  ) if len(columns) > 1 else ()
    return OrderPlan(columns, ranks, key.ascending, field_kind == "state")
