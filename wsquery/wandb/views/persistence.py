"""Saved views over GraphQL: the client a call uses, finding a view by name or display name,
saving (new or the same view), checking a query's keys against the project's runs, listing.
Apart from the model, which renders and reads specs without a server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs

from wsquery.ast import Query
from wsquery.errors import NotFoundError, WorkspaceError, WorkspaceValueError
from wsquery.wandb.views.urls import internal_view_name, new_view_name, view_url

if TYPE_CHECKING:
    from wsquery.wandb.graphql import GraphQLClient


def graphql_client(client: GraphQLClient | None, base_url: str | None,
                   api_key: str | None) -> GraphQLClient:
    if client is not None:
        if base_url is not None or api_key is not None:
            raise WorkspaceValueError("pass either client= or base_url=/api_key=, not both")
        return client
    from wsquery.wandb.graphql import GraphQLClient
    from wsquery.wandb.settings import resolve_settings

    return GraphQLClient(resolve_settings(base_url=base_url, api_key=api_key))


@attrs.frozen
class SavedView:
    """Which server-side view a workspace is: where, its GraphQL id and internal name."""

    entity: str
    project: str
    view_id: str
    view_name: str
    app_url: str


@attrs.frozen
class ViewInfo:
    """One saved view of a project, as ``list_views`` gives it."""

    view_id: str
    view_name: str
    display_name: str
    description: str
    url: str


def list_views(entity: str, project: str, *, client: GraphQLClient | None = None,
               base_url: str | None = None, api_key: str | None = None,
               page_size: int = 50) -> list[ViewInfo]:
    """Every saved workspace view of ``entity/project``, fetched ``page_size`` at a time."""
    graphql = graphql_client(client, base_url, api_key)
    app_url = graphql.settings.app_url
    return [ViewInfo(view_id=str(node.get("id") or ""), view_name=str(node.get("name") or ""),
                     display_name=str(node.get("displayName") or ""),
                     description=str(node.get("description") or ""),
                     url=view_url(app_url, entity, project, str(node.get("name") or "")))
            for node in graphql.iter_views(entity, project, page_size=page_size)]


def find_view(graphql: GraphQLClient, entity: str, project: str, view: str) -> dict[str, Any]:
    """The saved view ``view`` of ``entity/project``: its internal name ``nw-<id>-v``, the
    ``<id>`` of its URL, or else its display name (which must name one view)."""
    node = graphql.find_view(entity, project, internal_view_name(view))
    if node is None:
        matches = [n for n in graphql.iter_views(entity, project)
                   if n.get("displayName") == view]
        if len(matches) > 1:
            raise WorkspaceError(f"{len(matches)} views of {entity}/{project} are called "
                                 f"{view!r}; load one by its URL")
        node = matches[0] if matches else None
    if node is None:
        raise NotFoundError(f"no saved view {view!r} in {entity}/{project}")
    return node


def check_query_keys(graphql: GraphQLClient, query: Query, entity: str, project: str) -> None:
    """Raise ``QueryValidationError`` when the query names a config or summary key that
    none of the project's newest runs has; its text is the query's canonical text."""
    from wsquery.errors import QueryValidationError
    from wsquery.semantics.keys import judged, known_keys, unknown_keys
    from wsquery.syntax.parser import parse
    from wsquery.wandb.runs import NEWEST_RUNS, runs

    if not judged(query):
        return
    text = str(query)
    known = known_keys(runs(entity, project, f"limit {NEWEST_RUNS}", client=graphql))
    problems = [] if known is None else unknown_keys(
        parse(text), known, holders=f"run of {entity}/{project}")
    if problems:
        raise QueryValidationError(text, problems)


def upsert_view(graphql: GraphQLClient, spec: dict[str, Any], *, entity: str, project: str,
                display_name: str, description: str, same_view: SavedView | None,
                dry_run: bool) -> SavedView | dict[str, Any]:
    """Save ``spec`` as the view ``same_view``, or as a new view when None: where it now is,
    or with ``dry_run`` the GraphQL request, unsent."""
    view_name = same_view.view_name if same_view else new_view_name()
    result = graphql.upsert_view(
        entity=entity, project=project, name=view_name, display_name=display_name,
        description=description, spec=json.dumps(spec, ensure_ascii=False),
        view_id=same_view.view_id if same_view else None, dry_run=dry_run)
    if dry_run:
        return result
    view = result["view"]
    return SavedView(entity, project, str(view["id"]), str(view.get("name") or view_name),
                     graphql.settings.app_url)

