"""Runs -> their positions in a query's total order (``ast.total_order``), as ``evaluate``
sorts them: missing values last in either direction, one stable sort per key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from wsquery.ast import (
    Field,
    OrderKey,
)
from wsquery.facts.attributes import Kind, kind
from wsquery.semantics.predicates import (
    NUMBER_TYPES,
    as_datetime,
    getter,
    stored_values,
    text_moments,
)
from wsquery.semantics.records import (
    Record,
    adapt,
    all_plain,
    safe_repr,
)

_SortValue: TypeAlias = "tuple[int, Any] | None"


# Ordering --------------------------------------------------------------------------------------

def sort_value(field: Field) -> Callable[[Record], _SortValue]:
    """How ``field`` sorts a record: None (last) when missing, null or NaN, else
    ``(type rank, value)`` with bool < number < string < anything else (by repr); created_at as
    datetimes."""
    get = getter(field)
    rank = _ranked(kind(field))
    return lambda record: rank(get(record))


def _ranked(field_kind: Kind) -> Callable[[Any], _SortValue]:
    """A value's place in the sort (see ``sort_value``) on a field of ``field_kind``."""
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


def ordered(runs: list[Any], keys: tuple[OrderKey, ...],
            read: Mapping[Field, list[Any]] | None = None) -> list[int]:
    """The positions of ``runs`` sorted by ``keys`` in turn (stable), missing values last in
    either direction: one stable sort per key, the last key first. ``read``, when given, says
    every run is a plain dict and holds, for keys stored as they stand (``plain_key``), each
    run's value (as the generated selector read them)."""
    order = list(range(len(runs)))
    if read is None:
        read = {}
        plain = all_plain(runs)
    else:
        plain = True
    records: list[Record] = []  # the runs adapted, once, when a key needs them
    for key in reversed(keys):
        if not plain and not records:
            records = [adapt(run) for run in runs]
        values = _sort_keys(key.field, runs, records, read.get(key.field))
        if values is None:
            continue  # no run has it: every run ties
        if None in values:  # sort keys are texts, numbers, moments or tuples: none equals None
            present = [position for position in order if values[position] is not None]
            missing = [position for position in order if values[position] is None]
            present.sort(key=values.__getitem__, reverse=not key.ascending)
            order = present + missing
        else:
            order.sort(key=values.__getitem__, reverse=not key.ascending)
    return order


def _sort_keys(field: Field, runs: list[Any], records: list[Record],
               read: list[Any] | None) -> list[Any] | None:
    """Each run's place under ``field`` (None: missing), ordered as ``sort_value`` orders
    them; None when no run has a value. ``records`` are the runs adapted, or empty when every
    run is a plain dict: then a value is read where it stands where it can be
    (``stored_values``; ``read`` holds those the selector read already), values all of one
    plain type stand for themselves (one type rank orders them alike), and the runs are
    adapted only for a key that needs it."""
    raw = None if records else read if read is not None else stored_values(field, runs)
    if raw is None:
        value_of = sort_value(field)
        return [value_of(record) for record in records or map(adapt, runs)]
    classes = set(map(type, raw))
    classes.discard(type(None))
    field_kind = kind(field)
    if not classes:
        return None
    if field_kind != "time" and classes == {str}:
        if field_kind == "state":
            return [None if value is None else value.lower() for value in raw]
        return raw
    if field_kind != "time" and classes <= NUMBER_TYPES:
        return [value if value == value else None for value in raw]  # NaN sorts as missing
    if field_kind == "time" and classes == {str}:
        return text_moments(raw)
    rank = _ranked(field_kind)
    return [rank(value) for value in raw]
