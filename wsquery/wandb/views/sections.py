"""Sections (named groups of panels) and the settings of a workspace: its line-plot defaults
per section and across the workspace, and how each run shows (color, hidden). Apart from the
workspace, which holds them beside its query and its place on a server."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs

from wsquery.facts.formats import PANEL_SEARCH_EXPAND_KEY, PANEL_SEARCH_QUERY_KEY
from wsquery.wandb.views.overlay import Origin, remember, render
from wsquery.wandb.views.panels import (
    PANEL_TYPES,
    SMOOTHING_TYPES,
    Panel,
    read_panel,
    shown_metric,
    spec_metric,
)
from wsquery.wandb.views.validators import (
    ABSENT,
    as_float,
    as_list,
    dict_at,
    fail,
    lenient,
    list_at,
    valid_bounds_in_order,
    valid_choice,
    valid_color,
    valid_flag,
    valid_instance,
    valid_items,
    valid_number,
    valid_text,
)

TOOLTIP_RUN_COUNTS = ("single", "default", "all_runs")
#: ``point_visualization_method`` values -> what the spec stores.
POINT_VISUALIZATION_METHODS = {"bucketing": "bucketing-gorilla", "downsampling": "sampling"}
GROUP_BY_PREFIXES = ("first", "last")
FLOW_CONFIG: dict[str, Any] = {"snapToColumns": True, "columnsPerPage": 3, "rowsPerPage": 2,
                                "gutterWidth": 16, "boxWidth": 460, "boxHeight": 300}


def _panel_settings_spec(x_axis: str, x_min: float | None, x_max: float | None,
                         smoothing_type: str, smoothing_weight: float,
                         ignore_outliers: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"smoothingWeight": smoothing_weight, "smoothingType": smoothing_type,
                            "xAxis": spec_metric(x_axis), "ignoreOutliers": ignore_outliers,
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
    return {"x_axis": shown_metric(raw.get("xAxis", ABSENT)),
            "x_min": raw.get("xAxisMin", ABSENT), "x_max": raw.get("xAxisMax", ABSENT),
            "smoothing_type": raw.get("smoothingType", ABSENT),
            "smoothing_weight": raw.get("smoothingWeight", ABSENT)}


def _axis_name() -> Any:
    return attrs.field(default="Step", validator=valid_text(nonempty=True))


def _axis_min() -> Any:
    return attrs.field(default=None, converter=as_float, validator=valid_number(optional=True))


def _axis_max() -> Any:
    return attrs.field(default=None, converter=as_float,
                       validator=[valid_number(optional=True), valid_bounds_in_order("x_min")])


def _smoothing_weight() -> Any:
    return attrs.field(default=0, validator=valid_number(minimum=0))


@attrs.define
class SectionPanelSettings:
    """Line-plot defaults for one section's panels (override the workspace's settings)."""

    x_axis: str = _axis_name()
    x_min: float | None = _axis_min()
    x_max: float | None = _axis_max()
    smoothing_type: str = attrs.field(default="none", validator=valid_choice(SMOOTHING_TYPES))
    smoothing_weight: float = _smoothing_weight()

    def _spec(self) -> dict[str, Any]:
        return _with_active_flags(_panel_settings_spec(
            self.x_axis, self.x_min, self.x_max, self.smoothing_type, self.smoothing_weight,
            ignore_outliers=False))

    @classmethod
    def _read(cls, raw: Any) -> SectionPanelSettings:
        return lenient(cls, _read_axis_settings(raw) if isinstance(raw, dict) else {})


@attrs.define
class Section:
    """A named, collapsible group of panels in the workspace."""

    name: str = attrs.field(validator=valid_text())
    panels: list[Panel] = attrs.field(factory=list, converter=as_list,
                                      validator=valid_items(PANEL_TYPES, "panel"))
    is_open: bool = attrs.field(default=False, validator=valid_flag())
    pinned: bool = attrs.field(default=False, validator=valid_flag())
    panel_settings: SectionPanelSettings = attrs.field(
        factory=SectionPanelSettings,
        validator=valid_instance(SectionPanelSettings, "SectionPanelSettings"))
    _origin: Origin | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def _fresh(self) -> dict[str, Any]:
        return {"name": self.name, "isOpen": self.is_open, "type": "flow",
                "flowConfig": copy.deepcopy(FLOW_CONFIG), "sorted": 0,
                "localPanelSettings": self.panel_settings._spec(),
                "panels": [render(panel) for panel in self.panels], "pinned": self.pinned}

    @classmethod
    def _read(cls, raw: dict[str, Any]) -> Section:
        panels = [read_panel(item) for item in list_at(raw, "panels") if isinstance(item, dict)]
        name = raw.get("name")
        section = lenient(cls, {
            "name": name if isinstance(name, str) else "", "panels": panels,
            "is_open": raw.get("isOpen", ABSENT), "pinned": raw.get("pinned", ABSENT),
            "panel_settings": SectionPanelSettings._read(raw.get("localPanelSettings"))})
        return remember(section, raw)


@attrs.define
class WorkspaceSettings:
    """Settings across the whole workspace: the x axis, smoothing, outliers, legends,
    tooltips, how many runs panels draw and how, and the panel search bar."""

    x_axis: str = _axis_name()
    x_min: float | None = _axis_min()
    x_max: float | None = _axis_max()
    smoothing_type: str = attrs.field(default="none", validator=valid_choice(SMOOTHING_TYPES))
    smoothing_weight: float = _smoothing_weight()
    ignore_outliers: bool = attrs.field(default=False, validator=valid_flag())
    sort_panels_alphabetically: bool = attrs.field(default=False, validator=valid_flag())
    group_by_prefix: str = attrs.field(default="last", validator=valid_choice(GROUP_BY_PREFIXES))
    remove_legends_from_panels: bool = attrs.field(default=False, validator=valid_flag())
    tooltip_number_of_runs: str = attrs.field(default="default",
                                              validator=valid_choice(TOOLTIP_RUN_COUNTS))
    tooltip_color_run_names: bool = attrs.field(default=True, validator=valid_flag())
    max_runs: int = attrs.field(default=10, validator=valid_number(minimum=1, integer=True))
    point_visualization_method: str = attrs.field(
        default="bucketing", validator=valid_choice(POINT_VISUALIZATION_METHODS))
    panel_search_query: str = attrs.field(default="", validator=valid_text())
    auto_expand_panel_search_results: bool = attrs.field(default=False, validator=valid_flag())

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
        method = raw.get("pointVisualizationMethod", ABSENT)
        shown_methods = {v: k for k, v in POINT_VISUALIZATION_METHODS.items()}
        return lenient(cls, {
            **_read_axis_settings(raw),
            "ignore_outliers": raw.get("ignoreOutliers", ABSENT),
            "sort_panels_alphabetically": bank.get("sortAlphabetically", ABSENT),
            "group_by_prefix": "first" if bank.get("autoOrganizePrefix") == 1 else "last",
            "remove_legends_from_panels": raw.get("suppressLegends") is True,
            "tooltip_number_of_runs": raw.get("tooltipNumberOfRuns", ABSENT),
            "tooltip_color_run_names": raw.get("colorRunNames") is not False,
            "max_runs": raw.get("maxRuns", ABSENT),
            "point_visualization_method": shown_methods.get(method, ABSENT)
            if isinstance(method, str) else ABSENT,
            "panel_search_query": bank.get(PANEL_SEARCH_QUERY_KEY, ABSENT),
            "auto_expand_panel_search_results": bank.get(PANEL_SEARCH_EXPAND_KEY) is True,
        })


@attrs.define
class RunSettings:
    """How one run shows: its ``color`` ('' for the default) and whether it is hidden
    (``disabled``, the closed eye in the runs table)."""

    color: str = attrs.field(default="", validator=valid_color)
    disabled: bool = attrs.field(default=False, validator=valid_flag())


def valid_run_settings(instance: object, attribute: attrs.Attribute[Any],
                       value: object) -> None:
    if not isinstance(value, dict):
        fail(instance, attribute, f"expected a dict of run id -> RunSettings, not {value!r}")
    for run_id, settings in value.items():
        if not isinstance(run_id, str) or not run_id:
            fail(instance, attribute, f"run ids are non-empty text, not {run_id!r}")
        if not isinstance(settings, RunSettings):
            fail(instance, attribute, f"{run_id!r}: expected RunSettings, not {settings!r}")


def read_run_settings(run_set: Mapping[str, Any], colors: Any) -> dict[str, RunSettings]:
    """Hidden runs from the run set's ``selections.tree`` (ids, or groups with ``children``),
    colors from ``customRunColors``."""
    hidden: dict[str, None] = {}
    for item in list_at(dict_at(run_set, "selections"), "tree"):
        children = item.get("children") if isinstance(item, dict) else [item]
        for run_id in children if isinstance(children, list) else ():
            if isinstance(run_id, str) and run_id:
                hidden[run_id] = None
    colors = colors if isinstance(colors, dict) else {}
    colored = [run_id for run_id in colors if isinstance(run_id, str) and run_id != "ref"]
    return {run_id: lenient(RunSettings, {"color": colors.get(run_id, ABSENT),
                                          "disabled": run_id in hidden})
            for run_id in [*colored, *(run_id for run_id in hidden if run_id not in colors)]
            if run_id}
