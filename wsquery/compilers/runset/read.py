"""Run-set JSON (a filterV2 filter, a legacy filter tree or a whole run set) -> ``Query``.

The inverse of the run-set compiler (``write``), written to read what the W&B UI and other
clients save too. Reading rules beyond the format notes:

- ``disabled: true`` items (leaves or groups) are left out, each reported with a
  ``WsqueryWarning`` naming its JSON path and its condition. In a filterV2 list the remaining
  items are joined by their own connectors; the first remaining item's connector is ignored.
- Groups and legacy nodes with nothing left in them are left out (an empty list is no filter).
- The run set's search becomes the last operand of the top-level ``and``: ``name =~ "re"`` for
  a regex search, ``name contains "text"`` for a plain one (see ``PLAIN_SEARCH_IS_SUBSTRING``).
- A ``null`` where a run set keeps ``filters``, ``grouping``, ``sort`` or ``search`` means the
  key is not set, as does a ``null`` ``disabled`` or ``connector`` on an item.
- Every leaf is checked like parsed query text (``syntax.validate``), so the result always
  prints as text that parses back to an equal ``Query``; what cannot be written as a query is
  a ``DecompileError`` naming the JSON path, the offending value and what was expected.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any, assert_never

from wsquery.ast import (
    RUN_ATTRIBUTES,
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
    slot_constructor,
)
from wsquery.errors import DecompileError, WsqueryWarning
from wsquery.facts.formats import (
    HAS_TAG_OP,
    LACKS_TAG_OP,
    PLAIN_SEARCH_IS_SUBSTRING,
    WORKSPACE_OPS,
    config_key_from_wandb,
    default_sort,
)
from wsquery.syntax import validate as _validate
from wsquery.syntax.validate import MAX_DEPTH

#: Sections of filter leaf keys; ``tags`` leaves say whether a run has one tag.
_FILTER_SECTIONS = ("config", "summary", "run", "tags")
#: Sections of grouping and sort keys.
_KEY_SECTIONS = ("config", "summary", "run")
_CONNECTORS = ("AND", "OR")
_NAME = Field("run", (RUN_ATTRIBUTES["name"],))
_TAGS = Field("run", (RUN_ATTRIBUTES["tags"],))
_CREATED_AT = Field("run", (RUN_ATTRIBUTES["created_at"],))
_UNITS_LARGEST_FIRST = sorted(UNIT_SECONDS.items(), key=lambda unit: -unit[1])
_SHOW_LIMIT = 60
_new_field = slot_constructor(Field)
_new_compare = slot_constructor(Compare)

# A reader of one filter item: (item, path, skipped, depth) -> its condition, None when empty.
_ItemReader = Callable[[dict[str, Any], str, list[str], int], "Expr | None"]


def decompile(data: dict[str, Any]) -> Query:
    """Read a filterV2 filter, a legacy filter tree or a whole run set back into a ``Query``.

    Disabled filter items are left out with a ``WsqueryWarning`` each; anything unreadable is a
    ``DecompileError`` whose ``path`` points into ``data`` (``filters.filters[2].op``)."""
    skipped: list[str] = []
    query = _read(data, skipped)
    for message in skipped:
        warnings.warn(message, WsqueryWarning, stacklevel=3)
    return query


def _read(data: Any, skipped: list[str]) -> Query:
    if not isinstance(data, dict):
        raise DecompileError("expected a run set, a filterV2 filter or a legacy filter tree "
                             f"(a JSON object), found {_show(data)}")
    if "filterFormat" in data or "op" in data:
        return Query(_shallow(_read_filter(data, "", skipped), ""))
    condition = None
    if data.get("filters") is not None:
        condition = _read_filter(data["filters"], "filters", skipped)
    if data.get("search") is not None:
        search = _read_search(data["search"], "search")
        if search is not None:
            condition = _and_last(condition, search)
    condition = _shallow(condition, "filters")
    group_by: tuple[Field, ...] = ()
    if data.get("grouping") is not None:
        group_by = _read_grouping(data["grouping"], "grouping")
    order_by: tuple[OrderKey, ...] = ()
    if data.get("sort") is not None:
        order_by = _read_sort(data["sort"], "sort")
        if order_by == _default_order():
            order_by = ()
    return Query(condition, group_by, order_by)


# Filters -------------------------------------------------------------------------------------

def _read_filter(data: Any, path: str, skipped: list[str]) -> Expr | None:
    """A filterV2 filter or a legacy tree, told apart by ``filterFormat`` and ``op``."""
    if not isinstance(data, dict) or not ("filterFormat" in data or "op" in data):
        raise DecompileError(
            'expected a filterV2 filter {"filterFormat": "filterV2", "filters": [...]} or a '
            f'legacy filter tree {{"op": "OR", "filters": [...]}}, found {_show(data)}',
            path=path)
    if "filterFormat" in data:
        if data["filterFormat"] != "filterV2":
            raise DecompileError(
                f'unknown filterFormat {_show(data["filterFormat"])}; expected "filterV2"',
                path=_at(path, "filterFormat"))
        return _read_list(_get(data, "filters", path), _at(path, "filters"), skipped, 1,
                          _read_v2_item)
    return _read_legacy_item(data, path, skipped, 1)


def _read_list(items: Any, path: str, skipped: list[str], depth: int,
               read_item: _ItemReader) -> Expr | None:
    """A filterV2 list: items joined by their connectors, ``AND`` binding tighter than ``OR``."""
    if not isinstance(items, list):
        raise DecompileError(f"expected a list of filter items, found {_show(items)}", path=path)
    if depth > MAX_DEPTH:
        raise DecompileError(f"filter groups nest deeper than {MAX_DEPTH} levels", path=path)
    chains: list[list[Expr]] = []
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise DecompileError(
                f"expected a filter leaf or group (a JSON object), found {_show(item)}",
                path=item_path)
        if _is_disabled(item, item_path):
            skipped.append(_skip_message(item, item_path, depth, read_item))
            continue
        condition = read_item(item, item_path, skipped, depth)
        connector = _connector(item, item_path, required=index > 0)
        if condition is None:
            continue
        if not chains or connector == "OR":
            chains.append([condition])
        else:
            chains[-1].append(condition)
    return _join(Or, [_join(And, chain) for chain in chains]) if chains else None


def _read_v2_item(item: dict[str, Any], path: str, skipped: list[str], depth: int) -> Expr | None:
    if item.get("key") is not None:
        return _read_leaf(item, path)
    if item.get("filters") is not None:
        return _read_list(item["filters"], _at(path, "filters"), skipped, depth + 1,
                          _read_v2_item)
    raise DecompileError(
        f'expected a leaf with "key" or a group with "filters", found {_show(item)}', path=path)


def _read_legacy_item(item: dict[str, Any], path: str, skipped: list[str],
                      depth: int) -> Expr | None:
    """A legacy node ``{"op": "AND"|"OR", "filters": [...]}`` of any depth, or a leaf."""
    if item.get("key") is not None:
        return _read_leaf(item, path)
    if item.get("op") not in _CONNECTORS:
        if "op" not in item:
            raise DecompileError('expected a leaf with "key" or a node with "op" and "filters", '
                                 f"found {_show(item)}", path=path)
        raise DecompileError(f'expected "AND" or "OR" as the op of a filter node, found '
                             f'{_show(item["op"])}', path=_at(path, "op"))
    children = _get(item, "filters", path)
    children_path = _at(path, "filters")
    if not isinstance(children, list):
        raise DecompileError(f"expected a list of filter items, found {_show(children)}",
                             path=children_path)
    if depth > MAX_DEPTH:
        raise DecompileError(f"filter nodes nest deeper than {MAX_DEPTH} levels", path=path)
    operands: list[Expr] = []
    for index, child in enumerate(children):
        child_path = f"{children_path}[{index}]"
        if not isinstance(child, dict):
            raise DecompileError(
                f"expected a filter leaf or node (a JSON object), found {_show(child)}",
                path=child_path)
        if _is_disabled(child, child_path):
            skipped.append(_skip_message(child, child_path, depth + 1, _read_legacy_item))
            continue
        condition = _read_legacy_item(child, child_path, skipped, depth + 1)
        if condition is not None:
            operands.append(condition)
    if not operands:
        return None
    return _join(And if item["op"] == "AND" else Or, operands)


def _is_disabled(item: dict[str, Any], path: str) -> bool:
    disabled = item.get("disabled")
    if disabled is None or isinstance(disabled, bool):
        return disabled is True
    raise DecompileError(f"expected true or false, found {_show(disabled)}",
                         path=_at(path, "disabled"))


def _connector(item: dict[str, Any], path: str, *, required: bool) -> str | None:
    connector = item.get("connector")
    if connector is None and not required:
        return None
    if connector is None:
        raise DecompileError('missing "connector" ("AND" or "OR") joining this item to the one '
                             "before it", path=path)
    if connector not in _CONNECTORS:
        raise DecompileError(f'unknown connector {_show(connector)}; expected "AND" or "OR"',
                             path=_at(path, "connector"))
    return str(connector)


def _skip_message(item: dict[str, Any], path: str, depth: int, read_item: _ItemReader) -> str:
    """The warning for a disabled item: its path and its condition as query text (or its JSON
    when it cannot be read: a disabled item never stops the rest from being read)."""
    try:
        condition = read_item({**item, "disabled": False}, path, [], depth)
    except DecompileError:
        shown = json.dumps(item, ensure_ascii=False, default=repr)
    else:
        shown = "an empty group" if condition is None else str(condition)
    return f"{path} is disabled and left out: {shown}"


# Leaves --------------------------------------------------------------------------------------

def _read_leaf(leaf: dict[str, Any], path: str) -> Expr:
    """``{"key": {"section", "name"}, "op", "value"}`` -> one checked predicate."""
    key_path = _at(path, "key")
    section, name = _read_key(leaf["key"], key_path, _FILTER_SECTIONS)
    op = _get(leaf, "op", path)
    op_path = _at(path, "op")
    if op not in WORKSPACE_OPS:
        raise DecompileError(
            f"unknown op {_show(op)}; expected one of {_quoted(WORKSPACE_OPS)}", path=op_path)
    value = _get(leaf, "value", path)
    value_path = _at(path, "value")
    if section == "tags":
        condition = _tag_leaf(name, op, value, op_path, value_path)
    else:
        condition = _leaf(_field(section, name, key_path), op, value, op_path, value_path)
    return _checked(condition, path)


def _leaf(field: Field, op: str, value: Any, op_path: str, value_path: str) -> Expr:
    match op:
        case "IN" | "NIN":
            if not isinstance(value, list):
                raise DecompileError(f'"{op}" needs a list of values, found {_show(value)}',
                                     path=value_path)
            member: Expr = In(field, tuple(_scalar(v, f"{value_path}[{i}]")
                                           for i, v in enumerate(value) if v is not None))
            if None in value:  # equal to null: the key is missing or null
                member = IsNull(field) if len(value) == value.count(None) else Or(
                    (member, IsNull(field)))
            return member if op == "IN" else Not(member)
        case _ if field == _TAGS and op in (HAS_TAG_OP, LACKS_TAG_OP) and isinstance(value, str):
            has_tag = Contains(_TAGS, value)
            return has_tag if op == HAS_TAG_OP else Not(has_tag)
        case "WITHINSECONDS":
            if field != _CREATED_AT:
                raise DecompileError(f'"WITHINSECONDS" applies only to run "createdAt", not '
                                     f'{field.section} "{field.key}"', path=op_path)
            return Within(field, _duration(value, value_path))
    if value is None:
        if op in ("=", "!="):
            return IsNull(field) if op == "=" else Not(IsNull(field))
        raise DecompileError(f'"{op}" needs a value to compare with, found null',
                             path=value_path)
    if isinstance(value, list):
        raise DecompileError(f'"{op}" compares with one value, found {_show(value)}; '
                             '"IN" matches any of several values', path=value_path)
    return _new_compare(field, "==" if op == "=" else op, _scalar(value, value_path), None)


def _tag_leaf(tag: str, op: str, value: Any, op_path: str, value_path: str) -> Expr:
    """``{"section": "tags", "name": tag}``: ``= true`` means the run has the tag."""
    if op not in ("=", "!="):
        raise DecompileError(f'a "tags" leaf takes "=" or "!=", found {_show(op)}',
                             path=op_path)
    if not isinstance(value, bool):
        raise DecompileError('a "tags" leaf has the value true (the run has the tag) or false '
                             f"(it has not), found {_show(value)}", path=value_path)
    has_tag = Contains(_TAGS, tag)
    return has_tag if value == (op == "=") else Not(has_tag)


def _scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise DecompileError(f"{_show(value)} has no literal in the query language", path=path)
    if isinstance(value, bool | int | float | str):
        return value
    raise DecompileError(f"expected a string, number or boolean, found {_show(value)}",
                         path=path)


def _duration(value: Any, path: str) -> Duration:
    """Seconds as a duration in the largest unit that divides them (7200 -> ``2h``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DecompileError('"WITHINSECONDS" needs a whole number of seconds (0 or more), '
                             f"found {_show(value)}", path=path)
    for unit, size in _UNITS_LARGEST_FIRST:
        if value and value % size == 0:
            return Duration(value // size, unit)
    return Duration(value, "s")


# Keys, grouping, sort, search ----------------------------------------------------------------

def _read_key(key: Any, path: str, sections: tuple[str, ...]) -> tuple[str, str]:
    if not isinstance(key, dict):
        raise DecompileError(f'expected a key {{"section": ..., "name": ...}}, found {_show(key)}',
                             path=path)
    section = _get(key, "section", path)
    if section not in sections:
        raise DecompileError(f"unknown section {_show(section)}; expected {_quoted(sections)}",
                             path=_at(path, "section"))
    name = _get(key, "name", path)
    if not isinstance(name, str):
        raise DecompileError(f"expected a key name (a string), found {_show(name)}",
                             path=_at(path, "name"))
    return section, name


def _field(section: str, name: str, path: str) -> Field:
    """The field of a W&B key; config keys lose the ``.value`` W&B may write after their first
    segment. A segment the query language cannot spell is an error."""
    if section == "config":
        name = config_key_from_wandb(name)
    segments = tuple(name.split("."))
    if "" in segments:
        raise DecompileError(f"key name {_show(name)} has an empty segment",
                             path=_at(path, "name"))
    if "`" in name:
        raise DecompileError(f"key name {_show(name)} holds a backtick, which a query cannot "
                             "spell", path=_at(path, "name"))
    return _new_field(section, segments, None)


def _read_grouping(grouping: Any, path: str) -> tuple[Field, ...]:
    if not isinstance(grouping, list):
        raise DecompileError(f"expected a list of keys, found {_show(grouping)}", path=path)
    fields = []
    for index, key in enumerate(grouping):
        key_path = f"{path}[{index}]"
        fields.append(_field(*_read_key(key, key_path, _KEY_SECTIONS), key_path))
    return tuple(fields)


def _read_sort(sort: Any, path: str) -> tuple[OrderKey, ...]:
    if not isinstance(sort, dict):
        raise DecompileError(f'expected {{"keys": [...]}}, found {_show(sort)}', path=path)
    keys = _get(sort, "keys", path)
    keys_path = _at(path, "keys")
    if not isinstance(keys, list):
        raise DecompileError(f"expected a list of sort keys, found {_show(keys)}",
                             path=keys_path)
    order: list[OrderKey] = []
    for index, sort_key in enumerate(keys):
        sort_key_path = f"{keys_path}[{index}]"
        if not isinstance(sort_key, dict):
            raise DecompileError('expected a sort key {"key": ..., "ascending": ...}, found '
                                 f"{_show(sort_key)}", path=sort_key_path)
        key_path = _at(sort_key_path, "key")
        field = _field(*_read_key(_get(sort_key, "key", sort_key_path), key_path,
                                  _KEY_SECTIONS), key_path)
        ascending = _get(sort_key, "ascending", sort_key_path)
        if not isinstance(ascending, bool):
            raise DecompileError(f"expected true or false, found {_show(ascending)}",
                                 path=_at(sort_key_path, "ascending"))
        order.append(OrderKey(field, ascending))
    return tuple(order)


@cache
def _default_order() -> tuple[OrderKey, ...]:
    """What a run set sorts by when a query has no ``order by``."""
    return _read_sort(default_sort(), "sort")


def _read_search(search: Any, path: str) -> Expr | None:
    """The search box: a regex (or, per ``PLAIN_SEARCH_IS_SUBSTRING``, plain text) on the run
    name; empty text searches nothing."""
    if not isinstance(search, dict):
        raise DecompileError(f'expected {{"query": ..., "isRegex": ...}}, found {_show(search)}',
                             path=path)
    text = search.get("query")
    if text is not None and not isinstance(text, str):
        raise DecompileError(f"expected the search text (a string), found {_show(text)}",
                             path=_at(path, "query"))
    is_regex = search.get("isRegex")
    if is_regex is not None and not isinstance(is_regex, bool):
        raise DecompileError(f"expected true or false, found {_show(is_regex)}",
                             path=_at(path, "isRegex"))
    if not text:
        return None
    condition: Expr = (Contains(_NAME, text) if PLAIN_SEARCH_IS_SUBSTRING and not is_regex
                       else Match(_NAME, text))
    return _checked(condition, _at(path, "query"))


# Building ------------------------------------------------------------------------------------

def _join(kind: type[And] | type[Or], operands: list[Expr]) -> Expr:
    """The n-ary ``and``/``or`` of one or more operands; a single operand stands alone."""
    return operands[0] if len(operands) == 1 else kind(tuple(operands))


def _and_last(condition: Expr | None, last: Expr) -> Expr:
    """``condition and last``, joining a top-level ``and`` rather than nesting one."""
    if condition is None:
        return last
    if isinstance(condition, And):
        return And((*condition.operands, last))
    return And((condition, last))


def _checked(condition: Expr, path: str) -> Expr:
    """The condition, if it means what parsed query text could mean (``syntax.validate``)."""
    problems = _validate.check_condition(condition)
    if problems:
        problem = problems[0]
        hint = f"; {problem.hint}" if problem.hint else ""
        raise DecompileError(f"{problem.message}{hint}", path=path)
    return condition


def _shallow(condition: Expr | None, path: str) -> Expr | None:
    """The condition, if it nests no deeper than query text may."""
    if condition is not None and _nesting(condition) > MAX_DEPTH:
        raise DecompileError(f"conditions nest deeper than {MAX_DEPTH} levels, more than a "
                             "query can hold", path=path)
    return condition


def _nesting(condition: Expr) -> int:
    """How deep and/or/not nest, counted as the parser counts them (or one more for a ``not``
    it prints as an operator, which errs on the safe side)."""
    match condition:
        case And() | Or():
            return 1 + max(_nesting(operand) for operand in condition.operands)
        case Not():
            return 1 + _nesting(condition.operand)
        case Compare() | In() | Match() | Contains() | IsNull() | Within() | Constant():
            return 0
        case _:
            assert_never(condition)


# Messages ------------------------------------------------------------------------------------

def _get(data: dict[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise DecompileError(f'missing "{key}"', path=path)
    return data[key]


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _quoted(options: tuple[str, ...]) -> str:
    quoted = [f'"{option}"' for option in options]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _show(value: Any) -> str:
    """A JSON value as the user wrote it, with its kind when that is not plain to see."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return f"{type(value).__name__} {value!r}"
    if len(text) > _SHOW_LIMIT:
        text = text[:_SHOW_LIMIT - 3] + "..."
    if isinstance(value, dict):
        return f"an object {text}"
    if isinstance(value, list):
        return f"a list {text}"
    return text
