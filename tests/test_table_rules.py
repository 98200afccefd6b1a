"""The rules the table targets pay once per query, not per row, when they are given the table's
rows (``run_table.learn``): a case-less ``state`` tested against the spellings the column holds
that pass, no NaN guard on a float column holding no NaN, an ``in`` list as one membership test.
Each shortcut is checked to be taken (the text it writes) and to select exactly the runs
``evaluate`` selects, on tables built to tempt it: states in several cases, NaN beside numbers,
a key holding values of several types."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import pytest

import wsquery
from wsquery.compilers import run_table

polars = pytest.importorskip("polars")
pandas = pytest.importorskip("pandas")
duckdb = pytest.importorskip("duckdb")

RUNS: list[dict[str, Any]] = [
    {"id": "r1", "state": "finished", "created_at": "2024-01-01T00:00:00Z",
     "config": {"lr": 0.1, "opt": "adam", "seed": 1}, "summary": {"acc": 0.5, "loss": 0.2}},
    {"id": "r2", "state": "Finished", "created_at": "2024-01-02T00:00:00Z",
     "config": {"lr": "high", "opt": "sgd", "seed": 2}, "summary": {"acc": math.nan, "loss": 0.4}},
    {"id": "r3", "state": "FINISHED", "created_at": "2024-01-03T00:00:00Z",
     "config": {"lr": True, "opt": "Adam", "seed": 3}, "summary": {"acc": 0.9, "loss": 0.6}},
    {"id": "r4", "state": "running", "created_at": "2024-01-04T00:00:00Z",
     "config": {"lr": 0.01, "seed": 1}, "summary": {"acc": None, "loss": 0.8}},
    {"id": "r5", "state": "Crashed", "created_at": "2024-01-05T00:00:00Z",
     "config": {"lr": None, "opt": "sgd", "seed": 2}, "summary": {"acc": 0.1, "loss": 1.0}},
    {"id": "r6", "created_at": "2024-01-06T00:00:00Z",
     "config": {"opt": "adam", "seed": 3}, "summary": {"acc": 0.7, "loss": 1.2}},
]

#: Queries that tempt each shortcut: the state in every comparison, under ``not``, in lists and
#: with no spelling passing; NaN under every comparison and ``not``; a mixed-type key.
STATE_QUERIES = [
    'state == "finished"', 'state != "finished"', 'not state == "finished"',
    'state in ["finished", "crashed"]', 'not state in ["finished", "crashed"]',
    'state in ["running", "killed"]', 'state == "preempted"', 'not state == "preempted"',
    'state == "FINISHED" or config.opt == "sgd"',
]
NAN_QUERIES = [
    "summary.acc >= 0.5", "summary.acc != 0.5", "not summary.acc < 0.5",
    "not summary.acc == 0.5", "summary.acc in [0.5, 0.9]", "not summary.acc in [0.5, 0.9]",
    "summary.loss <= 0.6", "not summary.loss > 0.6", "not summary.loss in [0.2, 0.4]",
]
MIXED_QUERIES = [
    "config.lr >= 0.05", 'config.lr in [0.1, "high"]', 'not config.lr == "high"',
    "config.lr == true", 'not config.lr in [0.01, "high", true]', "config.seed in [1, 3]",
    'config.opt in ["adam", "sgd"]', 'not config.opt in ["adam"]',
]
QUERIES = STATE_QUERIES + NAN_QUERIES + MIXED_QUERIES


def expected(query: str) -> list[str]:
    return [run["id"] for run in wsquery.evaluate(query, RUNS)]


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    arrow = wsquery.to_frame(RUNS, backend="arrow")
    connection = sqlite3.connect(":memory:")
    return {"arrow": arrow, "polars": polars.from_arrow(arrow),
            "pandas": wsquery.to_frame(RUNS, backend="pandas"),
            "sqlite": connection, "sqlite shape": wsquery.to_sqlite(RUNS, connection)}


@pytest.mark.parametrize("query", QUERIES)
def test_polars_given_the_frame_selects_what_evaluate_selects(query: str,
                                                               tables: dict[str, Any]) -> None:
    compiled = wsquery.compile(query, target="polars", columns=tables["polars"])
    assert compiled(tables["polars"])["id"].to_list() == expected(query)


@pytest.mark.parametrize("query", QUERIES)
def test_pandas_selects_what_evaluate_selects(query: str, tables: dict[str, Any]) -> None:
    compiled = wsquery.compile(query, target="pandas")
    assert list(compiled(tables["pandas"])["id"]) == expected(query)


@pytest.mark.parametrize("query", QUERIES)
def test_duckdb_given_the_table_selects_what_evaluate_selects(query: str,
                                                              tables: dict[str, Any]) -> None:
    compiled = wsquery.compile(query, target="sql", dialect="duckdb", columns=tables["arrow"])
    connection = duckdb.connect()
    connection.register("runs", tables["arrow"])
    rows = connection.sql(compiled.sql, params=compiled.parameters).to_arrow_table()
    assert rows.column("id").to_pylist() == expected(query)


@pytest.mark.parametrize("query", QUERIES)
def test_sqlite_given_its_shape_selects_what_evaluate_selects(query: str,
                                                              tables: dict[str, Any]) -> None:
    compiled = wsquery.compile(query, target="sql", dialect="sqlite",
                               columns=tables["sqlite shape"])
    cursor = tables["sqlite"].execute(compiled.sql, compiled.parameters)
    names = [column[0] for column in cursor.description]
    assert [row[names.index("id")] for row in cursor.fetchall()] == expected(query)


def test_a_state_is_tested_against_its_spellings_without_lowering_a_row(
        tables: dict[str, Any]) -> None:
    text = 'state == "finished"'
    polars_expr = str(wsquery.compile(text, target="polars", columns=tables["polars"]).expr)
    assert "to_lowercase" not in polars_expr and "is_in" in polars_expr
    duck = wsquery.compile(text, target="sql", dialect="duckdb", columns=tables["arrow"])
    assert "LOWER" not in duck.sql
    assert sorted(duck.parameters.values()) == ["FINISHED", "Finished", "finished"]
    # no spelling passes: FALSE on every state, null where there is none
    nope = wsquery.compile('state == "preempted"', target="sql", dialect="duckdb",
                           columns=tables["arrow"])
    assert "LOWER" not in nope.sql and not nope.parameters


def test_without_the_rows_a_state_is_lowered_row_by_row(tables: dict[str, Any]) -> None:
    """A schema says nothing of the spellings: the expression then fits any table."""
    schema = tables["polars"].schema
    compiled = wsquery.compile('state == "finished"', target="polars", columns=schema)
    assert "to_lowercase" in str(compiled.expr)
    assert compiled(tables["polars"])["id"].to_list() == expected('state == "finished"')


def test_a_state_of_more_spellings_than_kept_is_lowered_row_by_row() -> None:
    many = [{"id": f"r{i}", "state": "finished" if i % 2 else f"State{i}"}
            for i in range(2 * run_table.MAX_SPELLINGS + 4)]
    frame = wsquery.to_frame(many, backend="polars")
    compiled = wsquery.compile('state == "finished"', target="polars", columns=frame)
    assert "to_lowercase" in str(compiled.expr)
    assert compiled(frame)["id"].to_list() == [
        run["id"] for run in wsquery.evaluate('state == "finished"', many)]


def test_nan_guards_stay_where_the_column_holds_nan(tables: dict[str, Any]) -> None:
    frame = tables["polars"]
    guarded = str(wsquery.compile("summary.acc >= 0.5", target="polars", columns=frame).expr)
    unguarded = str(wsquery.compile("summary.loss >= 0.5", target="polars", columns=frame).expr)
    assert "is_not_nan" in guarded and "nan" not in unguarded
    shape = tables["sqlite shape"]
    assert "summary.acc" not in shape.rows_nan_free and "summary.loss" in shape.rows_nan_free
    lite = wsquery.compile("summary.loss >= 0.5", target="sql", dialect="sqlite",
                           columns=shape)
    assert "TYPEOF" not in lite.sql.upper()
    assert "TYPEOF" in wsquery.compile("summary.acc >= 0.5", target="sql", dialect="sqlite",
                                       columns=shape).sql.upper()


def test_an_in_list_on_one_column_is_one_membership_test(tables: dict[str, Any]) -> None:
    duck = wsquery.compile('config.opt in ["adam", "sgd"] and config.seed in [1, 3]',
                           target="sql", dialect="duckdb", columns=tables["arrow"])
    assert duck.sql.count(" IN (") == 2
    # a key of several types keeps a test per part
    mixed = wsquery.compile('config.lr in [0.1, "high"]', target="sql", dialect="duckdb",
                            columns=tables["arrow"])
    assert " IN (" not in mixed.sql


@pytest.mark.parametrize("order", ["order by config.opt", "order by config.opt desc",
                                   "order by config.seed desc", "order by summary.acc",
                                   "order by state desc", ""])
def test_polars_sorts_nulls_last_only_asking_where_a_sort_column_has_none(
        order: str, tables: dict[str, Any]) -> None:
    """A DataFrame whose sort columns hold no null is sorted without putting nulls last (the
    same rows in the same order); a column holding some, a computed key, or a LazyFrame still
    put them last."""
    query = f"config.seed >= 1 {order}"
    compiled = wsquery.compile(query, target="polars", columns=tables["polars"])
    assert compiled(tables["polars"])["id"].to_list() == expected(query)
    lazy = compiled(tables["polars"].lazy()).collect()
    assert lazy["id"].to_list() == expected(query)
