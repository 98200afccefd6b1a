"""Query + runs -> the runs it selects, in its ``order by`` order: what every query means.

A filter is compiled once into a tree of closures (``compile_predicate``, ``semantics.predicates``)
that answers TRUE, FALSE or UNKNOWN (``True``/``False``/``None``) for a ``Record``; each run is
adapted once into a ``Record`` (``adapt``, ``semantics.records``) whatever shape it came in. A run
matches only when the filter is TRUE. The closures are the specification. ``evaluate`` selects
runs with one generated Python function instead (``compile_select_fast``,
``semantics.selector``): a loop that reads plain dicts where they stand (adapting a run costs
more than testing it), tests values with the closures' own value tests, and keeps exactly the
runs the closures hold TRUE, reading the order's keys from each plain dict it keeps while the
run is at hand. ``semantics.order`` sorts them, reading plain dicts where they stand.

Runs may come in three shapes:

1. **W&B GraphQL run JSON**, recognised by any of the keys ``displayName``, ``summaryMetrics``,
   ``createdAt``, ``jobType``, ``username``: ``name`` is the run id, ``displayName``, ``state``,
   ``tags``, ``createdAt`` (ISO-8601; naive means UTC), ``duration`` (seconds), ``group``,
   ``jobType``, ``username`` (or ``user: {"username": ...}``), ``host``, ``sweep`` (a string or
   ``{"name": ...}``; ``sweepName`` also works), ``config`` with every top-level value wrapped as
   ``{"value": ..., "desc": ...}``, and ``summaryMetrics``. ``config`` and ``summaryMetrics`` may
   be JSON strings. ``run.<key>`` reads any other key of the JSON itself.
2. **Plain dicts** in the language's own names: ``id``, ``name`` (the display name), ``state``,
   ``tags``, ``created_at`` (ISO-8601 string or ``datetime``), ``runtime`` (seconds), ``user``,
   ``sweep``, ``group``, ``job_type``, ``host``, ``step``, ``config`` and ``summary`` (or
   ``summary_metrics``) with plain values (dicts or JSON strings). ``run.<key>`` reads any other
   key of the dict.
3. **Objects** such as ``wandb.apis.public.Run``: the same plain names read as attributes
   (``.id``, ``.name``, ``.state``, ``.tags``, ``.created_at``, ``.config``, ``.summary``, ...);
   ``run.<key>`` reads any other attribute. A ``user`` object gives its ``.username``, a
   ``sweep`` object its ``.id``; a config or summary that is not a dict but has ``keys()`` and
   ``get()`` (wandb's summary object) is read through ``get()``, only for the keys asked.

In every shape the step is the run's own step when it has one, else the summary's ``_step``.
A key with dots (``config.optimizer.lr``) is first looked up as the flat key
``"optimizer.lr"``; when that is absent or null, the nested dicts are walked one segment at a
time. Whatever cannot be found is missing, which the filter treats exactly like null; a config
or summary that is malformed JSON (or not a mapping at all) is empty. ``group by`` does not
change which runs are returned, or their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from wsquery.ast import Expr, OrderKey, Query, total_order
from wsquery.errors import WsqueryError
from wsquery.semantics.order import ordered
from wsquery.semantics.predicates import (
    Filter,
    Truth,
    as_datetime,
    compile_predicate,
    field_value,
    getter,
    now_or_current,
)
from wsquery.semantics.records import Record, adapt, run_keys, safe_repr
from wsquery.semantics.selected import SelectedRuns
from wsquery.semantics.selector import (
    KeepingSelector,
    Kept,
    RunFilter,
    Selector,
    adapting,
    compile_select_fast,
    generated_selector,
)

#: ``evaluate`` and ``matches``, and the names of the modules it is made of that other modules
#: of wsquery have long imported from here.
__all__ = ["Filter", "Record", "Selector", "Truth", "adapt", "as_datetime", "compile_predicate",
           "compile_select_fast", "evaluate", "field_value", "getter", "matches", "run_keys",
           "safe_repr"]


def evaluate(query: Query, runs: Iterable[Any], *, now: datetime | None = None) -> list[Any]:
    """The runs (the very objects given) that ``query``'s filter holds TRUE for, in the query's
    total order (its ``order by`` keys, then newest first, then by id: ``ast.total_order``;
    runs tied on all of them keep the input order), the first ``limit`` of them: a list
    (``SelectedRuns``) that shows as a table in a notebook."""
    if isinstance(runs, Mapping) or not isinstance(runs, Iterable):
        raise WsqueryError(f"evaluate() takes an iterable of runs, not {type(runs).__name__}; "
                           "use matches() for a single run")
    keys = total_order(query)
    selected, read = _selector(query.filter, now, keys)(runs)
    if len(selected) > 1:
        order = ordered(selected, keys, read)[:query.limit]
        return SelectedRuns(map(selected.__getitem__, order), query)
    return SelectedRuns(selected[:query.limit], query)


def matches(query: Query, run: Any, *, now: datetime | None = None) -> bool:
    """Whether ``query``'s filter is TRUE for ``run`` (UNKNOWN is no match; no filter matches).
    For one run, writing a predicate's code costs more than adapting the run: the closures
    test it."""
    record = adapt(run)
    return query.filter is None or compile_predicate(query.filter, now)(record) is True


def _selector(expr: Expr | None, now: datetime | None,
              keys: tuple[OrderKey, ...]) -> KeepingSelector:
    """How ``evaluate`` selects runs: the generated selector when it takes ``expr`` (reading
    the order's keys from the runs it keeps), else the closures run by run; without a filter,
    every run (and what is not a run is refused)."""
    if expr is None:
        return _selecting(_any_run)
    moment = now_or_current(now)
    general = adapting(compile_predicate(expr, moment))
    return generated_selector(expr, moment, general, (key.field for key in keys)) or (
        _selecting(general))


def _selecting(test: RunFilter) -> KeepingSelector:
    """The runs ``test`` holds TRUE for, one call per run."""
    def select(runs: Iterable[Any]) -> Kept:
        return Kept([run for run in runs if test(run) is True], None)

    return select


def _any_run(run: Any) -> Truth:
    adapt(run)
    return True
