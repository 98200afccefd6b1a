"""Time wsquery against W&B's wandb-workspaces, query text -> saved filterV2 JSON; print medians.

    python benchmarks/bench.py [--rounds N] [--quick]

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

Every timed string is distinct (the literals change every round), so no cache serves a repeat;
the cache is timed on its own. Figures are medians over rounds, ratios are medians of each
round's ratio; compare them with each other, not across machines.
"""

from __future__ import annotations

import argparse
import gc
import operator
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
SIZES = (1, 4, 10, 40, 400)
SCALING = (10, 100, 1000, 10_000)
#: Runs the evaluator filters, and the filter: four comparisons, all true for every run, so
#: each run costs four leaf evaluations.
EVALUATED_RUNS = 100_000
EVALUATED_QUERY = ("config.lr >= 0.0001 and summary.acc >= 0.0 and config.batch_size != 7 "
                   "and summary.loss <= 100")
EVALUATED_LEAVES = 4
#: The generated table filtered by the evaluator, by hand and by the vectorized targets
#: (``--quick``: a small one), its filter (TRUE for about one run in fourteen), and the same
#: filter written by hand for polars and DuckDB, without the NaN and type handling the targets
#: write (the table holds no NaN), as the floor of each engine.
TABLE_RUNS = 1_000_000
TABLE_QUICK_RUNS = 2_000
TABLE_QUERY = ("config.lr >= 0.008 and summary.acc >= 0.5 and config.batch_size != 64 "
               "and summary.loss <= 5")
TABLE_WHERE = ('"config.lr" >= 0.008 AND "summary.acc" >= 0.5 AND "config.batch_size" <> 64 '
               'AND "summary.loss" <= 5')
#: The language's order without ``order by``, in SQL by hand.
NEWEST_FIRST = 'ORDER BY "created_at" DESC, "id"'
_STATES = ("finished", "running", "crashed", "failed")
#: Characters of the query completion is timed on.
COMPLETED_LENGTH = 1000


def expressions(leaves: int, serial: int) -> tuple[str, str]:
    """Equivalent expressions of ``leaves`` leaves: and, with an or before every fifth leaf."""
    ours, theirs = "", ""
    for index in range(leaves):
        template, wandb_template = LEAVES[index % len(LEAVES)]
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


def compare_libraries(sizes: tuple[int, ...], rounds: int, budget: float) -> None:
    """Per size: median µs per string and per leaf of each library, and ratios per round."""
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
            ours, theirs = expressions(leaves, serial)
            if wsquery_filters(ours) != wandb_filters(theirs):
                raise SystemExit(f"the two libraries disagree on {ours!r}")
        times: dict[str, list[float]] = {name: [] for name in names}
        for round_number in range(rounds + 1):  # round 0 warms up and is not counted
            pairs = [expressions(leaves, serial + i) for i in range(per_batch)]
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
    """``count`` runs as plain dicts: ten learning rates, four batch sizes, accuracies and
    losses in cycles, the loss null in every tenth run, 336 creation days (so many ties)."""
    return [{"id": f"run{i}", "state": _STATES[i % 4],
             "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
             "config": {"lr": 0.001 * (1 + i % 10), "batch_size": 32 * (1 + i % 4)},
             "summary": {"acc": (i % 100) / 100, "loss": None if i % 10 == 0 else 1 + i % 7}}
            for i in range(count)]


def by_hand(run: dict[str, Any]) -> bool:
    """``TABLE_QUERY``'s filter in Python, written for these runs as one would filter them by
    hand: every key is there, and a null loss never matches."""
    config, summary = run["config"], run["summary"]
    loss = summary["loss"]
    return (config["lr"] >= 0.008 and summary["acc"] >= 0.5 and config["batch_size"] != 64
            and loss is not None and loss <= 5)


def newest_first(selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The language's order without ``order by`` for these runs, by hand: newest first, then
    by id."""
    selected.sort(key=operator.itemgetter("id"))
    selected.sort(key=operator.itemgetter("created_at"), reverse=True)
    return selected


def filter_table(count: int, rounds: int) -> None:
    """``count`` runs filtered by ``TABLE_QUERY``: ``wsquery.evaluate`` on the dicts, the
    filter by hand on the same dicts, and polars and DuckDB through wsquery's ``polars`` and
    ``sql`` targets on the same runs as a table (``wsquery.to_frame``), each in turn in every
    round. The evaluator gives the selected runs themselves, references without a copy; an
    engine gives either the selected rows as a new table (a copy of every column) or the
    selected runs' ids (the one column the result is compared by), each timed. Each ratio is
    the evaluator's time over the other's, a median of the rounds'."""
    runs = table_runs(count)
    query = wsquery.parse(TABLE_QUERY)
    contenders: dict[str, tuple[str, Callable[[], Any]]] = {
        "evaluate": ("the runs", lambda: wsquery.evaluate(query, runs)),
        "by hand": ("the runs", lambda: newest_first([run for run in runs if by_hand(run)]))}
    ids: dict[str, Callable[[Any], list[Any]]] = {
        "evaluate": lambda selected: [run["id"] for run in selected],
        "by hand": lambda selected: [run["id"] for run in selected]}
    absent = _table_targets(query, runs, contenders, ids)
    expected = ids["evaluate"](contenders["evaluate"][1]())
    for name, (_, selection) in contenders.items():
        if ids[name](selection()) != expected:
            raise SystemExit(f"{name} selects other runs than evaluate")
    print(f"{count:,} runs, {len(expected):,} selected by {TABLE_QUERY}")
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            contenders[name][1]()
            times[name].append(time.perf_counter() - start)
    print(f"{'':>24} {'gives':<28} {'median ms':>10} {'evaluate / it':>14}")
    for name in names:
        print(f"{name:>24} {contenders[name][0]:<28} "
              f"{statistics.median(times[name]) * 1e3:>10.1f} "
              f"{_ratio(times['evaluate'], times[name]):>14.2f}")
    for line in absent:
        print(line)


def _table_targets(query: Any, runs: list[dict[str, Any]],
                   contenders: dict[str, tuple[str, Callable[[], Any]]],
                   ids: dict[str, Callable[[Any], list[Any]]]) -> list[str]:
    """Adds polars and DuckDB to ``contenders`` where they are installed; says why not else.
    The targets are given the table's columns (``columns=``), as the README shows."""
    try:
        import duckdb
        import polars
        import pyarrow  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as error:
        return [f"polars and DuckDB not timed: {error.name} is not installed "
                "(pip install -e '.[polars,duckdb,sql]')"]
    start = time.perf_counter()
    table = wsquery.to_frame(runs, backend="arrow")
    print(f"the runs as a table (wsquery.to_frame): {time.perf_counter() - start:.1f} s, "
          "not counted below")
    frame = polars.from_arrow(table)  # what wsquery.to_frame(runs, backend="polars") gives
    selected = wsquery.compile(query, target="polars", columns=frame)
    column = polars.col
    floor = ((column("config.lr") >= 0.008) & (column("summary.acc") >= 0.5)
             & (column("config.batch_size") != 64) & (column("summary.loss") <= 5))
    rows, run_ids = "the rows (a DataFrame)", "the ids (a DataFrame)"
    contenders["polars"] = (rows, lambda: selected(frame))
    contenders["polars ids"] = (run_ids, lambda: selected(frame.lazy()).select("id").collect())
    newest = {"by": ["created_at", "id"], "descending": [True, False], "maintain_order": True}
    contenders["polars by hand"] = (rows, lambda: frame.filter(floor).sort(**newest))
    contenders["polars by hand, ids"] = (
        run_ids, lambda: frame.lazy().filter(floor).sort(**newest).select("id").collect())
    connection = duckdb.connect()
    connection.register("arrow_runs", table)
    connection.execute("CREATE TABLE runs AS SELECT * FROM arrow_runs")
    sql = wsquery.compile(query, target="sql", dialect="duckdb", columns=table)
    just_ids = f'SELECT "id" FROM ({sql.sql})'
    rows, run_ids = "the rows (an Arrow table)", "the ids (an Arrow table)"
    contenders["duckdb"] = (
        rows, lambda: connection.sql(sql.sql, params=sql.parameters).to_arrow_table())
    contenders["duckdb ids"] = (
        run_ids, lambda: connection.sql(just_ids, params=sql.parameters).to_arrow_table())
    contenders["duckdb by hand"] = (
        rows, lambda: connection.sql(f"SELECT * FROM runs WHERE {TABLE_WHERE} "
                                     f"{NEWEST_FIRST}").to_arrow_table())
    contenders["duckdb by hand, ids"] = (
        run_ids, lambda: connection.sql(f'SELECT "id" FROM runs WHERE {TABLE_WHERE} '
                                        f"{NEWEST_FIRST}").to_arrow_table())
    for name in ("polars", "polars ids", "polars by hand", "polars by hand, ids"):
        ids[name] = lambda selection: selection["id"].to_list()
    for name in ("duckdb", "duckdb ids", "duckdb by hand", "duckdb by hand, ids"):
        ids[name] = lambda selection: selection.column("id").to_pylist()
    return []


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
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    budget = 0.002 if args.quick else 0.02
    versions = f"wsquery {wsquery.__version__}"
    if wandb_expr is not None:
        versions += f", wandb-workspaces {metadata.version('wandb-workspaces')}"
    print(f"{versions}; Python {platform.python_version()} on {platform.machine()}")
    print(f"command: python {' '.join(sys.argv)}\n")
    if wandb_expr is None:
        print("wandb-workspaces is not installed, so wsquery is timed alone; for the comparison:\n"
              "    pip install -e '.[bench]'   (or: pip install 'wandb-workspaces==0.4.13')\n")
    gc.collect()
    print("Query text -> saved filterV2 JSON (distinct strings):")
    compare_libraries(SIZES[:3] if args.quick else SIZES, rounds, budget)
    print("\nScaling:")
    scaling(SCALING[:2] if args.quick else SCALING, rounds)
    print("\nCache:")
    cache(rounds)
    print("\nDecompile (run-set JSON -> Query):")
    decompile(rounds)
    print("\nEvaluator:")
    evaluator(1 if args.quick else max(3, rounds // 3))
    print("\nCompletion (every key press):")
    completion(rounds)
    print("\nFiltering a table:")
    filter_table(TABLE_QUICK_RUNS if args.quick else TABLE_RUNS, rounds if args.quick else 5)
    print("\nFresh interpreters:")
    fresh_processes(3 if args.quick else rounds)


if __name__ == "__main__":
    main()
