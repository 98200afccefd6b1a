"""What each field of the saved-view model accepts (attrs validators and converters that name
the class, the field and the value refused), and reading a spec leniently: a value a field
refuses keeps the default. Apart so panels, sections, settings and the workspace check and
read values one way."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeAlias, TypeVar

import attrs

from wsquery.errors import WorkspaceValueError

_COLOR = re.compile(
    r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
    r"|rgba?\(\s*\d{1,3}%?\s*(?:,\s*\d{1,3}%?\s*){2}(?:,\s*(?:0|1|0?\.\d+)\s*)?\)"
    r"|[a-zA-Z]+")
_T = TypeVar("_T")
_Validator: TypeAlias = "Callable[[Any, attrs.Attribute[Any], Any], None]"
#: A value a spec does not hold: ``lenient`` leaves its field at the default.
ABSENT: Any = object()


def fail(instance: object, attribute: attrs.Attribute[Any], problem: str) -> NoReturn:
    raise WorkspaceValueError(
        f"{type(instance).__name__}.{attribute.name.lstrip('_')}: {problem}")


def is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def valid_text(*, optional: bool = False, nonempty: bool = False,
               max_length: int | None = None) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            fail(instance, attribute, f"expected text, not {value!r}")
        if nonempty and not value.strip():
            fail(instance, attribute, "must not be empty")
        if max_length is not None and len(value) > max_length:
            fail(instance, attribute,
                 f"is {len(value)} characters long; W&B allows at most {max_length}")
    return check


def valid_choice(choices: Iterable[str], *, optional: bool = False) -> _Validator:
    allowed = tuple(choices)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or value not in allowed:
            fail(instance, attribute,
                 f"{value!r} is not one of {', '.join(repr(c) for c in allowed)}")
    return check


def valid_flag(*, optional: bool = False) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not (isinstance(value, bool) or (value is None and optional)):
            fail(instance, attribute, f"expected True or False, not {value!r}")
    return check


def valid_number(*, optional: bool = False, minimum: float | None = None,
                 integer: bool = False) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not is_number(value) or (integer and not isinstance(value, int)):
            kind = "a whole number" if integer else "a finite number"
            fail(instance, attribute, f"expected {kind}, not {value!r}")
        assert isinstance(value, int | float)
        if minimum is not None and value < minimum:
            fail(instance, attribute, f"must be at least {minimum:g}, not {value!r}")
    return check


def valid_instance(kind: type[Any] | tuple[type[Any], ...], what: str) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            fail(instance, attribute, f"expected {what}, not {value!r}")
    return check


def valid_items(kind: type[Any] | tuple[type[Any], ...], what: str) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, list):
            fail(instance, attribute, f"expected a list of {what}s, not {value!r}")
        for index, item in enumerate(value):
            if not isinstance(item, kind):
                fail(instance, attribute, f"item {index} is not a {what}: {item!r}")
    return check


def valid_metric_names(*, nonempty: bool = False) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, list) or not all(
                isinstance(name, str) and name for name in value):
            fail(instance, attribute, f"expected a list of metric names, not {value!r}")
        if nonempty and not value:
            fail(instance, attribute, "name at least one metric")
    return check


def valid_range(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (isinstance(value, tuple) and len(value) == 2
            and all(bound is None or is_number(bound) for bound in value)):
        fail(instance, attribute, f"expected (minimum, maximum) numbers or None, not {value!r}")
    low, high = value
    if low is not None and high is not None and low >= high:
        fail(instance, attribute, f"the minimum {low!r} is not below the maximum {high!r}")


def valid_color(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or (value and not _COLOR.fullmatch(value)):
        fail(instance, attribute, f"{value!r} is not a color: write a CSS name ('red'), hex "
                                  "('#ff0000') or rgb() ('rgb(255, 0, 0)'), or '' for none")


def valid_bounds_in_order(low_name: str) -> _Validator:
    """For the ``..._max`` field: its ``low_name`` sibling must be smaller."""
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        low = getattr(instance, low_name)
        if value is not None and low is not None and low >= value:
            fail(instance, attribute, f"{value!r} is not above {low_name}={low!r}")
    return check


def as_float(value: Any) -> Any:
    """Ints become floats, as W&B stores axis bounds; anything else is left to the validator."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def as_names(value: Any) -> Any:
    """One metric name or several -> a list (``y="loss"`` means ``y=["loss"]``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return list(value)
    return value


def as_list(value: Any) -> Any:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return list(value)
    return value


def as_range(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return (as_float(value[0]), as_float(value[1]))
    return value


def as_dict(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def dict_at(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def list_at(container: Mapping[str, Any], key: str) -> list[Any]:
    value = container.get(key)
    return value if isinstance(value, list) else []


def lenient(factory: Callable[..., _T], values: Mapping[str, Any]) -> _T:
    """``factory(**values)`` without the values it refuses or that are ``ABSENT``: those keep
    their defaults. Loading reads what it can and leaves the rest to the raw spec."""
    accepted: dict[str, Any] = {}
    for key, value in values.items():
        if value is ABSENT:
            continue
        try:
            factory(**accepted, **{key: value})
        except WorkspaceValueError:
            continue
        accepted[key] = value
    return factory(**accepted)
