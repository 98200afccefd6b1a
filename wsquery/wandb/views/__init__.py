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

The package's modules, one idea each: ``validators`` (what a field accepts; reading
leniently), ``overlay`` (writing back only what changed), ``panels``, ``sections``
(sections and settings), ``urls`` (view names and links), ``persistence`` (saved views
over GraphQL) and ``workspace`` (the ``Workspace``).
"""

from __future__ import annotations

from wsquery.errors import WorkspaceValueError
from wsquery.wandb.views.panels import (
    BAR_ORIENTATIONS,
    GROUP_AGGREGATIONS,
    GROUP_RANGES,
    SMOOTHING_TYPES,
    BarPlot,
    Layout,
    LinePlot,
    OtherPanel,
    Panel,
    ScalarChart,
)
from wsquery.wandb.views.persistence import ViewInfo, list_views
from wsquery.wandb.views.sections import (
    GROUP_BY_PREFIXES,
    POINT_VISUALIZATION_METHODS,
    TOOLTIP_RUN_COUNTS,
    RunSettings,
    Section,
    SectionPanelSettings,
    WorkspaceSettings,
)
from wsquery.wandb.views.urls import parse_view_url, view_url
from wsquery.wandb.views.workspace import SPEC_VERSION, Workspace

__all__ = [
    "BAR_ORIENTATIONS",
    "GROUP_AGGREGATIONS",
    "GROUP_BY_PREFIXES",
    "GROUP_RANGES",
    "POINT_VISUALIZATION_METHODS",
    "SMOOTHING_TYPES",
    "SPEC_VERSION",
    "TOOLTIP_RUN_COUNTS",
    "BarPlot",
    "Layout",
    "LinePlot",
    "OtherPanel",
    "Panel",
    "RunSettings",
    "ScalarChart",
    "Section",
    "SectionPanelSettings",
    "ViewInfo",
    "Workspace",
    "WorkspaceSettings",
    "WorkspaceValueError",
    "list_views",
    "parse_view_url",
    "view_url",
]
