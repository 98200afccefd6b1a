"""The seed's library, wandb-workspaces 0.4.13, unchanged, against the embedded view server over
real HTTP: the steps of W&B's Programmatic Workspaces tutorial as it writes them (sections of
line, bar and scalar panels, settings, run filters, grouping, ordering, run colours, loading by
URL, editing, saving as a new view); the views open as pages and read back as wsquery queries;
views saved by either library load in the other with nothing lost."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
import requests
import wandb
import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws

import wsquery
from wsquery.apps.server import DEFAULT_ENTITY, ViewServer
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.views import (
    BarPlot,
    LinePlot,
    RunSettings,
    ScalarChart,
    Section,
    Workspace,
    WorkspaceSettings,
)

ENTITY = DEFAULT_ENTITY
PROJECT = "workspaces-tutorial"
#: The tutorial's project: runs with the metrics its panels show.
RUNS = [{"id": f"run{index}", "created_at": f"2024-05-0{index + 1}T00:00:00Z",
         "state": "finished" if index else "crashed", "config": {"group": f"g{index % 2}",
                                                               "learning_rate": 0.1 / (index + 1)},
         "summary": {"val_loss": 0.05 * index, "val_accuracy": 0.7 + 0.05 * index,
                     "f1_score": 0.5 + 0.1 * index}}
        for index in range(4)]


@pytest.fixture(scope="module")
def tutorial_project(view_server: ViewServer, wandb_environment: None) -> str:
    view_server.add_runs(ENTITY, PROJECT, RUNS)
    return PROJECT


def view_name(url: str) -> str:
    return "nw-" + url.rpartition("nw=")[2] + "-v"


def stored_spec(client: GraphQLClient, url: str) -> dict[str, Any]:
    """The spec the server stores for the view at ``url``, read without either library."""
    node = client.find_view(ENTITY, PROJECT, view_name(url))
    assert node is not None, url
    spec: dict[str, Any] = json.loads(node["spec"])
    return spec


def read_back(client: GraphQLClient, url: str) -> str:
    """The wsquery query of the view's run set, as text."""
    return str(wsquery.decompile(stored_spec(client, url)["section"]["runSets"][0]))


def page(view_server: ViewServer, url: str) -> str:
    answer = requests.get(url, auth=("api", view_server.api_key), timeout=10)
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def operations(view_server: ViewServer, since: int) -> list[str | None]:
    return [received.operation_name for received in list(view_server.received)[since:]]


# The tutorial, step by step --------------------------------------------------------------------

def test_the_tutorial(tutorial_project: str, view_server: ViewServer,
                      client: GraphQLClient) -> None:
    entity, project = ENTITY, tutorial_project
    before = len(view_server.received)

    # 1. A workspace with a section of line, bar and scalar panels, saved.
    workspace = ws.Workspace(
        name="Example W&B Workspace",
        entity=entity,
        project=project,
        sections=[
            ws.Section(
                name="Validation Metrics",
                panels=[
                    wr.LinePlot(x="Step", y=["val_loss"]),
                    wr.BarPlot(metrics=["val_accuracy"]),
                    wr.ScalarChart(metric="f1_score", groupby_aggfunc="mean"),
                ],
                is_open=True,
            ),
        ],
    )
    workspace.save()
    first_url = workspace.url
    assert first_url.startswith(f"{view_server.url}/{entity}/{project}?nw=")
    assert "Viewer" in operations(view_server, before)
    node = client.find_view(entity, project, view_name(first_url))
    assert node is not None
    view = client.execute("query ($id: ID!) { view(id: $id) { createdUsing } }",
                          {"id": node["id"]})["view"]
    assert view == {"createdUsing": "WANDB_SDK"}  # as UpsertView2 writes it

    # 2. Settings: workspace-wide, and a section's panel settings.
    workspace.settings = ws.WorkspaceSettings(
        x_axis="Step", x_min=0, x_max=75, smoothing_type="gaussian", smoothing_weight=20,
        ignore_outliers=False, remove_legends_from_panels=False,
        tooltip_number_of_runs="default", tooltip_color_run_names=True, max_runs=20,
        point_visualization_method="bucketing", auto_expand_panel_search_results=False)
    workspace.sections[0].panel_settings = ws.SectionPanelSettings(
        x_min=25, x_max=50, smoothing_type="none")

    # 3. Run filters, grouping, ordering and run colours (the runs read with wandb.Api).
    with pytest.warns(UserWarning, match="mapped to '<='"):  # the library saves < as <=
        below = ws.Summary("val_loss") < 0.1
    with pytest.warns(UserWarning, match="mapped to '>='"):
        above = ws.Summary("val_accuracy") > 0.8
    workspace.runset_settings.filters = [below, above, ws.Metric("State") == "finished"]
    workspace.runset_settings.groupby = [ws.Config("group")]
    workspace.runset_settings.order = [ws.Ordering(ws.Config("learning_rate"), ascending=False)]
    colours = ["purple", "orange", "teal", "magenta"]
    runs = wandb.Api().runs(f"{entity}/{project}")
    for index, run in enumerate(runs):
        workspace.runset_settings.run_settings[run.id] = ws.RunSettings(
            color=colours[index % len(colours)])
    workspace.save()
    assert workspace.url == first_url  # the same view, saved again

    spec = stored_spec(client, first_url)
    assert spec["section"]["settings"]["xAxisMax"] == 75
    assert spec["section"]["customRunColors"] == {
        "run0": "purple", "run1": "orange", "run2": "teal", "run3": "magenta"}
    assert read_back(client, first_url) == (
        'summary.val_loss <= 0.1 and summary.val_accuracy >= 0.8 and state == "finished" '
        "group by config.group order by config.learning_rate desc")

    # 4. Loaded by its URL, edited, saved; then saved as a new view.
    loaded = ws.Workspace.from_url(first_url)
    assert (loaded.name, [section.name for section in loaded.sections]) == (
        "Example W&B Workspace", ["Validation Metrics"])
    assert (loaded.settings.x_max, loaded.settings.smoothing_type) == (75, "gaussian")
    assert str(loaded.runset_settings.filters) == str(workspace.runset_settings.filters)
    loaded.sections.append(ws.Section(name="Training", panels=[
        wr.LinePlot(x="Step", y=["train_loss"])], is_open=False))
    loaded.save()
    assert loaded.url == first_url
    loaded.name = "A copy"
    loaded.save_as_new_view()
    second_url = loaded.url
    assert second_url != first_url

    for url, name in ((first_url, "Example W&B Workspace"), (second_url, "A copy")):
        assert html.escape(name) in page(view_server, url)
        sections = stored_spec(client, url)["section"]["panelBankConfig"]["sections"]
        assert [section["name"] for section in sections] == ["Validation Metrics", "Training"]
        assert read_back(client, url).startswith('summary.val_loss <= 0.1 and')
    listing = page(view_server, f"{view_server.url}/{entity}/{project}")
    assert "A copy" in listing and "Example W&amp;B Workspace" in listing


# Between the two libraries ---------------------------------------------------------------------

def wsquery_workspace(project: str) -> Workspace:
    return Workspace(
        ENTITY, project, "Saved by wsquery", "for wandb-workspaces",
        query='summary.val_loss <= 0.1 and state == "finished" group by config.group '
              "order by summary.val_accuracy desc",
        sections=[Section("Validation", [LinePlot(y=["val_loss"]),
                                         BarPlot(metrics=["val_accuracy"]),
                                         ScalarChart(metric="f1_score")], is_open=True),
                  Section("Training", [LinePlot(y=["train_loss"])])],
        settings=WorkspaceSettings(x_min=1, x_max=50, smoothing_type="gaussian",
                                   smoothing_weight=5, max_runs=15),
        run_settings={"run1": RunSettings(color="#ff0000"), "run2": RunSettings(disabled=True)})


def test_a_view_wsquery_saved_loads_in_wandb_workspaces(tutorial_project: str,
                                                         client: GraphQLClient) -> None:
    saved = wsquery_workspace(tutorial_project).save(client=client)
    loaded = ws.Workspace.from_url(saved.url)
    assert loaded.name == "Saved by wsquery"
    assert [section.name for section in loaded.sections] == ["Validation", "Training"]
    assert [type(panel).__name__ for panel in loaded.sections[0].panels] == [
        "LinePlot", "BarPlot", "ScalarChart"]
    assert [str(metric.name) for metric in loaded.sections[0].panels[0].y] == ["val_loss"]
    assert loaded.sections[0].is_open and not loaded.sections[1].is_open
    settings = loaded.settings
    assert (settings.x_min, settings.x_max, settings.smoothing_type, settings.smoothing_weight,
            settings.max_runs) == (1, 50, "gaussian", 5, 15)
    assert str(loaded.runset_settings.filters) == (
        "SummaryMetric(\"val_loss\") <= 0.1 and Metric(\"State\") == 'finished'")
    assert [(type(key).__name__, key.name) for key in loaded.runset_settings.groupby] == [
        ("Config", "group")]
    order = loaded.runset_settings.order[0]
    assert (type(order.item).__name__, order.item.name, order.ascending) == (
        "Summary", "val_accuracy", False)
    run_settings = loaded.runset_settings.run_settings
    assert (run_settings["run1"].color, run_settings["run2"].disabled) == ("#ff0000", True)


def test_a_view_wandb_workspaces_saved_loads_in_wsquery_with_nothing_lost(
        tutorial_project: str, client: GraphQLClient) -> None:
    saved = ws.Workspace(
        name="Saved by wandb-workspaces", entity=ENTITY, project=tutorial_project,
        sections=[ws.Section(name="Validation", panels=[
            wr.LinePlot(x="Step", y=["val_loss"]), wr.ScalarChart(metric="f1_score")])],
        settings=ws.WorkspaceSettings(x_max=40, max_runs=12),
        runset_settings=ws.RunsetSettings(
            filters=[ws.Summary("val_loss") <= 0.2, ws.Config("optimizer") == "adam"],
            groupby=[ws.Config("group")],
            run_settings={"run3": ws.RunSettings(color="teal")}))
    saved.save()
    before = stored_spec(client, saved.url)

    ours = Workspace.from_url(saved.url, client=client)
    assert ours.name == "Saved by wandb-workspaces"
    assert str(ours.query) == (
        'summary.val_loss <= 0.2 and config.optimizer == "adam" group by config.group')
    assert [section.name for section in ours.sections] == ["Validation"]
    assert (ours.settings.x_max, ours.settings.max_runs) == (40, 12)
    assert ours.run_settings["run3"].color == "teal"
    ours.save(client=client)
    assert stored_spec(client, saved.url) == before  # written back, nothing lost

    again = ws.Workspace.from_url(saved.url)
    assert again.runset_settings.filters == saved.runset_settings.filters
    assert again._to_model().spec == saved._to_model().spec
