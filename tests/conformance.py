"""The conformance harness: for each built-in target and engine, an adapter that takes a
query's text and runs and gives the ids of the runs the target selects, in the target's order,
or raises ``TargetError`` (a refusal); the reference answer (``evaluate``); the order contract
written out on its own; a throwaway PostgreSQL cluster; and the tally of refusals.

The promise held: a query selects the same runs, in the same order, on every target, or the
target refuses it. The order is total: the ``order by`` keys in turn, then ``created_at``
newest first, then ``id`` ascending (missing, null and NaN last in either direction); ``limit
N`` takes the first N of it; ``group by`` changes neither the runs nor their order. Every
target is compiled with ``strict=True``. The adapters run what each target writes the way its
engine or the embedded server runs it, and read only what the compiled result says.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import mongomock

import wsquery
from wsquery import regex
from wsquery.compilers.mongo import mongo_document
from wsquery.compilers.run_columns import to_frame
from wsquery.compilers.sql import to_sqlite
from wsquery.errors import TargetError
from wsquery.facts.attributes import parse_datetime
from wsquery.semantics.order import sort_value
from wsquery.semantics.records import adapt

#: The moment ``within last`` counts back from, on every target.
NOW = datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
#: The fields of the order every query ends with: newest first, then by id.
_CREATED_AT = wsquery.ast.OrderKey(wsquery.ast.Field("run", ("createdAt",)), False)
_RUN_ID = wsquery.ast.OrderKey(wsquery.ast.Field("run", ("name",)), True)


@attrs.frozen
class Answer:
    """What a target selected: the run ids in its order, and what it compiled (for the
    failure message)."""

    ids: list[str]
    compiled: Any


Adapter = Callable[[str, list[dict[str, Any]]], Answer]


# The reference and the contract ------------------------------------------------------------------

def expected_ids(text: str, runs: list[dict[str, Any]]) -> list[str]:
    """The ids of the runs ``evaluate`` selects, in its order."""
    return [run["id"] for run in wsquery.evaluate(text, runs, now=NOW)]


def contract_ids(text: str, runs: list[dict[str, Any]]) -> list[str]:
    """The order contract written out on its own: the runs the filter holds TRUE, sorted by
    the ``order by`` keys, then created_at newest first, then id, missing values last in
    either direction (each key's values compared as ``semantics.order.sort_value`` says); the
    first ``limit``."""
    query = wsquery.parse(text)
    chosen = [adapt(run) for run in runs if wsquery.matches(query, run, now=NOW)]
    for key in reversed((*query.order_by, _CREATED_AT, _RUN_ID)):
        value_of = sort_value(key.field)
        present = [record for record in chosen if value_of(record) is not None]
        missing = [record for record in chosen if value_of(record) is None]
        present.sort(key=lambda record: value_of(record), reverse=not key.ascending)
        chosen = present + missing
    return [record.run.get("id") for record in chosen][:query.limit]


# The tally of refusals ---------------------------------------------------------------------------

@attrs.define
class Tally:
    """Per target: how many queries it answered (and of those, disagreed on) and refused, and
    why it refused."""

    answered: Counter[str] = attrs.Factory(Counter)
    disagreed: Counter[str] = attrs.Factory(Counter)
    refused: Counter[str] = attrs.Factory(Counter)
    reasons: dict[str, Counter[str]] = attrs.Factory(dict)

    def answer(self, target: str, agreed: bool) -> None:
        self.answered[target] += 1
        self.disagreed[target] += not agreed

    def refuse(self, target: str, error: TargetError) -> None:
        self.refused[target] += 1
        self.reasons.setdefault(target, Counter())[reason(error)] += 1

    def summary(self) -> dict[str, Any]:
        """Each target's counts, refusal rate and most frequent reasons."""
        found = {}
        for target in sorted(set(self.answered) | set(self.refused)):
            answered, refused = self.answered[target], self.refused[target]
            found[target] = {
                "queries": answered + refused, "answered": answered, "refused": refused,
                "disagreed": self.disagreed[target],
                "refusal_rate": round(refused / (answered + refused), 3),
                "reasons": dict(self.reasons.get(target, Counter()).most_common(6))}
        return found

    def markdown(self) -> str:
        """A table of ``summary``. A target that disagreed also counts the queries hypothesis
        ran while shrinking the failure, so only an agreeing target's rate is its rate."""
        lines = ["| target | queries | refused | refusal rate | disagreed | most frequent reason |",
                 "| --- | ---: | ---: | ---: | ---: | --- |"]
        for target, counts in self.summary().items():
            top = next(iter(counts["reasons"]), "")
            lines.append(f"| {target} | {counts['queries']} | {counts['refused']} | "
                         f"{counts['refusal_rate']:.1%} | {counts['disagreed']} | {top} |")
        return "\n".join(lines)


TALLY = Tally()


def reason(error: TargetError) -> str:
    """A refusal's message with the query's own values left out, so that refusals group."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"|\b\d[\d.e+-]*\b", "…", error.message)
    return message[:100]


def judge(target: str, adapter: Adapter, text: str, runs: list[dict[str, Any]]) -> None:
    """Hold ``target`` to the promise on one query: a refusal is counted; an answer must be
    ``evaluate``'s ids in ``evaluate``'s order, else the failure shows the query, the runs,
    both answers and what the target compiled."""
    expected = expected_ids(text, runs)
    try:
        answer = adapter(text, runs)
    except TargetError as error:
        TALLY.refuse(target, error)
        return
    TALLY.answer(target, answer.ids == expected)
    assert answer.ids == expected, disagreement(target, text, runs, expected, answer)


def disagreement(target: str, text: str, runs: list[dict[str, Any]], expected: list[str],
                 answer: Answer) -> str:
    shown_runs = "\n".join(f"    {json.dumps(run, default=str)}" for run in runs)
    compiled = json.dumps(answer.compiled, default=str)
    return (f"{target} disagrees with evaluate\n  query:    {text}\n  runs:\n{shown_runs}\n"
            f"  expected: {expected}\n  got:      {answer.ids}\n"
            f"  the contract's order: {contract_ids(text, runs)}\n"
            f"  compiled: {compiled[:2000]}")


# Table targets: SQL engines, polars, pandas ------------------------------------------------------

def _sql_answer(text: str, dialect: str, columns: Any,
                execute: Callable[[str, dict[str, Any]], tuple[list[str], list[Any]]]
                ) -> Answer:
    compiled = wsquery.compile(text, target="sql", dialect=dialect, columns=columns, now=NOW,
                               strict=True)
    names, rows = execute(compiled.sql, compiled.parameters)
    place = names.index("id")
    return Answer([row[place] for row in rows], compiled.to_json())


def duckdb_adapter(connection: Any) -> Adapter:
    """DuckDB in process: the runs as an Arrow table registered as ``runs``."""
    def run(text: str, runs: list[dict[str, Any]]) -> Answer:
        table = to_frame(runs, backend="arrow")
        connection.register("runs", table)

        def execute(sql: str, parameters: dict[str, Any]) -> tuple[list[str], list[Any]]:
            cursor = connection.execute(sql, parameters)
            return [column[0] for column in cursor.description], cursor.fetchall()

        return _sql_answer(text, "duckdb", table, execute)

    return run


def sqlite_adapter(connection: sqlite3.Connection) -> Adapter:
    """SQLite on a file: the runs written by ``to_sqlite``, the table made anew each time."""
    def run(text: str, runs: list[dict[str, Any]]) -> Answer:
        connection.execute('DROP TABLE IF EXISTS "runs"')
        shape = to_sqlite(runs, connection)
        columns = {name: part for parts in shape.parts.values() for part, name in parts.items()}

        def execute(sql: str, parameters: dict[str, Any]) -> tuple[list[str], list[Any]]:
            cursor = connection.execute(sql, parameters)
            return [column[0] for column in cursor.description], cursor.fetchall()

        return _sql_answer(text, "sqlite", columns, execute)

    return run


def postgres_adapter(connection: Any) -> Adapter:
    """A real PostgreSQL server: the runs' Arrow table as a typed table ``runs``."""
    def run(text: str, runs: list[dict[str, Any]]) -> Answer:
        table = to_frame(runs, backend="arrow")
        load_postgres(table, connection)

        def execute(sql: str, parameters: dict[str, Any]) -> tuple[list[str], list[Any]]:
            with connection.cursor() as cursor:
                cursor.execute(sql, parameters)
                return [column.name for column in cursor.description], cursor.fetchall()

        return _sql_answer(text, "postgres", table, execute)

    return run


def spark_adapter(session: Any) -> Adapter:
    """Spark SQL in a local session: the runs' Arrow table as the temporary view ``runs``."""
    def run(text: str, runs: list[dict[str, Any]]) -> Answer:
        table = to_frame(runs, backend="arrow")
        session.createDataFrame(table).createOrReplaceTempView("runs")

        def execute(sql: str, parameters: dict[str, Any]) -> tuple[list[str], list[Any]]:
            found = session.sql(sql, args=parameters)
            return list(found.columns), [tuple(row) for row in found.collect()]

        return _sql_answer(text, "spark", table, execute)

    return run


def polars_ids(text: str, runs: list[dict[str, Any]]) -> Answer:
    frame = to_frame(runs, backend="polars")
    compiled = wsquery.compile(text, target="polars", columns=frame, now=NOW, strict=True)
    return Answer(compiled(frame)["id"].to_list(), compiled.to_json())


def pandas_ids(text: str, runs: list[dict[str, Any]]) -> Answer:
    frame = to_frame(runs, backend="pandas")
    compiled = wsquery.compile(text, target="pandas", now=NOW, strict=True)
    return Answer(compiled(frame)["id"].tolist(), compiled.to_json())


# PostgreSQL ----------------------------------------------------------------------------------

_POSTGRES_TYPES = {"bool": "boolean", "int64": "bigint", "double": "double precision",
                   "string": "text", "timestamp[us, tz=UTC]": "timestamptz"}


def _postgres_type(arrow_type: Any) -> str:
    import pyarrow.types as is_type

    if is_type.is_list(arrow_type):
        return _postgres_type(arrow_type.value_type) + "[]"
    return _POSTGRES_TYPES[str(arrow_type)]


def load_postgres(table: Any, connection: Any) -> None:
    """``table`` (``to_frame``'s Arrow table) as the table ``runs``, made anew, each column of
    the type its Arrow type says."""
    from psycopg import sql

    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(field.name), sql.SQL(_postgres_type(field.type)))
        for field in table.schema)
    marks = sql.SQL(", ").join(sql.Placeholder() for _ in table.schema)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS runs")
        cursor.execute(sql.SQL("CREATE TABLE runs ({})").format(columns))
        cursor.executemany(sql.SQL("INSERT INTO runs VALUES ({})").format(marks),
                           [tuple(row.values()) for row in table.to_pylist()])


#: Debian's PostgreSQL 15.
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temporary folder owned by the ``postgres`` user
    (``initdb`` and ``pg_ctl`` refuse to run as root), listening only on a Unix socket in that
    folder. Its default collation is ICU's English one, as a server's usually is, so a
    target that relies on the default collation to order text by code point shows."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="wsquery-postgres-"))
        self.port = _free_port()
        self.started = False

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True,
                                timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        self._as_postgres(str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                          "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                          "--locale-provider=icu", "--icu-locale=en", "--no-sync")
        options = f"-k {self.folder} -c listen_addresses='' -p {self.port} -F"
        self._as_postgres(str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                          "-l", str(self.folder / "log"), "-w", "start")
        self.started = True
        return self

    def connect(self) -> Any:
        """A connection that prepares no statement: the table ``runs`` is made anew with other
        column types for each query, which a prepared plan would not follow."""
        import psycopg

        return psycopg.connect(host=str(self.folder), port=self.port, user="postgres",
                               dbname="postgres", autocommit=True, prepare_threshold=None)

    def stop(self) -> None:
        try:
            if self.started:
                self._as_postgres(str(POSTGRES_BIN / "pg_ctl"), "-D",
                                  str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# MongoDB (mongomock) ---------------------------------------------------------------------------

def document(run: dict[str, Any]) -> dict[str, Any]:
    """A generated plain run as a run document. A created_at that is no date has no place in
    the documents' model (W&B's createdAt always is one); it stands here as an object, which,
    like the language, no comparison, regex or null test takes for a date."""
    created = run.get("created_at")
    if isinstance(created, str) and parse_datetime(created) is None:
        built = mongo_document({key: value for key, value in run.items() if key != "created_at"})
        built["createdAt"] = {"text": created}
        return built
    return mongo_document(run)


re2 = regex.re2_module()  # None without google-re2: then mongomock runs Python's re


class _RE2Regex:
    """A ``$regex`` for mongomock, searched by RE2 (mongomock itself would use Python's re)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def try_compile(self) -> Any:
        assert re2 is not None
        return re2.compile(self.pattern)


def for_mongomock(filters: Any) -> Any:
    if isinstance(filters, dict):
        return {key: _RE2Regex(value) if key == "$regex" and re2 is not None
                else for_mongomock(value) for key, value in filters.items()}
    if isinstance(filters, list):
        return [for_mongomock(item) for item in filters]
    return filters


def mongomock_found(filters: dict[str, Any], documents: list[dict[str, Any]],
                    sort: list[tuple[str, int]] | None = None,
                    limit: int | None = None) -> list[int]:
    """The places of the documents a mongomock collection finds, in its order."""
    collection = mongomock.MongoClient().db.runs
    if documents:
        collection.insert_many([{**doc, "_id": index} for index, doc in enumerate(documents)])
    cursor = collection.find(for_mongomock(filters))
    if sort:
        cursor = cursor.sort(sort)
    if limit is not None:
        cursor = cursor.limit(limit)
    return [found["_id"] for found in cursor]


def mongomock_selects(filters: dict[str, Any], documents: list[dict[str, Any]]) -> set[int]:
    return set(mongomock_found(filters, documents))


def mongo_ids(text: str, runs: list[dict[str, Any]]) -> Answer:
    """The ``mongo`` target on a mongomock collection: ``find(filters)``, sorted by its
    ``sort`` and cut at its ``limit`` when the compiled query has one."""
    compiled = wsquery.compile(text, target="mongo", now=NOW, strict=True).to_json()
    places = mongomock_found(compiled["filters"], [document(run) for run in runs],
                             [(path, direction) for path, direction in compiled["sort"]],
                             compiled.get("limit"))
    return Answer([runs[place]["id"] for place in places], compiled)


# The embedded view server: the runs-api target and run sets ------------------------------------

def runs_api_adapter(server: Any, client: Any, entity: str) -> Adapter:
    """The ``runs-api`` target against the embedded view server over HTTP: the runs stored in
    a project of their own, listed with the compiled ``filters`` and ``order`` (its matcher
    and its order), the first ``per_page`` of them when the query has a limit (the one page
    ``Api.runs`` asks for)."""
    projects = itertools.count()

    def run(text: str, runs: list[dict[str, Any]]) -> Answer:
        compiled = wsquery.compile(text, target="runs-api", now=NOW, strict=True).to_json()
        project = f"conformance-{next(projects)}"
        server.add_runs(entity, project, runs)
        per_page = compiled.get("per_page")
        nodes = client.iter_runs(entity, project, filters=compiled["filters"],
                                 order=compiled["order"], page_size=per_page or 50)
        return Answer([node["name"] for node in itertools.islice(nodes, per_page)], compiled)

    return run


def runset_adapter(format: str) -> Adapter:
    """The ``runset`` target as a view page selects runs: the run set read back
    (``decompile``) and evaluated over the runs; ``exact_ops`` keeps ``<`` and ``>``."""
    def run(text: str, runs: list[dict[str, Any]]) -> Answer:
        compiled = wsquery.compile(text, target="runset", format=format, exact_ops=True,
                                   strict=True).to_json()
        shown = wsquery.decompile(compiled)
        return Answer([found["id"] for found in wsquery.evaluate(shown, runs, now=NOW)],
                      compiled)

    return run
