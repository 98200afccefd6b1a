"""The JSON clients send, read strictly: no NaN or Infinity, no nesting deeper than
``MAX_JSON_DEPTH``, no lone UTF-16 surrogate (which SQLite cannot keep). Bodies, specs, runs
filters and history specs all go through it, so each refuses bad JSON the same way."""

from __future__ import annotations

import json
import re
from typing import Any

from wsquery.apps.server import limits

#: Half of a UTF-16 pair alone: JSON may spell one, UTF-8 (and so SQLite) cannot hold it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_problem(value: Any) -> str | None:
    """What makes a parsed JSON value unfit to keep or run (nested deeper than
    ``MAX_JSON_DEPTH``, or holding half of a UTF-16 pair), or None; walked without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return "it holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > limits.MAX_JSON_DEPTH:
            return f"it is nested more than {limits.MAX_JSON_DEPTH} deep"
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children)
    return None


def longest_string(value: Any) -> int:
    """The length of the longest string (key or value) in a parsed JSON value."""
    longest = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            longest = max(longest, len(item))
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return longest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(text: str | bytes) -> Any:
    """Strict JSON (no NaN or Infinity), or ValueError saying why not, also for JSON nested
    beyond ``MAX_JSON_DEPTH`` or holding a lone surrogate."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"it is nested more than {limits.MAX_JSON_DEPTH} deep") from None
    except ValueError as error:
        raise ValueError(str(error)) from None
    problem = _json_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value
