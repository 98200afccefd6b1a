"""What one answer may carry (``MAX_RESPONSE_LENGTH`` of stored text) and how a list is cut
into pages within it: cursors, page sizes, W&B's connection shape. Apart because views, runs,
projects and history all page and charge the same budget."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from wsquery.apps.server import limits
from wsquery.apps.server.objects import local_id
from wsquery.apps.server.schema import graphql_error

if TYPE_CHECKING:
    from graphql import (
        GraphQLError,
    )

#: What a node costs in an answer besides its stored text: ids, dates, JSON punctuation.
NODE_OVERHEAD = 256


def view_length(row: sqlite3.Row) -> int:
    """The characters a view puts in an answer, bounded from its stored text."""
    return NODE_OVERHEAD + (row["spec_length"] or 0) + sum(
        len(str(row[column] or "")) for column in (
            "name", "display_name", "description", "type", "entity_name", "project_name"))


def run_length(node: Mapping[str, Any]) -> int:
    return NODE_OVERHEAD + len(json.dumps(node, default=str))


class Budget:
    """What is left of ``MAX_RESPONSE_LENGTH`` for one answer: each view or run put in it
    takes its length, so aliases and pages together cannot make an answer (and the memory
    behind it) larger. A refusal is raised where no row is held: an error keeps its frames
    alive until the answer is sent."""

    def __init__(self) -> None:
        self.left = limits.MAX_RESPONSE_LENGTH

    def take(self, length: int) -> bool:
        """Take ``length`` when it is left; whether it was."""
        if length > self.left:
            return False
        self.left -= length
        return True

    @staticmethod
    def refusal(what: str) -> GraphQLError:
        return graphql_error(
            f"{what} would make the answer longer than {limits.MAX_RESPONSE_LENGTH} characters: "
            "ask for fewer aliases or a smaller page", limits.RESPONSE_TOO_LARGE_CODE)


_Item = TypeVar("_Item")


def budgeted_page(items: Iterable[_Item], first: int | None, budget: Budget,
          length: Callable[[_Item], int]) -> tuple[list[_Item], bool]:
    """The first ``first`` items (at most ``MAX_PAGE_SIZE``; that many when not asked) that
    the budget holds, and whether more remain. A page ends early when the next item would
    pass the budget (clients go on with ``after``); an empty page with more to come is one
    whose first item fits no answer."""
    if first is not None and first < 0:
        raise graphql_error("first must not be negative", "BAD_USER_INPUT")
    size = limits.MAX_PAGE_SIZE if first is None else min(first, limits.MAX_PAGE_SIZE)
    page: list[_Item] = []
    for item in items:
        if len(page) == size or not budget.take(length(item)):
            return page, True
        page.append(item)
    return page, False


def page_start(after: str | None) -> int:
    """The row (or position) after which a page starts: 0 without a cursor."""
    if after is None:
        return 0
    start = local_id("Cursor", after)
    if start is None:
        raise graphql_error(f"invalid cursor {after[:100]!r}", "BAD_USER_INPUT")
    return start


def page_connection(total: int, edges: list[dict[str, Any]], more: bool, after: bool
                ) -> dict[str, Any]:
    """A page as W&B's connections give it."""
    return {
        "totalCount": total,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": after,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
