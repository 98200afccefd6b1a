"""The ``Workspace``: a saved view's sections, settings, run settings and query, rendered to
the spec W&B's library writes (or, when loaded, to the loaded spec changed only where the
model changed), and saved, loaded and deleted through ``persistence``."""

from __future__ import annotations

import copy
import json
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from wsquery.ast import Query
from wsquery.errors import WorkspaceError, WorkspaceValueError
from wsquery.wandb.graphql import MAX_NAME_LENGTH
from wsquery.wandb.views.overlay import overlay, render
from wsquery.wandb.views.page import page_css, section_layouts, view_html
from wsquery.wandb.views.persistence import (
    SavedView,
    check_query_keys,
    find_view,
    graphql_client,
    upsert_view,
)
from wsquery.wandb.views.sections import (
    FLOW_CONFIG,
    RunSettings,
    Section,
    WorkspaceSettings,
    read_run_settings,
    valid_run_settings,
)
from wsquery.wandb.views.urls import parse_view_url, view_url
from wsquery.wandb.views.validators import (
    as_dict,
    as_list,
    dict_at,
    fail,
    list_at,
    valid_instance,
    valid_items,
    valid_text,
)

if TYPE_CHECKING:
    from wsquery.compilers.runset.write import RunsetQuery
    from wsquery.wandb.graphql import GraphQLClient

#: The spec version wsquery reads and writes; a spec without ``version`` is this version.
SPEC_VERSION = -1

_REPORT_PANELS: dict[str, Any] = {
    "name": "Report Panels", "isOpen": False, "panels": [], "type": "grid",
    "flowConfig": FLOW_CONFIG, "sorted": 0,
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


_PATH_PART = re.compile(r"[^/?#\s]+")


def _path_part(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _PATH_PART.fullmatch(value):
        fail(instance, attribute,
             f"{value!r} is not an entity or project name (non-empty, no '/', '?', '#' or "
              "spaces)")


@attrs.define(init=False)
class Workspace:
    """A saved W&B workspace view: ``sections`` of panels, ``settings``, per-run
    ``run_settings`` and a ``query`` (text or a ``Query``) choosing, grouping and ordering
    the runs it shows. ``name`` is the view's display name."""

    entity: str = attrs.field(validator=_path_part)
    project: str = attrs.field(validator=_path_part)
    name: str = attrs.field(validator=valid_text(max_length=MAX_NAME_LENGTH))
    description: str = attrs.field(default="", validator=valid_text())
    sections: list[Section] = attrs.field(factory=list, converter=as_list,
                                          validator=valid_items(Section, "Section"))
    settings: WorkspaceSettings = attrs.field(
        factory=WorkspaceSettings, validator=valid_instance(WorkspaceSettings, "WorkspaceSettings"))
    run_settings: dict[str, RunSettings] = attrs.field(factory=dict, converter=as_dict,
                                                       validator=valid_run_settings)
    _query: Query = attrs.field(factory=Query, init=False)
    _compiled: RunsetQuery | None = attrs.field(default=None, init=False, eq=False)
    _saved: SavedView | None = attrs.field(default=None, init=False, eq=False)
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

    def _repr_html_(self) -> str:
        """The view's page, as Jupyter shows it: name, query, sections and panels, settings;
        no runs are given, so the panels say so (the view server's page draws them)."""
        view = view_html(name=self.name, description=self.description, query=self._query,
                         sections=self.sections, settings=self.settings,
                         run_settings=self.run_settings, layouts=section_layouts(self.to_spec()))
        return f"<style>{page_css()}</style>{view}"

    # -- spec ----------------------------------------------------------------------------------

    def to_spec(self) -> dict[str, Any]:
        """The saved-view spec (a fresh dict). For a loaded workspace: the loaded spec with
        only what changed since rewritten."""
        attrs.validate(self)
        loaded = self._loaded
        if loaded is None:
            return copy.deepcopy(self._fresh([self._fresh_run_set()]))
        spec = copy.deepcopy(overlay(loaded.raw, loaded.before, self._fresh(None)))
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
        first = overlay(first, {"selections": {"tree": loaded.hidden_runs}},
                        {"selections": {"tree": hidden_runs}})
        if query_changed:
            first.update(self._query_json())
        section["runSets"] = [first, *run_sets[1:]]
        return spec

    def _fresh(self, run_sets: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The spec from the model alone; run sets only when given."""
        section: dict[str, Any] = {
            "panelBankConfig": {"state": 1, "settings": self.settings._panel_bank_spec(),
                                "sections": [render(s) for s in self.sections]},
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
        section = dict_at(raw, "section")
        bank = dict_at(section, "panelBankConfig")
        run_sets = list_at(section, "runSets")
        run_set = run_sets[0] if run_sets and isinstance(run_sets[0], dict) else {}
        workspace = cls(
            entity, project, name, description,
            sections=[Section._read(item) for item in list_at(bank, "sections")
                      if isinstance(item, dict)],
            settings=WorkspaceSettings._read(section.get("settings"), bank.get("settings")),
            run_settings=read_run_settings(run_set, section.get("customRunColors")))
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
        graphql = graphql_client(client, base_url, api_key)
        node = find_view(graphql, entity, project, view)
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
        workspace._saved = SavedView(entity, project, str(node.get("id") or ""),
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
        graphql = graphql_client(client, base_url, api_key)
        if check_keys:
            check_query_keys(graphql, self._query, self.entity, self.project)
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
        graphql = graphql_client(client, base_url, api_key)
        if check_keys:
            check_query_keys(graphql, self._query, self.entity, self.project)
        return self._upsert(graphql, new=True, dry_run=dry_run)

    def _upsert(self, graphql: GraphQLClient, *, new: bool,
                dry_run: bool) -> Workspace | dict[str, Any]:
        saved = self._saved
        same_view = (not new and saved is not None
                     and (saved.entity, saved.project) == (self.entity, self.project))
        result = upsert_view(graphql, self.to_spec(), entity=self.entity, project=self.project,
                             display_name=self.name, description=self.description,
                             same_view=saved if same_view else None, dry_run=dry_run)
        if isinstance(result, SavedView):
            self._saved = result
            return self
        return result

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
        graphql = graphql_client(client, base_url, api_key)
        if dry_run:
            return graphql.delete_view(self._saved.view_id, dry_run=True)
        if not graphql.delete_view(self._saved.view_id):
            raise WorkspaceError(f"the server did not delete the view {self.url}")
        self._saved = None
        return None
