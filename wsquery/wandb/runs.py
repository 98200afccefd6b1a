"""A query and a W&B project -> the runs it selects, fetched over GraphQL with the runs-API
filters (``compilers.runs_api``) and checked with the evaluator, so the answer is the query's
whatever the server's meaning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from wsquery.ast import Expr, Field, Query, walk
from wsquery.compilers.runs_api import DEFAULT_PER_PAGE, NO_RUN, compile_runs_api
from wsquery.errors import WsqueryError
from wsquery.facts.attributes import ATTRIBUTES

if TYPE_CHECKING:
    from wsquery.wandb.graphql import GraphQLClient

#: How many of a project's newest runs stand for the keys it holds (the REPL's ``:project``,
#: ``Workspace.save(check_keys=True)``).
NEWEST_RUNS = 100


def runs(entity: str, project: str, query: str | Query, *, client: GraphQLClient | None = None,
         base_url: str | None = None, api_key: str | None = None, now: datetime | None = None,
         page_size: int = DEFAULT_PER_PAGE) -> list[dict[str, Any]]:
    """The runs of ``entity/project`` that ``query`` selects, in its order (newest first
    without ``order by``), at most its ``limit``: fetched over GraphQL with the runs-API
    filters, checked with ``evaluate`` (so a run the server adds where its meaning differs
    from the language's, such as a run without the key under ``!=`` or a list under ``==``,
    is left out) and sorted in the query's total order (``ast.total_order``). A query that
    reads a run key the fetched run JSON does not hold (``runtime``, ``host``, or a key that
    is no run attribute, such as ``run.commit``) takes the server's answer (and, ordered by
    it, its order) as it is.

    Each run is W&B run JSON as the GraphQL API gives it (``name`` is the id, ``config``
    values wrapped as ``{"value": ...}``), with ``config`` and ``summaryMetrics`` decoded.
    ``client`` (else one made from ``base_url`` and ``api_key``, as the wandb SDK would) talks
    to the server; ``now`` anchors ``within last``."""
    from wsquery.semantics.evaluate import evaluate
    from wsquery.semantics.predicates import compile_predicate
    from wsquery.syntax.parser import parse
    from wsquery.wandb.graphql import GraphQLClient
    from wsquery.wandb.settings import resolve_settings

    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise WsqueryError(f"page_size must be a positive whole number, not {page_size!r}")
    text = query if isinstance(query, str) else None
    parsed = parse(query) if isinstance(query, str) else query
    moment = datetime.now(UTC) if now is None else now
    compiled = compile_runs_api(parsed, text=text, now=moment)
    if compiled.filters == NO_RUN:  # the filter can never be true: nothing to ask
        return []
    if compiled.per_page is not None:
        page_size = min(page_size, compiled.per_page)
    test = (None if parsed.filter is None or _reads_unfetched(parsed.filter)
            else compile_predicate(parsed.filter, moment))
    # With one order key the server's order is the query's, so the first matches suffice.
    enough = parsed.limit if len(parsed.order_by) <= 1 else None
    own_client = client is None
    active = client if client is not None else GraphQLClient(resolve_settings(base_url, api_key))
    try:
        selected = list(_selected(active.iter_runs(entity, project, filters=compiled.filters,
                                                   order=compiled.order, page_size=page_size),
                                  test, enough))
    finally:
        if own_client:
            active.close()
    if any(_reads_unfetched(key.field) for key in parsed.order_by):
        return selected[:parsed.limit]  # only the server knows the values it sorted by
    return evaluate(attrs.evolve(parsed, filter=None), selected, now=moment)


#: The run keys W&B's run JSON holds, as ``graphql.RUN_FIELDS`` fetches it: those of the run
#: attributes with a GraphQL field. A filter may read others (``runtime``, ``host``, any key).
_FETCHED = frozenset({attribute.key for attribute in ATTRIBUTES if attribute.graphql is not None})


def _reads_unfetched(node: Expr | Field) -> bool:
    return any(type(part) is Field and part.section == "run" and part.key not in _FETCHED
               for part in walk(node))


def _selected(nodes: Iterator[dict[str, Any]], test: Any, enough: int | None
              ) -> Iterator[dict[str, Any]]:
    """The decoded runs ``test`` holds TRUE for, stopping after ``enough`` of them."""
    from wsquery.semantics.records import adapt

    count = 0
    for node in nodes:
        run = _decoded(node)
        if test is None or test(adapt(run)) is True:
            yield run
            count += 1
            if count == enough:
                return


def _decoded(node: dict[str, Any]) -> dict[str, Any]:
    run = dict(node)
    for key in ("config", "summaryMetrics"):
        if isinstance(run.get(key), str):
            try:
                run[key] = json.loads(run[key])
            except (ValueError, RecursionError):
                raise WsqueryError(f"the server sent run {run.get('name')!r} with {key} that "
                                   "is not JSON") from None
    return run
