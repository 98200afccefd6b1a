"""Time wsquery against W&B's wandb-workspaces, query text -> saved filterV2 JSON, and its table
targets against each engine's own filter; print medians.

    python benchmarks/bench.py [--rounds N] [--quick] [--table-runs N] [--only SECTIONS]

With the ``bench`` extra installed (``pip install -e '.[bench]'``: wandb-workspaces 0.4.13, which
brings wandb, so best in a virtual environment of its own) every round times both libraries and
``ast.parse`` in turn, interleaved, on equivalent expressions; without it wsquery is timed
alone. What is timed:

- wsquery: ``wsquery.compile(text).to_json()["filters"]``.
- wandb-workspaces: ``expr.filters_tree_to_v2(expr.expr_to_filters(text))``, the very call its
  ``Workspace`` makes to save a run set's ``filters`` string (``workspaces/interface.py``):
  ``expr_to_filters`` rewrites ``within_last``, ``=`` and ``<``/``>``, runs ``ast.parse`` and
  builds a tree of pydantic ``Filters``; ``filters_tree_to_v2`` flattens it into the saved
  filterV2 dict. Both give the same JSON for the expressions below (checked before timing).
- ``ast.parse(text, mode="eval")`` on the wsquery text, which is also a Python expression:
  the floor for a parser written in Python.

Two mixes of leaves are compiled: ``LEAVES`` and ``LEAVES_LISTS`` (numbers, strings and
``in`` lists). Every timed string is distinct (the literals change every round), so no cache
serves a repeat; the cache is timed on its own.

The table section (``filter_table``) filters generated runs (a million by default) by three
mixes, through every table target and by hand in each engine, and the evaluator against a
Python predicate applying the language's rules; ``frame_building`` times ``to_frame`` against
``polars.json_normalize``. Figures are medians over rounds (the table's: a third of
``--rounds``, at least 3), ratios are medians of each round's ratio; compare them with each
other, not across machines.
"""

from __future__ import annotations

import argparse
import functools
import gc
import operator
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import wsquery  # noqa: E402
from wsquery.apps.assist import complete, fields_of  # noqa: E402
from wsquery.semantics import evaluate  # noqa: E402

try:
    from wandb_workspaces import expr as wandb_expr
except ImportError:
    wandb_expr = None

#: Leaves as (wsquery, wandb-workspaces) text; ``{n}`` changes per leaf and per string.
LEAVES = [
    ("config.lr >= 0.{n}", "Config('lr') >= 0.{n}"),
    ("summary.acc <= {n}.5", "SummaryMetric('acc') <= {n}.5"),
    ('state == "finished"', "Metric('State') == 'finished'"),
    ('config.optimizer in ["adam", "sgd{n}"]', "Config('optimizer') in ['adam', 'sgd{n}']"),
    ("config.batch_size != {n}", "Config('batch_size') != {n}"),
    ('config.model == "resnet{n}"', "Config('model') == 'resnet{n}'"),
    ('tags in ["best{n}"]', "Tags() in ['best{n}']"),
    ("summary.loss >= {n}", "SummaryMetric('loss') >= {n}"),
]
#: A second mix: numeric comparisons, string equality and ``in`` lists of numbers and strings.
LEAVES_LISTS = [
    ("config.lr <= 0.{n}", "Config('lr') <= 0.{n}"),
    ('config.dataset == "cifar{n}"', "Config('dataset') == 'cifar{n}'"),
    ("config.seed in [{n}, 7, 9]", "Config('seed') in [{n}, 7, 9]"),
    ("summary.epoch >= {n}", "SummaryMetric('epoch') >= {n}"),
    ('config.arch in ["vit", "rn{n}", "mlp"]', "Config('arch') in ['vit', 'rn{n}', 'mlp']"),
    ('config.activation != "relu{n}"', "Config('activation') != 'relu{n}'"),
    ("summary.f1 >= 0.{n}", "SummaryMetric('f1') >= 0.{n}"),
    ("config.layers in [{n}, 12]", "Config('layers') in [{n}, 12]"),
]
SIZES = (1, 4, 10, 40, 400)
SCALING = (10, 100, 1000, 10_000)
#: Runs the evaluator filters, and the filter: four comparisons, all true for every run, so
#: each run costs four leaf evaluations.
EVALUATED_RUNS = 100_000
EVALUATED_QUERY = ("config.lr >= 0.0001 and summary.acc >= 0.0 and config.batch_size != 7 "
                   "and summary.loss <= 100")
EVALUATED_LEAVES = 4
#: The generated table (``--table-runs``; ``--quick``: a small one) and its three filters:
#: numbers (TRUE for about one run in fourteen); state, tags and text; regexes and ``in``
#: lists. ``mixes`` writes each by hand too, in Python and in each engine.
TABLE_RUNS = 1_000_000
TABLE_QUICK_RUNS = 2_000
TABLE_QUERY = ("config.lr >= 0.008 and summary.acc >= 0.5 and config.batch_size != 64 "
               "and summary.loss <= 5")
TABLE_WHERE = ('"config.lr" >= 0.008 AND "summary.acc" >= 0.5 AND "config.batch_size" <> 64 '
               'AND "summary.loss" <= 5')
TEXT_QUERY = 'state == "finished" and tags in ["best", "baseline"] and name contains "7"'
REGEX_QUERY = ('name =~ "^run-[0-9]*3$" and config.optimizer in ["adam", "sgd"] '
               "and summary.loss in [1, 2, 3]")
_TAGS = ((), ("best",), ("baseline", "v2"), ("v2",), ("best", "v2"))
_OPTIMIZERS = ("adam", "sgd", "lion")
#: The language's order without ``order by``, in SQL by hand.
NEWEST_FIRST = 'ORDER BY "created_at" DESC, "id"'
_STATES = ("finished", "running", "crashed", "failed")
#: Characters of the query completion is timed on.
COMPLETED_LENGTH = 1000


def expressions(leaves: int, serial: int,
                mix: list[tuple[str, str]] = LEAVES) -> tuple[str, str]:
    """Equivalent expressions of ``leaves`` leaves of ``mix``: and, with an or before every
    fifth leaf."""
    ours, theirs = "", ""
    for index in range(leaves):
        template, wandb_template = mix[index % len(mix)]
        n = serial * leaves + index + 1
        joint = "" if index == 0 else " or " if index % 5 == 0 else " and "
        ours += joint + template.format(n=n)
        theirs += joint + wandb_template.format(n=n)
    return ours, theirs


def wsquery_filters(text: str) -> Any:
    return wsquery.compile(text).to_json()["filters"]


def wandb_filters(text: str) -> Any:
    return wandb_expr.filters_tree_to_v2(wandb_expr.expr_to_filters(text))


def python_parse(text: str) -> Any:
    import ast

    return ast.parse(text, mode="eval")


def batch_seconds(function: Callable[[str], Any], texts: list[str]) -> float:
    """Seconds per call of ``function`` over ``texts``."""
    start = time.perf_counter()
    for text in texts:
        function(text)
    return (time.perf_counter() - start) / len(texts)


def compare_libraries(sizes: tuple[int, ...], rounds: int, budget: float,
                      mix: list[tuple[str, str]] = LEAVES) -> None:
    """Per size: median µs per string and per leaf of each library on expressions of ``mix``,
    and ratios per round."""
    contenders: list[tuple[str, Callable[[str], Any], int]] = [("wsquery", wsquery_filters, 0)]
    if wandb_expr is not None:
        contenders.append(("wandb-workspaces", wandb_filters, 1))
    contenders.append(("ast.parse", python_parse, 0))
    names = [name for name, _, _ in contenders]
    header = f"{'leaves':>7} " + " ".join(f"{name + ' µs':>18} {'µs/leaf':>8}" for name in names)
    if wandb_expr is not None:
        header += f" {'wsquery/wandb':>14}"
    print(header + f" {'wsquery/ast.parse':>18}")
    serial = 0
    for leaves in sizes:
        per_batch = max(1, int(budget / (leaves * 25e-6)))  # about ``budget`` s of wsquery
        if wandb_expr is not None:
            ours, theirs = expressions(leaves, serial, mix)
            if wsquery_filters(ours) != wandb_filters(theirs):
                raise SystemExit(f"the two libraries disagree on {ours!r}")
        times: dict[str, list[float]] = {name: [] for name in names}
        for round_number in range(rounds + 1):  # round 0 warms up and is not counted
            pairs = [expressions(leaves, serial + i, mix) for i in range(per_batch)]
            serial += per_batch
            order = contenders[round_number % len(contenders):] + contenders[
                :round_number % len(contenders)]
            for name, function, which in order:
                texts = [pair[which] for pair in pairs]
                seconds = batch_seconds(function, texts)
                if round_number:
                    times[name].append(seconds)
        row = f"{leaves:>7} "
        for name in names:
            median = statistics.median(times[name])
            row += f" {median * 1e6:>17.1f} {median * 1e6 / leaves:>8.2f}"
        if wandb_expr is not None:
            row += f" {_ratio(times['wsquery'], times['wandb-workspaces']):>14.2f}"
        print(row + f" {_ratio(times['wsquery'], times['ast.parse']):>18.2f}")


def _ratio(ours: list[float], theirs: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def scaling(sizes: tuple[int, ...], rounds: int) -> None:
    """wsquery's µs per leaf as queries grow: flat when the cost grows linearly. Big queries
    keep many objects alive at once, which makes Python's garbage collector run longer (as it
    does for ``ast.parse``); with the collector paused, what is left is the work itself."""
    print(f"{'leaves':>7} {'wsquery µs/leaf':>16} {'(no gc)':>8} {'ast.parse µs/leaf':>18} "
          f"{'(no gc)':>8}")
    serial = 10_000_000
    for leaves in sizes:
        times: dict[tuple[str, bool], list[float]] = {}
        for _ in range(rounds):
            for collecting in (True, False):
                texts = [expressions(leaves, serial + i)[0] for i in range(max(3, 2000 // leaves))]
                serial += len(texts)
                if not collecting:
                    gc.disable()
                try:
                    for name, function in (("wsquery", wsquery_filters), ("ast", python_parse)):
                        times.setdefault((name, collecting), []).append(
                            batch_seconds(function, texts))
                finally:
                    gc.enable()
        columns = [(("wsquery", True), 16), (("wsquery", False), 8), (("ast", True), 18),
                   (("ast", False), 8)]
        print(f"{leaves:>7} " + " ".join(
            f"{statistics.median(times[column]) * 1e6 / leaves:>{width}.2f}"
            for column, width in columns))


def cache(rounds: int) -> None:
    """One string compiled again and again: from the cache after its second time (the cache
    is ``compilers.runset.compile_text``, which ``wsquery.compile`` serves text from)."""
    text = expressions(40, 99_999)[0]
    wsquery_filters(text)
    wsquery_filters(text)
    repeats = [batch_seconds(wsquery_filters, [text] * 200) for _ in range(rounds)]
    median = statistics.median(repeats)
    print(f"the same 40-leaf string again, wsquery.compile: {median * 1e6:.2f} µs")


def decompile(rounds: int) -> None:
    """Saved run-set JSON -> ``Query``, per size."""
    print(f"{'leaves':>7} {'decompile µs':>13} {'µs/leaf':>8}")
    for leaves in SIZES:
        runsets = [wsquery.compile(expressions(leaves, 20_000 + i)[0]).to_json()
                   for i in range(max(1, 400 // leaves))]
        seconds = [batch_seconds(wsquery.decompile, runsets) for _ in range(rounds)]
        median = statistics.median(seconds)
        print(f"{leaves:>7} {median * 1e6:>13.1f} {median * 1e6 / leaves:>8.2f}")


def evaluator(rounds: int) -> None:
    """Runs per second through a filter compiled once into closures (the specification) over
    adapted runs, and through ``wsquery.evaluate`` (its generated selector) over the dicts."""
    runs = [{"id": f"run{i}", "name": f"run-{i}", "state": "finished",
             "config": {"lr": 0.001 * (1 + i % 10), "batch_size": 32 + i % 4},
             "summary": {"acc": (i % 100) / 100, "loss": 1 + i % 7}}
            for i in range(EVALUATED_RUNS)]
    query = wsquery.parse(EVALUATED_QUERY)
    assert query.filter is not None
    records = [evaluate.adapt(run) for run in runs]
    predicate = evaluate.compile_predicate(query.filter)
    filtered, end_to_end = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        selected = sum(1 for record in records if predicate(record) is True)
        filtered.append(time.perf_counter() - start)
        start = time.perf_counter()
        wsquery.evaluate(query, runs)
        end_to_end.append(time.perf_counter() - start)
    assert selected == EVALUATED_RUNS
    rate = EVALUATED_RUNS / statistics.median(filtered)
    print(f"closures on adapted runs: {rate:,.0f} runs/s, {rate * EVALUATED_LEAVES:,.0f} leaf "
          f"evaluations/s ({EVALUATED_RUNS:,} runs, {EVALUATED_LEAVES} comparisons each)")
    print(f"wsquery.evaluate (its generated selector, on the dicts): "
          f"{EVALUATED_RUNS / statistics.median(end_to_end):,.0f} runs/s")


def completion(rounds: int) -> None:
    """``wsquery.complete`` as an editor calls it on every key press: a query of about 1,000
    characters with the cursor at its end, in its middle and in a half-typed key, offering
    the keys and values of 200 runs; beside it, parsing the same text once."""
    text = ""
    for leaves in range(1, 200):
        text = expressions(leaves, 30_000)[0]
        if len(text) >= COMPLETED_LENGTH:
            break
    runs = [{"id": f"run{i}", "state": "finished", "tags": [f"t{i % 7}"],
             "config": {f"key_{k}": (i * k) % 13 for k in range(40)},
             "summary": {"acc": i / 200, "loss": 1 + i % 7}} for i in range(200)]
    fields = fields_of(runs)
    cursors = {"at the end": (text + " and ", None),
               "in the middle": (text, len(text) // 2),
               "in a key": (text + " and config.key_1", None)}
    print(f"{len(text)} characters, {len(fields)} fields from {len(runs)} runs")
    parse_times = [batch_seconds(wsquery.parse, [text] * 20) for _ in range(rounds)]
    print(f"  wsquery.parse (for scale): {statistics.median(parse_times) * 1e6:.0f} µs")
    for name, (typed, cursor) in cursors.items():
        times, ratios = [], []
        for _ in range(rounds):
            seconds = batch_seconds(partial(complete, cursor=cursor, fields=fields), [typed] * 20)
            parsed = batch_seconds(wsquery.parse, [text] * 20)
            times.append(seconds)
            ratios.append(seconds / parsed)
        offered = len(complete(typed, cursor, fields=fields).items)
        print(f"  complete {name}: {statistics.median(times) * 1e6:.0f} µs "
              f"({offered} candidates), {statistics.median(ratios):.2f}x a parse")


def table_runs(count: int) -> list[dict[str, Any]]:
    """``count`` runs as plain dicts: four states, five sets of tags, three optimizers, ten
    learning rates, four batch sizes, accuracies and losses in cycles, the loss null in every
    tenth run, 336 creation days (so many ties)."""
    return [{"id": f"run{i}", "name": f"run-{i}", "state": _STATES[i % 4],
             "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
             "tags": list(_TAGS[i % len(_TAGS)]),
             "config": {"lr": 0.001 * (1 + i % 10), "batch_size": 32 * (1 + i % 4),
                        "optimizer": _OPTIMIZERS[i % 3]},
             "summary": {"acc": (i % 100) / 100, "loss": None if i % 10 == 0 else 1 + i % 7}}
            for i in range(count)]


def _number(value: Any) -> bool:
    """A number as the language reads one: an int or a float, not a bool, not NaN."""
    return type(value) in (int, float) and value == value


def _sections(run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config, summary = run.get("config"), run.get("summary")
    return (config if isinstance(config, dict) else {},
            summary if isinstance(summary, dict) else {})


def numbers_by_hand(run: dict[str, Any]) -> bool:
    """The numbers mix in Python with the language's rules: a missing key, a value that is not
    a number (a bool, a string) and NaN never match."""
    config, summary = _sections(run)
    lr, acc = config.get("lr"), summary.get("acc")
    batch, loss = config.get("batch_size"), summary.get("loss")
    return (_number(lr) and lr >= 0.008 and _number(acc) and acc >= 0.5
            and _number(batch) and batch != 64 and _number(loss) and loss <= 5)


def text_by_hand(run: dict[str, Any]) -> bool:
    """The state, tags and text mix in Python: a state compared without case, tags as a list
    holding one of the literals, a name that is text."""
    state, tags, name = run.get("state"), run.get("tags"), run.get("name")
    return (isinstance(state, str) and state.lower() == "finished"
            and isinstance(tags, list) and ("best" in tags or "baseline" in tags)
            and isinstance(name, str) and "7" in name)


_NAME_PATTERN = re.compile(r"^run-[0-9]*3$")


def regex_by_hand(run: dict[str, Any]) -> bool:
    """The regex and ``in`` mix in Python: text searched, strings and numbers by type."""
    config, summary = _sections(run)
    name, optimizer, loss = run.get("name"), config.get("optimizer"), summary.get("loss")
    return (isinstance(name, str) and _NAME_PATTERN.search(name) is not None
            and isinstance(optimizer, str) and optimizer in ("adam", "sgd")
            and _number(loss) and loss in (1, 2, 3))


@dataclass(frozen=True)
class Mix:
    """A query, and the same filter written by hand in Python and in each engine's own words
    for the generated runs (every state lower case, no NaN: what one writes knowing the data).
    ``sqlite`` is None where SQLite has no way to say it."""

    name: str
    query: str
    python: Callable[[dict[str, Any]], bool]
    polars: Callable[[], Any]
    pandas: Callable[[Any], Any]
    sql: str
    sqlite: str | None


def mixes() -> list[Mix]:
    import polars

    column = polars.col
    return [
        Mix("numbers", TABLE_QUERY, numbers_by_hand,
            lambda: ((column("config.lr") >= 0.008) & (column("summary.acc") >= 0.5)
                     & (column("config.batch_size") != 64) & (column("summary.loss") <= 5)),
            lambda frame: ((frame["config.lr"] >= 0.008) & (frame["summary.acc"] >= 0.5)
                           & (frame["config.batch_size"] != 64)
                           & (frame["summary.loss"] <= 5)),
            TABLE_WHERE, TABLE_WHERE),
        Mix("state, tags, text", TEXT_QUERY, text_by_hand,
            lambda: ((column("state") == "finished")
                     & (column("tags").list.contains("best")
                        | column("tags").list.contains("baseline"))
                     & column("name").str.contains("7", literal=True)),
            lambda frame: ((frame["state"] == "finished")
                           & frame["tags"].explode().isin(["best", "baseline"])
                           .groupby(level=0).any()
                           & frame["name"].str.contains("7", regex=False)),
            """"state" = 'finished' AND (list_contains("tags", 'best')
               OR list_contains("tags", 'baseline')) AND contains("name", '7')""",
            """"state" = 'finished' AND EXISTS (SELECT 1 FROM json_each("runs"."tags")
               WHERE value IN ('best', 'baseline')) AND instr("name", '7') > 0"""),
        Mix("regexes, in lists", REGEX_QUERY, regex_by_hand,
            lambda: (column("name").str.contains(_NAME_PATTERN.pattern)
                     & column("config.optimizer").is_in(["adam", "sgd"])
                     & column("summary.loss").is_in([1, 2, 3])),
            lambda frame: (frame["name"].str.contains(_NAME_PATTERN.pattern, regex=True)
                           & frame["config.optimizer"].isin(["adam", "sgd"])
                           & frame["summary.loss"].isin([1, 2, 3])),
            f"""regexp_matches("name", '{_NAME_PATTERN.pattern}')
               AND "config.optimizer" IN ('adam', 'sgd') AND "summary.loss" IN (1, 2, 3)""",
            None),
    ]


def newest_first(selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The language's order without ``order by`` for these runs, by hand: newest first, then
    by id."""
    selected.sort(key=operator.itemgetter("id"))
    selected.sort(key=operator.itemgetter("created_at"), reverse=True)
    return selected


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def peak_mb(function: Callable[[], Any]) -> float | None:
    """How far the process's resident memory peaked above where it stood, in MB, over one call
    of ``function`` (its result kept until the end): Linux's peak (``VmHWM``) reset through
    ``/proc/self/clear_refs``, so native allocations (polars, Arrow, DuckDB) count as Python's
    do. None where the kernel offers no such reset."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        before = _status_kib("VmRSS")
    except OSError:
        return None
    result = function()
    peak = _status_kib("VmHWM")
    del result
    return max(0, peak - before) / 1024


@dataclass
class Selection:
    """One way to select a mix's runs: what it gives, how to call it, how to read the ids of
    what it gave (to check every path selects the same runs in the same order)."""

    call: Callable[[], Any]
    ids: Callable[[Any], list[Any]]
    times: list[float] = field(default_factory=list)
    peak: float | None = None


def filter_table(count: int, rounds: int) -> None:
    """``count`` runs filtered by each mix: ``wsquery.evaluate`` on the dicts against a Python
    predicate applying the language's rules, and each engine through wsquery's target (polars,
    pandas, DuckDB and SQLite through ``sql``) against the same filter written by hand in that
    engine (with the same sort: newest first, then by id), every path on the same runs and
    each giving the selected rows (the evaluator: the runs themselves). Every path is checked to
    give the same runs in the same order before timing; each round times every path once
    (``_rounds`` says in which order). Peak memory is the resident set's rise over one more
    call (``peak_mb``)."""
    runs = table_runs(count)
    engines = _engines(runs)
    if isinstance(engines, str):
        print(engines)
        return
    print(f"{count:,} runs; times are medians of {2 * rounds} calls over {rounds} rounds; "
          "peak MB: the resident set's rise over one call (Linux VmHWM, reset per call), "
          "natively allocated memory included")
    for mix in mixes():
        paths = _paths(mix, runs, engines)
        expected = paths["python", "wsquery"].ids(paths["python", "wsquery"].call())
        for (engine, how), path in paths.items():
            if path.ids(path.call()) != expected:
                raise SystemExit(f"{mix.name}: {engine} {how} selects other runs than evaluate")
        for path in _rounds(paths, rounds):
            start = time.perf_counter()
            path.call()
            path.times.append(time.perf_counter() - start)
        for path in paths.values():
            path.peak = peak_mb(path.call)
        print(f"\n{mix.name}: {mix.query}  ({len(expected):,} selected)")
        print(f"{'engine':>8} {'wsquery ms':>11} {'by hand ms':>11} {'ratio':>6} "
              f"{'wsquery MB':>11} {'by hand MB':>11}")
        for engine in ("polars", "pandas", "duckdb", "sqlite", "python"):
            if (engine, "wsquery") not in paths:
                print(f"{engine:>8}  not timed: SQLite has no regular expressions")
                continue
            ours, theirs = paths[engine, "wsquery"], paths[engine, "by hand"]
            print(f"{engine:>8} {statistics.median(ours.times) * 1e3:>11.1f} "
                  f"{statistics.median(theirs.times) * 1e3:>11.1f} "
                  f"{_ratio(ours.times, theirs.times):>6.2f} {_megabytes(ours.peak):>11} "
                  f"{_megabytes(theirs.peak):>11}")
        evaluated, predicate = paths["python", "wsquery"].times, paths["python", "by hand"].times
        print("   evaluate / wsquery on polars: "
              f"{_ratio(evaluated, paths['polars', 'wsquery'].times):.1f}x, on DuckDB: "
              f"{_ratio(evaluated, paths['duckdb', 'wsquery'].times):.1f}x; the Python "
              "predicate / the hand-written filter on polars: "
              f"{_ratio(predicate, paths['polars', 'by hand'].times):.1f}x, on DuckDB: "
              f"{_ratio(predicate, paths['duckdb', 'by hand'].times):.1f}x")


def _rounds(paths: dict[tuple[str, str], Selection], rounds: int) -> list[Selection]:
    """The order to time ``paths`` in: each round takes the engines in a rotated order, and
    each engine's two paths as wsquery, by hand, by hand, wsquery, so that each is timed as
    often first as second (the first after another engine, whose work leaves the caches cold;
    the second after its twin, which leaves them warm), and each round's ratios pair one of
    each."""
    engines = list(dict.fromkeys(engine for engine, _ in paths))
    order = []
    for round_number in range(rounds):
        shift = round_number % len(engines)
        for engine in engines[shift:] + engines[:shift]:
            ours, theirs = paths[engine, "wsquery"], paths[engine, "by hand"]
            order += [ours, theirs, theirs, ours]
    return order


def _megabytes(peak: float | None) -> str:
    return "n/a" if peak is None else f"{peak:.1f}"


@dataclass(frozen=True)
class Engines:
    """The generated runs in each engine: a polars and a pandas DataFrame (``to_frame``), a
    DuckDB table and an SQLite table (``to_sqlite``), and the Arrow table they came from."""

    arrow: Any
    polars: Any
    pandas: Any
    duckdb: Any
    sqlite: Any


def _engines(runs: list[dict[str, Any]]) -> Engines | str:
    """The runs in every engine, or why the engines are not timed."""
    try:
        import duckdb
        import pandas
        import polars
        import sqlglot  # noqa: F401
    except ImportError as error:
        return (f"the table targets not timed: {error.name} is not installed "
                "(pip install -e '.[polars,pandas,duckdb,sql]')")
    table = wsquery.to_frame(runs, backend="arrow")
    connection = duckdb.connect()
    connection.register("arrow_runs", table)
    connection.execute("CREATE TABLE runs AS SELECT * FROM arrow_runs")
    connection.unregister("arrow_runs")
    lite = sqlite3.connect(":memory:")
    wsquery.to_sqlite(runs, lite)
    return Engines(table, polars.from_arrow(table),
                   table.to_pandas(types_mapper=pandas.ArrowDtype), connection, lite)


def _paths(mix: Mix, runs: list[dict[str, Any]], engines: Engines
           ) -> dict[tuple[str, str], Selection]:
    """Every way to select ``mix``'s runs, by (engine, "wsquery" or "by hand")."""
    query = wsquery.parse(mix.query)
    frame, pandas_frame = engines.polars, engines.pandas
    polars_query = wsquery.compile(query, target="polars", columns=frame)
    polars_floor = mix.polars()
    pandas_query = wsquery.compile(query, target="pandas")
    duckdb_query = wsquery.compile(query, target="sql", dialect="duckdb", columns=engines.arrow)
    duckdb_sql = f"SELECT * FROM runs WHERE {mix.sql} {NEWEST_FIRST}"
    from_polars = _column_of("polars")
    from_arrow = _column_of("arrow")
    from_pandas = _column_of("pandas")
    paths = {
        ("polars", "wsquery"): Selection(lambda: polars_query(frame), from_polars),
        ("polars", "by hand"): Selection(lambda: frame.filter(polars_floor).sort(
            ["created_at", "id"], descending=[True, False], maintain_order=True), from_polars),
        ("pandas", "wsquery"): Selection(lambda: pandas_query(pandas_frame), from_pandas),
        ("pandas", "by hand"): Selection(lambda: pandas_frame[mix.pandas(pandas_frame)].sort_values(
            ["created_at", "id"], ascending=[False, True], kind="stable"), from_pandas),
        ("duckdb", "wsquery"): Selection(lambda: engines.duckdb.sql(
            duckdb_query.sql, params=duckdb_query.parameters).to_arrow_table(), from_arrow),
        ("duckdb", "by hand"): Selection(
            lambda: engines.duckdb.sql(duckdb_sql).to_arrow_table(), from_arrow),
    }
    if mix.sqlite is not None:
        lite = engines.sqlite
        sqlite_query = wsquery.compile(query, target="sql", dialect="sqlite",
                                       columns=engines.arrow)
        sqlite_sql = f"SELECT * FROM runs WHERE {mix.sqlite} {NEWEST_FIRST}"
        id_index = [column[0] for column in lite.execute(
            "SELECT * FROM runs LIMIT 0").description].index("id")
        from_rows = functools.partial(_ids_of_rows, id_index)
        paths["sqlite", "wsquery"] = Selection(lambda: lite.execute(
            sqlite_query.sql, sqlite_query.parameters).fetchall(), from_rows)
        paths["sqlite", "by hand"] = Selection(lambda: lite.execute(sqlite_sql).fetchall(),
                                           from_rows)
    from_runs = _column_of("runs")
    paths["python", "wsquery"] = Selection(lambda: wsquery.evaluate(query, runs), from_runs)
    paths["python", "by hand"] = Selection(
        lambda: newest_first([run for run in runs if mix.python(run)]), from_runs)
    return paths


def _ids_of_rows(index: int, rows: list[tuple[Any, ...]]) -> list[Any]:
    return [row[index] for row in rows]


def _column_of(kind: str) -> Callable[[Any], list[Any]]:
    """How to read the ids of what a path of ``kind`` gives."""
    match kind:
        case "polars":
            return lambda selected: selected["id"].to_list()
        case "pandas":
            return lambda selected: selected["id"].tolist()
        case "arrow":
            return lambda selected: selected.column("id").to_pylist()
        case _:
            return lambda selected: [run["id"] for run in selected]


def frame_building(count: int, rounds: int) -> None:
    """``wsquery.to_frame`` of ``count`` runs (polars) against ``polars.json_normalize`` of the
    same dicts, which flattens the config and summary dicts into dotted columns as ``to_frame``
    does but without its rules (a key's values of several types split into typed columns, the
    time parsed, lists typed by their elements): medians of ``rounds``, and peak memory."""
    try:
        import polars
    except ImportError:
        print("not timed: polars is not installed")
        return
    runs = table_runs(count)
    contenders: dict[str, Callable[[], Any]] = {
        "wsquery.to_frame": lambda: wsquery.to_frame(runs, backend="polars"),
        "polars.json_normalize": lambda: polars.json_normalize(runs)}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_number in range(rounds):
        names = list(contenders)[round_number % 2:] + list(contenders)[:round_number % 2]
        for name in names:
            start = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - start)
    print(f"{count:,} runs, medians of {rounds} rounds")
    for name, build in contenders.items():
        print(f"{name:>22}: {statistics.median(times[name]):.2f} s, peak "
              f"{_megabytes(peak_mb(build))} MB")
    print(f"{'to_frame / json_normalize':>22}: "
          f"{_ratio(times['wsquery.to_frame'], times['polars.json_normalize']):.2f}")


def fresh_processes(rounds: int) -> None:
    """Import time, a first query after it (wsquery imports its parts when first used) and a
    whole ``wsquery compile`` process, in fresh interpreters with their
    bytecode cached (in a private directory), minus an interpreter that does nothing."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=tempfile.mkdtemp(prefix="wsquery-bench-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    query = expressions(10, 0)[0]
    commands = {
        "python -c pass": ["-c", "pass"],
        "import wsquery": ["-c", "import wsquery"],
        "import wsquery, compile 1 query": ["-c", "import wsquery; wsquery.compile('step > 1')"],
        "wsquery compile (10 leaves)": ["-m", "wsquery", "compile", query],
    }
    if wandb_expr is not None:
        commands["import wandb_workspaces.expr"] = ["-c", "import wandb_workspaces.expr"]

    def seconds(arguments: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, *arguments], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    for arguments in commands.values():  # write the bytecode caches
        seconds(arguments)
    medians = {name: statistics.median(seconds(arguments) for _ in range(rounds))
               for name, arguments in commands.items()}
    bare = medians.pop("python -c pass")
    print(f"python -c pass: {bare * 1e3:.1f} ms; beyond that:")
    for name, median in medians.items():
        print(f"  {name}: {(median - bare) * 1e3:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per figure")
    parser.add_argument("--quick", action="store_true", help="few rounds, small sizes: a smoke run")
    parser.add_argument("--table-runs", type=int, default=None, metavar="N",
                        help=f"runs in the generated table (default {TABLE_RUNS:,}; "
                             f"--quick: {TABLE_QUICK_RUNS:,})")
    parser.add_argument("--only", default=None, metavar="SECTIONS",
                        help="run only these sections, comma-separated: " + ", ".join(SECTIONS))
    args = parser.parse_args()
    only = SECTIONS if args.only is None else args.only.split(",")
    unknown = [name for name in only if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {', '.join(unknown)}; sections are "
                     + ", ".join(SECTIONS))
    rounds = 3 if args.quick else args.rounds
    budget = 0.002 if args.quick else 0.02
    table_size = args.table_runs or (TABLE_QUICK_RUNS if args.quick else TABLE_RUNS)
    table_rounds = rounds if args.quick else max(3, rounds // 3)
    versions = f"wsquery {wsquery.__version__}"
    if wandb_expr is not None:
        versions += f", wandb-workspaces {metadata.version('wandb-workspaces')}"
    print(f"{versions}; Python {platform.python_version()} on {platform.machine()}")
    print(f"command: python {' '.join(sys.argv)}\n")
    if wandb_expr is None:
        print("wandb-workspaces is not installed, so wsquery is timed alone; for the comparison:\n"
              "    pip install -e '.[bench]'   (or: pip install 'wandb-workspaces==0.4.13')\n")
    gc.collect()
    sizes = SIZES[:3] if args.quick else SIZES
    sections: dict[str, tuple[str, Callable[[], None]]] = {
        "compile": ("Query text -> saved filterV2 JSON (distinct strings):",
                    lambda: compare_libraries(sizes, rounds, budget)),
        "compile-lists": ("Query text -> saved filterV2 JSON, numbers, strings and in lists "
                          "(distinct strings):",
                          lambda: compare_libraries(sizes, rounds, budget, LEAVES_LISTS)),
        "scaling": ("Scaling:", lambda: scaling(SCALING[:2] if args.quick else SCALING, rounds)),
        "cache": ("Cache:", lambda: cache(rounds)),
        "decompile": ("Decompile (run-set JSON -> Query):", lambda: decompile(rounds)),
        "evaluator": ("Evaluator:",
                      lambda: evaluator(1 if args.quick else max(3, rounds // 3))),
        "completion": ("Completion (every key press):", lambda: completion(rounds)),
        "table": ("Filtering a table:", lambda: filter_table(table_size, table_rounds)),
        "to-frame": ("Building a table (to_frame):",
                     lambda: frame_building(table_size, min(3, table_rounds))),
        "processes": ("Fresh interpreters:",
                      lambda: fresh_processes(3 if args.quick else rounds)),
    }
    assert tuple(sections) == SECTIONS
    for number, name in enumerate(only):
        heading, run = sections[name]
        print(("\n" if number else "") + heading)
        run()


#: The sections, in the order they run.
SECTIONS = ("compile", "compile-lists", "scaling", "cache", "decompile", "evaluator",
            "completion", "table", "to-frame", "processes")


if __name__ == "__main__":
    main()
