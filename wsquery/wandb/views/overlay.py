"""Writing a loaded spec back: each part (section or panel) remembers its raw JSON and how it
rendered at load time, and only the keys whose rendering changed are rewritten, so every key
wsquery does not model survives a save. Apart because it knows no part's fields, only their
renderings."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

import attrs

from wsquery.wandb.views.validators import ABSENT


@attrs.frozen(slots=True)
class Origin:
    """A loaded part: its raw JSON and wsquery's rendering of it at load time."""

    raw: dict[str, Any]
    before: dict[str, Any]


def overlay(raw: Any, before: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with each key whose rendering changed from ``before`` to ``now`` set to its new
    value (dicts key by key, lists whole) and each key no longer rendered removed."""
    result: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    for key in [*before, *(k for k in now if k not in before)]:
        if key not in now:
            result.pop(key, None)
            continue
        old, new = before.get(key, ABSENT), now[key]
        if old is not ABSENT and old == new and type(old) is type(new):
            continue
        if isinstance(old, dict) and isinstance(new, dict) and isinstance(result.get(key), dict):
            result[key] = overlay(result[key], old, new)
        else:
            result[key] = new
    return result


class Part(attrs.AttrsInstance, Protocol):
    """A section or a panel: it renders its spec, and remembers the one it was loaded from."""

    _origin: Origin | None

    def _fresh(self) -> dict[str, Any]: ...


_P = TypeVar("_P", bound=Part)


def render(part: Part) -> dict[str, Any]:
    """A section or panel's spec: fresh when built in code, its raw JSON changed only where
    the model changed when loaded."""
    attrs.validate(part)
    fresh = part._fresh()
    origin = part._origin
    return fresh if origin is None else overlay(origin.raw, origin.before, fresh)


def remember(part: _P, raw: dict[str, Any]) -> _P:
    part._origin = Origin(raw, copy.deepcopy(part._fresh()))
    return part
