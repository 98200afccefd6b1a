"""One meaning on every target: the same runs in the same order (the query's total order, with
``limit``), every clause said or warned about (an error under ``strict``), a run table's missing
column read as a missing key, and no pattern handed to a backtracking engine that could hang it."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars
import pytest

import wsquery
from wsquery.ast import Query
from wsquery.errors import TargetError

CASES = Path(__file__).parent / "cases" / "language.json"
NOW = datetime(2024, 6, 1, tzinfo=UTC)

#: Two runs created at the same moment and one later: newest first, then by id.
RUNS = [
    {"id": "b", "name": "tie-b", "state": "finished", "created_at": "2024-01-01T00:00:00Z",
     "config": {"lr": 0.1}, "summary": {"acc": 0.5}},
    {"id": "a", "name": "tie-a", "state": "finished", "created_at": "2024-01-01T00:00:00Z",
     "config": {"lr": "high"}, "summary": {"acc": 0.5}},
    {"id": "c", "name": "new", "state": "crashed", "created_at": "2024-02-01T00:00:00Z",
     "config": {"lr": 0.01}, "summary": {"acc": 0.9}},
    {"id": "d", "name": "undated", "state": "finished", "config": {"lr": 0.3}},
]

ORDERED = {
    "": ["c", "a", "b", "d"],
    "limit 1": ["c"],
    "limit 2": ["c", "a"],
    'state == "finished" limit 1': ["a"],
    "order by summary.acc limit 2": ["a", "b"],
    "order by summary.acc desc": ["c", "a", "b", "d"],
    "order by state desc, name": ["a", "b", "d", "c"],
    "group by state limit 3": ["c", "a", "b"],
}


def ids(runs: Any) -> list[str]:
    return [run["id"] for run in runs]


def table_ids(text: str) -> dict[str, list[str]]:
    """The ids each table engine returns for ``text``, compiled with the table's columns."""
    query = wsquery.parse(text)
    found = {}
    arrow = wsquery.to_frame(RUNS, backend="arrow")
    connection = duckdb.connect()
    connection.register("runs", arrow)
    sql = wsquery.compile(query, target="sql", dialect="duckdb", columns=arrow)
    found["duckdb"] = [row[0] for row in connection.execute(
        f"SELECT id FROM ({sql.sql})", sql.parameters).fetchall()]
    lite = sqlite3.connect(":memory:")
    shape = wsquery.to_sqlite(RUNS, lite)
    sql = wsquery.compile(query, target="sql", dialect="sqlite", columns=shape)
    found["sqlite"] = [row[0] for row in lite.execute(
        f"SELECT id FROM ({sql.sql})", sql.parameters).fetchall()]
    frame = wsquery.to_frame(RUNS, backend="polars")
    found["polars"] = wsquery.compile(query, target="polars", columns=frame)(frame)[
        "id"].to_list()
    pandas_frame = wsquery.to_frame(RUNS, backend="pandas")
    found["pandas"] = list(wsquery.compile(query, target="pandas")(pandas_frame)["id"])
    return found


@pytest.mark.parametrize("text", sorted(ORDERED))
def test_every_engine_returns_the_runs_in_the_total_order(text: str) -> None:
    assert ids(wsquery.evaluate(text, RUNS)) == ORDERED[text]
    assert ids(wsquery.evaluate(text, list(reversed(RUNS)))) == ORDERED[text]
    for engine, found in table_ids(text).items():
        assert found == ORDERED[text], engine


def test_the_runs_api_asks_for_the_newest_first_without_order_by() -> None:
    assert wsquery.compile("limit 1", target="runs-api").to_json()["order"] == "-created_at"
    assert wsquery.compile("", target="mongo").to_json()["order"] == "-createdAt"


def test_sql_always_orders_what_it_limits() -> None:
    sql = wsquery.compile("limit 1", target="sql").sql
    assert sql == 'SELECT * FROM "runs" ORDER BY "created_at" DESC, "id" ASC LIMIT $p1'


# No silent drops -------------------------------------------------------------------------------

def clause_cases() -> list[str]:
    """The language cases that parse and hold a clause."""
    texts = []
    for case in json.loads(CASES.read_text("utf-8")):
        if "error" in case:
            continue
        query = wsquery.parse(case["query"])
        if query.group_by or query.order_by or query.limit is not None:
            texts.append(case["query"])
    return texts


def said(target: str, compiled: Any, query: Query) -> set[str]:
    """The clauses of ``query`` that ``compiled`` carries, read off what the target wrote."""
    data = compiled.to_json()
    found = set()
    match target:
        case "workspace":
            found |= {"group by"} if data.get("grouping") else set()
            found |= {"order by"} if len(data["sort"]["keys"]) == len(query.order_by) else set()
            found |= {"limit"} if compiled.max_runs == query.limit else set()
        case "runs-api":
            found |= {"order by"} if len(query.order_by) == 1 else set()
        case "mongo":
            found |= {"order by"} if len(data["sort"]) >= len(query.order_by) else set()
            found |= {"limit"} if data.get("limit") == query.limit else set()
        case "sql":
            found |= {"order by"} if "ORDER BY" in data["sql"] else set()
            found |= {"limit"} if " LIMIT " in data["sql"] else set()
        case "polars" | "pandas":
            found |= {"order by"} if len(data["order_by"]) >= len(query.order_by) else set()
            found |= {"limit"} if data["limit"] == query.limit else set()
    return found


def clauses(query: Query) -> set[str]:
    return ({"group by"} if query.group_by else set()) | (
        {"order by"} if query.order_by else set()) | (
        {"limit"} if query.limit is not None else set())


TARGETS = ["workspace", "runs-api", "mongo", "wandb-workspaces", "sql", "polars", "pandas"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_clause_is_said_warned_about_or_refused(target: str) -> None:
    cases = clause_cases()
    assert len(cases) >= 10
    options: dict[str, Any] = {"now": NOW} if target in ("runs-api", "mongo", "sql", "polars",
                                                         "pandas") else {}
    if target == "workspace":
        options["limit_as_max_runs"] = True
    outcomes = {"said": 0, "warned": 0, "refused": 0}
    for text in cases:
        query = wsquery.parse(text)
        try:
            compiled = wsquery.compile(text, target=target, **options)
        except TargetError:
            outcomes["refused"] += 1
            continue
        unsaid = clauses(query) - said(target, compiled, query)
        if not unsaid:
            outcomes["said"] += 1
            continue
        assert compiled.warnings, (target, text, unsaid)
        outcomes["warned"] += 1
        with pytest.raises(TargetError):
            wsquery.compile(text, target=target, strict=True, **options)
    assert sum(outcomes.values()) == len(cases)


def test_a_limit_the_runs_api_cannot_say_is_a_warning_and_strict_refuses_it() -> None:
    text = 'state == "finished" limit 5'
    compiled = wsquery.compile(text, target="runs-api", now=NOW)
    assert [warning.message for warning in compiled.warnings] == [
        "Api.runs has no limit: it returns every matching run, so limit 5 only sets its page "
        "size (per_page=5)"]
    assert compiled.warnings[0].span == (20, 27)
    with pytest.raises(TargetError, match="has no limit"):
        wsquery.compile(text, target="runs-api", now=NOW, strict=True)


def test_mongo_gives_a_collection_the_whole_order_and_the_limit() -> None:
    compiled = wsquery.compile('state == "finished" order by name limit 5', target="mongo",
                               now=NOW, strict=True)
    assert compiled.to_json() == {
        "filters": {"state": "finished"}, "order": "+displayName",
        "sort": [["displayName", 1], ["createdAt", -1], ["name", 1]], "limit": 5}
    with pytest.raises(TargetError, match="MongoDB sorts runs without it first"):
        wsquery.compile("order by summary.acc", target="mongo", now=NOW, strict=True)


# Engines' quirks: missing columns ------------------------------------------------------------

MIXED = [{"id": "a", "created_at": "2024-01-01T00:00:00Z", "config": {"lr": 0.1}},
         {"id": "b", "created_at": "2024-01-02T00:00:00Z", "config": {"lr": "high"}}]


def test_sqlite_without_columns_fails_loudly_on_a_column_it_lacks() -> None:
    """The table has ``config.lr:number`` and ``config.lr:string``; a query that assumes one
    ``config.lr`` column is an SQL error, not SQLite's reading of the name as a string."""
    connection = sqlite3.connect(":memory:")
    wsquery.to_sqlite(MIXED, connection)
    compiled = wsquery.compile("config.lr <= 0.5", target="sql", dialect="sqlite")
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        connection.execute(compiled.sql, compiled.parameters).fetchall()


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb"])
def test_with_the_tables_columns_every_dialect_reads_a_missing_key_as_missing(
        dialect: str) -> None:
    text = "config.lr <= 0.5 or summary.nothing is null"
    arrow = wsquery.to_frame(MIXED, backend="arrow")
    if dialect == "sqlite":
        connection: Any = sqlite3.connect(":memory:")
        columns: Any = wsquery.to_sqlite(MIXED, connection)
    else:
        connection = duckdb.connect()
        connection.register("runs", arrow)
        columns = arrow
    for query, expected in ((text, ["b", "a"]), ("summary.nothing > 1", []),
                            ("not summary.nothing > 1", [])):
        compiled = wsquery.compile(query, target="sql", dialect=dialect, columns=columns)
        rows = connection.execute(f"SELECT id FROM ({compiled.sql})",
                                  compiled.parameters).fetchall()
        assert [row[0] for row in rows] == expected == ids(wsquery.evaluate(query, MIXED))


@pytest.mark.parametrize("columns", ["sqlite", "arrow", "polars", "pandas", "schema"])
def test_columns_takes_every_table_shape_wsquery_makes(columns: str) -> None:
    made: Any
    if columns == "sqlite":
        made = wsquery.to_sqlite(MIXED, sqlite3.connect(":memory:"))
    elif columns == "schema":
        made = wsquery.to_frame(MIXED, backend="arrow").schema
    else:
        made = wsquery.to_frame(MIXED, backend=columns)
    compiled = wsquery.compile("config.lr <= 0.5", target="sql", dialect="duckdb", columns=made)
    assert '"config.lr:number"' in compiled.sql
    if columns == "polars":
        assert isinstance(made, polars.DataFrame)


def test_to_sqlite_is_a_public_name_in_a_fresh_import() -> None:
    import subprocess
    import sys

    code = ("import sqlite3, wsquery\n"
            "print(wsquery.to_sqlite([{'id': 'a'}], sqlite3.connect(':memory:')).known)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr


# Regex safety per engine -----------------------------------------------------------------------

HANGS = ["(.*a){12}x", "(a+)+$", "(a|ab)*c"]
ENGINES = [("sql", {"dialect": "spark"}, "Spark's Java regex engine"),
           ("mongo", {}, "MongoDB's PCRE")]


@pytest.mark.parametrize(("pattern", "target", "options", "engine"), [
    (pattern, *engine) for pattern in HANGS for engine in ENGINES] + [
    # a Unicode class, which Spark cannot say at all, is read as any character
    ("(\\pL+)+!", *ENGINES[1])])
def test_a_pattern_that_could_hang_a_backtracking_engine_is_refused(
        pattern: str, target: str, options: dict[str, Any], engine: str) -> None:
    with pytest.raises(TargetError) as refused:
        wsquery.compile(f'name =~ "{pattern.replace(chr(92), chr(92) * 2)}"', target=target,
                        now=NOW, **options)
    assert f"and {engine} backtracks" in refused.value.message
    assert refused.value.hint is not None and "linear time" in refused.value.hint


@pytest.mark.parametrize("pattern", HANGS)
@pytest.mark.parametrize(("target", "options"), [
    ("sql", {"dialect": "duckdb"}), ("polars", {}), ("pandas", {}), ("runs-api", {})])
def test_linear_engines_keep_such_patterns(pattern: str, target: str,
                                           options: dict[str, Any]) -> None:
    compiled = wsquery.compile(f'name =~ "{pattern}"', target=target, now=NOW, **options)
    assert compiled.warnings == ()


@pytest.mark.parametrize(("target", "options"), [("sql", {"dialect": "spark"}), ("mongo", {})])
def test_a_pattern_slow_on_long_text_is_a_warning_and_strict_refuses_it(
        target: str, options: dict[str, Any]) -> None:
    text = 'name =~ ".*a.*b"'
    compiled = wsquery.compile(text, target=target, now=NOW, **options)
    assert [warning.message.split(": ", 1)[1] for warning in compiled.warnings] == [
        compiled.warnings[0].message.split(": ", 1)[1]]
    assert "on text longer than 391 characters" in compiled.warnings[0].message
    with pytest.raises(TargetError, match="backtracks"):
        wsquery.compile(text, target=target, now=NOW, strict=True, **options)
    assert wsquery.compile('name =~ "^run-\\\\d+$"', target=target, now=NOW,
                           **options).warnings == ()
