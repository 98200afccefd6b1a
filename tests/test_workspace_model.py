"""The Workspace model: validation, the specs it writes, loading any spec and writing back only
what changed, view URLs, and dry runs (no server: nothing here may reach the network)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsquery import compile as compile_query
from wsquery import parse
from wsquery.compilers.runset.read import WsqueryWarning
from wsquery.errors import QuerySyntaxError, TargetError, WsqueryError
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings
from wsquery.wandb.views import (
    BarPlot,
    Layout,
    LinePlot,
    OtherPanel,
    RunSettings,
    ScalarChart,
    Section,
    SectionPanelSettings,
    Workspace,
    WorkspaceSettings,
    WorkspaceValueError,
    parse_view_url,
    view_url,
)

from .shared import shared_path

SEED_QUERY = ('summary.val_loss <= 0.1 and name == "sample_run" and name =~ "^s" '
              'group by name order by summary._step')
EXAMPLE_QUERY = ('summary.val_loss <= 0.1 and name == "sweep-1" and name =~ "^s" '
                 'group by config.optimizer, group order by summary.val_loss')
QUERY_KEYS = {"filters", "grouping", "sort", "search"}


def example(name: str) -> dict[str, Any]:
    path = shared_path("spec", name)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def masked(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with panel ids (random per panel) replaced."""
    spec = copy.deepcopy(spec)
    for section in spec["section"]["panelBankConfig"]["sections"]:
        for panel in section["panels"]:
            panel["__id__"] = "<id>"
    return spec


def seed_workspace() -> Workspace:
    """The seed tutorial's settings, as wandb-workspaces was given them for the seed spec."""
    return Workspace(
        "entity", "project", "Seed",
        query=SEED_QUERY,
        sections=[Section(
            "Validation Metrics",
            [LinePlot(x="Step", y=["val_loss"], title="Validation Loss Custom Title",
                      title_x="Custom x-axis title"),
             BarPlot(metrics=["val_accuracy"]),
             ScalarChart(metric="f1_score", groupby_aggfunc="mean")],
            is_open=True,
            panel_settings=SectionPanelSettings(x_min=25, x_max=50, smoothing_type="none"))],
        settings=WorkspaceSettings(x_min=0, x_max=75, smoothing_type="gaussian",
                                   smoothing_weight=20, max_runs=20),
        run_settings={"abc123": RunSettings(color="red"),
                      "def456": RunSettings(color="#FAC13C", disabled=True)})


def load(spec: dict[str, Any]) -> Workspace:
    return Workspace.from_spec(spec, entity="entity", project="project", name="Loaded")


def changed_paths(before: Any, after: Any, path: str = "") -> list[str]:
    """Every JSON path whose value differs (added, removed or changed), in a stable order."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths: list[str] = []
        for key in sorted(before.keys() | after.keys()):
            if key not in before or key not in after:
                paths.append(f"{path}/{key}")
            else:
                paths.extend(changed_paths(before[key], after[key], f"{path}/{key}"))
        return paths
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [p for i, (old, new) in enumerate(zip(before, after, strict=True))
                for p in changed_paths(old, new, f"{path}[{i}]")]
    if before != after or type(before) is not type(after):
        return [path]
    return []


# --- construction errors ----------------------------------------------------------------------

INVALID: list[tuple[Callable[[], object], str]] = [
    (lambda: WorkspaceSettings(smoothing_type="fancy"),
     "WorkspaceSettings.smoothing_type: 'fancy' is not one of 'exponentialTimeWeighted', "
     "'exponential', 'gaussian', 'average', 'none'"),
    (lambda: WorkspaceSettings(max_runs=0),
     "WorkspaceSettings.max_runs: must be at least 1, not 0"),
    (lambda: WorkspaceSettings(max_runs=True),
     "WorkspaceSettings.max_runs: expected a whole number, not True"),
    (lambda: WorkspaceSettings(x_min=5, x_max=1),
     "WorkspaceSettings.x_max: 1.0 is not above x_min=5.0"),
    (lambda: WorkspaceSettings(x_min=float("nan")),
     "WorkspaceSettings.x_min: expected a finite number, not nan"),
    (lambda: WorkspaceSettings(smoothing_weight=-1),
     "WorkspaceSettings.smoothing_weight: must be at least 0, not -1"),
    (lambda: WorkspaceSettings(ignore_outliers="yes"),  # type: ignore[arg-type]
     "WorkspaceSettings.ignore_outliers: expected True or False, not 'yes'"),
    (lambda: WorkspaceSettings(tooltip_number_of_runs="some"),
     "WorkspaceSettings.tooltip_number_of_runs: 'some' is not one of 'single', 'default', "
     "'all_runs'"),
    (lambda: WorkspaceSettings(point_visualization_method="line"),
     "WorkspaceSettings.point_visualization_method: 'line' is not one of 'bucketing', "
     "'downsampling'"),
    (lambda: WorkspaceSettings(x_axis=""), "WorkspaceSettings.x_axis: must not be empty"),
    (lambda: SectionPanelSettings(smoothing_type="box"),
     "SectionPanelSettings.smoothing_type: 'box' is not one of 'exponentialTimeWeighted', "
     "'exponential', 'gaussian', 'average', 'none'"),
    (lambda: Section(3),  # type: ignore[arg-type]
     "Section.name: expected text, not 3"),
    (lambda: Section("s", ["val_loss"]),
     "Section.panels: item 0 is not a panel: 'val_loss'"),
    (lambda: Section("s", panel_settings=WorkspaceSettings()),  # type: ignore[arg-type]
     "Section.panel_settings: expected SectionPanelSettings, not WorkspaceSettings("),
    (lambda: LinePlot(y=["loss", ""]),
     "LinePlot.y: expected a list of metric names, not ['loss', '']"),
    (lambda: LinePlot(range_x=(5, 1)),
     "LinePlot.range_x: the minimum 5.0 is not below the maximum 1.0"),
    (lambda: LinePlot(range_y=(1, 2, 3)),  # type: ignore[arg-type]
     "LinePlot.range_y: expected (minimum, maximum) numbers or None, not (1, 2, 3)"),
    (lambda: LinePlot(smoothing_type="gauss"),
     "LinePlot.smoothing_type: 'gauss' is not one of 'exponentialTimeWeighted', "
     "'exponential', 'gaussian', 'average', 'none'"),
    (lambda: BarPlot(orientation="diagonal"),
     "BarPlot.orientation: 'diagonal' is not one of 'h', 'v'"),
    (lambda: BarPlot(max_bars_to_show=0),
     "BarPlot.max_bars_to_show: must be at least 1, not 0"),
    (lambda: ScalarChart(metric=""), "ScalarChart.metric: must not be empty"),
    (lambda: ScalarChart(metric="f1", groupby_aggfunc="average"),
     "ScalarChart.groupby_aggfunc: 'average' is not one of 'mean', 'min', 'max', 'median', "
     "'sum', 'samples'"),
    (lambda: LinePlot(layout=Layout(w=0)), "Layout.w: must be at least 1, not 0"),
    (lambda: OtherPanel(""), "OtherPanel.view_type: must not be empty"),
    (lambda: RunSettings(color="#12"),
     "RunSettings.color: '#12' is not a color: write a CSS name ('red'), hex ('#ff0000') or "
     "rgb() ('rgb(255, 0, 0)'), or '' for none"),
    (lambda: Workspace("", "p", "n"),
     "Workspace.entity: '' is not an entity or project name (non-empty, no '/', '?', '#' or "
     "spaces)"),
    (lambda: Workspace("e", "a/b", "n"),
     "Workspace.project: 'a/b' is not an entity or project name (non-empty, no '/', '?', '#' "
     "or spaces)"),
    (lambda: Workspace("e", "p", "x" * 129),
     "Workspace.name: is 129 characters long; W&B allows at most 128"),
    (lambda: Workspace("e", "p", "n", sections=[LinePlot()]),  # type: ignore[list-item]
     "Workspace.sections: item 0 is not a Section: LinePlot("),
    (lambda: Workspace("e", "p", "n", run_settings={"r1": "red"}),  # type: ignore[dict-item]
     "Workspace.run_settings: 'r1': expected RunSettings, not 'red'"),
    (lambda: Workspace("e", "p", "n", run_settings={"": RunSettings()}),
     "Workspace.run_settings: run ids are non-empty text, not ''"),
    (lambda: Workspace("e", "p", "n", query=5),  # type: ignore[arg-type]
     "Workspace.query: expected query text or a Query, not 5"),
]


@pytest.mark.parametrize(("build", "message"), INVALID)
def test_invalid_values_are_clear_errors(build: Callable[[], object], message: str) -> None:
    with pytest.raises(WorkspaceValueError) as raised:
        build()
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, WsqueryError)
    assert isinstance(raised.value, ValueError)


def test_assignments_are_checked_and_leave_the_old_value() -> None:
    settings = WorkspaceSettings(max_runs=20)
    with pytest.raises(WorkspaceValueError, match="max_runs: must be at least 1"):
        settings.max_runs = 0
    assert settings.max_runs == 20
    panel = LinePlot(y="loss")
    assert panel.y == ["loss"]
    with pytest.raises(WorkspaceValueError, match=r"LinePlot\.title: expected text"):
        panel.title = 3  # type: ignore[assignment]


def test_a_list_changed_in_place_is_checked_when_the_spec_is_made() -> None:
    workspace = Workspace("e", "p", "n", sections=[Section("s")])
    workspace.sections[0].panels.append("loss")  # type: ignore[arg-type]
    with pytest.raises(WorkspaceValueError, match="item 0 is not a panel: 'loss'"):
        workspace.to_spec()


def test_a_query_that_cannot_be_saved_is_refused_at_once() -> None:
    with pytest.raises(QuerySyntaxError):
        Workspace("e", "p", "n", query="summary.loss <")
    with pytest.raises(TargetError, match="runset"):
        Workspace("e", "p", "n", query='summary.note =~ "x"')
    workspace = Workspace("e", "p", "n", query="summary.loss <= 1")
    with pytest.raises(TargetError):
        workspace.query = 'config.opt contains "sgd"'
    assert str(workspace.query) == "summary.loss <= 1"


# --- the specs written ------------------------------------------------------------------------

def test_seed_spec_is_reproduced() -> None:
    assert masked(seed_workspace().to_spec()) == masked(example("example-view-spec-seed.json"))


def test_example_spec_is_reproduced() -> None:
    workspace = Workspace(
        "entity", "project", "Example", query=EXAMPLE_QUERY,
        sections=[Section("Validation", [LinePlot(x="Step", y=["val_loss"], title="val loss")],
                          is_open=True)],
        run_settings={"abc123": RunSettings(color="#ff0000"),
                      "def456": RunSettings(disabled=True)})
    assert masked(workspace.to_spec()) == masked(example("example-view-spec.json"))


def test_settings_map_to_the_keys_the_app_reads() -> None:
    spec = Workspace("e", "p", "n", settings=WorkspaceSettings(
        x_axis="WallTime", remove_legends_from_panels=True, tooltip_color_run_names=False,
        point_visualization_method="downsampling", sort_panels_alphabetically=True,
        group_by_prefix="first", panel_search_query="loss",
        auto_expand_panel_search_results=True)).to_spec()["section"]
    settings = spec["settings"]
    assert settings["xAxis"] == "_timestamp"
    assert settings["xAxisActive"] is True
    assert settings["smoothingActive"] is False
    assert settings["suppressLegends"] is True
    assert settings["colorRunNames"] is False
    assert settings["pointVisualizationMethod"] == "sampling"
    assert spec["panelBankConfig"]["settings"] == {
        "autoOrganizePrefix": 1, "showEmptySections": False, "sortAlphabetically": True,
        "searchQuery": "loss", "autoExpandSearchResults": True}


def test_each_spec_has_its_own_dicts() -> None:
    workspace = seed_workspace()
    first = workspace.to_spec()
    first["section"]["settings"]["maxRuns"] = 1
    first["section"]["panelBankSectionConfig"]["panels"].append("x")
    assert workspace.to_spec()["section"]["settings"]["maxRuns"] == 20
    assert workspace.to_spec()["section"]["panelBankSectionConfig"]["panels"] == []


# --- loading any spec, writing back only what changed -----------------------------------------

@pytest.mark.parametrize("name", ["example-view-spec-seed.json", "example-view-spec.json"])
def test_a_loaded_spec_is_written_back_unchanged(name: str) -> None:
    spec = example(name)
    assert load(spec).to_spec() == spec


def test_seed_spec_loads_into_the_model() -> None:
    workspace = load(example("example-view-spec-seed.json"))
    assert str(workspace.query) == SEED_QUERY
    assert workspace.query == parse(SEED_QUERY)
    assert workspace.settings == WorkspaceSettings(
        x_min=0, x_max=75, smoothing_type="gaussian", smoothing_weight=20, max_runs=20)
    assert workspace.run_settings == {"abc123": RunSettings(color="red"),
                                      "def456": RunSettings(color="#FAC13C", disabled=True)}
    [section] = workspace.sections
    assert (section.name, section.is_open) == ("Validation Metrics", True)
    assert section.panel_settings == SectionPanelSettings(x_min=25, x_max=50)
    line, bar, scalar = section.panels
    assert line == LinePlot(x="Step", y=["val_loss"], title="Validation Loss Custom Title",
                            title_x="Custom x-axis title", id="1ynyaqhtprx")
    assert bar == BarPlot(metrics=["val_accuracy"], id="1wsns9yz4cn")
    assert scalar == ScalarChart(metric="f1_score", groupby_aggfunc="mean", id="rgk4yz7p3d")


def test_example_spec_loads_into_the_model() -> None:
    workspace = load(example("example-view-spec.json"))
    assert str(workspace.query) == EXAMPLE_QUERY
    assert workspace.settings == WorkspaceSettings()
    assert workspace.run_settings == {"abc123": RunSettings(color="#ff0000"),
                                      "def456": RunSettings(disabled=True)}
    assert [s.name for s in workspace.sections] == ["Validation"]
    assert workspace.sections[0].panels == [
        LinePlot(x="Step", y=["val_loss"], title="val loss", id="873lkmscej8")]


@pytest.mark.parametrize("name", ["example-view-spec-seed.json", "example-view-spec.json"])
def test_changing_the_query_rewrites_only_the_run_set_query(name: str) -> None:
    spec = example(name)
    workspace = load(spec)
    workspace.query = 'state == "finished" and config.lr >= 0.01 group by group order by runtime'
    written = workspace.to_spec()
    assert {p.split("/")[3].split("[")[0] for p in changed_paths(spec, written)} == QUERY_KEYS
    assert all(p.startswith("/section/runSets[0]/") for p in changed_paths(spec, written))
    run_set = written["section"]["runSets"][0]
    assert {key: run_set[key] for key in QUERY_KEYS} == compile_query(
        workspace.query).to_json()
    assert load(written).query == workspace.query


def test_assigning_the_same_query_keeps_the_loaded_keys() -> None:
    spec = example("example-view-spec.json")
    workspace = load(spec)
    workspace.query = str(workspace.query)
    assert workspace.to_spec() == spec


def test_changing_a_setting_rewrites_only_its_keys() -> None:
    spec = example("example-view-spec.json")
    workspace = load(spec)
    workspace.settings.smoothing_type = "exponential"
    workspace.settings.max_runs = 30
    assert changed_paths(spec, workspace.to_spec()) == [
        "/section/settings/maxRuns", "/section/settings/smoothingActive",
        "/section/settings/smoothingType"]


def test_changing_panels_and_colors_rewrites_only_them() -> None:
    spec = example("example-view-spec-seed.json")
    workspace = load(spec)
    line, _, scalar = workspace.sections[0].panels
    assert isinstance(line, LinePlot) and isinstance(scalar, ScalarChart)
    line.title = "Loss"
    scalar.groupby_aggfunc = "max"
    workspace.run_settings["abc123"].color = "blue"
    workspace.run_settings["def456"].disabled = False
    workspace.run_settings["ghi789"] = RunSettings(disabled=True)
    written = workspace.to_spec()
    panels = "/section/panelBankConfig/sections[0]/panels"
    assert changed_paths(spec, written) == [
        "/section/customRunColors/abc123", "/section/customRunColors/ghi789",
        f"{panels}[0]/config/chartTitle", f"{panels}[2]/config/groupAgg",
        "/section/runSets[0]/selections/tree[0]"]
    assert written["section"]["customRunColors"] == {"abc123": "blue", "def456": "#FAC13C",
                                                     "ghi789": ""}
    assert written["section"]["runSets"][0]["selections"]["tree"] == ["ghi789"]


def test_keys_wsquery_does_not_model_survive_every_edit() -> None:
    spec = example("example-view-spec-seed.json")
    spec["uiOnly"] = {"theme": "dark"}
    section = spec["section"]
    section["settings"]["experimentalFlag"] = [1, 2]
    section["panelBankConfig"]["settings"]["searchHistory"] = [{"query": "loss"}]
    section["runSets"][0]["runFeed"]["columnPinned"] = {"run:displayName": True}
    section["runSets"].append({"id": "second", "name": "Other"})
    bank = section["panelBankConfig"]["sections"]
    bank[0]["panels"][0]["config"]["legendFields"] = ["run:displayName"]
    bank[0]["panels"][0]["config"]["xAxisFormat"] = "%d"
    bank[0]["panels"].append({"__id__": "media1", "viewType": "Media Browser",
                              "layout": {"x": 8, "y": 0, "w": 8, "h": 6},
                              "config": {"mediaKeys": ["images"], "columnCount": 2}})
    bank.append({"name": "Charts", "isOpen": False, "sorted": 1, "panels": [],
                 "localPanelSettings": {"xAxis": "_step"}, "customKey": True})
    workspace = load(spec)
    assert isinstance(workspace.sections[0].panels[3], OtherPanel)
    assert workspace.sections[0].panels[3].config == {"mediaKeys": ["images"],
                                                      "columnCount": 2}
    workspace.query = "summary.acc >= 0.9"
    workspace.settings.max_runs = 5
    line = workspace.sections[0].panels[0]
    assert isinstance(line, LinePlot)
    line.y = ["val_loss", "train_loss"]
    workspace.sections.reverse()
    workspace.sections.append(Section("New", [LinePlot(y=["lr"])]))
    written = workspace.to_spec()
    assert written["uiOnly"] == {"theme": "dark"}
    assert written["section"]["settings"]["experimentalFlag"] == [1, 2]
    assert written["section"]["settings"]["maxRuns"] == 5
    assert written["section"]["panelBankConfig"]["settings"]["searchHistory"] == [
        {"query": "loss"}]
    run_sets = written["section"]["runSets"]
    assert run_sets[0]["runFeed"]["columnPinned"] == {"run:displayName": True}
    assert run_sets[1] == {"id": "second", "name": "Other"}
    charts, validation, new = written["section"]["panelBankConfig"]["sections"]
    assert charts == bank[1]
    assert validation["panels"][0]["config"]["legendFields"] == ["run:displayName"]
    assert validation["panels"][0]["config"]["metrics"] == ["val_loss", "train_loss"]
    assert validation["panels"][3] == bank[0]["panels"][3]
    assert new["name"] == "New" and new["panels"][0]["config"]["metrics"] == ["lr"]


def test_an_unreadable_panel_is_kept_as_it_is() -> None:
    spec = example("example-view-spec.json")
    panel = spec["section"]["panelBankConfig"]["sections"][0]["panels"][0]
    panel["config"]["groupAgg"] = "geometric-mean"
    workspace = load(spec)
    kept = workspace.sections[0].panels[0]
    assert isinstance(kept, OtherPanel)
    assert kept.view_type == "Run History Line Plot"
    workspace.sections[0].is_open = False
    assert workspace.to_spec()["section"]["panelBankConfig"]["sections"][0]["panels"] == [panel]


@pytest.mark.parametrize("spec", [
    {},
    {"section": 5},
    {"section": {"panelBankConfig": {"sections": [1, {"panels": "x"}, {"name": 7}]},
                 "settings": {"smoothingType": "weird", "maxRuns": -3, "xAxisMin": "a"},
                 "customRunColors": {"r1": 7, "ref": {"x": 1}, "r2": "green"},
                 "runSets": [{"selections": {"tree": [{"children": ["r3"]}, 5]}}]}},
    {"section": {"runSets": "none"}, "vizExpanded": True},
])
def test_any_json_object_loads_and_is_kept(spec: dict[str, Any]) -> None:
    workspace = load(spec)
    assert workspace.to_spec() == spec
    workspace.name = "Renamed"
    assert workspace.to_spec() == spec


def test_what_could_be_read_from_an_odd_spec() -> None:
    workspace = load({"section": {
        "settings": {"smoothingType": "weird", "maxRuns": -3, "xAxisMin": 2},
        "customRunColors": {"r1": 7, "r2": "green"},
        "runSets": [{"selections": {"tree": [{"children": ["r3"]}]}}]}})
    assert workspace.settings == WorkspaceSettings(x_min=2)
    assert workspace.run_settings == {"r1": RunSettings(), "r2": RunSettings(color="green"),
                                      "r3": RunSettings(disabled=True)}
    workspace.query = "summary.acc >= 0.5"
    run_set = workspace.to_spec()["section"]["runSets"][0]
    assert run_set["filters"]["filters"][0]["key"] == {"section": "summary", "name": "acc"}
    assert run_set["selections"]["tree"] == [{"children": ["r3"]}]


def test_a_spec_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(WorkspaceValueError, match="a view spec is a JSON object, not list"):
        load([])  # type: ignore[arg-type]
    with pytest.raises(WorkspaceValueError,
                       match="the view spec is not JSON: line 1, column 2"):
        Workspace.from_spec("{oops", entity="e", project="p", name="n")


def test_a_json_string_spec_loads() -> None:
    spec = example("example-view-spec.json")
    workspace = Workspace.from_spec(json.dumps(spec), entity="e", project="p", name="n")
    assert workspace.to_spec() == spec


def test_another_spec_version_loads_with_a_warning() -> None:
    spec = example("example-view-spec.json")
    spec["version"] = 7
    with pytest.warns(WsqueryWarning, match="the view spec has version 7; wsquery reads "
                                            "version -1"):
        workspace = load(spec)
    assert workspace.to_spec() == spec


def test_an_unreadable_query_is_kept_until_replaced() -> None:
    spec = example("example-view-spec.json")
    spec["section"]["runSets"][0]["filters"]["filters"][0]["op"] = "LIKE"
    with pytest.warns(WsqueryWarning, match="run-set query cannot be read"):
        workspace = load(spec)
    assert str(workspace.query) == ""
    assert workspace.to_spec() == spec
    workspace.query = "summary.acc >= 0.5"
    assert workspace.to_spec()["section"]["runSets"][0]["filters"]["filters"][0]["op"] == ">="


def test_the_loaded_spec_is_a_copy() -> None:
    spec = example("example-view-spec.json")
    original = copy.deepcopy(spec)
    workspace = load(spec)
    spec["section"]["settings"]["maxRuns"] = 99
    assert workspace.to_spec() == original
    workspace.to_spec()["section"]["settings"]["maxRuns"] = 98
    assert workspace.to_spec() == original


# --- view URLs --------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("https://wandb.ai/team/proj?nw=abc123def45", ("team", "proj", "nw-abc123def45-v")),
    ("https://wandb.ai/team/proj/workspace?nw=abc123def45",
     ("team", "proj", "nw-abc123def45-v")),
    ("https://wandb.ai/team/proj/workspace/?nw=nw-abc123def45-v",
     ("team", "proj", "nw-abc123def45-v")),
    ("https://wandb.ai/team/proj?nw=nw-ab-vc-v", ("team", "proj", "nw-ab-vc-v")),
    ("https://wandb.ai/team/proj?nw=ab-vc", ("team", "proj", "nw-ab-vc-v")),
    ("https://wandb.ai/team/proj?panelDisplayName=loss&nw=abc&runs=x#section",
     ("team", "proj", "nw-abc-v")),
    ("http://127.0.0.1:8080/my%20team/proj?nw=abc", ("my team", "proj", "nw-abc-v")),
    ("  https://example.com/a/b?nw=xyz  ", ("a", "b", "nw-xyz-v")),
])
def test_view_urls_parse(url: str, expected: tuple[str, str, str]) -> None:
    assert parse_view_url(url) == expected


@pytest.mark.parametrize(("url", "message"), [
    ("https://wandb.ai/team/proj?nw=nwuserjdoe",
     "'nwuserjdoe' is a personal workspace, which W&B keeps per user and does not share as a "
     "saved view; in the W&B app, save it as a new view and use that view's URL"),
    ("https://wandb.ai/team/proj",
     "'https://wandb.ai/team/proj' names no saved view (no nw= parameter): expected a saved "
     "view's link such as https://wandb.ai/ENTITY/PROJECT?nw=ID"),
    ("https://wandb.ai/team?nw=abc",
     "'https://wandb.ai/team?nw=abc' does not name one entity and project in its path: "
     "expected a saved view's link such as https://wandb.ai/ENTITY/PROJECT?nw=ID"),
    ("https://wandb.ai/team/proj/runs/abc?nw=abc",
     "'https://wandb.ai/team/proj/runs/abc?nw=abc' does not name one entity and project in "
     "its path"),
    ("wandb.ai/team/proj?nw=abc",
     "'wandb.ai/team/proj?nw=abc' is not a W&B view URL: expected a saved view's link"),
    ("https://wandb.ai/team/proj?nw=",
     "'https://wandb.ai/team/proj?nw=' names no saved view (no nw= parameter)"),
])
def test_bad_view_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(WorkspaceValueError) as raised:
        parse_view_url(url)
    assert str(raised.value).startswith(message)


def test_loading_a_personal_view_by_url_fails_before_any_request() -> None:
    with pytest.raises(WorkspaceValueError, match="is a personal workspace"):
        Workspace.from_url("https://wandb.ai/team/proj?nw=nwuserjdoe", client=unreachable())


_names = st.text(st.characters(codec="utf-8", exclude_characters="/?#\x00"), min_size=1,
                 max_size=12).filter(lambda s: s.strip() == s and s.strip() != "")


@settings(max_examples=200, deadline=None)
@given(entity=_names, project=_names,
       view_id=st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=14),
       workspace_path=st.booleans())
def test_view_urls_round_trip(entity: str, project: str, view_id: str,
                              workspace_path: bool) -> None:
    url = view_url("https://wandb.ai", entity, project, f"nw-{view_id}-v")
    if workspace_path:
        url = url.replace("?nw=", "/workspace?nw=")
    assert url.startswith("https://wandb.ai/")
    assert parse_view_url(url) == (entity, project, f"nw-{view_id}-v")


# --- dry runs and the client ------------------------------------------------------------------

def unreachable() -> GraphQLClient:
    """A client for a port nothing listens on, with no retries: any request would fail."""
    return GraphQLClient(Settings(base_url="http://127.0.0.1:9", api_key="not-a-key",
                                  app_url="https://wandb.example"),
                         timeout=(0.5, 0.5), deadline=0.0)


def test_save_dry_run_gives_the_request_and_sends_nothing() -> None:
    workspace = seed_workspace()
    request = workspace.save(client=unreachable(), dry_run=True)
    assert request["operationName"] == "UpsertView"
    view = request["variables"]["input"]
    assert "id" not in view
    assert view["name"].startswith("nw-") and view["name"].endswith("-v")
    assert len(view["name"]) == len("nw--v") + 11
    assert (view["entityName"], view["projectName"], view["displayName"]) == (
        "entity", "project", "Seed")
    assert (view["type"], view["createdUsing"]) == ("project-view", "WANDB_SDK")
    assert json.loads(view["spec"]) == workspace.to_spec()
    assert workspace.view_id is None
    with pytest.raises(WorkspaceValueError, match="no URL until it is saved"):
        _ = workspace.url
    again = workspace.save_as_new_view(client=unreachable(), dry_run=True)
    assert again["variables"]["input"]["name"] != view["name"]


def test_the_client_is_given_one_way() -> None:
    with pytest.raises(WorkspaceValueError, match="either client= or base_url=/api_key="):
        seed_workspace().save(client=unreachable(), base_url="http://127.0.0.1:9")


def test_an_unsaved_workspace_has_nothing_to_delete() -> None:
    with pytest.raises(WorkspaceValueError, match="not saved: there is no view to delete"):
        seed_workspace().delete(client=unreachable(), dry_run=True)
