"""A workspace's parts and, when given, runs and their history in; the HTML of its page out,
with no server: the view's name and query (highlighted when Pygments is there), its sections
and panels laid out as the workspace arranges them, the panels drawn from the runs, its
settings, and the table of the runs its query selects. The view server wraps it in its pages
(``wsquery.apps.server.pages``); ``Workspace._repr_html_`` shows it in a notebook.

Plain HTML, CSS and inline SVG, no script; every value from a spec, a run or a history row is
escaped; the CSS is scoped to ``.wsquery-view``, so the page sits inside a notebook's.

What the panels draw:

- A line plot: one line per drawn run and y key (every second key dashed), from the runs'
  history rows (``x``: "Step" is ``_step``, "WallTime" ``_timestamp``, a metric its key), in
  the run's color (its ``run_settings`` color, else ``PALETTE`` by its place among the drawn
  runs). With ``group by``: per group and key, the aggregate line (the panel's
  ``groupby_aggfunc``, the mean by default) over the runs' points at each x, and a filled band
  (``groupby_rangefunc``: min to max by default, or the standard deviation or error around the
  mean; none for "none"), in the group's ``PALETTE`` color (which its runs take in the table
  unless they have their own). Each run's line is smoothed before its group's is formed.
  The panel's own x axis, range and smoothing win; else the section's, when it changed them
  from the defaults (what W&B's ``xAxisActive`` and ``smoothingActive`` flags say); else the
  workspace's. ``plotting`` says what each smoothing means.
- A bar chart: a bar per drawn run of its summary value; a scalar chart: the summary values
  aggregated.

The drawn runs are those the query selects, in its order (newest first without ``order by``),
hidden ones left out, at most the workspace's ``max_runs`` (and a panel's own limit).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

import attrs

from wsquery.ast import UI_RUN_NAMES, Field, Query, walk
from wsquery.compilers.runs_api import DEFAULT_ORDER, order_key
from wsquery.semantics.evaluate import evaluate
from wsquery.semantics.predicates import field_value
from wsquery.wandb.views.panels import (
    BarPlot,
    LinePlot,
    OtherPanel,
    Panel,
    ScalarChart,
    spec_metric,
)
from wsquery.wandb.views.plotting import Band, Bounds, Line, Point, line_chart, smoothed
from wsquery.wandb.views.sections import (
    RunSettings,
    Section,
    SectionPanelSettings,
    WorkspaceSettings,
)

#: W&B's grid sections are 24 columns wide; a flow section without ``columnsPerPage`` has 3.
GRID_COLUMNS = 24
FLOW_COLUMNS = 3
#: The most columns of run values the runs table shows besides name and state.
MAX_RUN_COLUMNS = 8
#: The colors of drawn runs without one of their own, and of groups, in turn.
PALETTE = ("#5387dd", "#e87b32", "#479a5f", "#7d54b2", "#e25c9b", "#2aa6b8", "#b38a1e",
           "#8a6c5a", "#5c6bc0", "#9e9d24")

#: A run's history rows for the drawn runs: run id -> rows (each a logged row with ``_step``).
HistoryReader = Callable[[Sequence[Mapping[str, Any]]], Mapping[str, Sequence[Mapping[str, Any]]]]

_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean, "min": min, "max": max, "median": statistics.median, "sum": sum}

CSS = """
.wsquery-view { --line: #dfe1e5; --muted: #646a73; --accent: #1a73b8;
  font: 14px/1.45 system-ui, sans-serif; color: #1c1f23; }
.wsquery-view * { box-sizing: border-box; }
.wsquery-view .view-head { padding: 4px 24px 12px; background: #fff;
  border-bottom: 1px solid var(--line); }
.wsquery-view h1 { margin: 4px 0; font-size: 22px; }
.wsquery-view h2 { margin: 0 0 8px; font-size: 15px; }
.wsquery-view .description, .wsquery-view .muted { color: var(--muted); }
.wsquery-view .query { margin: 8px 0 0; padding: 8px 12px; background: #fbfbfc;
  border: 1px solid var(--line); border-radius: 6px; font: 13px/1.5 ui-monospace, monospace;
  white-space: pre-wrap; }
.wsquery-view .notes { margin: 8px 0 0; padding: 6px 12px; background: #fff6e0;
  border-radius: 6px; }
.wsquery-view .workspace { display: grid; gap: 16px; padding: 16px 24px; align-items: start;
  grid-template-columns: minmax(300px, 36%) minmax(0, 1fr); background: #f6f7f9; }
@media (max-width: 900px) {
  .wsquery-view .workspace { grid-template-columns: minmax(0, 1fr); } }
.wsquery-view .card { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; min-width: 0; }
.wsquery-view .table-scroll { overflow-x: auto; max-width: 100%; }
.wsquery-view table { border-collapse: separate; border-spacing: 0; width: 100%;
  font-size: 13px; }
.wsquery-view th, .wsquery-view td { text-align: left; padding: 4px 8px; white-space: nowrap;
  border-bottom: 1px solid var(--line); background: #fff; }
.wsquery-view th { color: var(--muted); font-weight: 600; }
.wsquery-view .name { position: sticky; left: 0; z-index: 1; max-width: 14em;
  overflow: hidden; text-overflow: ellipsis; box-shadow: inset -1px 0 0 var(--line); }
.wsquery-view td.number { text-align: right; font-variant-numeric: tabular-nums; }
.wsquery-view tr.group th { background: #f0f2f5; color: #1c1f23; }
.wsquery-view tr.group .label { position: sticky; left: 8px; }
.wsquery-view tr.hidden td { color: #9aa0a6; }
.wsquery-view .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 50%;
  vertical-align: -1px; border: 1px solid #b8bcc2; background: #fff; margin-right: 6px; }
.wsquery-view details.section { margin-bottom: 12px; }
.wsquery-view details.section > summary { cursor: default; font-weight: 600; padding: 6px 0; }
.wsquery-view .panels { display: grid; gap: 12px; }
.wsquery-view .panels.grid { grid-template-columns: repeat(24, minmax(0, 1fr));
  grid-auto-rows: 28px; }
.wsquery-view .panel { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 10px; min-height: 150px; min-width: 0; overflow: hidden; }
.wsquery-view .panels.grid .panel { min-height: 0; }
.wsquery-view .panel h3 { margin: 0 0 4px; font-size: 14px; }
.wsquery-view .panel .kind { color: var(--muted); font-size: 12px; }
.wsquery-view .panel details { font-size: 12px; color: var(--muted); }
.wsquery-view dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px;
  margin: 6px 0 0; font-size: 12px; }
.wsquery-view dt { color: var(--muted); }
.wsquery-view dd { margin: 0; overflow-wrap: anywhere; }
.wsquery-view .settings dd.changed { font-weight: 600; }
.wsquery-view svg.chart { display: block; width: 100%; height: auto; margin-top: 4px; }
.wsquery-view svg.chart text { font: 11px system-ui, sans-serif; fill: #646a73; }
.wsquery-view svg.chart text.axis-title { fill: #1c1f23; }
.wsquery-view ul.legend { list-style: none; margin: 4px 0 0; padding: 0; font-size: 12px;
  display: flex; flex-wrap: wrap; gap: 2px 12px; }
.wsquery-view .legend .key { display: inline-block; width: 16px; height: 0; margin-right: 4px;
  vertical-align: middle; border-top: 2px solid; }
.wsquery-view .legend .key.dashed { border-top-style: dashed; }
.wsquery-view .plot-note { font-size: 11px; color: var(--muted); margin: 2px 0 0; }
.wsquery-view .bar { display: grid; grid-template-columns: 9em 1fr 4.5em; gap: 6px;
  font-size: 12px; align-items: center; }
.wsquery-view .bar .track { background: #f0f2f5; border-radius: 3px; height: 10px; }
.wsquery-view .bar .fill { height: 10px; border-radius: 3px; background: var(--accent); }
.wsquery-view .scalar { font-size: 30px; font-weight: 600; margin-top: 8px; }
.wsquery-view .tag { display: inline-block; padding: 0 6px; border-radius: 8px;
  background: #eef1f4; color: var(--muted); font-size: 11px; font-weight: normal; }
"""


def page_css() -> str:
    """The page's CSS, with the query's colors when Pygments is there."""
    formatter = _formatter()
    if formatter is None:
        return CSS
    return CSS + str(formatter.get_style_defs(".wsquery-view .query"))


def section_layouts(spec: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(kind, flow columns) of each section a view spec holds, in its order: the spec's
    ``panelBankConfig.sections`` objects, ``type`` "grid" or else "flow"."""
    section = spec.get("section")
    bank = section.get("panelBankConfig") if isinstance(section, dict) else None
    items = bank.get("sections") if isinstance(bank, dict) else None
    layouts = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        flow = item.get("flowConfig")
        columns = flow.get("columnsPerPage") if isinstance(flow, dict) else None
        if not (isinstance(columns, int) and not isinstance(columns, bool) and 0 < columns <= 12):
            columns = FLOW_COLUMNS
        layouts.append(("grid" if item.get("type") == "grid" else "flow", columns))
    return layouts


@attrs.frozen
class _Drawn:
    """What the panels draw from: the drawn runs in order, each one's color, their groups
    (one group of all when the query has none) and their history (run id -> rows)."""

    runs: list[Mapping[str, Any]]
    colors: dict[str, str]
    groups: list[tuple[str, list[Mapping[str, Any]]]]
    grouped: bool
    histories: Mapping[str, Sequence[Mapping[str, Any]]]


def view_html(*, name: str, description: str, query: Query, sections: Sequence[Section],
              settings: WorkspaceSettings, run_settings: Mapping[str, RunSettings],
              layouts: Sequence[tuple[str, int]], notes: Iterable[str] = (),
              runs: Sequence[Mapping[str, Any]] | None = None,
              history: HistoryReader | None = None) -> str:
    """The view's page as a ``<div class="wsquery-view">`` (its CSS is ``page_css()``):
    ``runs`` are the project's runs as W&B's GraphQL gives them (None: no runs are given, and
    the panels say so), ``history`` reads the drawn runs' history rows."""
    drawn: _Drawn | None = None
    table = ('<h2>Runs</h2><p class="muted">No runs are given here: the view server\'s page '
             "of this view shows the runs its query selects.</p>")
    if runs is not None:
        selected = evaluate(query if query.order_by else attrs.evolve(
            query, order_by=(order_key(DEFAULT_ORDER),)), runs)
        visible = [run for run in selected
                   if not run_settings.get(_run_id(run), RunSettings()).disabled]
        chosen = visible[:settings.max_runs]
        groups = [(_group_label(query.group_by, values), members)
                  for values, members in _groups(query.group_by, chosen)]
        turns = ({_run_id(run): number for number, (_, members) in enumerate(groups)
                  for run in members} if query.group_by
                 else {_run_id(run): number for number, run in enumerate(chosen)})
        colors = {run_id: run_settings.get(run_id, RunSettings()).color
                  or PALETTE[turn % len(PALETTE)] for run_id, turn in turns.items()}
        drawn = _Drawn(chosen, colors, groups, bool(query.group_by),
                       history(chosen) if history is not None and chosen else {})
        table = _runs_table(query, selected, len(runs), settings, run_settings, sections,
                            colors)
    rendered = "".join(_section(section, layout, drawn, settings)
                       for section, layout in zip(sections, layouts, strict=True))
    return f"""<div class="wsquery-view">
<div class="view-head">
  <h1 id="view-name">{escape(name) or '<span class="muted">(unnamed view)</span>'}</h1>
  {f'<p class="description">{escape(description)}</p>' if description else ''}
  <pre class="query" id="query">{_highlighted(query)}</pre>
  {''.join(f'<p class="notes">{escape(note)}</p>' for note in notes)}
</div>
<div class="workspace">
  <div>
    <section class="card" id="runs">{table}</section>
    <section class="card settings" id="settings" style="margin-top: 16px">
      <h2>Workspace settings</h2>{_settings_list(settings, WorkspaceSettings())}
    </section>
  </div>
  <section id="sections">{rendered or '<p class="muted">This view has no sections.</p>'}
  </section>
</div></div>"""


# --- the query --------------------------------------------------------------------------------

def _formatter() -> Any:
    """Pygments' HTML formatter for the query, or None without Pygments."""
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return None
    return HtmlFormatter(nowrap=True, classprefix="q-")


def _highlighted(query: Query) -> str:
    text = str(query)
    if not text:
        return '<span class="muted">(every run, newest first)</span>'
    formatter = _formatter()
    if formatter is None:
        return escape(text)
    from pygments import highlight

    from wsquery.syntax.lexer import WsqueryLexer

    return str(highlight(text, WsqueryLexer(), formatter)).rstrip("\n")


# --- sections and panels ----------------------------------------------------------------------

def _section(section: Section, layout: tuple[str, int], drawn: _Drawn | None,
             settings: WorkspaceSettings) -> str:
    kind, columns = layout
    changed = _changed(section.panel_settings, SectionPanelSettings())
    tags = "".join(f' <span class="tag">{escape(text)}</span>' for text in [
        f"{len(section.panels)} panel{'' if len(section.panels) == 1 else 's'}",
        *(["pinned"] if section.pinned else []),
        *(f"{name.replace('_', ' ')}: {_shown(value)}" for name, value in changed)])
    style = ("" if kind == "grid"
             else f' style="grid-template-columns: repeat({columns}, minmax(0, 1fr))"')
    panels = "".join(_panel(panel, kind, drawn, _PlotSettings.of(section.panel_settings,
                                                                 settings))
                     for panel in section.panels)
    return (f'<details class="section"{" open" if section.is_open else ""}>'
            f"<summary>{escape(section.name) or '(unnamed section)'}{tags}</summary>"
            f'<div class="panels {kind}"{style}>{panels}</div></details>')


@attrs.frozen
class _PlotSettings:
    """The line-plot settings a section's panels start from: the section's where it changed
    them, else the workspace's; and whether legends show."""

    x_axis: str
    x_min: float | None
    x_max: float | None
    smoothing_type: str
    smoothing_weight: float
    legends: bool

    @classmethod
    def of(cls, section: SectionPanelSettings, workspace: WorkspaceSettings) -> _PlotSettings:
        default = SectionPanelSettings()
        axis = section if (section.x_axis, section.x_min, section.x_max) != (
            default.x_axis, default.x_min, default.x_max) else workspace
        smoothing = section if (section.smoothing_type, section.smoothing_weight) != (
            default.smoothing_type, default.smoothing_weight) else workspace
        return cls(axis.x_axis, axis.x_min, axis.x_max, smoothing.smoothing_type,
                   smoothing.smoothing_weight, not workspace.remove_legends_from_panels)


def _panel(panel: Panel, kind: str, drawn: _Drawn | None, plot: _PlotSettings) -> str:
    place = ""
    if kind == "grid":
        layout = panel.layout
        place = (f' style="grid-column: {min(layout.x, GRID_COLUMNS - 1) + 1} / span '
                 f'{min(layout.w, GRID_COLUMNS)}; grid-row: {layout.y + 1} / span {layout.h}"')
    nothing = '<p class="muted">No runs are given, so nothing is drawn.</p>'
    match panel:
        case LinePlot():
            label, title = "Line plot", panel.title or ", ".join(panel.y) or "(no metrics)"
            details = {"y": ", ".join(panel.y), "x": panel.x, "x title": panel.title_x,
                       "y title": panel.title_y, "x range": _range(panel.range_x),
                       "y range": _range(panel.range_y), "log x": panel.log_x,
                       "log y": panel.log_y, "smoothing": panel.smoothing_type,
                       "smoothing factor": panel.smoothing_factor,
                       "aggregate": panel.groupby_aggfunc, "range": panel.groupby_rangefunc,
                       "runs drawn": panel.max_runs_to_show}
            drawing = nothing if drawn is None else _line_plot(panel, drawn, plot)
        case BarPlot():
            label, title = "Bar chart", panel.title or ", ".join(panel.metrics) or "(no metrics)"
            details = {"orientation": {"h": "horizontal", "v": "vertical"}[panel.orientation],
                       "x title": panel.title_x, "y title": panel.title_y,
                       "x range": _range(panel.range_x), "aggregate": panel.groupby_aggfunc,
                       "range": panel.groupby_rangefunc, "runs drawn": panel.max_runs_to_show}
            drawing = nothing if drawn is None else "".join(
                _bars(metric, drawn.runs[:panel.max_runs_to_show], drawn.colors)
                for metric in panel.metrics)
        case ScalarChart():
            label, title = "Scalar chart", panel.title or panel.metric
            details = {"metric": panel.metric, "aggregate": panel.groupby_aggfunc,
                       "range": panel.groupby_rangefunc}
            drawing = (nothing if drawn is None
                       else _scalar(panel.metric, panel.groupby_aggfunc, drawn.runs))
        case OtherPanel():
            label, title = panel.view_type, panel.view_type
            details = {}
            drawing = '<p class="muted">wsquery does not draw this kind of panel.</p>'
    listed = "".join(f"<dt>{escape(name)}</dt><dd>{escape(_shown(value))}</dd>"
                     for name, value in details.items() if value not in (None, ""))
    return (f'<article class="panel" data-kind="{escape(label)}"{place}>'
            f'<div class="kind">{escape(label)}</div><h3>{escape(title)}</h3>'
            f"{drawing}<details><summary>settings</summary><dl>{listed}</dl></details>"
            "</article>")


def _line_plot(panel: LinePlot, drawn: _Drawn, plot: _PlotSettings) -> str:
    """The panel's lines (or group lines and bands), axes and legend, with a note of the
    smoothing and x range drawn."""
    x_name = panel.x or plot.x_axis
    x_key = spec_metric(x_name)
    kind, weight = plot.smoothing_type, plot.smoothing_weight
    if panel.smoothing_type is not None:
        kind = panel.smoothing_type
        weight = panel.smoothing_factor if panel.smoothing_factor is not None else weight
    x_min, x_max = panel.range_x if panel.range_x != (None, None) else (plot.x_min, plot.x_max)
    runs = drawn.runs[:panel.max_runs_to_show]
    shown = {_run_id(run) for run in runs}

    def points(run: Mapping[str, Any], key: str) -> list[Point]:
        rows = drawn.histories.get(_run_id(run), ())
        logged = sorted((float(row[x_key]), float(row[key])) for row in rows
                        if _is_finite(row.get(x_key)) and _is_finite(row.get(key)))
        return smoothed(logged, kind, weight)

    lines: list[Line] = []
    bands: list[Band] = []
    legend: list[tuple[str, str, bool]] = []
    for index, metric in enumerate(panel.y):
        key = spec_metric(metric)
        dashed = index % 2 == 1
        suffix = f" · {metric}" if len(panel.y) > 1 else ""
        if not drawn.grouped:
            for run in runs:
                line = Line(points(run, key), drawn.colors[_run_id(run)],
                            {"run-id": _run_id(run), "key": metric}, dashed)
                if line.points:
                    lines.append(line)
                    legend.append((_run_name(run) + suffix, line.color, dashed))
            continue
        for number, (label, members) in enumerate(drawn.groups):
            series = [points(run, key) for run in members if _run_id(run) in shown]
            center, lows, highs = _aggregated(series, panel.groupby_aggfunc,
                                              panel.groupby_rangefunc)
            if not center:
                continue
            color = PALETTE[number % len(PALETTE)]
            data = {"group": label, "key": metric}
            lines.append(Line(center, color, data, dashed))
            if lows:
                bands.append(Band(lows, highs, color, data))
            legend.append((label + suffix, color, dashed))
    if not lines:
        return (f'<p class="muted">No drawn run logged {escape(", ".join(panel.y))} with '
                f"{escape(x_name)}.</p>")
    chart = line_chart(lines, bands, Bounds(x_min, x_max, *panel.range_y),
                       x_title=panel.title_x or x_name,
                       y_title=panel.title_y or ", ".join(panel.y))
    keys = "".join(
        f'<li><span class="key{" dashed" if dashed else ""}" style="border-top-color: '
        f'{escape(color)}"></span>{escape(name)}</li>' for name, color, dashed in legend)
    smoothing = "none" if kind == "none" or weight <= 0 else f"{kind} {_shown(weight)}"
    note = f"smoothing: {smoothing}"
    if (x_min, x_max) != (None, None):
        note += f" · {x_name} {_range((x_min, x_max))}"
    return (f"{chart}{f'<ul class=legend>{keys}</ul>' if plot.legends else ''}"
            f'<p class="plot-note">{escape(note)}</p>')


def _aggregated(series: list[list[Point]], aggregate: str | None, spread: str | None
                ) -> tuple[list[Point], list[Point], list[Point]]:
    """A group's line and band: at each x any of its runs logged, the aggregate of their
    values there, and the band's low and high edges (none for the range "none")."""
    at: dict[float, list[float]] = {}
    for points in series:
        for x, y in points:
            at.setdefault(x, []).append(y)
    combine = _AGGREGATES.get(aggregate or "mean", statistics.fmean)
    center, lows, highs = [], [], []
    for x in sorted(at):
        values = at[x]
        middle = combine(values)
        center.append((x, middle))
        match spread:
            case "none":
                continue
            case "stddev" | "stderr":
                deviation = statistics.pstdev(values)
                if spread == "stderr":
                    deviation /= math.sqrt(len(values))
                low, high = middle - deviation, middle + deviation
            case _:
                low, high = min(values), max(values)
        lows.append((x, low))
        highs.append((x, high))
    return center, lows, highs


def _bars(metric: str, runs: list[Mapping[str, Any]], colors: Mapping[str, str]) -> str:
    """One bar per drawn run for ``metric`` (its summary value), scaled to the largest."""
    field = _metric_field(metric)
    values = [(run, field_value(run, field)) for run in runs]
    numbers = [(run, value) for run, value in values if _is_number(value)]
    if not numbers:
        return f'<p class="muted">No drawn run has {escape(metric)}.</p>'
    top = max(abs(value) for _, value in numbers) or 1
    rows = "".join(
        f'<div class="bar"><span>{escape(_run_name(run))}</span><span class="track">'
        f'<span class="fill" style="display: block; width: {abs(value) / top * 100:.1f}%; '
        f'background: {escape(colors[_run_id(run)])};"></span></span>'
        f"<span>{escape(_shown(value))}</span></div>"
        for run, value in numbers)
    return f"<div>{rows}</div>"


def _scalar(metric: str, aggregate: str | None, runs: list[Mapping[str, Any]]) -> str:
    """The metric over the drawn runs, aggregated as the panel says (the mean by default)."""
    field = _metric_field(metric)
    numbers = [value for run in runs if _is_number(value := field_value(run, field))]
    if not numbers:
        return f'<p class="muted">No drawn run has {escape(metric)}.</p>'
    how = aggregate if aggregate in _AGGREGATES else "mean"
    value = _AGGREGATES[how](numbers)
    return (f'<div class="scalar">{escape(_shown(value))}</div><div class="muted">{how} of '
            f"{len(numbers)} run{'' if len(numbers) == 1 else 's'}</div>")


# --- the runs table ---------------------------------------------------------------------------

def _runs_table(query: Query, selected: list[Any], stored: int, settings: WorkspaceSettings,
                run_settings: Mapping[str, RunSettings], sections: Sequence[Section],
                colors: Mapping[str, str]) -> str:
    columns = _columns(query, sections)
    head = "".join(f"<th>{escape(str(field))}</th>" for field in columns)
    rows = []
    for values, runs in _groups(query.group_by, selected):
        if query.group_by:
            rows.append(f'<tr class="group"><th colspan="{len(columns) + 2}"><span '
                        f'class="label">{escape(_group_label(query.group_by, values))} '
                        f'<span class="tag">{len(runs)} run{"" if len(runs) == 1 else "s"}'
                        "</span></span></th></tr>")
        for run in runs:
            hidden = run_settings.get(_run_id(run), RunSettings()).disabled
            color = colors.get(_run_id(run), "")
            cells = "".join(_cell(field_value(run, field)) for field in columns)
            swatch = (f'<span class="swatch" style="background: {escape(color)}" '
                      f'title="{escape(color)}"></span>' if color else
                      f'<span class="swatch" title="{"hidden" if hidden else "not drawn"}">'
                      "</span>")
            rows.append(
                f'<tr class="run{" hidden" if hidden else ""}" '
                f'data-run-id="{escape(_run_id(run))}"><td class="name">{swatch}'
                f"{escape(_run_name(run))}"
                f'{" <span class=tag>hidden</span>" if hidden else ""}</td>'
                f"<td>{escape(_shown(run.get('state')))}</td>{cells}</tr>")
    summary = (f"{len(selected)} of {stored} run{'' if stored == 1 else 's'} "
               f"match; charts draw up to {settings.max_runs}")
    return (f'<h2>Runs</h2><p class="muted">{escape(summary)}</p><div class="table-scroll">'
            f'<table id="runs-table"><thead><tr><th class="name">name</th><th>state</th>'
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _columns(query: Query, sections: Sequence[Section]) -> list[Field]:
    """The fields the query names (grouping first), then the panels' metrics: what the runs
    table shows besides name and state."""
    fields: dict[str, Field] = {}
    named = [*query.group_by, *(node for node in walk(query) if isinstance(node, Field))]
    metrics = [_metric_field(metric) for section in sections for panel in section.panels
               for metric in _panel_metrics(panel) if metric not in UI_RUN_NAMES]
    for field in [*named, *metrics]:
        if field.attribute not in ("name", "state"):
            fields.setdefault(str(field), field)
    return list(fields.values())[:MAX_RUN_COLUMNS]


def _panel_metrics(panel: Panel) -> list[str]:
    match panel:
        case LinePlot():
            return panel.y
        case BarPlot():
            return panel.metrics
        case ScalarChart():
            return [panel.metric]
        case OtherPanel():
            return []


def _groups(group_by: tuple[Field, ...], runs: Sequence[Any]
            ) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """Runs by their values of the ``group by`` fields, groups in the order of their first
    run (so the query's order holds within and across groups)."""
    groups: dict[str, tuple[tuple[Any, ...], list[Any]]] = {}
    for run in runs:
        values = tuple(field_value(run, field) for field in group_by)
        key = json.dumps(values, sort_keys=True, default=str)
        groups.setdefault(key, (values, []))[1].append(run)
    return list(groups.values())


def _group_label(group_by: tuple[Field, ...], values: tuple[Any, ...]) -> str:
    return ", ".join(f"{field}: {_shown(value)}"
                     for field, value in zip(group_by, values, strict=True))


def _settings_list(settings: Any, defaults: Any) -> str:
    changed = dict(_changed(settings, defaults))
    items = "".join(
        f'<dt>{escape(field.name.replace("_", " "))}</dt><dd'
        f'{" class=changed" if field.name in changed else ""}>'
        f"{escape(_shown(getattr(settings, field.name)))}</dd>"
        for field in attrs.fields(type(settings)))
    return f"<dl>{items}</dl>"


def _changed(settings: Any, defaults: Any) -> list[tuple[str, Any]]:
    return [(field.name, getattr(settings, field.name)) for field in attrs.fields(type(settings))
            if getattr(settings, field.name) != getattr(defaults, field.name)]


# --- values -----------------------------------------------------------------------------------

def _metric_field(metric: str) -> Field:
    """A panel metric as a run field: a summary key (its last logged value)."""
    return Field("summary", (metric,))


def _run_id(run: Mapping[str, Any]) -> str:
    return str(run.get("name") or "")


def _run_name(run: Mapping[str, Any]) -> str:
    return str(run.get("displayName") or run.get("name") or "")


def _cell(value: Any) -> str:
    css = ' class="number"' if _is_number(value) else ""
    return f"<td{css}>{escape(_shown(value))}</td>"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def _range(bounds: tuple[float | None, float | None]) -> str:
    low, high = bounds
    return "" if low is None and high is None else f"{_shown(low)} to {_shown(high)}"


def _shown(value: Any) -> str:
    """A value as the page prints it: whole numbers as they are, others to six significant
    digits (0.051 reads 0.051), missing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}" if not value.is_integer() or abs(value) >= 1e15 else f"{value:.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
