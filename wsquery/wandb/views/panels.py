"""The panels of a section: line plots, bar plots, scalar charts, and any other kind kept as
its spec has it; each renders its spec and is read back from one. Apart from sections and
settings, which hold panels but render nothing of theirs."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from wsquery.ast import UI_RUN_NAMES
from wsquery.errors import WorkspaceValueError
from wsquery.wandb.views.overlay import Origin, remember
from wsquery.wandb.views.urls import new_id
from wsquery.wandb.views.validators import (
    as_dict,
    as_names,
    as_range,
    dict_at,
    lenient,
    valid_choice,
    valid_flag,
    valid_instance,
    valid_metric_names,
    valid_number,
    valid_range,
    valid_text,
)

_SPEC_METRIC_NAMES = {stored: shown for shown, stored in UI_RUN_NAMES.items()}
SMOOTHING_TYPES = ("exponentialTimeWeighted", "exponential", "gaussian", "average", "none")
GROUP_AGGREGATIONS = ("mean", "min", "max", "median", "sum", "samples")
GROUP_RANGES = ("minmax", "stddev", "stderr", "none", "samples")
BAR_ORIENTATIONS = ("h", "v")


def spec_metric(name: str) -> str:
    return UI_RUN_NAMES.get(name, name)


def shown_metric(name: Any) -> Any:
    return _SPEC_METRIC_NAMES.get(name, name) if isinstance(name, str) else name


def _shown_metrics(names: Any) -> Any:
    return [shown_metric(name) for name in names] if isinstance(names, list) else names


@attrs.define
class Layout:
    """Where a panel sits in its section's grid, in grid units."""

    x: int = attrs.field(default=0, validator=valid_number(minimum=0, integer=True))
    y: int = attrs.field(default=0, validator=valid_number(minimum=0, integer=True))
    w: int = attrs.field(default=8, validator=valid_number(minimum=1, integer=True))
    h: int = attrs.field(default=6, validator=valid_number(minimum=1, integer=True))

    def _spec(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


@attrs.define
class _Panel:
    """What every panel has: a grid ``layout`` and an ``id`` (W&B's ``__id__``)."""

    layout: Layout = attrs.field(factory=Layout, kw_only=True,
                                 validator=valid_instance(Layout, "a Layout"))
    id: str = attrs.field(factory=new_id, kw_only=True, validator=valid_text(nonempty=True))
    _origin: Origin | None = attrs.field(default=None, init=False, eq=False, repr=False)

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
    return attrs.field(default=None, validator=valid_text(optional=True))


def _axis_range() -> Any:
    return attrs.field(default=(None, None), converter=as_range, validator=valid_range)


def _aggregation() -> Any:
    return attrs.field(default=None, validator=valid_choice(GROUP_AGGREGATIONS, optional=True))


def _area() -> Any:
    return attrs.field(default=None, validator=valid_choice(GROUP_RANGES, optional=True))


def _run_limit() -> Any:
    return attrs.field(default=None, validator=valid_number(optional=True, minimum=1, integer=True))


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

    x: str | None = attrs.field(default="Step", validator=valid_text(optional=True, nonempty=True))
    y: list[str] = attrs.field(factory=list, converter=as_names, validator=valid_metric_names())
    title: str | None = _optional_text()
    title_x: str | None = _optional_text()
    title_y: str | None = _optional_text()
    range_x: tuple[float | None, float | None] = _axis_range()
    range_y: tuple[float | None, float | None] = _axis_range()
    log_x: bool | None = attrs.field(default=None, validator=valid_flag(optional=True))
    log_y: bool | None = attrs.field(default=None, validator=valid_flag(optional=True))
    smoothing_type: str | None = attrs.field(
        default=None, validator=valid_choice(SMOOTHING_TYPES, optional=True))
    smoothing_factor: float | None = attrs.field(
        default=None, validator=valid_number(optional=True, minimum=0))
    groupby_aggfunc: str | None = _aggregation()
    groupby_rangefunc: str | None = _area()
    max_runs_to_show: int | None = _run_limit()

    def _view_type(self) -> str:
        return self.VIEW_TYPE

    def _own_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {} if self.x is None else {"xAxis": spec_metric(self.x)}
        config["metrics"] = [spec_metric(name) for name in self.y]
        return config

    @classmethod
    def _own_fields(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        return {"x": shown_metric(config.get("xAxis")),
                "y": _shown_metrics(config.get("metrics", []))}


@attrs.define
class BarPlot(_Panel):
    """Bars of metrics per run (or group); ``orientation`` "h" (default) or "v"."""

    VIEW_TYPE: ClassVar[str] = "Bar Chart"
    _PLAIN = (("title", "chartTitle"), ("title_x", "xAxisTitle"), ("title_y", "yAxisTitle"),
              ("groupby_aggfunc", "groupAgg"), ("groupby_rangefunc", "groupArea"),
              ("max_runs_to_show", "limit"), ("max_bars_to_show", "barLimit"))
    _RANGES = (("range_x", "xAxisMin", "xAxisMax"),)

    metrics: list[str] = attrs.field(factory=list, converter=as_names,
                                     validator=valid_metric_names())
    title: str | None = _optional_text()
    orientation: str = attrs.field(default="h", validator=valid_choice(BAR_ORIENTATIONS))
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
        return {"metrics": [spec_metric(name) for name in self.metrics],
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

    metric: str = attrs.field(validator=valid_text(nonempty=True))
    title: str | None = _optional_text()
    groupby_aggfunc: str | None = _aggregation()
    groupby_rangefunc: str | None = _area()

    def _view_type(self) -> str:
        return self.VIEW_TYPE

    def _own_config(self) -> dict[str, Any]:
        return {"metrics": [spec_metric(self.metric)]}

    @classmethod
    def _own_fields(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        metrics = config.get("metrics")
        metric = metrics[0] if isinstance(metrics, list) and len(metrics) == 1 else metrics
        return {"metric": shown_metric(metric)}


@attrs.define
class OtherPanel(_Panel):
    """A panel of a kind wsquery does not model (media, tables, custom charts, ...), or one
    whose config it cannot read: its ``view_type`` and ``config`` as the spec has them."""

    view_type: str = attrs.field(validator=valid_text(nonempty=True))
    config: dict[str, Any] = attrs.field(factory=dict, converter=as_dict,
                                         validator=valid_instance(dict, "a dict"))

    def _view_type(self) -> str:
        return self.view_type

    def _config(self) -> dict[str, Any]:
        return copy.deepcopy(self.config)


Panel: TypeAlias = "LinePlot | BarPlot | ScalarChart | OtherPanel"
PANEL_TYPES = (LinePlot, BarPlot, ScalarChart, OtherPanel)
_PANEL_KINDS: dict[str, type[LinePlot | BarPlot | ScalarChart]] = {
    kind.VIEW_TYPE: kind for kind in (LinePlot, BarPlot, ScalarChart)}


def read_panel(raw: dict[str, Any]) -> Panel:
    """The typed panel a spec panel is, or an ``OtherPanel`` keeping it as it is."""
    config = dict_at(raw, "config")
    layout = dict_at(raw, "layout")
    common: dict[str, Any] = {
        "layout": lenient(Layout, {k: v for k, v in layout.items() if k in ("x", "y", "w", "h")}),
        "id": raw["__id__"] if isinstance(raw.get("__id__"), str) and raw["__id__"] else new_id(),
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
    return remember(panel, raw)
