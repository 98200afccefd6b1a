"""Workspace objects <-> W&B saved-view specs; views saved, loaded, listed, deleted over GraphQL.

A ``Workspace`` built in code renders the spec W&B's own workspace library writes for the same
settings. A loaded one keeps the spec it came from: every part remembers its raw JSON and how
wsquery rendered it at load time, and saving writes back only what changed since, so keys
wsquery does not model (panels of unknown kinds, UI-only settings, run-table columns) survive.
The query owns ``filters``, ``grouping``, ``sort`` and ``search`` of the first run set; while it
is unchanged those four keys are written back exactly as loaded (filter items the app disabled,
which the query leaves out with a warning, included); a new query rewrites all four.

Specs whose ``version`` is not -1 (the only version W&B's library reads) load with a
``WsqueryWarning``, on the same terms: what wsquery models is read as version -1, the rest is
kept untouched.
"""

from __future__ import annotations

import copy
import json
import math
import re
import secrets
import string
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn, TypeAlias, TypeVar, overload
from urllib.parse import parse_qs, quote, unquote, urlsplit

import attrs

from wsquery.ast import UI_RUN_NAMES, Query
from wsquery.errors import NotFoundError, WorkspaceError, WorkspaceValueError
from wsquery.facts.formats import PANEL_SEARCH_EXPAND_KEY, PANEL_SEARCH_QUERY_KEY
from wsquery.wandb.graphql import MAX_NAME_LENGTH

if TYPE_CHECKING:
    from wsquery.compilers.runset import RunsetQuery
    from wsquery.wandb.graphql import GraphQLClient

__all__ = [
    "BarPlot",
    "Layout",
    "LinePlot",
    "OtherPanel",
    "RunSettings",
    "ScalarChart",
    "Section",
    "SectionPanelSettings",
    "ViewInfo",
    "Workspace",
    "WorkspaceSettings",
    "WorkspaceValueError",
    "list_views",
]


#: The spec version wsquery reads and writes; a spec without ``version`` is this version.
SPEC_VERSION = -1
_SPEC_METRIC_NAMES = {stored: shown for shown, stored in UI_RUN_NAMES.items()}

SMOOTHING_TYPES = ("exponentialTimeWeighted", "exponential", "gaussian", "average", "none")
TOOLTIP_RUN_COUNTS = ("single", "default", "all_runs")
#: ``point_visualization_method`` values -> what the spec stores.
POINT_VISUALIZATION_METHODS = {"bucketing": "bucketing-gorilla", "downsampling": "sampling"}
GROUP_BY_PREFIXES = ("first", "last")
GROUP_AGGREGATIONS = ("mean", "min", "max", "median", "sum", "samples")
GROUP_RANGES = ("minmax", "stddev", "stderr", "none", "samples")
BAR_ORIENTATIONS = ("h", "v")

_VIEW_ID_ALPHABET = string.digits + string.ascii_lowercase
_VIEW_ID_LENGTH = 11
_INTERNAL_NAME = re.compile(r"nw-(.+)-v")
_PERSONAL_VIEW_PREFIX = "nwuser"
_COLOR = re.compile(
    r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
    r"|rgba?\(\s*\d{1,3}%?\s*(?:,\s*\d{1,3}%?\s*){2}(?:,\s*(?:0|1|0?\.\d+)\s*)?\)"
    r"|[a-zA-Z]+")
_FLOW_CONFIG: dict[str, Any] = {"snapToColumns": True, "columnsPerPage": 3, "rowsPerPage": 2,
                                "gutterWidth": 16, "boxWidth": 460, "boxHeight": 300}
_REPORT_PANELS: dict[str, Any] = {
    "name": "Report Panels", "isOpen": False, "panels": [], "type": "grid",
    "flowConfig": _FLOW_CONFIG, "sorted": 0,
    "localPanelSettings": {"smoothingWeight": 0, "smoothingType": "exponential",
                           "xAxis": "_step", "ignoreOutliers": False,
                           "useRunsTableGroupingInPanels": True, "smoothingActive": True,
                           "xAxisActive": False},
    "pinned": False,
}
_RUN_FEED: dict[str, Any] = {"version": 2, "columnVisible": {}, "columnPinned": {},
                             "columnWidths": {}, "columnOrder": [], "pageSize": 10,
                             "onlyShowSelected": False}
_QUERY_KEYS = ("filters", "grouping", "sort", "search")

_T = TypeVar("_T")
_P = TypeVar("_P", bound="Section | _Panel")
_Validator: TypeAlias = "Callable[[Any, attrs.Attribute[Any], Any], None]"
_ABSENT: Any = object()


# --- validation -------------------------------------------------------------------------------

def _fail(instance: object, attribute: attrs.Attribute[Any], problem: str) -> NoReturn:
    raise WorkspaceValueError(
        f"{type(instance).__name__}.{attribute.name.lstrip('_')}: {problem}")


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _text(*, optional: bool = False, nonempty: bool = False,
          max_length: int | None = None) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            _fail(instance, attribute, f"expected text, not {value!r}")
        if nonempty and not value.strip():
            _fail(instance, attribute, "must not be empty")
        if max_length is not None and len(value) > max_length:
            _fail(instance, attribute,
                  f"is {len(value)} characters long; W&B allows at most {max_length}")
    return check


def _choice(choices: Iterable[str], *, optional: bool = False) -> _Validator:
    allowed = tuple(choices)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or value not in allowed:
            _fail(instance, attribute,
                  f"{value!r} is not one of {', '.join(repr(c) for c in allowed)}")
    return check


def _flag(*, optional: bool = False) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not (isinstance(value, bool) or (value is None and optional)):
            _fail(instance, attribute, f"expected True or False, not {value!r}")
    return check


def _number(*, optional: bool = False, minimum: float | None = None,
            integer: bool = False) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not _is_number(value) or (integer and not isinstance(value, int)):
            kind = "a whole number" if integer else "a finite number"
            _fail(instance, attribute, f"expected {kind}, not {value!r}")
        assert isinstance(value, int | float)
        if minimum is not None and value < minimum:
            _fail(instance, attribute, f"must be at least {minimum:g}, not {value!r}")
    return check


def _instance(kind: type[Any] | tuple[type[Any], ...], what: str) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            _fail(instance, attribute, f"expected {what}, not {value!r}")
    return check


def _items(kind: type[Any] | tuple[type[Any], ...], what: str) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, list):
            _fail(instance, attribute, f"expected a list of {what}s, not {value!r}")
        for index, item in enumerate(value):
            if not isinstance(item, kind):
                _fail(instance, attribute, f"item {index} is not a {what}: {item!r}")
    return check


def _metric_names(*, nonempty: bool = False) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, list) or not all(
                isinstance(name, str) and name for name in value):
            _fail(instance, attribute, f"expected a list of metric names, not {value!r}")
        if nonempty and not value:
            _fail(instance, attribute, "name at least one metric")
    return check


def _range(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (isinstance(value, tuple) and len(value) == 2
            and all(bound is None or _is_number(bound) for bound in value)):
        _fail(instance, attribute, f"expected (minimum, maximum) numbers or None, not {value!r}")
    low, high = value
    if low is not None and high is not None and low >= high:
        _fail(instance, attribute, f"the minimum {low!r} is not below the maximum {high!r}")


def _color(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or (value and not _COLOR.fullmatch(value)):
        _fail(instance, attribute, f"{value!r} is not a color: write a CSS name ('red'), hex "
                                   "('#ff0000') or rgb() ('rgb(255, 0, 0)'), or '' for none")


def _bounds_in_order(low_name: str) -> _Validator:
    """For the ``..._max`` field: its ``low_name`` sibling must be smaller."""
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        low = getattr(instance, low_name)
        if value is not None and low is not None and low >= value:
            _fail(instance, attribute, f"{value!r} is not above {low_name}={low!r}")
    return check


def _as_float(value: Any) -> Any:
    """Ints become floats, as W&B stores axis bounds; anything else is left to the validator."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _as_names(value: Any) -> Any:
    """One metric name or several -> a list (``y="loss"`` means ``y=["loss"]``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return list(value)
    return value


def _as_list(value: Any) -> Any:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return list(value)
    return value


def _as_range(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return (_as_float(value[0]), _as_float(value[1]))
    return value


def _as_dict(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _dict_at(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _list_at(container: Mapping[str, Any], key: str) -> list[Any]:
    value = container.get(key)
    return value if isinstance(value, list) else []


def _lenient(factory: Callable[..., _T], values: Mapping[str, Any]) -> _T:
    """``factory(**values)`` without the values it refuses or that are ``_ABSENT``: those keep
    their defaults. Loading reads what it can and leaves the rest to the raw spec."""
    accepted: dict[str, Any] = {}
    for key, value in values.items():
        if value is _ABSENT:
            continue
        try:
            factory(**accepted, **{key: value})
        except WorkspaceValueError:
            continue
        accepted[key] = value
    return factory(**accepted)


def _new_id() -> str:
    """11 random lower-case base-36 characters, as W&B's ids for panels and views."""
    return "".join(secrets.choice(_VIEW_ID_ALPHABET) for _ in range(_VIEW_ID_LENGTH))


def _spec_metric(name: str) -> str:
    return UI_RUN_NAMES.get(name, name)


def _shown_metric(name: Any) -> Any:
    return _SPEC_METRIC_NAMES.get(name, name) if isinstance(name, str) else name


def _shown_metrics(names: Any) -> Any:
    return [_shown_metric(name) for name in names] if isinstance(names, list) else names


# --- keeping loaded specs ---------------------------------------------------------------------

@attrs.frozen(slots=True)
class _Origin:
    """A loaded part: its raw JSON and wsquery's rendering of it at load time."""

    raw: dict[str, Any]
    before: dict[str, Any]


def _overlay(raw: Any, before: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with each key whose rendering changed from ``before`` to ``now`` set to its new
    value (dicts key by key, lists whole) and each key no longer rendered removed."""
    result: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    for key in [*before, *(k for k in now if k not in before)]:
        if key not in now:
            result.pop(key, None)
            continue
        old, new = before.get(key, _ABSENT), now[key]
        if old is not _ABSENT and old == new and type(old) is type(new):
            continue
        if isinstance(old, dict) and isinstance(new, dict) and isinstance(result.get(key), dict):
            result[key] = _overlay(result[key], old, new)
        else:
            result[key] = new
    return result


def _render(part: Section | _Panel) -> dict[str, Any]:
    """A section or panel's spec: fresh when built in code, its raw JSON changed only where
    the model changed when loaded."""
    attrs.validate(part)
    fresh = part._fresh()
    origin = part._origin
    return fresh if origin is None else _overlay(origin.raw, origin.before, fresh)


def _remember(part: _P, raw: dict[str, Any]) -> _P:
    part._origin = _Origin(raw, copy.deepcopy(part._fresh()))
    return part


# --- panels -----------------------------------------------------------------------------------

@attrs.define
class Layout:
    """Where a panel sits in its section's grid, in grid units."""

    x: int = attrs.field(default=0, validator=_number(minimum=0, integer=True))
    y: int = attrs.field(default=0, validator=_number(minimum=0, integer=True))
    w: int = attrs.field(default=8, validator=_number(minimum=1, integer=True))
    h: int = attrs.field(default=6, validator=_number(minimum=1, integer=True))

    def _spec(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


@attrs.define
class _Panel:
    """What every panel has: a grid ``layout`` and an ``id`` (W&B's ``__id__``)."""

    layout: Layout = attrs.field(factory=Layout, kw_only=True,
                                 validator=_instance(Layout, "a Layout"))
    id: str = attrs.field(factory=_new_id, kw_only=True, validator=_text(nonempty=True))
    _origin: _Origin | None = attrs.field(default=None, init=False, eq=False, repr=False)

    #: Panel attribute -> config key, for values stored as they are (None: left out).
    _PLAIN: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Panel attribute holding (min, max) -> its two config keys.
    _RANGES: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    def _view_type(self) -> str:
        raise NotImplementedError

    def _own_config(self) -> dict[str, Any]:
        """The config keys that are not plain or ranges."""
        return {}

    @classmethod
    def _own_fields(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def _config(self) -> dict[str, Any]:
        config = self._own_config()
        for attribute, key in self._PLAIN:
            if (value := getattr(self, attribute)) is not None:
                config[key] = value
        for attribute, low_key, high_key in self._RANGES:
            low, high = getattr(self, attribute)
            if low is not None:
                config[low_key] = low
            if high is not None:
                config[high_key] = high
        return config

    @classmethod
    def _from_config(cls, config: Mapping[str, Any], **common: Any) -> Any:
        fields = cls._own_fields(config)
        for attribute, key in cls._PLAIN:
            fields[attribute] = config.get(key)
        for attribute, low_key, high_key in cls._RANGES:
            fields[attribute] = (config.get(low_key), config.get(high_key))
        return cls(**fields, **common)

    def _fresh(self) -> dict[str, Any]:
        return {"__id__": self.id, "layout": self.layout._spec(), "viewType": self._view_type(),
                "config": self._config()}


def _optional_text() -> Any:
    return attrs.field(default=None, validator=_text(optional=True))


def _axis_range() -> Any:
    return attrs.field(default=(None, None), converter=_as_range, validator=_range)


def _aggregation() -> Any:
    return attrs.field(default=None, validator=_choice(GROUP_AGGREGATIONS, optional=True))


def _area() -> Any:
    return attrs.field(default=None, validator=_choice(GROUP_RANGES, optional=True))


def _run_limit() -> Any:
    return attrs.field(default=None, validator=_number(optional=True, minimum=1, integer=True))


@attrs.define
class LinePlot(_Panel):
    """A line plot of metrics (``y``) over a history axis (``x``: "Step", "WallTime",
    "RelativeTime(Wall)", "RelativeTime(Process)" or a metric name)."""

    VIEW_TYPE: ClassVar[str] = "Run History Line Plot"
    _PLAIN = (("title", "chartTitle"), ("title_x", "xAxisTitle"), ("title_y", "yAxisTitle"),
              ("log_x", "xLogScale"), ("log_y", "yLogScale"), ("groupby_aggfunc", "groupAgg"),
              ("groupby_rangefunc", "groupArea"), ("smoothing_factor", "smoothingWeight"),
              ("smoothing_type", "smoothingType"), ("max_runs_to_show", "limit"))
    _RANGES = (("range_x", "xAxisMin", "xAxisMax"), ("range_y", "yAxisMin", "yAxisMax"))

    x: str | None = attrs.field(default="Step", validator=_text(optional=True, nonempty=True))
    y: list[str] = attrs.field(factory=list, converter=_as_names, validator=_metric_names())
    title: str | None = _optional_text()
    title_x: str | None = _optional_text()
    title_y: str | None = _optional_text()
    range_x: tuple[float | None, float | None] = _axis_range()
    range_y: tuple[float | None, float | None] = _axis_range()
    log_x: bool | None = attrs.field(default=None, validator=_flag(optional=True))
    log_y: bool | None = attrs.field(default=None, validator=_flag(optional=True))
    smoothing_type: str | None = attrs.field(
        default=None, validator=_choice(SMOOTHING_TYPES, optional=True))
    smoothing_factor: float | None = attrs.field(
        default=None, validator=_number(optional=True, minimum=0))
    groupby_aggfunc: str | None = _aggregation()
    groupby_rangefunc: str | None = _area()
    max_runs_to_show: int | None = _run_limit()

    def _view_type(self) -> str:
        return self.VIEW_TYPE

    def _own_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {} if self.x is None else {"xAxis": _spec_metric(self.x)}
        config["metrics"] = [_spec_metric(name) for name in self.y]
        return config

    @classmethod
    def _own_fields(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        return {"x": _shown_metric(config.get("xAxis")),
                "y": _shown_metrics(config.get("metrics", []))}


@attrs.define
class BarPlot(_Panel):
    """Bars of metrics per run (or group); ``orientation`` "h" (default) or "v"."""

    VIEW_TYPE: ClassVar[str] = "Bar Chart"
    _PLAIN = (("title", "chartTitle"), ("title_x", "xAxisTitle"), ("title_y", "yAxisTitle"),
              ("groupby_aggfunc", "groupAgg"), ("groupby_rangefunc", "groupArea"),
              ("max_runs_to_show", "limit"), ("max_bars_to_show", "barLimit"))
    _RANGES = (("range_x", "xAxisMin", "xAxisMax"),)

    metrics: list[str] = attrs.field(factory=list, converter=_as_names,
                                     validator=_metric_names())
    title: str | None = _optional_text()
    orientation: str = attrs.field(default="h", validator=_choice(BAR_ORIENTATIONS))
    range_x: tuple[float | None, float | None] = _axis_range()
    title_x: str | None = _optional_text()
    title_y: str | None = _optional_text()
    groupby_aggfunc: str | None = _aggregation()
    groupby_rangefunc: str | None = _area()
    max_runs_to_show: int | None = _run_limit()
    max_bars_to_show: int | None = _run_limit()

    def _view_type(self) -> str:
        return self.VIEW_TYPE

    def _own_config(self) -> dict[str, Any]:
        return {"metrics": [_spec_metric(name) for name in self.metrics],
                "vertical": self.orientation == "v"}

    @classmethod
    def _own_fields(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        vertical = config.get("vertical", False)
        return {"metrics": _shown_metrics(config.get("metrics", [])),
                "orientation": {True: "v", False: "h"}.get(vertical, vertical)}


@attrs.define
class ScalarChart(_Panel):
    """One number: a metric's value, aggregated over the shown runs by ``groupby_aggfunc``."""

    VIEW_TYPE: ClassVar[str] = "Scalar Chart"
    _PLAIN = (("title", "chartTitle"), ("groupby_aggfunc", "groupAgg"),
              ("groupby_rangefunc", "groupArea"))

    metric: str = attrs.field(validator=_text(nonempty=True))
    title: str | None = _optional_text()
    groupby_aggfunc: str | None = _aggregation()
    groupby_rangefunc: str | None = _area()

    def _view_type(self) -> str:
        return self.VIEW_TYPE

    def _own_config(self) -> dict[str, Any]:
        return {"metrics": [_spec_metric(self.metric)]}

    @classmethod
    def _own_fields(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        metrics = config.get("metrics")
        metric = metrics[0] if isinstance(metrics, list) and len(metrics) == 1 else metrics
        return {"metric": _shown_metric(metric)}


@attrs.define
class OtherPanel(_Panel):
    """A panel of a kind wsquery does not model (media, tables, custom charts, ...), or one
    whose config it cannot read: its ``view_type`` and ``config`` as the spec has them."""

    view_type: str = attrs.field(validator=_text(nonempty=True))
    config: dict[str, Any] = attrs.field(factory=dict, converter=_as_dict,
                                         validator=_instance(dict, "a dict"))

    def _view_type(self) -> str:
        return self.view_type

    def _config(self) -> dict[str, Any]:
        return copy.deepcopy(self.config)


Panel: TypeAlias = "LinePlot | BarPlot | ScalarChart | OtherPanel"
_PANEL_TYPES = (LinePlot, BarPlot, ScalarChart, OtherPanel)
_PANEL_KINDS: dict[str, type[LinePlot | BarPlot | ScalarChart]] = {
    kind.VIEW_TYPE: kind for kind in (LinePlot, BarPlot, ScalarChart)}


# --- sections and settings --------------------------------------------------------------------

def _panel_settings_spec(x_axis: str, x_min: float | None, x_max: float | None,
                         smoothing_type: str, smoothing_weight: float,
                         ignore_outliers: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"smoothingWeight": smoothing_weight, "smoothingType": smoothing_type,
                            "xAxis": _spec_metric(x_axis), "ignoreOutliers": ignore_outliers,
                            "useRunsTableGroupingInPanels": True}
    if x_min is not None:
        spec["xAxisMin"] = x_min
    if x_max is not None:
        spec["xAxisMax"] = x_max
    return spec


def _with_active_flags(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the two flags the UI reads to know smoothing or the x axis were customised."""
    spec["smoothingActive"] = spec["smoothingType"] != "none" or spec["smoothingWeight"] != 0
    spec["xAxisActive"] = (spec["xAxis"] != "_step" or "xAxisMin" in spec
                           or "xAxisMax" in spec)
    return spec


def _read_axis_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"x_axis": _shown_metric(raw.get("xAxis", _ABSENT)),
            "x_min": raw.get("xAxisMin", _ABSENT), "x_max": raw.get("xAxisMax", _ABSENT),
            "smoothing_type": raw.get("smoothingType", _ABSENT),
            "smoothing_weight": raw.get("smoothingWeight", _ABSENT)}


def _axis_name() -> Any:
    return attrs.field(default="Step", validator=_text(nonempty=True))


def _axis_min() -> Any:
    return attrs.field(default=None, converter=_as_float, validator=_number(optional=True))


def _axis_max() -> Any:
    return attrs.field(default=None, converter=_as_float,
                       validator=[_number(optional=True), _bounds_in_order("x_min")])


def _smoothing_weight() -> Any:
    return attrs.field(default=0, validator=_number(minimum=0))


@attrs.define
class SectionPanelSettings:
    """Line-plot defaults for one section's panels (override the workspace's settings)."""

    x_axis: str = _axis_name()
    x_min: float | None = _axis_min()
    x_max: float | None = _axis_max()
    smoothing_type: str = attrs.field(default="none", validator=_choice(SMOOTHING_TYPES))
    smoothing_weight: float = _smoothing_weight()

    def _spec(self) -> dict[str, Any]:
        return _with_active_flags(_panel_settings_spec(
            self.x_axis, self.x_min, self.x_max, self.smoothing_type, self.smoothing_weight,
            ignore_outliers=False))

    @classmethod
    def _read(cls, raw: Any) -> SectionPanelSettings:
        return _lenient(cls, _read_axis_settings(raw) if isinstance(raw, dict) else {})


@attrs.define
class Section:
    """A named, collapsible group of panels in the workspace."""

    name: str = attrs.field(validator=_text())
    panels: list[Panel] = attrs.field(factory=list, converter=_as_list,
                                      validator=_items(_PANEL_TYPES, "panel"))
    is_open: bool = attrs.field(default=False, validator=_flag())
    pinned: bool = attrs.field(default=False, validator=_flag())
    panel_settings: SectionPanelSettings = attrs.field(
        factory=SectionPanelSettings,
        validator=_instance(SectionPanelSettings, "SectionPanelSettings"))
    _origin: _Origin | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def _fresh(self) -> dict[str, Any]:
        return {"name": self.name, "isOpen": self.is_open, "type": "flow",
                "flowConfig": copy.deepcopy(_FLOW_CONFIG), "sorted": 0,
                "localPanelSettings": self.panel_settings._spec(),
                "panels": [_render(panel) for panel in self.panels], "pinned": self.pinned}

    @classmethod
    def _read(cls, raw: dict[str, Any]) -> Section:
        panels = [_read_panel(item) for item in _list_at(raw, "panels") if isinstance(item, dict)]
        name = raw.get("name")
        section = _lenient(cls, {
            "name": name if isinstance(name, str) else "", "panels": panels,
            "is_open": raw.get("isOpen", _ABSENT), "pinned": raw.get("pinned", _ABSENT),
            "panel_settings": SectionPanelSettings._read(raw.get("localPanelSettings"))})
        return _remember(section, raw)


def _read_panel(raw: dict[str, Any]) -> Panel:
    """The typed panel a spec panel is, or an ``OtherPanel`` keeping it as it is."""
    config = _dict_at(raw, "config")
    layout = _dict_at(raw, "layout")
    common: dict[str, Any] = {
        "layout": _lenient(Layout, {k: v for k, v in layout.items() if k in ("x", "y", "w", "h")}),
        "id": raw["__id__"] if isinstance(raw.get("__id__"), str) and raw["__id__"] else _new_id(),
    }
    view_type = raw.get("viewType")
    kind = _PANEL_KINDS.get(view_type) if isinstance(view_type, str) else None
    panel: Panel | None = None
    if kind is not None:
        try:
            panel = kind._from_config(config, **common)
        except WorkspaceValueError:
            panel = None
    if panel is None:
        panel = OtherPanel(view_type if isinstance(view_type, str) and view_type else "unknown",
                           copy.deepcopy(config), **common)
    return _remember(panel, raw)


@attrs.define
class WorkspaceSettings:
    """Settings across the whole workspace: the x axis, smoothing, outliers, legends,
    tooltips, how many runs panels draw and how, and the panel search bar."""

    x_axis: str = _axis_name()
    x_min: float | None = _axis_min()
    x_max: float | None = _axis_max()
    smoothing_type: str = attrs.field(default="none", validator=_choice(SMOOTHING_TYPES))
    smoothing_weight: float = _smoothing_weight()
    ignore_outliers: bool = attrs.field(default=False, validator=_flag())
    sort_panels_alphabetically: bool = attrs.field(default=False, validator=_flag())
    group_by_prefix: str = attrs.field(default="last", validator=_choice(GROUP_BY_PREFIXES))
    remove_legends_from_panels: bool = attrs.field(default=False, validator=_flag())
    tooltip_number_of_runs: str = attrs.field(default="default",
                                              validator=_choice(TOOLTIP_RUN_COUNTS))
    tooltip_color_run_names: bool = attrs.field(default=True, validator=_flag())
    max_runs: int = attrs.field(default=10, validator=_number(minimum=1, integer=True))
    point_visualization_method: str = attrs.field(
        default="bucketing", validator=_choice(POINT_VISUALIZATION_METHODS))
    panel_search_query: str = attrs.field(default="", validator=_text())
    auto_expand_panel_search_results: bool = attrs.field(default=False, validator=_flag())

    def _spec(self) -> dict[str, Any]:
        """The view's ``section.settings``."""
        spec = _panel_settings_spec(self.x_axis, self.x_min, self.x_max, self.smoothing_type,
                                    self.smoothing_weight, self.ignore_outliers)
        if not self.tooltip_color_run_names:
            spec["colorRunNames"] = False
        spec["maxRuns"] = self.max_runs
        spec["pointVisualizationMethod"] = POINT_VISUALIZATION_METHODS[
            self.point_visualization_method]
        if self.remove_legends_from_panels:
            spec["suppressLegends"] = True
        spec["tooltipNumberOfRuns"] = self.tooltip_number_of_runs
        spec["shouldAutoGeneratePanels"] = False
        return _with_active_flags(spec)

    def _panel_bank_spec(self) -> dict[str, Any]:
        """The view's ``section.panelBankConfig.settings``."""
        spec: dict[str, Any] = {"autoOrganizePrefix": 2 if self.group_by_prefix == "last" else 1,
                                "showEmptySections": False,
                                "sortAlphabetically": self.sort_panels_alphabetically}
        if self.panel_search_query:
            spec[PANEL_SEARCH_QUERY_KEY] = self.panel_search_query
        if self.auto_expand_panel_search_results:
            spec[PANEL_SEARCH_EXPAND_KEY] = True
        return spec

    @classmethod
    def _read(cls, raw: Any, panel_bank: Any) -> WorkspaceSettings:
        raw = raw if isinstance(raw, dict) else {}
        bank = panel_bank if isinstance(panel_bank, dict) else {}
        method = raw.get("pointVisualizationMethod", _ABSENT)
        shown_methods = {v: k for k, v in POINT_VISUALIZATION_METHODS.items()}
        return _lenient(cls, {
            **_read_axis_settings(raw),
            "ignore_outliers": raw.get("ignoreOutliers", _ABSENT),
            "sort_panels_alphabetically": bank.get("sortAlphabetically", _ABSENT),
            "group_by_prefix": "first" if bank.get("autoOrganizePrefix") == 1 else "last",
            "remove_legends_from_panels": raw.get("suppressLegends") is True,
            "tooltip_number_of_runs": raw.get("tooltipNumberOfRuns", _ABSENT),
            "tooltip_color_run_names": raw.get("colorRunNames") is not False,
            "max_runs": raw.get("maxRuns", _ABSENT),
            "point_visualization_method": shown_methods.get(method, _ABSENT)
            if isinstance(method, str) else _ABSENT,
            "panel_search_query": bank.get(PANEL_SEARCH_QUERY_KEY, _ABSENT),
            "auto_expand_panel_search_results": bank.get(PANEL_SEARCH_EXPAND_KEY) is True,
        })


@attrs.define
class RunSettings:
    """How one run shows: its ``color`` ('' for the default) and whether it is hidden
    (``disabled``, the closed eye in the runs table)."""

    color: str = attrs.field(default="", validator=_color)
    disabled: bool = attrs.field(default=False, validator=_flag())


def _check_run_settings(instance: object, attribute: attrs.Attribute[Any],
                        value: object) -> None:
    if not isinstance(value, dict):
        _fail(instance, attribute, f"expected a dict of run id -> RunSettings, not {value!r}")
    for run_id, settings in value.items():
        if not isinstance(run_id, str) or not run_id:
            _fail(instance, attribute, f"run ids are non-empty text, not {run_id!r}")
        if not isinstance(settings, RunSettings):
            _fail(instance, attribute, f"{run_id!r}: expected RunSettings, not {settings!r}")


def _read_run_settings(run_set: Mapping[str, Any], colors: Any) -> dict[str, RunSettings]:
    """Hidden runs from the run set's ``selections.tree`` (ids, or groups with ``children``),
    colors from ``customRunColors``."""
    hidden: dict[str, None] = {}
    for item in _list_at(_dict_at(run_set, "selections"), "tree"):
        children = item.get("children") if isinstance(item, dict) else [item]
        for run_id in children if isinstance(children, list) else ():
            if isinstance(run_id, str) and run_id:
                hidden[run_id] = None
    colors = colors if isinstance(colors, dict) else {}
    colored = [run_id for run_id in colors if isinstance(run_id, str) and run_id != "ref"]
    return {run_id: _lenient(RunSettings, {"color": colors.get(run_id, _ABSENT),
                                           "disabled": run_id in hidden})
            for run_id in [*colored, *(run_id for run_id in hidden if run_id not in colors)]
            if run_id}


# --- views, URLs, the client ------------------------------------------------------------------

def _new_view_name() -> str:
    """A fresh internal view name, ``nw-<11 random base-36 characters>-v``."""
    return f"nw-{_new_id()}-v"


def _internal_view_name(view: str) -> str:
    """``nw-<id>-v`` for a view given as that or as the ``<id>`` of its URL."""
    if view.startswith(_PERSONAL_VIEW_PREFIX):
        raise WorkspaceValueError(
            f"{view!r} is a personal workspace, which W&B keeps per user and does not share "
            "as a saved view; in the W&B app, save it as a new view and use that view's URL")
    if not view.strip():
        raise WorkspaceValueError("name a saved view: its URL, nw-<id>-v name or <id>")
    return view if _INTERNAL_NAME.fullmatch(view) else f"nw-{view}-v"


def _url_view_id(view_name: str) -> str:
    found = _INTERNAL_NAME.fullmatch(view_name)
    return found.group(1) if found else view_name


def view_url(app_url: str, entity: str, project: str, view_name: str) -> str:
    """The W&B app link of a saved view: ``{app_url}/{entity}/{project}?nw=<id>``."""
    return (f"{app_url.rstrip('/')}/{quote(entity, safe='')}/{quote(project, safe='')}"
            f"?nw={quote(_url_view_id(view_name), safe='')}")


def parse_view_url(url: str) -> tuple[str, str, str]:
    """(entity, project, internal view name) of a saved view's link: ``https://HOST/ENTITY/
    PROJECT?nw=ID``, also with ``/workspace`` after the project and other parameters."""
    expected = "expected a saved view's link such as https://wandb.ai/ENTITY/PROJECT?nw=ID"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WorkspaceValueError(f"{url!r} is not a W&B view URL: {expected}")
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if len(segments) == 3 and segments[2] == "workspace":
        segments = segments[:2]
    if len(segments) != 2:
        raise WorkspaceValueError(
            f"{url!r} does not name one entity and project in its path: {expected}")
    view = parse_qs(parts.query, keep_blank_values=True).get("nw", [""])[0]
    if not view:
        raise WorkspaceValueError(f"{url!r} names no saved view (no nw= parameter): {expected}")
    entity, project = segments
    return entity, project, _internal_view_name(view)


def _client(client: GraphQLClient | None, base_url: str | None,
            api_key: str | None) -> GraphQLClient:
    if client is not None:
        if base_url is not None or api_key is not None:
            raise WorkspaceValueError("pass either client= or base_url=/api_key=, not both")
        return client
    from wsquery.wandb.graphql import GraphQLClient, resolve_settings

    return GraphQLClient(resolve_settings(base_url=base_url, api_key=api_key))


@attrs.frozen
class _SavedView:
    """Which server-side view a workspace is: where, its GraphQL id and internal name."""

    entity: str
    project: str
    view_id: str
    view_name: str
    app_url: str


@attrs.frozen
class _Loaded:
    """A loaded workspace's raw spec, its rendering at load time (without run sets), the
    hidden runs and the query it had."""

    raw: dict[str, Any]
    before: dict[str, Any]
    hidden_runs: list[str]
    query: Query


def _warn(message: str) -> None:
    """Warn at the user's line, whichever public entry point (``Workspace(...)``, an
    assignment to ``Workspace.query``, ``from_spec``, ``to_spec``, ``save``) led here: the
    first caller outside wsquery and attrs (an assignment runs through attrs' ``__setattr__``)."""
    from wsquery.errors import WsqueryWarning

    level, frame = 2, sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").partition(".")[0] in (
            "wsquery", "attr"):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, WsqueryWarning, stacklevel=level)


def _compile(query: str | Query) -> tuple[Query, RunsetQuery]:
    """The query and its run-set form; raises (syntax, validation, what a run set cannot say)
    before anything is saved."""
    from wsquery.compilers.registry import compile as compile_query
    from wsquery.syntax.parser import parse

    if isinstance(query, str):
        parsed = parse(query) if query.strip() else Query()
    elif isinstance(query, Query):
        parsed = query
    else:
        raise WorkspaceValueError(
            f"Workspace.query: expected query text or a Query, not {query!r}")
    compiled = compile_query(query if isinstance(query, str) and query.strip() else parsed,
                             limit_as_max_runs=True)
    for warning in compiled.warnings:
        _warn(str(warning))
    return parsed, compiled


def _read_query(run_set: Mapping[str, Any]) -> Query:
    """The run set's query; unreadable ones warn and read as no query (their keys are kept)."""
    from wsquery.compilers.runset.read import decompile
    from wsquery.errors import DecompileError

    keys = {key: run_set[key] for key in _QUERY_KEYS if key in run_set}
    if not keys:
        return Query()
    try:
        return decompile(keys)
    except DecompileError as error:
        _warn(f"the view's run-set query cannot be read ({error}); it is kept as it is unless "
              "you assign a new query")
        return Query()


@attrs.frozen
class ViewInfo:
    """One saved view of a project, as ``list_views`` gives it."""

    view_id: str
    view_name: str
    display_name: str
    description: str
    url: str


def list_views(entity: str, project: str, *, client: GraphQLClient | None = None,
               base_url: str | None = None, api_key: str | None = None,
               page_size: int = 50) -> list[ViewInfo]:
    """Every saved workspace view of ``entity/project``, fetched ``page_size`` at a time."""
    graphql = _client(client, base_url, api_key)
    app_url = graphql.settings.app_url
    return [ViewInfo(view_id=str(node.get("id") or ""), view_name=str(node.get("name") or ""),
                     display_name=str(node.get("displayName") or ""),
                     description=str(node.get("description") or ""),
                     url=view_url(app_url, entity, project, str(node.get("name") or "")))
            for node in graphql.iter_views(entity, project, page_size=page_size)]


# --- the workspace ----------------------------------------------------------------------------

_PATH_PART = re.compile(r"[^/?#\s]+")


def _path_part(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _PATH_PART.fullmatch(value):
        _fail(instance, attribute,
              f"{value!r} is not an entity or project name (non-empty, no '/', '?', '#' or "
              "spaces)")


@attrs.define(init=False)
class Workspace:
    """A saved W&B workspace view: ``sections`` of panels, ``settings``, per-run
    ``run_settings`` and a ``query`` (text or a ``Query``) choosing, grouping and ordering
    the runs it shows. ``name`` is the view's display name."""

    entity: str = attrs.field(validator=_path_part)
    project: str = attrs.field(validator=_path_part)
    name: str = attrs.field(validator=_text(max_length=MAX_NAME_LENGTH))
    description: str = attrs.field(default="", validator=_text())
    sections: list[Section] = attrs.field(factory=list, converter=_as_list,
                                          validator=_items(Section, "Section"))
    settings: WorkspaceSettings = attrs.field(
        factory=WorkspaceSettings, validator=_instance(WorkspaceSettings, "WorkspaceSettings"))
    run_settings: dict[str, RunSettings] = attrs.field(factory=dict, converter=_as_dict,
                                                       validator=_check_run_settings)
    _query: Query = attrs.field(factory=Query, init=False)
    _compiled: RunsetQuery | None = attrs.field(default=None, init=False, eq=False)
    _saved: _SavedView | None = attrs.field(default=None, init=False, eq=False)
    _loaded: _Loaded | None = attrs.field(default=None, init=False, eq=False)

    def __init__(self, entity: str, project: str, name: str, description: str = "",
                 query: str | Query = "", sections: Iterable[Section] = (),
                 settings: WorkspaceSettings | None = None,
                 run_settings: Mapping[str, RunSettings] | None = None) -> None:
        self.__attrs_init__(entity, project, name, description, sections,
                            WorkspaceSettings() if settings is None else settings,
                            {} if run_settings is None else run_settings)
        self.query = query

    def __repr__(self) -> str:
        return (f"Workspace(entity={self.entity!r}, project={self.project!r}, "
                f"name={self.name!r}, query={str(self._query)!r}, sections={self.sections!r}, "
                f"settings={self.settings!r}, run_settings={self.run_settings!r})")

    @property
    def query(self) -> Query:
        """The runs shown, their grouping and order; ``str(workspace.query)`` is its text.
        Assigning text or a ``Query`` checks and compiles it at once."""
        return self._query

    @query.setter
    def query(self, value: str | Query) -> None:
        self._query, self._compiled = _compile(value)
        if self._compiled.max_runs is not None:  # a limit: how many runs the charts show
            self.settings = attrs.evolve(self.settings, max_runs=self._compiled.max_runs)

    @property
    def view_id(self) -> str | None:
        """The server's id of the saved view, once saved or loaded."""
        return None if self._saved is None else self._saved.view_id

    @property
    def view_name(self) -> str | None:
        """The view's internal name ``nw-<id>-v``, once saved or loaded."""
        return None if self._saved is None else self._saved.view_name

    @property
    def url(self) -> str:
        """The view's link in the W&B app."""
        if self._saved is None:
            raise WorkspaceValueError("the workspace has no URL until it is saved or loaded")
        saved = self._saved
        return view_url(saved.app_url, saved.entity, saved.project, saved.view_name)

    # -- spec ----------------------------------------------------------------------------------

    def to_spec(self) -> dict[str, Any]:
        """The saved-view spec (a fresh dict). For a loaded workspace: the loaded spec with
        only what changed since rewritten."""
        attrs.validate(self)
        loaded = self._loaded
        if loaded is None:
            return copy.deepcopy(self._fresh([self._fresh_run_set()]))
        spec = copy.deepcopy(_overlay(loaded.raw, loaded.before, self._fresh(None)))
        hidden_runs = self._hidden_runs()
        query_changed = self._query != loaded.query
        if hidden_runs == loaded.hidden_runs and not query_changed:
            return spec
        section = spec.get("section")
        if not isinstance(section, dict):
            section = spec["section"] = self._fresh(None)["section"]
        run_sets = section.get("runSets")
        run_sets = run_sets if isinstance(run_sets, list) else []
        first = run_sets[0] if run_sets and isinstance(run_sets[0], dict) else None
        if first is None:
            first = self._fresh_run_set()
        first = _overlay(first, {"selections": {"tree": loaded.hidden_runs}},
                         {"selections": {"tree": hidden_runs}})
        if query_changed:
            first.update(self._query_json())
        section["runSets"] = [first, *run_sets[1:]]
        return spec

    def _fresh(self, run_sets: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The spec from the model alone; run sets only when given."""
        section: dict[str, Any] = {
            "panelBankConfig": {"state": 1, "settings": self.settings._panel_bank_spec(),
                                "sections": [_render(s) for s in self.sections]},
            "panelBankSectionConfig": copy.deepcopy(_REPORT_PANELS),
            "customRunColors": {run_id: rs.color for run_id, rs in self.run_settings.items()},
            "name": "",
        }
        if run_sets is not None:
            section["runSets"] = run_sets
        section.update(settings=self.settings._spec(), openRunSet=0, openViz=True)
        return {"section": section, "vizExpanded": False, "libraryExpanded": True}

    def _fresh_run_set(self) -> dict[str, Any]:
        return {"id": "", "runFeed": copy.deepcopy(_RUN_FEED), "enabled": True,
                "name": "Run set", **self._query_json(),
                "selections": {"root": 1, "bounds": [], "tree": self._hidden_runs()},
                "expandedRowAddresses": []}

    def _hidden_runs(self) -> list[str]:
        return [run_id for run_id, rs in self.run_settings.items() if rs.disabled]

    def _query_json(self) -> dict[str, Any]:
        if self._compiled is None:
            self._compiled = _compile(self._query)[1]
        return copy.deepcopy(self._compiled.to_json())

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any], *, entity: str, project: str, name: str,
                  description: str = "") -> Workspace:
        """A workspace from a saved-view spec (a dict or its JSON text). Any JSON object
        loads; what wsquery cannot read is kept as it is and written back unchanged."""
        if isinstance(spec, str):
            try:
                spec = json.loads(spec)
            except json.JSONDecodeError as error:
                raise WorkspaceValueError(
                    f"the view spec is not JSON: line {error.lineno}, column {error.colno}: "
                    f"{error.msg}") from None
        if not isinstance(spec, Mapping):
            raise WorkspaceValueError(f"a view spec is a JSON object, not {type(spec).__name__}")
        raw = copy.deepcopy(dict(spec))
        version = raw.get("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            _warn(f"the view spec has version {version!r}; wsquery reads version {SPEC_VERSION}"
                  ": what it models is read as that version, everything else is kept as it is")
        section = _dict_at(raw, "section")
        bank = _dict_at(section, "panelBankConfig")
        run_sets = _list_at(section, "runSets")
        run_set = run_sets[0] if run_sets and isinstance(run_sets[0], dict) else {}
        workspace = cls(
            entity, project, name, description,
            sections=[Section._read(item) for item in _list_at(bank, "sections")
                      if isinstance(item, dict)],
            settings=WorkspaceSettings._read(section.get("settings"), bank.get("settings")),
            run_settings=_read_run_settings(run_set, section.get("customRunColors")))
        workspace._query, workspace._compiled = _read_query(run_set), None
        workspace._loaded = _Loaded(raw, copy.deepcopy(workspace._fresh(None)),
                                    workspace._hidden_runs(), workspace._query)
        return workspace

    # -- server --------------------------------------------------------------------------------

    @classmethod
    def load(cls, entity: str, project: str, view: str, *,
             client: GraphQLClient | None = None, base_url: str | None = None,
             api_key: str | None = None) -> Workspace:
        """The saved view ``view`` of ``entity/project``: its internal name ``nw-<id>-v``, the
        ``<id>`` of its URL, or else its display name."""
        graphql = _client(client, base_url, api_key)
        node = graphql.find_view(entity, project, _internal_view_name(view))
        if node is None:
            matches = [n for n in graphql.iter_views(entity, project)
                       if n.get("displayName") == view]
            if len(matches) > 1:
                raise WorkspaceError(f"{len(matches)} views of {entity}/{project} are called "
                                     f"{view!r}; load one by its URL")
            node = matches[0] if matches else None
        if node is None:
            raise NotFoundError(f"no saved view {view!r} in {entity}/{project}")
        return cls._from_node(node, entity, project, graphql.settings.app_url)

    @classmethod
    def from_url(cls, url: str, *, client: GraphQLClient | None = None,
                 base_url: str | None = None, api_key: str | None = None) -> Workspace:
        """The saved view a W&B app link points at (``...?nw=<id>``)."""
        entity, project, view_name = parse_view_url(url)
        return cls.load(entity, project, view_name, client=client, base_url=base_url,
                        api_key=api_key)

    @classmethod
    def _from_node(cls, node: Mapping[str, Any], entity: str, project: str,
                   app_url: str) -> Workspace:
        spec = node.get("spec")
        workspace = cls.from_spec(spec if spec is not None else {}, entity=entity,
                                  project=project, name=str(node.get("displayName") or ""),
                                  description=str(node.get("description") or ""))
        workspace._saved = _SavedView(entity, project, str(node.get("id") or ""),
                                      str(node.get("name") or ""), app_url)
        return workspace

    @overload
    def save(self, *, client: GraphQLClient | None = ..., base_url: str | None = ...,
             api_key: str | None = ..., dry_run: Literal[False] = ...,
             check_keys: bool = ...) -> Workspace: ...
    @overload
    def save(self, *, client: GraphQLClient | None = ..., base_url: str | None = ...,
             api_key: str | None = ..., dry_run: Literal[True],
             check_keys: bool = ...) -> dict[str, Any]: ...

    def save(self, *, client: GraphQLClient | None = None, base_url: str | None = None,
             api_key: str | None = None, dry_run: bool = False,
             check_keys: bool = False) -> Workspace | dict[str, Any]:
        """Save the view: a new one the first time, the same one after (and after loading).
        With ``dry_run``: the GraphQL request, unsent.

        With ``check_keys``, the query's config and summary keys are first checked against
        those of the project's newest runs (``wandb.runs.NEWEST_RUNS`` of them, fetched only
        when the query names such a key): one that none of them has (a misspelling, which
        would show no run) is a ``QueryValidationError`` naming the closest keys, and nothing
        is saved. A project without runs has no keys to check against."""
        graphql = _client(client, base_url, api_key)
        if check_keys:
            self._check_keys(graphql)
        return self._upsert(graphql, new=False, dry_run=dry_run)

    @overload
    def save_as_new_view(self, *, client: GraphQLClient | None = ...,
                         base_url: str | None = ..., api_key: str | None = ...,
                         dry_run: Literal[False] = ...,
                         check_keys: bool = ...) -> Workspace: ...
    @overload
    def save_as_new_view(self, *, client: GraphQLClient | None = ...,
                         base_url: str | None = ..., api_key: str | None = ...,
                         dry_run: Literal[True], check_keys: bool = ...) -> dict[str, Any]: ...

    def save_as_new_view(self, *, client: GraphQLClient | None = None,
                         base_url: str | None = None, api_key: str | None = None,
                         dry_run: bool = False,
                         check_keys: bool = False) -> Workspace | dict[str, Any]:
        """Save as another view (new name and id); the workspace then is that view.
        ``check_keys`` checks the query's keys first, as ``save`` does."""
        graphql = _client(client, base_url, api_key)
        if check_keys:
            self._check_keys(graphql)
        return self._upsert(graphql, new=True, dry_run=dry_run)

    def _check_keys(self, graphql: GraphQLClient) -> None:
        """Raise ``QueryValidationError`` when the query names a config or summary key that
        none of the project's newest runs has; its text is the query's canonical text."""
        from wsquery.errors import QueryValidationError
        from wsquery.semantics.keys import judged, known_keys, unknown_keys
        from wsquery.syntax.parser import parse
        from wsquery.wandb.runs import NEWEST_RUNS, runs

        if not judged(self._query):
            return
        text = str(self._query)
        known = known_keys(runs(self.entity, self.project, f"limit {NEWEST_RUNS}",
                                client=graphql))
        problems = [] if known is None else unknown_keys(
            parse(text), known, holders=f"run of {self.entity}/{self.project}")
        if problems:
            raise QueryValidationError(text, problems)

    def _upsert(self, graphql: GraphQLClient, *, new: bool,
                dry_run: bool) -> Workspace | dict[str, Any]:
        spec = json.dumps(self.to_spec(), ensure_ascii=False)
        saved = self._saved
        same_view = (not new and saved is not None
                     and (saved.entity, saved.project) == (self.entity, self.project))
        view_name = saved.view_name if same_view and saved else _new_view_name()
        result = graphql.upsert_view(
            entity=self.entity, project=self.project, name=view_name, display_name=self.name,
            description=self.description, spec=spec,
            view_id=saved.view_id if same_view and saved else None, dry_run=dry_run)
        if dry_run:
            return result
        view = result["view"]
        self._saved = _SavedView(self.entity, self.project, str(view["id"]),
                                 str(view.get("name") or view_name), graphql.settings.app_url)
        return self

    @overload
    def delete(self, *, client: GraphQLClient | None = ..., base_url: str | None = ...,
               api_key: str | None = ..., dry_run: Literal[False] = ...) -> None: ...
    @overload
    def delete(self, *, client: GraphQLClient | None = ..., base_url: str | None = ...,
               api_key: str | None = ..., dry_run: Literal[True]) -> dict[str, Any]: ...

    def delete(self, *, client: GraphQLClient | None = None, base_url: str | None = None,
               api_key: str | None = None, dry_run: bool = False) -> dict[str, Any] | None:
        """Delete the saved view; the workspace stays, unsaved (``save()`` makes a new view)."""
        if self._saved is None:
            raise WorkspaceValueError("the workspace is not saved: there is no view to delete")
        graphql = _client(client, base_url, api_key)
        if dry_run:
            return graphql.delete_view(self._saved.view_id, dry_run=True)
        if not graphql.delete_view(self._saved.view_id):
            raise WorkspaceError(f"the server did not delete the view {self.url}")
        self._saved = None
        return None
