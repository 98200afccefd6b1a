"""Runs -> the columns of a run table (``table_columns``), and those columns as a pandas or
polars DataFrame or an Arrow table (``to_frame``): one row per run, a column per run
attribute, config key and summary key, each value sorted into the part its type makes it
(``compilers.run_table`` says how). Plain dicts are read where they stand, for all the runs at
once; runs in any other shape are adapted first, as ``evaluate`` reads them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from wsquery.compilers.run_table import (
    ELEMENT_LISTS,
    INT64,
    KIND_PARTS,
    LIST_PARTS,
    PARTS,
    Part,
    TableColumns,
    field_of_column,
)
from wsquery.errors import WsqueryError
from wsquery.facts.attributes import ATTRIBUTES, kind
from wsquery.semantics.predicates import (
    as_datetime,
    getter,
    plain_sections,
    reader,
    stored_values,
    text_moments,
)
from wsquery.semantics.records import Record, adapt, all_plain, safe_repr

#: The run attributes a table holds, by the language's name.
ATTRIBUTE_COLUMNS = tuple(attribute.name for attribute in ATTRIBUTES if attribute.name)
BACKENDS = ("pandas", "polars", "arrow")


# Columns ---------------------------------------------------------------------------------------

def part_column(key: str, part: Part, parts: Iterable[Part]) -> str:
    """The column holding ``part`` of ``key``, among the parts ``parts`` the key has."""
    listed = tuple(parts)
    return key if listed == (part,) and part != "other" else f"{key}:{part}"


def table_columns(runs: Iterable[Any]) -> TableColumns:
    """The columns ``to_frame`` writes for ``runs`` (any shape ``evaluate`` accepts). A run
    that no table can hold (a key or text that is not Unicode text, a number beyond float64,
    keys nested deeper than ``MAX_DEPTH``, two keys that would name one column) is a
    ``WsqueryError`` naming the run (``runs[3]``) and the key. Plain dicts are read where they
    stand (``stored_values``), other runs adapted; a config or summary key is read from the
    sections its keys were found in."""
    runs = list(runs)
    plain = all_plain(runs)
    adapted: list[Record] = []

    def records() -> list[Record]:
        if not adapted:
            adapted.extend(map(adapt, runs))
        return adapted

    keys = list(ATTRIBUTE_COLUMNS)
    sections_of: dict[str, Sequence[Any]] = {}  # each run's config (summary), read once
    for section in ("config", "summary"):
        sections = plain_sections(section, runs) if plain else None
        if sections is None:
            sections = [getattr(record, section) for record in records()]
        sections_of[section] = sections
        keys.extend(f"{section}.{path}" for path in sorted(_section_paths(sections, section)))
    names: list[str] = []
    parts: list[Part] = []
    values: list[list[Any]] = []
    for key in keys:
        field = field_of_column(key)
        field_kind = kind(field)
        column: list[Any] | None = None
        if field.section in sections_of:
            column = list(map(reader(field), sections_of[field.section]))
        elif plain:
            column = stored_values(field, runs)
        if column is None:
            get = getter(field)
            column = [get(record) for record in records()]
        split = _split(column, field_kind == "time", KIND_PARTS[field_kind] or "string")
        for part, part_values in split.items():
            names.append(part_column(key, part, split))
            parts.append(part)
            values.append(part_values)
            if _may_be_unwritable(part, part_values):
                for index, value in enumerate(part_values):
                    problem = _unwritable(value)
                    if problem is not None:
                        raise WsqueryError(f"runs[{index}]: {key}: {problem}")
    taken: dict[str, None] = {}
    for name in names:
        if name in taken:
            raise WsqueryError(f"two columns would be called {name!r}: a key of that name "
                               "and a part of a key holding values of several types; rename "
                               "the key")
        taken[name] = None
    return TableColumns(tuple(names), tuple(parts), tuple(values))


#: The classes of a section's values that hold no keys of their own.
_LEAF_CLASSES = frozenset({str, int, float, bool, type(None), list, tuple})


def _section_paths(sections: Sequence[Any], section: str) -> Iterable[str]:
    """Every key the runs' config (or summary) sections hold, nested keys as dotted paths: a
    dict of leaf values gives its keys at once; any other section is walked (``_paths``). Where
    a key is one no table can hold, the walk of every run in turn says which run first."""
    found: dict[Any, None] = {}
    try:
        for values in sections:
            if values.__class__ is dict and _LEAF_CLASSES.issuperset(map(type, values.values())):
                found.update(dict.fromkeys(values))
            else:
                found.update(dict.fromkeys(_paths(values, section)))
        texts = [key for key in found if isinstance(key, str)]
        if all(key.isascii() or _unwritable(key) is None for key in texts):
            return texts
    except _Unwritable:
        pass
    for index, values in enumerate(sections):
        try:
            list(_paths(values, section))
        except _Unwritable as error:
            raise WsqueryError(f"runs[{index}]: {error}") from None
    raise AssertionError("a key no table can hold was found, then not")  # pragma: no cover


#: How deep a table reads nested config and summary keys.
MAX_DEPTH = 100
#: Beyond this an int is beyond what a float64 column holds.
_FLOAT_LIMIT = 2 ** 1024


class _Unwritable(Exception):
    """A key no table can hold; says which and why."""


def _paths(section: Any, where: str, depth: int = 1) -> Iterator[str]:
    """Every key of a config or summary, nested dicts' keys as dotted paths after theirs;
    ``where`` is the path so far, for errors."""
    keys = section.keys() if callable(getattr(section, "keys", None)) else ()
    for key in keys:
        if not isinstance(key, str):
            continue
        if _unwritable(key) is not None:
            raise _Unwritable(f"the key {f'{where}.{key}'!a} holds a lone surrogate, which "
                              "is not text")
        yield key
        value = section.get(key)
        if isinstance(value, Mapping):
            if depth >= MAX_DEPTH:
                raise _Unwritable(f"{where}.{key} nests keys deeper than {MAX_DEPTH} levels")
            yield from (f"{key}.{path}"
                        for path in _paths(value, f"{where}.{key}", depth + 1))


def _may_be_unwritable(part: Part, column: list[Any]) -> bool:
    """Whether a column may hold a value no table can hold, asked of the whole column at once
    (texts all ASCII, numbers all floats or small ints) before any value is looked at."""
    match part:
        case "bool" | "time":
            return False
        case "string" | "other":
            return not "".join(filter(None, column)).isascii()
        case "strings":
            return not "".join(itertools.chain.from_iterable(filter(None, column))).isascii()
        case "number":
            return any(value.__class__ is not float and not -_FLOAT_LIMIT < value < _FLOAT_LIMIT
                       for value in column if value is not None)
    return True


def _unwritable(value: Any) -> str | None:
    """Why no table can hold ``value`` (a column's value: a scalar or a list of them)."""
    if isinstance(value, list):
        return next(filter(None, map(_unwritable, value)), None)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"{value[max(0, error.start - 10):error.end + 10]!a} holds a lone surrogate"
    elif isinstance(value, int) and not -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
        return f"an integer of {value.bit_length()} bits is beyond what a float64 column holds"
    return None


def _value_part(value: Any, time_valued: bool) -> Part | Literal["list"] | None:
    """The part ``value`` falls in (None: missing); ``time_valued`` for created_at."""
    if value is None:
        return None
    if time_valued and isinstance(value, str | datetime | date) and (
            as_datetime(value) is not None):
        return "time"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    return "other"


#: The classes of values that all fall in one part, as they stand.
_PLAIN_PARTS: dict[frozenset[type], Part] = {
    frozenset({str}): "string", frozenset({int}): "number", frozenset({float}): "number",
    frozenset({int, float}): "number", frozenset({bool}): "bool"}


def _split(values: list[Any], time_valued: bool, default: Part) -> dict[Part, list[Any]]:
    """One key's values, one per run -> its parts, each a column of values (None where the
    run's value is in another part); ``default`` when no run holds a value."""
    classes = set(map(type, values))
    missing = type(None) in classes
    classes.discard(type(None))
    plain = _PLAIN_PARTS.get(frozenset(classes)) if not time_valued else None
    if plain is not None or not classes:  # every value is in one part, as it stands
        return {plain or default: values}
    if classes == {list} and set(map(type, itertools.chain.from_iterable(
            filter(None, values)))) <= {str}:
        return {"strings": values}  # lists of texts, as they stand
    if time_valued and classes == {str} and not missing:
        moments = text_moments(values)
        if None not in moments:  # every text a moment
            return {"time": moments}
    found = [_value_part(value, time_valued) for value in values]
    kinds = set(found)
    element_parts: set[Part] = set()
    parts: set[Part] = set()
    for value, found_part in zip(values, found, strict=True):
        if found_part == "list":
            for element in value:
                element_part = _element_part(element)
                if element_part is not None:
                    element_parts.add(element_part)
        elif found_part is not None:
            parts.add(found_part)
    if "list" in kinds:
        parts |= {ELEMENT_LISTS[p] for p in element_parts} or {"strings"}
        if kinds - {None} != {"list"}:
            parts.add("other")  # a list beside other kinds of value sorts by its repr
    parts = parts or {default}
    columns: dict[Part, list[Any]] = {part: [] for part in PARTS if part in parts}
    for value, value_part in zip(values, found, strict=True):
        for part, column in columns.items():
            column.append(_part_value(value, value_part, part))
    return columns


def _element_part(element: Any) -> Part | None:
    """The part of a list element that can equal a literal (None: it never can)."""
    part = _value_part(element, False)
    if part == "number" and element != element:
        return None  # NaN equals nothing
    return part if part in ("bool", "number", "string") else None


def _part_value(value: Any, value_part: Part | Literal["list"] | None, part: Part) -> Any:
    if value_part is None:
        return None
    if value_part == "list":
        if part in LIST_PARTS:
            return [element for element in value if _element_part(element) == LIST_PARTS[part]]
        return safe_repr(list(value)) if part == "other" else None
    if value_part != part:
        return None
    if part == "time":
        return as_datetime(value)
    return safe_repr(value) if part == "other" else value


# Frames ----------------------------------------------------------------------------------------

def to_frame(runs: Iterable[Any], backend: str = "pandas") -> Any:
    """``runs`` as a run table: a pandas DataFrame (pyarrow-backed dtypes, so that null and NaN
    stay apart), a polars DataFrame or a pyarrow Table. See the module docstring."""
    if backend not in BACKENDS:
        raise WsqueryError(f"unknown backend {backend!r}; backends are " + ", ".join(BACKENDS))
    table = _arrow_table(table_columns(runs))
    if backend == "arrow":
        return table
    if backend == "polars":
        import polars

        return polars.from_arrow(table)
    import pandas

    return table.to_pandas(types_mapper=pandas.ArrowDtype)


def _arrow_table(columns: TableColumns) -> Any:
    import pyarrow

    types = {
        "bool": pyarrow.bool_(), "string": pyarrow.string(), "other": pyarrow.string(),
        "time": pyarrow.timestamp("us", tz="UTC"), "bools": pyarrow.list_(pyarrow.bool_()),
        "strings": pyarrow.list_(pyarrow.string())}
    arrays = []
    for part, values in zip(columns.parts, columns.values, strict=True):
        if part in ("number", "numbers"):
            numbers = [n for value in values if value is not None
                       for n in (value if part == "numbers" else (value,))]
            whole = all(isinstance(n, int) and -INT64 <= n < INT64 for n in numbers)
            number = pyarrow.int64() if whole else pyarrow.float64()
            kind_type = number if part == "number" else pyarrow.list_(number)
            if not whole:
                values = [_floats(value) for value in values]
            arrays.append(pyarrow.array(values, kind_type))
        else:
            arrays.append(pyarrow.array(values, types[part]))
    return pyarrow.table(arrays, names=list(columns.names))


def _floats(value: Any) -> Any:
    """Numbers as floats (pyarrow refuses an int beyond int64 in a float64 column)."""
    if value is None:
        return None
    return [float(n) for n in value] if isinstance(value, list) else float(value)
