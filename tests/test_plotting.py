"""Line-plot smoothing, ticks and charts, and the workspace page drawn from given runs and
history without a server: known inputs give known outputs."""

from __future__ import annotations

import math
import re

import pytest

from wsquery.ast import Query
from wsquery.syntax.parser import parse
from wsquery.wandb.views import LinePlot, RunSettings, Section, WorkspaceSettings
from wsquery.wandb.views.page import view_html
from wsquery.wandb.views.plotting import (
    Bounds,
    Line,
    exponential,
    gaussian,
    line_chart,
    running_average,
    smoothed,
    tick_label,
    ticks,
    time_weighted,
)


def test_exponential_is_tensorboards_debiased_average() -> None:
    # last = 0.5 * last + 0.5 * y, divided by 1 - 0.5 ** n
    assert exponential([1, 2, 3], 0.5) == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])
    heaviest = (0.999 * 0.004 + 0.001 * 8) / (1 - 0.999 ** 2)  # a weight above 1 is 0.999
    assert exponential([4, 8], 5) == pytest.approx([4, heaviest])


def test_time_weighted_decays_by_how_far_x_moved() -> None:
    # weight 0.25: w = 0.5; x moves 1 of a span of 1000 (one decay step), then 999 (all but gone)
    assert time_weighted([0, 1, 1000], [2, 4, 6], 0.25) == pytest.approx([2, 5 / 1.5, 6])
    evenly = time_weighted([0, 1, 2], [1, 2, 3], 0.25)
    assert evenly == pytest.approx([1, 2, 3], abs=1e-9)  # each x step 500 decays: no memory


def test_gaussian_weighs_neighbours_by_their_x_distance() -> None:
    near, far = math.exp(-0.5), math.exp(-2)
    assert gaussian([0, 1, 2], [0, 3, 0], 1) == pytest.approx(
        [3 * near / (1 + near + far), 3 / (1 + 2 * near), 3 * near / (1 + near + far)])
    assert gaussian([0, 100], [1, 5], 1) == pytest.approx([1, 5])  # out of reach


def test_running_average_of_a_window_of_points() -> None:
    assert running_average([1, 2, 3, 4, 10], 3) == pytest.approx([1.5, 2, 3, 17 / 3, 7])
    assert running_average([1, 2, 3, 4], 2) == pytest.approx([1.5, 2.5, 3.5, 4])
    assert running_average([1, 5], 1) == [1, 5]


@pytest.mark.parametrize("kind", ["none", "exponential", "exponentialTimeWeighted",
                                  "gaussian", "average"])
def test_smoothing_keeps_the_x_values_and_a_weight_of_zero_keeps_the_points(kind: str) -> None:
    points = [(0.0, 1.0), (5.0, 3.0), (10.0, 2.0)]
    assert [x for x, _ in smoothed(points, kind, 0.6)] == [0.0, 5.0, 10.0]
    assert smoothed(points, kind, 0) == points
    assert smoothed([], kind, 0.6) == []
    assert smoothed(points, "none", 0.6) == points


def test_ticks_are_round_and_labelled_with_the_digits_they_need() -> None:
    assert ticks(0, 75) == [0, 20, 40, 60]
    assert ticks(25, 50) == [25, 30, 35, 40, 45, 50]
    assert ticks(0.04, 1.05, 5) == [0.25, 0.5, 0.75, 1.0]
    assert [tick_label(value, 0.25) for value in (0.25, 0.5, 1.0)] == ["0.25", "0.50", "1.00"]
    assert tick_label(40, 20) == "40"
    assert tick_label(0.00002, 0.00001) == "2e-05"


def test_a_chart_clips_its_lines_to_the_bounds_and_escapes_what_it_names() -> None:
    chart = line_chart([Line([(0, 1), (10, 2)], "red", {"run-id": 'a"><b>'})], [],
                       Bounds(x_min=5, x_max=10), x_title="<x>", y_title="")
    assert chart.count("<path") == 1
    assert 'data-run-id="a&quot;&gt;&lt;b&gt;"' in chart and "&lt;x&gt;" in chart
    assert '<svg class="plot"' in chart and 'overflow="hidden"' in chart
    # x from 5 to 10 across the plot's width: the first point lies left of it, cut off
    [path] = re.findall(r' d="([^"]*)"', chart)
    assert float(path[1:].split(",")[0]) < 0


def run(run_id: str, name: str, loss: float) -> dict[str, object]:
    return {"name": run_id, "displayName": name, "state": "finished",
            "createdAt": f"2024-01-0{len(run_id)}T00:00:00Z",
            "summaryMetrics": f'{{"loss": {loss}}}', "config": "{}"}


def test_the_page_draws_given_runs_history_with_the_panels_own_smoothing() -> None:
    runs = [run("a", "first", 0.5), run("bb", "<second>", 0.25), run("ccc", "hidden", 0.1)]
    history = {"a": [{"_step": 0, "loss": 1.0}, {"_step": 1, "loss": 0.5}],
               "bb": [{"_step": 0, "loss": 2.0}, {"_step": 1, "loss": 0.0},
                      {"_step": 2, "loss": "NaN"}],
               "ccc": [{"_step": 0, "loss": 1.0}]}
    asked: list[list[str]] = []

    def read(drawn: object) -> dict[str, list[dict[str, object]]]:
        ids = [str(item["name"]) for item in drawn]  # type: ignore[attr-defined]
        asked.append(ids)
        return {run_id: history[run_id] for run_id in ids}  # type: ignore[misc]

    panel = LinePlot(y=["loss"], smoothing_type="average", smoothing_factor=2)
    html = view_html(name="v", description="", query=parse("summary.loss >= 0"),
                     sections=[Section("S", [panel])], settings=WorkspaceSettings(),
                     run_settings={"a": RunSettings(color="#123456"),
                                   "ccc": RunSettings(disabled=True)},
                     layouts=[("flow", 3)], runs=runs, history=read)
    assert asked == [["bb", "a"]]  # newest first, the hidden run not read
    paths = re.findall(r"<path [^>]*>", html)
    assert len(paths) == 2
    assert 'stroke="#123456"' in paths[1] and 'data-run-id="a"' in paths[1]
    assert "&lt;second&gt;" in html and "<second>" not in html
    assert "smoothing: average 2" in html
    # a window of 2 points: a is 0.75 then 0.5, bb 1 then 0 ("NaN" is no number: left out); the
    # plot is 248 by 142 units, x from 0 to 1, y from -0.05 to 1.05 (the values' span, padded)
    assert 'd="M0.00,38.73 L248.00,71.00"' in paths[1]
    assert 'd="M0.00,6.45 L248.00,135.55"' in paths[0]


def test_without_runs_the_panels_say_none_are_given() -> None:
    html = view_html(name="v", description="", query=Query(),
                     sections=[Section("S", [LinePlot(y=["loss"])])],
                     settings=WorkspaceSettings(), run_settings={}, layouts=[("flow", 3)])
    assert "No runs are given" in html and "<path" not in html
