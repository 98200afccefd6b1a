"""Stored rows as W&B's GraphQL gives them: opaque ids, timestamps, a view, a run. Apart so
the store (for the pages) and the resolvers (for GraphQL) give the same shapes."""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: The largest row id SQLite stores; an id naming a larger one names no view.
_MAX_ROW_ID = 2**63 - 1


def global_id(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def local_id(kind: str, opaque: str) -> int | None:
    """The row number inside an opaque id of this kind, or None when it is not one."""
    try:
        text = base64.b64decode(opaque.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != kind or not (number.isascii() and number.isdigit()) or len(number) > 19:
        return None
    row = int(number)
    return row if row <= _MAX_ROW_ID else None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def view_object(row: sqlite3.Row, spec: str | None = None) -> dict[str, Any]:
    """A view as W&B's GraphQL gives it; ``spec`` when the row was read without it."""
    return {
        "id": global_id("View", row["id"]), "name": row["name"],
        "displayName": row["display_name"], "type": row["type"],
        "description": row["description"], "spec": row["spec"] if spec is None else spec,
        "entityName": row["entity_name"], "projectName": row["project_name"],
        "createdUsing": row["created_using"], "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def run_object(row: sqlite3.Row, document: dict[str, Any], project: int, entity: str
                ) -> dict[str, Any]:
    """A stored run document as W&B's GraphQL ``Run``: config values wrapped as
    ``{"value": ..., "desc": null}``, config, summary and system metrics as JSON text, the
    entity as the user of a run stored without one (W&B's runs always have one, and its SDK
    reads it). Its other run keys stay on the object, so the local evaluator can order by
    them."""
    node = {key: value for key, value in document.items()
            if key not in ("config", "summary_metrics")}
    username = document.get("username") or entity
    node.update(
        id=global_id("Run", row["id"]),
        projectId=str(project),
        sweepName=document.get("sweep"),
        readOnly=False,
        user={"id": global_id("User", 0), "name": username, "username": username},
        config=json.dumps({key: {"value": value, "desc": None}
                           for key, value in document.get("config", {}).items()}),
        summaryMetrics=json.dumps(_summary(document)),
        systemMetrics="{}",
        historyLineCount=row["history_lines"],
    )
    return node


def _summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """A run's summary metrics as W&B's GraphQL gives them: holding the run's ``_step``, which
    runs-API filters read at the top of the run and W&B keeps in the summary."""
    summary = dict(document.get("summary_metrics", {}))
    if document.get("_step") is not None:
        summary.setdefault("_step", document["_step"])
    return summary
