"""A run's history rows as W&B's SDK reads them (``run.history()``, ``run.scan_history()``):
sampled, ranged by step, read one row at a time within the answer's budget. Apart from the
other resolvers because history is the one field that can hold more than an answer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import closing
from typing import Any, TypeVar

from wsquery.apps.server import limits
from wsquery.apps.server.budget import NODE_OVERHEAD, Budget
from wsquery.apps.server.json_input import load_json
from wsquery.apps.server.objects import local_id
from wsquery.apps.server.schema import graphql_error
from wsquery.apps.server.store import Store, evenly_spaced

_Item = TypeVar("_Item")


class RunHistory:
    """A run's history rows (``ViewServer.add_runs``' ``history``), read on demand: the
    ``Run`` fields W&B's SDK reads for ``run.history()`` and ``run.scan_history()``. Rows come
    by ``_step``, each as logged."""

    def __init__(self, store: Store, run: int, budget: Budget) -> None:
        self._store = store
        self._run = run
        self._budget = budget

    @classmethod
    def attach(cls, node: dict[str, Any], store: Store, budget: Budget) -> dict[str, Any]:
        """``node`` with its history fields, resolved when a document selects them."""
        history = cls(store, local_id("Run", node["id"]) or 0, budget)
        node.update(history=history.history, sampledHistory=history.sampledHistory,
                    historyKeys=history.historyKeys, parquetHistory=history.parquetHistory)
        return node

    def _rows(self, min_step: int | None, max_step: int | None) -> Iterator[dict[str, Any]]:
        """The rows with ``min_step <= _step < max_step`` (a bound left out: none), by step,
        read one at a time."""
        with closing(self._store.connect()) as connection:
            for row in connection.execute(
                    "SELECT row FROM run_history WHERE run_id = ? AND step >= ? AND step < ? "
                    "ORDER BY step", (self._run, -2**63 if min_step is None else min_step,
                                      2**63 - 1 if max_step is None else max_step)):
                yield json.loads(row["row"])

    def _kept(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows, held only while the answer's budget could still carry them all: a run's
        history is read whole only where an answer could hold it."""
        kept: list[dict[str, Any]] = []
        length = 0
        for row in rows:
            length += len(json.dumps(row))
            if length > self._budget.left:
                del kept  # not kept alive by the error's frames
                raise Budget.refusal("this run's history")
            kept.append(row)
        return kept

    def _taken(self, answer: _Item) -> _Item:
        """``answer``, when the budget holds it."""
        if not self._budget.take(NODE_OVERHEAD + len(json.dumps(answer))):
            del answer  # not kept alive by the error's frames
            raise Budget.refusal("this run's history")
        return answer

    def history(self, info: object, minStep: int | None = None, maxStep: int | None = None,
                samples: int | None = None) -> list[str]:
        """The rows in the step range (``maxStep`` left out), ``samples`` of them at most,
        each as JSON text. The steps are sampled before any row is read."""
        with closing(self._store.connect()) as connection:
            steps = [int(row["step"]) for row in connection.execute(
                "SELECT step FROM run_history WHERE run_id = ? AND step >= ? AND step < ? "
                "ORDER BY step", (self._run, -2**63 if minStep is None else minStep,
                                  2**63 - 1 if maxStep is None else maxStep))]
            chosen = _sampled(steps, samples)
            texts = []
            for start in range(0, len(chosen), 500):  # SQLite's bound on parameters
                part = chosen[start:start + 500]
                texts += [str(row["row"]) for row in connection.execute(
                    f"SELECT row FROM run_history WHERE run_id = ? AND step IN "
                    f"({', '.join('?' * len(part))}) ORDER BY step", (self._run, *part))]
                if not self._budget.take(sum(map(len, texts[-len(part):]))):
                    del texts  # not kept alive by the error's frames
                    raise Budget.refusal("this run's history")
        return texts

    def sampledHistory(self, info: object, specs: list[str]) -> list[list[dict[str, Any]]]:
        """For each spec (``{"keys": [...], "samples": n}``, optionally ``minStep`` and
        ``maxStep``, both included: wandb-core asks for the pages 0-4, 5-9, ...), the rows
        holding every key, with only those keys, sampled."""
        answers = []
        for text in specs:
            keys, samples, min_step, max_step = _history_spec(text)
            rows = self._rows(min_step, None if max_step is None else max_step + 1)
            answers.append(_sampled(self._kept({key: row[key] for key in keys} for row in rows
                                               if all(key in row for key in keys)), samples))
        return self._taken(answers)

    def parquetHistory(self, info: object, liveKeys: list[str]) -> dict[str, Any]:
        """No Parquet files (nothing is exported here), and every row as live data, with only
        ``liveKeys``."""
        live = self._kept({key: row[key] for key in liveKeys if key in row}
                          for row in self._rows(None, None))
        return {"parquetUrls": [], "liveData": self._taken(live)}

    def historyKeys(self, info: object) -> dict[str, Any]:
        """The last step, and for each key how many rows hold a value of each JSON type."""
        counts: dict[str, dict[str, int]] = {}
        last_step = -1
        for row in self._rows(None, None):
            last_step = row["_step"]
            for key, value in row.items():
                kinds = counts.setdefault(key, {})
                kinds[_json_type(value)] = kinds.get(_json_type(value), 0) + 1
        return self._taken({
            "lastStep": last_step,
            "keys": {key: {"typeCounts": [{"type": kind, "count": count}
                                          for kind, count in kinds.items()]}
                     for key, kinds in counts.items()}})


def _json_type(value: Any) -> str:
    """The name W&B's history keys give a value's type."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "map" if isinstance(value, dict) else "list"


def _history_spec(text: str) -> tuple[list[str], int | None, int | None, int | None]:
    """A ``sampledHistory`` spec's keys, samples, minStep and maxStep, or BAD_USER_INPUT."""
    try:
        spec = load_json(text)
    except ValueError as error:
        raise graphql_error(f"a history spec is not JSON: {error}", "BAD_USER_INPUT") from None
    keys = spec.get("keys") if isinstance(spec, dict) else None
    if not (isinstance(keys, list) and keys and all(isinstance(key, str) for key in keys)):
        raise graphql_error('a history spec is an object with "keys", a list of key names',
                             "BAD_USER_INPUT")
    numbers = [spec.get(name) for name in ("samples", "minStep", "maxStep")]
    if not all(number is None or (isinstance(number, int) and not isinstance(number, bool))
               for number in numbers):
        raise graphql_error("a history spec's samples, minStep and maxStep are whole numbers",
                             "BAD_USER_INPUT")
    return keys, numbers[0], numbers[1], numbers[2]


def _sampled(rows: list[_Item], samples: int | None) -> list[_Item]:
    """At most ``samples`` (and ``MAX_HISTORY_SAMPLES``) of the rows, evenly spaced, the first
    and last kept; all of them when that many fit."""
    if samples is not None and samples < 0:
        raise graphql_error("samples must not be negative", "BAD_USER_INPUT")
    most = limits.MAX_HISTORY_SAMPLES
    return evenly_spaced(rows, most if samples is None else min(samples, most))
