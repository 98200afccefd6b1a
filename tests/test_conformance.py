"""A query selects the same runs, in the same order, on every target, or the target refuses
it: whole generated queries (filters over missing keys, nulls, NaN, infinities, mixed types,
lists, the case-less state, tags, regexes, times, durations and ``within last``; group by;
order by with ties, ascending and descending; limit) on every built-in target and engine,
each compiled with ``strict=True``, against ``evaluate``. Refusals are counted per target and
summed up at the end of the session (``conftest.pytest_terminal_summary``).

Each property runs 300 queries, derandomized so that every run of CI sees the same ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings

from wsquery.apps.server import DEFAULT_ENTITY, ViewServer
from wsquery.ast import Query
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings

from . import conformance, strategies
from .conformance import Adapter, contract_ids, expected_ids, judge

CONFORMANCE = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                              HealthCheck.filter_too_much])
RUNS = strategies.run_lists()
#: Runs as W&B holds them (a creation time, state in lower case), which the run documents of
#: the mongo and runs-api targets are assumed to be.
WANDB_RUNS = strategies.run_lists(wandb_shaped=True)


def check(target: str, adapter: Adapter, query: Query, runs: list[dict[str, Any]]) -> None:
    judge(target, adapter, str(query), runs)


# The reference itself -----------------------------------------------------------------------

@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_evaluate_keeps_the_order_contract(query: Query, runs: list[dict[str, Any]]) -> None:
    """``evaluate``'s order is the contract's total order, so it does not depend on the order
    the runs come in."""
    text = str(query)
    assert expected_ids(text, runs) == contract_ids(text, runs), text
    assert expected_ids(text, runs[::-1]) == expected_ids(text, runs), text


# In-process engines -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def duckdb_connection() -> Iterator[Any]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path: Path = tmp_path_factory.mktemp("conformance") / "runs.sqlite3"
    connection = sqlite3.connect(path)
    yield connection
    connection.close()


@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_duckdb(duckdb_connection: Any, query: Query, runs: list[dict[str, Any]]) -> None:
    check("sql/duckdb", conformance.duckdb_adapter(duckdb_connection), query, runs)


@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_sqlite(sqlite_file: sqlite3.Connection, query: Query,
                runs: list[dict[str, Any]]) -> None:
    check("sql/sqlite", conformance.sqlite_adapter(sqlite_file), query, runs)


@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_polars(query: Query, runs: list[dict[str, Any]]) -> None:
    check("polars", conformance.polars_ids, query, runs)


@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_pandas(query: Query, runs: list[dict[str, Any]]) -> None:
    check("pandas", conformance.pandas_ids, query, runs)


@CONFORMANCE
@given(strategies.whole_queries, WANDB_RUNS)
def test_mongo(query: Query, runs: list[dict[str, Any]]) -> None:
    check("mongo", conformance.mongo_ids, query, runs)


# Servers: PostgreSQL, Spark, the embedded view server -----------------------------------------

@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_postgres(postgres: Any, query: Query, runs: list[dict[str, Any]]) -> None:
    check("sql/postgres", conformance.postgres_adapter(postgres), query, runs)


@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_spark(spark: Any, query: Query, runs: list[dict[str, Any]]) -> None:
    check("sql/spark", conformance.spark_adapter(spark), query, runs)


@pytest.fixture(scope="module")
def runs_api(view_server: ViewServer, server_settings: Settings) -> Iterator[Adapter]:
    with GraphQLClient(server_settings, timeout=(2.0, 10.0), deadline=5.0,
                       backoff=0.01, max_backoff=0.1) as client:
        yield conformance.runs_api_adapter(view_server, client, DEFAULT_ENTITY)


@CONFORMANCE
@given(strategies.whole_queries, WANDB_RUNS)
def test_runs_api(runs_api: Adapter, query: Query, runs: list[dict[str, Any]]) -> None:
    check("runs-api", runs_api, query, runs)


@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_runset(query: Query, runs: list[dict[str, Any]]) -> None:
    check("runset/filterv2", conformance.runset_adapter("filterv2"), query, runs)


@CONFORMANCE
@given(strategies.whole_queries, RUNS)
def test_runset_legacy(query: Query, runs: list[dict[str, Any]]) -> None:
    check("runset/legacy", conformance.runset_adapter("legacy"), query, runs)
