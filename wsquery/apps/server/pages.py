"""Saved views and stored runs in, HTML pages out: a view, a project's views, a sign-in form.

The view server's pages, read-only: plain HTML and CSS, no script. A view's page is the
workspace's page (``wsquery.wandb.views.page``: its query, sections, panels drawn from the
stored runs and their history, settings and runs table) under the server's header (where it
sits, signing out); the warnings loading its spec gave show on it.
Every value from a spec, a run or a URL is escaped; the server sends the pages with a policy
that forbids scripts.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import attrs

from wsquery.apps.server.store import StoredRuns
from wsquery.wandb.views import Workspace
from wsquery.wandb.views.page import page_css, section_layouts, view_html

#: On every page a signed-in browser sees: ends its session (``POST /logout``).
_SIGN_OUT = ('<form method="post" action="/logout" class="sign-out">'
             '<button type="submit">Sign out</button></form>')

#: Loading a spec warns about what it cannot read; the page shows those warnings, and
#: ``warnings.catch_warnings`` is process-wide, so one page loads a spec at a time.
_LOADING = threading.Lock()

_CSS = """
:root { color-scheme: light; --line: #dfe1e5; --muted: #646a73; --accent: #1a73b8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: #1c1f23; background: #f6f7f9; }
a { color: var(--accent); }
header { padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
header.over-view { padding-bottom: 0; border-bottom: 0; }
nav { color: var(--muted); font-size: 13px; }
h1 { margin: 4px 0; font-size: 22px; }
.muted { color: var(--muted); }
.notes { margin: 8px 0 0; padding: 6px 12px; background: #fff6e0; border-radius: 6px; }
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
              spec: str | None, runs: StoredRuns, project_path: str) -> str:
    """The page of one saved view: ``spec`` is its stored JSON text, ``runs`` the project's
    stored runs (``Store.runs``), whose history its line plots draw."""
    raw = _spec_object(spec)
    with _LOADING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        workspace = Workspace.from_spec(raw, entity=entity, project=project,
                                        name=display_name, description=description)
    view = view_html(name=display_name, description=description, query=workspace.query,
                     sections=workspace.sections, settings=workspace.settings,
                     run_settings=workspace.run_settings, layouts=section_layouts(raw),
                     notes=[str(warning.message) for warning in caught], runs=runs,
                     history=runs.history)
    body = f"""
<header class="over-view">{_SIGN_OUT}
  <nav><a href="/">{escape(entity)}</a> / <a href="{escape(project_path)}">{escape(project)}</a>
  </nav>
</header>
{view}"""
    return _document(f"{display_name} · {entity}/{project}", body, page_css())


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
