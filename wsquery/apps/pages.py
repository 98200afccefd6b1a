"""Saved views and stored runs in, HTML pages out: a view, a project's views, a sign-in form.

The view server's pages, read-only: plain HTML and CSS, no script. A view's page shows its
name, its query (highlighted by ``wsquery.syntax.lexer``), its sections and panels laid out as
the workspace arranges them (a flow section in ``columnsPerPage`` columns, a grid section by
each panel's layout on W&B's 24-column grid), its settings, its run colors, and the stored runs
its run set selects (``wsquery.evaluate``: the reference meaning) in its order (newest first
without ``order by``, as W&B's default sort) and grouping.
Every value from a spec, a run or a URL is escaped; the server sends the pages with a policy
that forbids scripts.
"""

from __future__ import annotations

import json
import statistics
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

import attrs
from pygments import highlight
from pygments.formatters import HtmlFormatter

from wsquery.ast import UI_RUN_NAMES, Field, Query, walk
from wsquery.compilers.runs_api import DEFAULT_ORDER, order_key
from wsquery.semantics.evaluate import evaluate
from wsquery.semantics.predicates import field_value
from wsquery.syntax.lexer import WsqueryLexer
from wsquery.wandb.views import (
    BarPlot,
    LinePlot,
    OtherPanel,
    Panel,
    RunSettings,
    ScalarChart,
    Section,
    SectionPanelSettings,
    Workspace,
    WorkspaceSettings,
)

#: W&B's grid sections are 24 columns wide; a flow section without ``columnsPerPage`` has 3.
GRID_COLUMNS = 24
FLOW_COLUMNS = 3
#: The most columns of run values the runs table shows besides name and state.
MAX_RUN_COLUMNS = 8

#: On every page a signed-in browser sees: ends its session (``POST /logout``).
_SIGN_OUT = ('<form method="post" action="/logout" class="sign-out">'
             '<button type="submit">Sign out</button></form>')

_FORMATTER = HtmlFormatter(nowrap=True, classprefix="q-")
#: Loading a spec warns about what it cannot read; the page shows those warnings, and
#: ``warnings.catch_warnings`` is process-wide, so one page loads a spec at a time.
_LOADING = threading.Lock()
_QUERY_CSS: str = _FORMATTER.get_style_defs(".query")  # type: ignore[no-untyped-call]
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean, "min": min, "max": max, "median": statistics.median, "sum": sum}

_CSS = """
:root { color-scheme: light; --line: #dfe1e5; --muted: #646a73; --accent: #1a73b8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: #1c1f23; background: #f6f7f9; }
a { color: var(--accent); }
header { padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
nav { color: var(--muted); font-size: 13px; }
h1 { margin: 4px 0; font-size: 22px; }
h2 { margin: 0 0 8px; font-size: 15px; }
.description, .muted { color: var(--muted); }
.query { margin: 8px 0 0; padding: 8px 12px; background: #fbfbfc; border: 1px solid var(--line);
         border-radius: 6px; font: 13px/1.5 ui-monospace, monospace; white-space: pre-wrap; }
.notes { margin: 8px 0 0; padding: 6px 12px; background: #fff6e0; border-radius: 6px; }
.workspace { display: grid; grid-template-columns: minmax(360px, 42%) 1fr; gap: 16px;
             padding: 16px 24px; align-items: start; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line);
         white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.group th { background: #f0f2f5; color: #1c1f23; }
tr.hidden td { color: #9aa0a6; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 50%;
          vertical-align: -1px; border: 1px solid #b8bcc2; background: #fff; }
details.section { margin-bottom: 12px; }
details.section > summary { cursor: default; font-weight: 600; padding: 6px 0; }
.panels { display: grid; gap: 12px; }
.panels.grid { grid-template-columns: repeat(24, 1fr); grid-auto-rows: 28px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px;
         min-height: 150px; overflow: hidden; }
.panels.grid .panel { min-height: 0; }
.panel h3 { margin: 0 0 4px; font-size: 14px; }
.panel .kind { color: var(--muted); font-size: 12px; }
.panel dl, .settings dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px;
                          margin: 6px 0 0; font-size: 12px; }
dt { color: var(--muted); }
dd { margin: 0; }
.settings dd.changed { font-weight: 600; }
.bar { display: grid; grid-template-columns: 9em 1fr 4.5em; gap: 6px; font-size: 12px;
       align-items: center; }
.bar .track { background: #f0f2f5; border-radius: 3px; height: 10px; }
.bar .fill { height: 10px; border-radius: 3px; background: var(--accent); }
.scalar { font-size: 30px; font-weight: 600; margin-top: 8px; }
.tag { display: inline-block; padding: 0 6px; border-radius: 8px; background: #eef1f4;
       color: var(--muted); font-size: 11px; font-weight: normal; }
ul.views { list-style: none; padding: 0; }
ul.views li { padding: 8px 0; border-bottom: 1px solid var(--line); }
form input { font: inherit; padding: 4px 6px; }
form.sign-out { float: right; }
"""


@attrs.frozen
class ViewLink:
    """One saved view on a project's page: its name, description, link and last update."""

    display_name: str
    description: str
    path: str
    updated_at: str


def view_page(*, entity: str, project: str, display_name: str, description: str,
              spec: str | None, runs: Sequence[Mapping[str, Any]], project_path: str) -> str:
    """The page of one saved view: ``spec`` is its stored JSON text, ``runs`` the project's
    stored runs as W&B's GraphQL gives them."""
    raw = _spec_object(spec)
    with _LOADING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        workspace = Workspace.from_spec(raw, entity=entity, project=project,
                                        name=display_name, description=description)
    notes = [str(warning.message) for warning in caught]
    query = workspace.query
    selected = evaluate(query if query.order_by else attrs.evolve(
        query, order_by=(order_key(DEFAULT_ORDER),)), runs)
    colors = workspace.run_settings
    drawn = [run for run in selected
             if not colors.get(_run_id(run), RunSettings()).disabled
             ][:workspace.settings.max_runs]
    layouts = _section_layouts(raw)
    sections = "".join(_section(section, layout, drawn, colors)
                       for section, layout in zip(workspace.sections, layouts, strict=True))
    body = f"""
<header>{_SIGN_OUT}
  <nav><a href="/">{escape(entity)}</a> / <a href="{escape(project_path)}">{escape(project)}</a>
  </nav>
  <h1 id="view-name">{escape(display_name) or '<span class="muted">(unnamed view)</span>'}</h1>
  {f'<p class="description">{escape(description)}</p>' if description else ''}
  <pre class="query" id="query">{_highlighted(query)}</pre>
  {''.join(f'<p class="notes">{escape(note)}</p>' for note in notes)}
</header>
<div class="workspace">
  <div>
    <section class="card" id="runs">{_runs_table(query, selected, len(runs), workspace)}</section>
    <section class="card settings" id="settings" style="margin-top: 16px">
      <h2>Workspace settings</h2>{_settings_list(workspace.settings, WorkspaceSettings())}
    </section>
  </div>
  <section id="sections">{sections or '<p class="muted">This view has no sections.</p>'}
  </section>
</div>"""
    return _document(f"{display_name} · {entity}/{project}", body, _QUERY_CSS)


def project_page(entity: str, project: str, views: Sequence[ViewLink], run_count: int) -> str:
    """A project's saved views, each linked to its page."""
    items = "".join(
        f'<li><a href="{escape(view.path)}">{escape(view.display_name) or "(unnamed view)"}</a>'
        f'{f" <span class=muted>{escape(view.description)}</span>" if view.description else ""}'
        f' <span class="tag">updated {escape(view.updated_at[:16].replace("T", " "))}</span>'
        "</li>" for view in views)
    body = f"""
<header>{_SIGN_OUT}<nav><a href="/">{escape(entity)}</a></nav><h1>{escape(project)}</h1>
  <p class="muted">{len(views)} saved view{'' if len(views) == 1 else 's'},
  {run_count} stored run{'' if run_count == 1 else 's'}</p></header>
<div style="padding: 16px 24px"><ul class="views" id="views">{items}</ul></div>"""
    return _document(f"{entity}/{project}", body)


def projects_page(entity: str, projects: Iterable[tuple[str, str]]) -> str:
    """The projects of an entity, as (name, link) pairs."""
    items = "".join(f'<li><a href="{escape(path)}">{escape(name)}</a></li>'
                    for name, path in projects)
    body = f"""
<header>{_SIGN_OUT}<h1>{escape(entity)}</h1>
<p class="muted">Projects with saved views or runs</p></header>
<div style="padding: 16px 24px"><ul class="views" id="projects">{items}</ul></div>"""
    return _document(entity, body)


def sign_in_page(next_path: str, problem: str = "") -> str:
    """The form asking for an API key (posted, never put in a URL), then going to
    ``next_path``."""
    body = f"""
<header><h1>Sign in</h1>
<p class="muted">Open the sign-in link <code>wsquery serve</code> printed, or enter the API key
of the entity whose views you want to see.</p></header>
<div style="padding: 16px 24px">
{f'<p class="notes" id="problem">{escape(problem)}</p>' if problem else ''}
<form method="post" action="/login">
  <input type="hidden" name="next" value="{escape(next_path)}">
  <label>API key <input type="password" name="key" autocomplete="off" required></label>
  <button type="submit">Sign in</button>
</form></div>"""
    return _document("Sign in", body)


def message_page(title: str, message: str) -> str:
    """A page saying why there is nothing to show."""
    body = (f'<header><h1>{escape(title)}</h1></header>'
            f'<p style="padding: 16px 24px" id="message">{escape(message)}</p>')
    return _document(title, body)


# --- parts ------------------------------------------------------------------------------------

def _document(title: str, body: str, css: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}{css}</style></head>"
            f"<body>{body}</body></html>\n")


def _spec_object(spec: str | None) -> dict[str, Any]:
    """The stored spec as an object; anything else reads as an empty view (the server only
    stores JSON)."""
    try:
        raw = json.loads(spec) if spec else {}
    except ValueError:
        raw = {}
    return raw if isinstance(raw, dict) else {}


def _highlighted(query: Query) -> str:
    text = str(query)
    if not text:
        return '<span class="muted">(every run, newest first)</span>'
    return highlight(text, WsqueryLexer(), _FORMATTER).rstrip("\n")


def _section_layouts(raw: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(kind, flow columns) of each section the workspace reads, in its order: the spec's
    ``panelBankConfig.sections`` objects, ``type`` "grid" or else "flow"."""
    section = raw.get("section")
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


def _section(section: Section, layout: tuple[str, int], drawn: list[Mapping[str, Any]],
             colors: Mapping[str, RunSettings]) -> str:
    kind, columns = layout
    changed = _changed(section.panel_settings, SectionPanelSettings())
    tags = "".join(f' <span class="tag">{escape(text)}</span>' for text in [
        f"{len(section.panels)} panel{'' if len(section.panels) == 1 else 's'}",
        *(["pinned"] if section.pinned else []),
        *(f"{name.replace('_', ' ')}: {_shown(value)}" for name, value in changed)])
    style = "" if kind == "grid" else f' style="grid-template-columns: repeat({columns}, 1fr)"'
    panels = "".join(_panel(panel, kind, drawn, colors) for panel in section.panels)
    return (f'<details class="section"{" open" if section.is_open else ""}>'
            f"<summary>{escape(section.name) or '(unnamed section)'}{tags}</summary>"
            f'<div class="panels {kind}"{style}>{panels}</div></details>')


def _panel(panel: Panel, kind: str, drawn: list[Mapping[str, Any]],
           colors: Mapping[str, RunSettings]) -> str:
    place = ""
    if kind == "grid":
        layout = panel.layout
        place = (f' style="grid-column: {min(layout.x, GRID_COLUMNS - 1) + 1} / span '
                 f'{min(layout.w, GRID_COLUMNS)}; grid-row: {layout.y + 1} / span {layout.h}"')
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
            drawing = ('<p class="muted">This server keeps runs\' summaries, not their '
                       "history, so lines are not drawn.</p>")
        case BarPlot():
            label, title = "Bar chart", panel.title or ", ".join(panel.metrics) or "(no metrics)"
            details = {"orientation": {"h": "horizontal", "v": "vertical"}[panel.orientation],
                       "x title": panel.title_x, "y title": panel.title_y,
                       "x range": _range(panel.range_x), "aggregate": panel.groupby_aggfunc,
                       "range": panel.groupby_rangefunc, "runs drawn": panel.max_runs_to_show}
            drawing = "".join(_bars(metric, drawn[:panel.max_runs_to_show], colors)
                              for metric in panel.metrics)
        case ScalarChart():
            label, title = "Scalar chart", panel.title or panel.metric
            details = {"metric": panel.metric, "aggregate": panel.groupby_aggfunc,
                       "range": panel.groupby_rangefunc}
            drawing = _scalar(panel.metric, panel.groupby_aggfunc, drawn)
        case OtherPanel():
            label, title = panel.view_type, panel.view_type
            details = {}
            drawing = '<p class="muted">wsquery does not draw this kind of panel.</p>'
    listed = "".join(f"<dt>{escape(name)}</dt><dd>{escape(_shown(value))}</dd>"
                     for name, value in details.items() if value not in (None, ""))
    return (f'<article class="panel" data-kind="{escape(label)}"{place}>'
            f'<div class="kind">{escape(label)}</div><h3>{escape(title)}</h3>'
            f"<dl>{listed}</dl>{drawing}</article>")


def _bars(metric: str, drawn: list[Mapping[str, Any]], colors: Mapping[str, RunSettings]) -> str:
    """One bar per drawn run for ``metric`` (its summary value), scaled to the largest."""
    field = _metric_field(metric)
    values = [(run, field_value(run, field)) for run in drawn]
    numbers = [(run, value) for run, value in values if _is_number(value)]
    if not numbers:
        return f'<p class="muted">No drawn run has {escape(metric)}.</p>'
    top = max(abs(value) for _, value in numbers) or 1
    rows = "".join(
        f'<div class="bar"><span>{escape(_run_name(run))}</span><span class="track">'
        f'<span class="fill" style="display: block; width: {abs(value) / top * 100:.1f}%;'
        f'{_background(colors, run)}"></span></span><span>{escape(_shown(value))}</span></div>'
        for run, value in numbers)
    return f"<div>{rows}</div>"


def _scalar(metric: str, aggregate: str | None, drawn: list[Mapping[str, Any]]) -> str:
    """The metric over the drawn runs, aggregated as the panel says (the mean by default)."""
    field = _metric_field(metric)
    numbers = [value for run in drawn if _is_number(value := field_value(run, field))]
    if not numbers:
        return f'<p class="muted">No drawn run has {escape(metric)}.</p>'
    how = aggregate if aggregate in _AGGREGATES else "mean"
    value = _AGGREGATES[how](numbers)
    return (f'<div class="scalar">{escape(_shown(value))}</div><div class="muted">{how} of '
            f"{len(numbers)} run{'' if len(numbers) == 1 else 's'}</div>")


def _runs_table(query: Query, selected: list[Any], stored: int, workspace: Workspace) -> str:
    colors = workspace.run_settings
    columns = _columns(query, workspace.sections)
    head = "".join(f"<th>{escape(str(field))}</th>" for field in columns)
    rows = []
    for values, runs in _groups(query.group_by, selected):
        if query.group_by:
            label = ", ".join(f"{field}: {_shown(value)}"
                              for field, value in zip(query.group_by, values, strict=True))
            rows.append(f'<tr class="group"><th colspan="{len(columns) + 3}">{escape(label)} '
                        f'<span class="tag">{len(runs)} run{"" if len(runs) == 1 else "s"}'
                        "</span></th></tr>")
        for run in runs:
            settings = colors.get(_run_id(run), RunSettings())
            cells = "".join(_cell(field_value(run, field)) for field in columns)
            hidden = ' <span class="tag">hidden</span>' if settings.disabled else ""
            rows.append(
                f'<tr class="run{" hidden" if settings.disabled else ""}" '
                f'data-run-id="{escape(_run_id(run))}"><td><span class="swatch" '
                f'style="{_background(colors, run, default="")}" title="'
                f'{escape(settings.color or "default color")}"></span></td>'
                f'<td class="name">{escape(_run_name(run))}{hidden}</td>'
                f"<td>{escape(_shown(run.get('state')))}</td>{cells}</tr>")
    summary = (f"{len(selected)} of {stored} stored run{'' if stored == 1 else 's'} "
               f"match; charts draw up to {workspace.settings.max_runs}")
    return (f'<h2>Runs</h2><p class="muted">{escape(summary)}</p><div style="overflow-x: auto">'
            f'<table id="runs-table"><thead><tr><th></th><th>name</th><th>state</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _columns(query: Query, sections: list[Section]) -> list[Field]:
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


def _groups(group_by: tuple[Field, ...], runs: list[Any]) -> list[tuple[tuple[Any, ...],
                                                                          list[Any]]]:
    """Runs by their values of the ``group by`` fields, groups in the order of their first
    run (so the query's order holds within and across groups)."""
    groups: dict[str, tuple[tuple[Any, ...], list[Any]]] = {}
    for run in runs:
        values = tuple(field_value(run, field) for field in group_by)
        key = json.dumps(values, sort_keys=True, default=str)
        groups.setdefault(key, (values, []))[1].append(run)
    return list(groups.values())


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


def _metric_field(metric: str) -> Field:
    """A panel metric is a summary key (its last logged value)."""
    return Field("summary", (metric,))


def _run_id(run: Mapping[str, Any]) -> str:
    return str(run.get("name") or "")


def _run_name(run: Mapping[str, Any]) -> str:
    return str(run.get("displayName") or run.get("name") or "")


def _background(colors: Mapping[str, RunSettings], run: Mapping[str, Any],
                default: str = "var(--accent)") -> str:
    """The run's color as a style declaration; colors are checked by ``RunSettings``, and
    escaped here as any value."""
    color = colors.get(_run_id(run), RunSettings()).color or default
    return f" background: {escape(color)};" if color else ""


def _cell(value: Any) -> str:
    css = ' class="number"' if _is_number(value) else ""
    return f"<td{css}>{escape(_shown(value))}</td>"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _range(bounds: tuple[float | None, float | None]) -> str:
    low, high = bounds
    return "" if low is None and high is None else f"{_shown(low)} to {_shown(high)}"


def _shown(value: Any) -> str:
    """A value as the page prints it: numbers to four significant digits, missing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
