"""The sql target on real engines: DuckDB and SQLite in-process select exactly the rows
``evaluate`` selects, in its order, over generated runs (missing keys, nulls, NaN, mixed types,
lists); every dialect renders; literals are bound, never in the text; what a dialect cannot
say is a ``TargetError`` naming the dialects that can."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery.ast import Field, Match, OrderKey, Query, walk
from wsquery.compilers.run_columns import to_frame
from wsquery.compilers.sql import DIALECTS, SqlQuery, compile_sql, to_sqlite
from wsquery.errors import TargetError
from wsquery.semantics.evaluate import field_value

from . import strategies

NOW = datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
#: The column the tests add to a table to hold each run's place in ``evaluate``'s input.
ROW = "row"

#: Order keys a table can sort by (``tags`` is a list: see the refusal below).
ORDER_KEYS = st.builds(OrderKey, st.sampled_from(
    [field for field in strategies.ALL_FIELDS if field != strategies.TAGS]
    + [strategies.CREATED_AT, Field("run", ("duration",))]), st.booleans())
#: Whole queries over a run table: a filter, order keys and a limit.
TABLE_QUERIES = st.builds(
    Query, st.none() | strategies.expressions(max_leaves=8),
    st.just(()), st.lists(ORDER_KEYS, max_size=2).map(tuple),
    st.none() | st.integers(1, 4))
RUNS = st.lists(strategies.runs, max_size=8)


def has_regex(query: Query) -> bool:
    return any(isinstance(node, Match) for node in walk(query))


def sorts_lists(query: Query, runs: list[dict[str, Any]]) -> bool:
    """Whether an order key of ``query`` holds only lists (or nothing) in ``runs``, which a
    table cannot sort as ``evaluate`` does (by their Python text): the one refusal."""
    for key in query.order_by:
        values = [field_value(run, key.field) for run in runs]
        present = [value for value in values if value is not None]
        if present and all(isinstance(value, list) for value in present):
            return True
    return False


def expected_rows(query: Query, runs: list[dict[str, Any]]) -> list[int]:
    """The places of the runs ``evaluate`` selects, in its order."""
    places = {id(run): place for place, run in enumerate(runs)}
    return [places[id(run)] for run in wsquery.evaluate(query, runs, now=NOW)]


def arrow_table(runs: list[dict[str, Any]]) -> Any:
    table = to_frame(runs, backend="arrow")
    return table.append_column(ROW, pyarrow.array(range(len(runs)), pyarrow.int64()))


def duckdb_rows(query: Query, runs: list[dict[str, Any]]) -> list[int]:
    table = arrow_table(runs)
    compiled = compile_sql(query, dialect="duckdb", columns=table, tiebreak=ROW, now=NOW)
    connection = duckdb.connect()
    connection.register("runs", table)
    cursor = connection.execute(compiled.sql, compiled.parameters)
    names = [column[0] for column in cursor.description]
    return [row[names.index(ROW)] for row in cursor.fetchall()]


def sqlite_rows(query: Query, runs: list[dict[str, Any]]) -> list[int]:
    connection = sqlite3.connect(":memory:")
    shape = to_sqlite(runs, connection)
    connection.execute(f'ALTER TABLE runs ADD COLUMN "{ROW}"')
    connection.execute(f'UPDATE runs SET "{ROW}" = rowid - 1')
    columns = {name: part for parts in shape.parts.values() for part, name in parts.items()}
    compiled = compile_sql(query, dialect="sqlite", columns=columns, tiebreak=ROW, now=NOW)
    cursor = connection.execute(compiled.sql, compiled.parameters)
    names = [column[0] for column in cursor.description]
    return [row[names.index(ROW)] for row in cursor.fetchall()]


@PROPERTY
@given(TABLE_QUERIES, RUNS)
def test_duckdb_selects_what_evaluate_selects_in_order(query: Query,
                                                       runs: list[dict[str, Any]]) -> None:
    if sorts_lists(query, runs):
        with pytest.raises(TargetError, match="its values are lists"):
            duckdb_rows(query, runs)
        return
    assert duckdb_rows(query, runs) == expected_rows(query, runs), str(query)


@PROPERTY
@given(TABLE_QUERIES.filter(lambda query: not has_regex(query)), RUNS)
def test_sqlite_selects_what_evaluate_selects_in_order(query: Query,
                                                       runs: list[dict[str, Any]]) -> None:
    if sorts_lists(query, runs):
        with pytest.raises(TargetError, match="its values are lists"):
            sqlite_rows(query, runs)
        return
    assert sqlite_rows(query, runs) == expected_rows(query, runs), str(query)


CASES = [
    'config.lr > 0.05 order by config.lr desc',
    'state == "FINISHED"',
    'tags == "best" and tags != "wip"',
    'tags in ["a", "b"]',
    'config.opt contains "da"',
    'config.m contains 1',
    'name =~ "^run-\\\\d"',
    'summary.acc is null',
    'summary.acc is not null order by summary.acc',
    'config.opt.beta == 2',
    'created_at within last 2d order by created_at desc',
    'runtime > 1m and runtime <= 2h',
    'created_at >= "2024-01-01" limit 2',
    'not (config.lr < 0.1 or config.opt == "adam")',
    'summary.acc >= 0.5 or summary.acc != 0.5',
    'not summary.acc in [0.5, 1]',
    'config.flag == true',
    'order by name desc limit 3',
]
#: Runs with every kind of value the cases read.
MIXED_RUNS: list[dict[str, Any]] = [
    {"id": "a", "name": "run-1", "state": "Finished", "tags": ["best", "base"],
     "created_at": "2024-01-01T10:00:00Z", "runtime": 90,
     "config": {"lr": 0.1, "opt": "adam", "m": [1, "a"], "flag": True},
     "summary": {"acc": float("nan")}},
    {"id": "b", "name": 3, "state": "running", "tags": [], "created_at": "not a date",
     "runtime": 7200.5, "config": {"lr": "high", "opt": {"beta": 2}, "m": [2.5],
                                   "flag": 1}, "summary": {"acc": 0.5}},
    {"id": "c", "name": "run-2", "tags": ["wip", "b"], "created_at": "2024-01-01T23:00:00Z",
     "config": {"lr": 0.01, "opt": "radam", "m": "1a"}},
    {"id": "d", "name": "other", "state": "crashed", "created_at": "2023-06-01",
     "config": {"lr": None, "opt": ["adam"], "flag": False}, "summary": {"acc": 0.9}},
]


@pytest.mark.parametrize("text", CASES)
def test_cases_on_both_engines(text: str) -> None:
    query = wsquery.parse(text)
    expected = expected_rows(query, MIXED_RUNS)
    assert duckdb_rows(query, MIXED_RUNS) == expected
    if not has_regex(query):
        assert sqlite_rows(query, MIXED_RUNS) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("text", CASES)
def test_every_dialect_renders_with_literals_bound(dialect: str, text: str) -> None:
    """The text parses back in its dialect, and its only string literals are the
    compiler's own (NaN, Infinity, SQLite's type names): the query's are parameters."""
    if dialect == "sqlite" and "=~" in text:
        return  # refused: tested below
    compiled = compile_sql(wsquery.parse(text), dialect=dialect, columns=arrow_table(MIXED_RUNS),
                           now=NOW)
    parsed = sqlglot.parse_one(compiled.sql, dialect=dialect)
    literals = [node.this for node in parsed.find_all(sqlglot.exp.Literal) if node.is_string]
    assert set(literals) <= {"NaN", "Infinity", "integer", "real"}, compiled.sql


def test_a_literal_cannot_reach_the_text() -> None:
    compiled = compile_sql(wsquery.parse('name == "x\'; DROP TABLE runs; --"'), dialect="sqlite")
    assert compiled.sql == ('SELECT * FROM "runs" WHERE "runs"."name" = :p1 ORDER BY '
                            '"runs"."created_at" DESC, "runs"."id" ASC NULLS LAST')
    assert compiled.parameters == {"p1": "x'; DROP TABLE runs; --"}


def test_parameter_style_per_dialect() -> None:
    query = wsquery.parse("config.lr > 0.1 limit 5")
    assert [compile_sql(query, dialect=dialect).sql for dialect in DIALECTS] == [
        'SELECT * FROM "runs" WHERE "config.lr" > $p1 AND '
        '"config.lr" <= CAST(\'Infinity\' AS DOUBLE) ORDER BY "created_at" DESC, "id" ASC '
        'LIMIT $p2',
        'SELECT * FROM "runs" WHERE CASE WHEN TYPEOF("runs"."config.lr") IN (\'integer\', '
        '\'real\') THEN "runs"."config.lr" END > :p1 ORDER BY "runs"."created_at" DESC, '
        '"runs"."id" ASC NULLS LAST LIMIT :p2',
        'SELECT * FROM "runs" WHERE "config.lr" > %(p1)s AND '
        '"config.lr" <= CAST(\'Infinity\' AS DOUBLE PRECISION) ORDER BY "created_at" DESC '
        'NULLS LAST, "id" COLLATE "C" ASC LIMIT %(p2)s',
        "SELECT * FROM `runs` WHERE `config.lr` > :p1 AND "
        "`config.lr` <= CAST('Infinity' AS DOUBLE) ORDER BY `created_at` DESC, `id` ASC "
        "NULLS LAST LIMIT :p2",
    ]


def test_nan_is_guarded_only_where_a_column_can_hold_it() -> None:
    """NaN is the engines' greatest number: a comparison TRUE on it is narrowed where only
    TRUE matters, one FALSE on it widened under not; an integer column is read as it is."""
    query = wsquery.parse("config.lr >= 0.5 and config.n != 2 and summary.loss <= 5 and not "
                          "config.lr in [1]")
    table = pyarrow.schema([("config.lr", pyarrow.float64()), ("config.n", pyarrow.int64()),
                            ("summary.loss", pyarrow.int32())])
    assert compile_sql(query, columns=table).sql == (
        'SELECT * FROM "runs" WHERE ("config.lr" >= $p1 AND '
        '"config.lr" <= CAST(\'Infinity\' AS DOUBLE)) AND "config.n" <> $p2 AND '
        '"summary.loss" <= $p3 AND NOT (("config.lr" = $p4 OR '
        '"config.lr" > CAST(\'Infinity\' AS DOUBLE)))')
    ordered = compile_sql(wsquery.parse("order by config.n, config.lr"), columns=table)
    assert ordered.sql == ('SELECT * FROM "runs" ORDER BY "config.n" ASC, '
                           'NULLIF("config.lr", CAST(\'NaN\' AS DOUBLE)) ASC')


def test_to_json_and_the_registry() -> None:
    compiled = wsquery.compile("created_at within last 1d", target="sql", dialect="postgres",
                               table="my runs", now=NOW)
    assert isinstance(compiled, SqlQuery)
    assert compiled.to_json() == {
        "dialect": "postgres",
        "sql": 'SELECT * FROM "my runs" WHERE "created_at" >= %(p1)s ORDER BY "created_at" '
               'DESC NULLS LAST, "id" COLLATE "C" ASC',
        "parameters": {"p1": "2024-01-01T06:00:00+00:00"}}
    assert compiled.warnings == ()


def test_sqlite_has_no_regex_and_names_the_dialects_that_do() -> None:
    with pytest.raises(TargetError) as raised:
        wsquery.compile('name =~ "^a"', target="sql", dialect="sqlite")
    assert str(raised.value) == (
        "sql: sqlite has no regular expressions\n"
        "hint: use a dialect that has them: duckdb (RE2 itself), spark, postgres")


def test_a_pattern_java_cannot_read_as_re2_names_duckdb() -> None:
    with pytest.raises(TargetError) as raised:
        wsquery.compile('name =~ "\\\\pL"', target="sql", dialect="spark")
    assert "use duckdb, which runs RE2" in str(raised.value)
    assert "Unicode classes" in str(raised.value)


def test_ordering_by_a_list_is_refused() -> None:
    with pytest.raises(TargetError) as raised:
        compile_sql(wsquery.parse("order by tags"), dialect="duckdb")
    assert "order by tags: its values are lists" in str(raised.value)


def test_a_key_compared_with_two_types_needs_the_table() -> None:
    with pytest.raises(TargetError) as raised:
        compile_sql(wsquery.parse('config.x == 1 or config.x == "a"'), dialect="duckdb")
    assert "pass columns=" in str(raised.value)
    compiled = compile_sql(wsquery.parse('config.x == 1 or config.x == "a"'),
                           columns={"config.x:number": "number", "config.x:string": "string"})
    assert compiled.sql == ('SELECT * FROM "runs" WHERE "config.x:number" = $p1 '
                            'OR "config.x:string" = $p2')


def test_unknown_options_and_dialects() -> None:
    with pytest.raises(TargetError, match="unknown dialect 'mysql'"):
        compile_sql(wsquery.parse("config.x == 1"), dialect="mysql")
    with pytest.raises(TargetError, match="unknown option 'tabel'"):
        compile_sql(wsquery.parse("config.x == 1"), tabel="runs")


# Spark SQL in a local session ------------------------------------------------------------------

def spark_rows(spark: Any, query: Query, runs: list[dict[str, Any]]) -> list[int]:
    table = arrow_table(runs)
    compiled = compile_sql(query, dialect="spark", columns=table, tiebreak=ROW, now=NOW)
    spark.createDataFrame(table).createOrReplaceTempView("runs")
    return [row[ROW] for row in spark.sql(compiled.sql, args=compiled.parameters).collect()]


@settings(PROPERTY, max_examples=40)
@given(TABLE_QUERIES, RUNS.filter(bool))
def test_spark_selects_what_evaluate_selects_in_order(spark: Any, query: Query,
                                                      runs: list[dict[str, Any]]) -> None:
    if sorts_lists(query, runs):
        with pytest.raises(TargetError, match="its values are lists"):
            spark_rows(spark, query, runs)
        return
    assert spark_rows(spark, query, runs) == expected_rows(query, runs), str(query)


@pytest.mark.parametrize("text", CASES)
def test_cases_on_spark(spark: Any, text: str) -> None:
    query = wsquery.parse(text)
    assert spark_rows(spark, query, MIXED_RUNS) == expected_rows(query, MIXED_RUNS)


@pytest.mark.parametrize("pattern", ["(?i)straße", "^a.c$", "(?m)^b$", "(?m)b$", "\\bx\\b",
                                     "x\\B", "[[:alpha:]]+\\d", "(?s)a.b", "(?i)k", "\\Bé",
                                     "a{2,3}"])
def test_spark_regexes_find_what_re2_finds(spark: Any, pattern: str) -> None:
    texts = ["STRASSE", "straße", "STRAẞE", "abc", "a\nc", "a\nb", "b\n", "x y", "xy", "aa",
             "\u212a", "K", "k", "ab1", "é1", "é", ""]
    runs = [{"id": str(index), "name": text} for index, text in enumerate(texts)]
    query = Query(Match(Field("run", ("displayName",)), pattern))
    assert spark_rows(spark, query, runs) == expected_rows(query, runs)
    assert duckdb_rows(query, runs) == expected_rows(query, runs)
