"""The query and mutation fields: viewer, projects, views (read, saved, deleted) and runs,
acting as the entity of the request's key. Another entity's view answers as a missing one."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

from wsquery.apps.server import limits
from wsquery.apps.server.budget import (
    NODE_OVERHEAD,
    Budget,
    budgeted_page,
    page_connection,
    page_start,
    run_length,
    view_length,
)
from wsquery.apps.server.filters import FilterError, matches_filter
from wsquery.apps.server.history import RunHistory
from wsquery.apps.server.json_input import load_json
from wsquery.apps.server.objects import global_id, local_id, run_object, utc_now, view_object
from wsquery.apps.server.schema import graphql_error
from wsquery.apps.server.store import RUN_COLUMNS, VIEW_COLUMNS, VIEW_HEADS, Store
from wsquery.errors import WsqueryError
from wsquery.wandb.graphql import MAX_NAME_LENGTH


class _Project:
    """A project as GraphQL sees it; ``allViews``, ``runs``, ``runCount`` and ``run`` are
    resolved from the store on demand, within the answer's budget."""

    def __init__(self, store: Store, row: sqlite3.Row, entity: str, budget: Budget,
                 user: dict[str, Any]) -> None:
        self._store = store
        self._budget = budget
        self.id = global_id("Project", row["id"])
        self._number = int(row["id"])
        self.internalId = str(self._number)
        self.name = str(row["name"])
        self.entityName = entity
        self.createdAt = str(row["created_at"])
        self.user = user
        self.readOnly = False
        self.isBenchmark = False

    def allViews(self, info: object, viewType: str | None = None,
                 viewName: str | None = None, userName: str | None = None,
                 first: int | None = None, after: str | None = None) -> dict[str, Any]:
        conditions: list[str] = ["views.project_id = ?"]
        values: list[object] = [self._number]
        for column, value in (("views.type", viewType), ("views.name", viewName),
                              ("views.user_name", userName)):
            if value is not None:
                conditions.append(f"{column} = ?")
                values.append(value)
        start = page_start(after)
        where = " AND ".join(conditions)
        with closing(self._store.connect()) as connection:
            total = connection.execute(f"SELECT count(*) FROM views WHERE {where}",
                                       values).fetchone()[0]
            rows = connection.execute(
                f"{VIEW_HEADS} WHERE {where} AND views.id > ? ORDER BY views.id LIMIT ?",
                [*values, start, limits.MAX_PAGE_SIZE + 1])
            page, more = budgeted_page(rows, first, self._budget, view_length)
            specs = dict(connection.execute(
                f"SELECT id, spec FROM views WHERE id IN ({', '.join('?' * len(page))})",
                [row["id"] for row in page]).fetchall()) if page else {}
        if more and not page and first != 0:
            raise Budget.refusal("the next view")
        edges = [{"node": view_object(row, specs[row["id"]]),
                  "cursor": global_id("Cursor", row["id"])} for row in page]
        return page_connection(total, edges, more, after is not None)

    def _selected(self, filters: str | None) -> list[dict[str, Any]]:
        """The project's runs that match runs-API ``filters``, in the order stored."""
        try:
            wanted = load_json(filters) if filters else {}
        except ValueError as error:
            raise graphql_error(f"filters is not JSON: {error}", "BAD_USER_INPUT") from None
        if not isinstance(wanted, dict):
            raise graphql_error("filters must be a JSON object", "BAD_USER_INPUT")
        with closing(self._store.connect()) as connection:
            rows = connection.execute(f"{RUN_COLUMNS} WHERE project_id = ? ORDER BY id",
                                      (self._number,)).fetchall()
        try:
            return [run_object(row, document, self._number, self.entityName) for row in rows
                    if matches_filter(wanted, document := json.loads(row["document"]))]
        except FilterError as error:
            raise graphql_error(str(error), "BAD_USER_INPUT") from None

    def runs(self, info: object, filters: str | None = None, order: str | None = None,
             first: int | None = None, after: str | None = None) -> dict[str, Any]:
        """The project's runs that match runs-API ``filters``, in ``order``, one page."""
        from wsquery.ast import Query
        from wsquery.compilers.runs_api import DEFAULT_ORDER, order_key
        from wsquery.semantics.evaluate import evaluate

        try:
            sort = order_key(order or DEFAULT_ORDER)
        except WsqueryError as error:
            raise graphql_error(f"order: {error}", "BAD_USER_INPUT") from None
        start = page_start(after)
        selected = self._selected(filters)
        ordered = evaluate(Query(order_by=(sort,)), selected)
        page, more = budgeted_page(ordered[start:], first, self._budget, run_length)
        total = len(ordered)
        del selected, ordered  # not kept alive by an error's frames
        if more and not page and first != 0:
            raise Budget.refusal("the next run")
        edges = [{"node": RunHistory.attach(node, self._store, self._budget),
                  "cursor": global_id("Cursor", start + index + 1)}
                 for index, node in enumerate(page)]
        return page_connection(total, edges, more, start > 0)

    def runCount(self, info: object, filters: str | None = None) -> int:
        """How many of the project's runs match runs-API ``filters``."""
        return len(self._selected(filters))

    def run(self, info: object, name: str) -> dict[str, Any] | None:
        """The project's run whose id (W&B's ``name``) is ``name``."""
        with closing(self._store.connect()) as connection:
            row = connection.execute(f"{RUN_COLUMNS} WHERE project_id = ? AND name = ?",
                                     (self._number, name)).fetchone()
        if row is None:
            return None
        node = run_object(row, json.loads(row["document"]), self._number, self.entityName)
        if not self._budget.take(run_length(node)):
            del row, node  # not kept alive by the error's frames
            raise Budget.refusal("this run")
        return RunHistory.attach(node, self._store, self._budget)


class Root:
    """Query and mutation fields for one request, acting as the entity of its API key. Another
    entity's view answers exactly as a missing one, so ids reveal nothing."""

    def __init__(self, store: Store, entity: str) -> None:
        self._store = store
        self._entity = entity
        self._budget = Budget()

    def _require_own(self, entity: str) -> None:
        if entity != self._entity:
            raise graphql_error(
                f"permission denied: this API key belongs to {self._entity!r}, not {entity!r}",
                "PERMISSION_ERROR")

    def _user(self, number: int) -> dict[str, Any]:
        """The key's user, named as its entity: no email, flags, teams or listed keys."""
        return {"id": global_id("User", number), "name": self._entity,
                "username": self._entity, "entity": self._entity, "email": None,
                "flags": None, "admin": False, "deletedAt": None,
                "teams": {"edges": []}, "apiKeys": {"edges": []}}

    def _entity_number(self, connection: sqlite3.Connection) -> int:
        row = connection.execute("SELECT id FROM entities WHERE name = ?",
                                 (self._entity,)).fetchone()
        return int(row["id"]) if row else 0

    def viewer(self, info: object, entityName: str | None = None
               ) -> dict[str, Any]:
        with closing(self._store.connect()) as connection:
            return self._user(self._entity_number(connection))

    def project(self, info: object, name: str | None = None,
                entityName: str | None = None) -> _Project | None:
        entity = entityName or self._entity
        self._require_own(entity)
        with closing(self._store.connect()) as connection:
            row = connection.execute(
                "SELECT projects.* FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ? AND projects.name = ?", (entity, name)).fetchone()
            user = self._user(self._entity_number(connection))
        return _Project(self._store, row, entity, self._budget, user) if row else None

    def models(self, info: object, entityName: str | None = None, after: str | None = None,
               first: int | None = None) -> dict[str, Any]:
        """The entity's projects, by creation, one page (``Api.projects``)."""
        entity = entityName or self._entity
        self._require_own(entity)
        with closing(self._store.connect()) as connection:
            rows = connection.execute(
                "SELECT projects.* FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ? AND projects.id > ? ORDER BY projects.id LIMIT ?",
                (entity, page_start(after), limits.MAX_PAGE_SIZE + 1)).fetchall()
            total = connection.execute(
                "SELECT count(*) FROM projects JOIN entities ON entities.id = entity_id "
                "WHERE entities.name = ?", (entity,)).fetchone()[0]
            user = self._user(self._entity_number(connection))
        page, more = budgeted_page(rows, first, self._budget, lambda row: NODE_OVERHEAD)
        edges = [{"node": _Project(self._store, row, entity, self._budget, user),
                  "cursor": global_id("Cursor", row["id"])} for row in page]
        return page_connection(total, edges, more, after is not None)

    def view(self, info: object, id: str, type: str | None = None
             ) -> dict[str, Any] | None:
        number = local_id("View", id)
        if number is None:
            return None
        with closing(self._store.connect()) as connection:
            row = connection.execute(f"{VIEW_COLUMNS} WHERE views.id = ?",
                                     (number,)).fetchone()
        if row is None or row["entity_name"] != self._entity or (
                type is not None and row["type"] != type):
            return None
        if not self._budget.take(view_length(row)):
            del row  # not kept alive by the error's frames
            raise Budget.refusal("this view")
        return view_object(row)

    def upsertView(self, info: object, input: dict[str, Any]
                   ) -> dict[str, Any]:
        for field in ("name", "displayName"):
            if len(input.get(field) or "") > MAX_NAME_LENGTH:
                raise graphql_error(f"{field} is longer than {MAX_NAME_LENGTH} characters",
                                     "BAD_USER_INPUT")
        if input.get("spec") is not None:
            _check_spec(input["spec"])
        with self._store.transaction() as connection:
            if input.get("id") is not None:
                number = self._existing_view(connection, input["id"])
                inserted = False
            else:
                number, inserted = self._view_for_name(connection, input)
            self._write(connection, number, input)
            row = connection.execute(f"{VIEW_COLUMNS} WHERE views.id = ?",
                                     (number,)).fetchone()
        if not self._budget.take(view_length(row)):
            del row  # not kept alive by the error's frames
            raise Budget.refusal("the saved view")
        return {"view": view_object(row), "inserted": inserted}

    def deleteView(self, info: object, input: dict[str, Any]
                   ) -> dict[str, Any]:
        if input.get("id") is None:
            raise graphql_error("deleteView needs the id of a view", "BAD_USER_INPUT")
        with self._store.transaction() as connection:
            number = self._existing_view(connection, input["id"])
            connection.execute("DELETE FROM views WHERE id = ?", (number,))
        return {"success": True}

    def _existing_view(self, connection: sqlite3.Connection, view_id: str) -> int:
        """The row of this entity's view ``view_id``; NOT_FOUND when there is none (another
        entity's included)."""
        number = local_id("View", view_id)
        row = None if number is None else connection.execute(
            f"{VIEW_COLUMNS} WHERE views.id = ?", (number,)).fetchone()
        if number is None or row is None or row["entity_name"] != self._entity:
            raise graphql_error(f"view {view_id[:100]!r} not found", "NOT_FOUND")
        return number

    def _view_for_name(self, connection: sqlite3.Connection, input: dict[str, Any]
                       ) -> tuple[int, bool]:
        """The view ``input`` names in its project (creating entity, project and view as
        needed), and whether it was inserted."""
        entity = input.get("entityName") or self._entity
        self._require_own(entity)
        if not input.get("projectName") or not input.get("name"):
            raise graphql_error("a new view needs projectName and name", "BAD_USER_INPUT")
        connection.execute("INSERT OR IGNORE INTO entities (name) VALUES (?)", (entity,))
        entity_id = connection.execute("SELECT id FROM entities WHERE name = ?",
                                       (entity,)).fetchone()["id"]
        connection.execute(
            "INSERT OR IGNORE INTO projects (entity_id, name, created_at) VALUES (?, ?, ?)",
            (entity_id, input["projectName"], utc_now()))
        project_id = connection.execute(
            "SELECT id FROM projects WHERE entity_id = ? AND name = ?",
            (entity_id, input["projectName"])).fetchone()["id"]
        row = connection.execute("SELECT id FROM views WHERE project_id = ? AND name = ?",
                                 (project_id, input["name"])).fetchone()
        if row is not None:
            return int(row["id"]), False
        now = utc_now()
        cursor = connection.execute(
            "INSERT INTO views (project_id, name, created_using, user_name, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (project_id, input["name"], input.get("createdUsing") or "WANDB_UI", self._entity,
             now, now))
        return int(cursor.lastrowid or 0), True

    @staticmethod
    def _write(connection: sqlite3.Connection, number: int,
               input: dict[str, Any]) -> None:
        """Store the fields ``input`` sets; fields it leaves out keep their value."""
        columns = {"name": "name", "displayName": "display_name",
                   "description": "description", "type": "type", "spec": "spec",
                   "createdUsing": "created_using"}
        updates = {column: input[field] for field, column in columns.items()
                   if input.get(field) is not None}
        updates["updated_at"] = utc_now()
        assignments = ", ".join(f"{column} = ?" for column in updates)
        try:
            connection.execute(f"UPDATE views SET {assignments} WHERE id = ?",
                               [*updates.values(), number])
        except sqlite3.IntegrityError:
            raise graphql_error(f"a view called {input['name']!r} already exists here",
                                 "CONFLICT") from None


def _check_spec(spec: str) -> None:
    """Refuse a spec that is not a JSON object (within ``MAX_JSON_DEPTH``), saying why."""
    try:
        value = load_json(spec)
    except ValueError as error:
        raise graphql_error(f"spec is not valid JSON: {error}", "BAD_USER_INPUT") from None
    if not isinstance(value, dict):
        raise graphql_error(f"spec must be a JSON object, not {type(value).__name__} "
                             f"{spec[:40]!r}", "BAD_USER_INPUT")
