"""A runs-API (MongoDB) filter and a stored run document in, whether the run matches out.

The view server needs it at run time: its ``project { runs(filters: ...) }`` field answers
``wsquery runs --base-url``, ``wsquery.runs()`` and ``wandb.Api().runs()`` pointed at ``wsquery
serve`` (or the demo's server) with the runs those filters select, as W&B's server would. The
tests of the mongo and runs-API targets use it as the reference for MongoDB's meaning.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from wsquery.errors import WsqueryError


class FilterError(WsqueryError):
    """A runs-API filter the matcher cannot read: an unknown operator or a malformed operand."""


#: BSON's order of types, for comparisons: values compare only within one bracket.
_NULL, _NUMBER, _STRING, _OBJECT, _ARRAY, _BOOLEAN = range(6)
_COMPARISONS = {"$gt": (1,), "$gte": (0, 1), "$lt": (-1,), "$lte": (-1, 0)}


def matches_filter(filters: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    """Whether ``document`` matches a MongoDB filter, as MongoDB decides it, for the operators
    the runs API documents: ``$and``, ``$or``, ``$nor``, ``$eq``, ``$ne``, ``$gt``, ``$gte``,
    ``$lt``, ``$lte``, ``$in``, ``$nin``, ``$exists``, ``$regex`` (RE2, via google-re2).

    Paths traverse objects, array indexes and the objects inside arrays; a condition holds when
    some value found (or element of an array found) satisfies it, ``$ne``/``$nin`` when none
    does; ``{"x": null}`` also matches a missing ``x``. Comparisons are type-bracketed (BSON
    order inside one type only; NaN compares with nothing) and equality never takes ``true``
    for ``1``. A ``FilterError`` for anything else."""
    if not isinstance(filters, Mapping):
        raise FilterError(f"a filter is a JSON object, not {filters!r}")
    for key, condition in filters.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(condition, list) or not condition:
                raise FilterError(f"{key} takes a non-empty list of filters")
            results = (matches_filter(clause, document) for clause in condition)
            held = all(results) if key == "$and" else (
                any(results) if key == "$or" else not any(results))
        elif key.startswith("$"):
            raise FilterError(f"unknown top-level operator {key}")
        else:
            held = _holds(_resolve(document, key.split(".")), condition)
        if not held:
            return False
    return True


def _resolve(value: Any, segments: list[str]) -> list[Any]:
    """The values a dotted path reaches (none when it reaches nothing)."""
    if not segments:
        return [value]
    head, rest = segments[0], segments[1:]
    if isinstance(value, dict):
        return _resolve(value[head], rest) if head in value else []
    if not isinstance(value, list):
        return []
    found: list[Any] = []
    if head.isdigit() and int(head) < len(value):
        found += _resolve(value[int(head)], rest)
    for element in value:
        if isinstance(element, dict):
            found += _resolve(element, segments)
    return found


def _holds(values: list[Any], condition: Any) -> bool:
    if not (isinstance(condition, dict) and condition and all(
            key.startswith("$") for key in condition)):
        return _equals_any(values, condition)
    return all(_operator(values, op, operand) for op, operand in condition.items())


def _operator(values: list[Any], op: str, operand: Any) -> bool:
    if op == "$eq":
        return _equals_any(values, operand)
    if op == "$ne":
        return not _equals_any(values, operand)
    if op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise FilterError(f"{op} takes a list")
        found = any(_equals_any(values, member) for member in operand)
        return found if op == "$in" else not found
    if op == "$exists":
        return bool(values) == bool(operand)
    if op in _COMPARISONS:
        signs = _COMPARISONS[op]
        return any(_comparable(value, operand) and _compare(value, operand) in signs
                   for value in _expanded(values))
    if op == "$regex":
        if not isinstance(operand, str):
            raise FilterError("$regex takes a string")
        search = _regex_search(operand)
        return any(isinstance(value, str) and search(value) for value in _expanded(values))
    raise FilterError(f"unknown operator {op}")


def _expanded(values: list[Any]) -> Iterator[Any]:
    """Each value, and the elements of each array among them."""
    for value in values:
        yield value
        if isinstance(value, list):
            yield from value


def _equals_any(values: list[Any], operand: Any) -> bool:
    if operand is None and not values:
        return True
    return any(_bracket(value) == _bracket(operand) and _compare(value, operand) == 0
               for value in _expanded(values))


def _comparable(value: Any, operand: Any) -> bool:
    """Same BSON type, and no NaN (which compares with nothing but NaN)."""
    if _bracket(value) != _bracket(operand):
        return False
    return not (_nan(value) or _nan(operand))


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _bracket(value: Any) -> int:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _BOOLEAN
    if isinstance(value, int | float):
        return _NUMBER
    if isinstance(value, str):
        return _STRING
    if isinstance(value, dict):
        return _OBJECT
    if isinstance(value, list):
        return _ARRAY
    raise FilterError(f"a document holds {type(value).__name__}, which is not JSON")


def _compare(left: Any, right: Any) -> int:
    """BSON's total order: by type, then by value (arrays and objects element by element)."""
    left_type, right_type = _bracket(left), _bracket(right)
    if left_type != right_type:
        return -1 if left_type < right_type else 1
    if left_type == _NULL:
        return 0
    if _nan(left) or _nan(right):
        return int(not _nan(left)) - int(not _nan(right))  # NaN first
    if left_type == _OBJECT:
        left, right = list(left.items()), list(right.items())
        for (left_key, left_value), (right_key, right_value) in zip(left, right, strict=False):
            order = (_compare(_bracket(left_value), _bracket(right_value))
                     or _compare(left_key, right_key) or _compare(left_value, right_value))
            if order:
                return order
        return _compare(len(left), len(right))
    if left_type == _ARRAY:
        for left_value, right_value in zip(left, right, strict=False):
            order = _compare(left_value, right_value)
            if order:
                return order
        return _compare(len(left), len(right))
    return int(left > right) - int(left < right)


def _regex_search(pattern: str) -> Any:
    """The search for a ``$regex``: RE2's meaning, as W&B's server runs it (the language's
    own regexes, so wsquery's engine serves)."""
    from wsquery.regex import compile_user_regex

    try:
        return compile_user_regex(pattern)
    except WsqueryError as error:
        raise FilterError(f"$regex {pattern!r}: {error}") from None
