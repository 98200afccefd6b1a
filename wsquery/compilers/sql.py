"""Query -> ``SqlQuery``: a SELECT over a run table (``run_table``) for DuckDB, SQLite,
PostgreSQL or Spark SQL, built as a sqlglot tree and rendered by sqlglot, with every literal a
bound parameter; and ``to_sqlite``, which writes runs into an SQLite table of that shape.

The WHERE clause is the query's filter in SQL's three-valued logic, which is the language's, so
it selects exactly the rows ``evaluate`` selects, in its total order (``ast.total_order``: the
``order by`` keys, then ``created_at`` newest first, then ``id``), so ``limit`` keeps the same
rows; ``tiebreak`` names a column ordering rows that order leaves tied (runs without an id):

- a value of another type than the literal's is UNKNOWN: a test reads only the column of the
  literal's type (``run_table``), null on a row whose value is of another type;
- NaN is UNKNOWN in comparisons and sorts last (``NULLIF(x, 'NaN')``). DuckDB, PostgreSQL and
  Spark hold NaN the greatest number, so a comparison they make TRUE on NaN (``>``, ``>=``,
  ``!=``) also asks ``x <= 'Infinity'`` where only TRUE matters (not under ``not``), and one
  they make FALSE (``<``, ``<=``, ``==``) also accepts ``x > 'Infinity'`` where only FALSE
  matters (under ``not``): the WHERE clause is TRUE on the same rows, and a plain comparison
  is what an engine reads fastest. An integer column (``columns=`` says so) holds no NaN and
  is read as it is. SQLite, which has no NaN, holds it as the text ``'NaN'`` and reads numbers
  through ``typeof``;
- ``state`` is compared and sorted by ``LOWER``; strings sort by code point (PostgreSQL:
  ``COLLATE "C"``); a missing value sorts last in either direction;
- ``tags`` membership is ``list_contains``/``array_contains``, ``= ANY`` on PostgreSQL and
  ``json_each`` on SQLite, whose lists are JSON text;
- durations are seconds, ``within last`` a bound cutoff worked out at compile time from ``now``;
- regexes are RE2: DuckDB runs them as written; Spark (Java's engine) and PostgreSQL get the
  pattern as RE2 reads it, with every class spelt out (``regex.to_postgres``, ``to_java``), or a
  ``TargetError`` for what they cannot read that way; SQLite has no regex.

Parameters are named (``p1``, ``p2``, ...) in each dialect's own style: ``$p1`` (DuckDB),
``:p1`` (SQLite, Spark's ``spark.sql(text, args=...)``), ``%(p1)s`` (psycopg for PostgreSQL).

The walk, the plans and the order are ``table_writer``'s; ``SqlWriter`` writes DuckDB's SQL, and
``SqliteWriter``, ``PostgresWriter`` and ``SparkWriter`` override only what their dialect writes
differently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from wsquery.ast import Query, total_order
from wsquery.compilers import run_table
from wsquery.compilers.base import Context, checked_now
from wsquery.compilers.run_columns import table_columns
from wsquery.compilers.run_table import Part, Shape, Test
from wsquery.compilers.table_writer import TableWriter
from wsquery.errors import TargetError, TargetWarning, WsqueryError
from wsquery.regex import RegexNotWritten, to_java, to_postgres
from wsquery.semantics.normalize import normalize

try:
    from sqlglot import exp
except ImportError as missing:
    raise TargetError("the sql target needs sqlglot", target="sql",
                      hint="pip install 'wsquery[sql]'") from missing

TARGET = "sql"
_OPTIONS = ("dialect", "table", "columns", "tiebreak", "now", "strict")
_COMPARISONS = {"==": "EQ", "!=": "NEQ", "<": "LT", "<=": "LTE", ">": "GT", ">=": "GTE"}


@attrs.frozen(slots=True)
class SqlQuery:
    """A SELECT for one dialect: run ``sql`` with ``parameters`` (by name, in the dialect's
    style) through the engine's own client."""

    sql: str
    parameters: dict[str, Any]
    dialect: str
    warnings: tuple[TargetWarning, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The text, the dialect and the parameters (timestamps as ISO-8601 text)."""
        return {"dialect": self.dialect, "sql": self.sql, "parameters": {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in self.parameters.items()}}


def compile_sql(query: Query, *, text: str | None = None, dialect: str = "duckdb",
                table: str = "runs", columns: Any = None, tiebreak: str | None = None,
                now: datetime | None = None, strict: bool = False,
                **unknown: object) -> SqlQuery:
    """``query`` as a SELECT of ``table``'s rows in ``dialect``. ``columns`` is the table (a
    frame, a schema, or a mapping of column names to ``run_table`` parts); without it each key
    is taken to be one column of the type the query compares it with, and SQL that names a
    column the table lacks fails (on SQLite too, where every column is named with its table).
    ``tiebreak`` is a column ordering rows the query's total order leaves tied;
    ``now`` anchors ``within last``; ``text``, the source of ``query``, lets errors point."""
    moment = checked_now(TARGET, now, strict, unknown, ", ".join(_OPTIONS))
    if dialect not in DIALECTS:
        raise TargetError(f"unknown dialect {dialect!r}", target=TARGET,
                          hint="dialects are " + ", ".join(DIALECTS))
    context = Context(TARGET, text, strict)
    normal = normalize(query)
    predicates = run_table.leaves(normal.filter)
    shape = run_table.resolve_shape(columns, predicates, total_order(query), context)
    return WRITERS[dialect](table, shape, context, moment).select(normal, tiebreak)


class SqlWriter(TableWriter[Any]):
    """One SELECT in DuckDB's SQL, which the other dialects' writers change only where they
    write differently: the sqlglot tree and the parameters bound so far."""

    DIALECT = "duckdb"
    UNGROUPED = "a SELECT of runs does not group them: group by was left out"
    GROUP_HINT = "GROUP BY the rows it returns yourself"

    def __init__(self, table: str, shape: Shape, context: Context, now: datetime) -> None:
        super().__init__(shape, context, now)
        self.table = table
        self.parameters: dict[str, Any] = {}

    def select(self, query: Query, tiebreak: str | None) -> SqlQuery:
        self.warn_ungrouped(query, self.context)
        statement = exp.select("*").from_(exp.Table(this=exp.to_identifier(self.table,
                                                                           quoted=True)))
        condition = self.where(query.filter)
        if condition is not None:
            statement = statement.where(condition)
        order = [exp.Ordered(this=key, desc=descending, nulls_first=False)
                 for key, descending in self.order(total_order(query))]
        if tiebreak is not None:
            order.append(exp.Ordered(this=self.column(tiebreak), desc=False, nulls_first=False))
        if order:
            statement = statement.order_by(*order)
        if query.limit is not None:
            statement = statement.limit(self.parameter(query.limit))
        return SqlQuery(statement.sql(dialect=self.DIALECT), self.parameters, self.DIALECT,
                        tuple(self.context.warnings))

    # Values ----------------------------------------------------------------------------------

    def parameter(self, value: Any) -> Any:
        name = f"p{len(self.parameters) + 1}"
        self.parameters[name] = value
        return exp.Placeholder(this=name)

    def column(self, name: str) -> Any:
        """A column of the table."""
        return exp.column(exp.to_identifier(name, quoted=True))

    def value(self, column: str, part: Part, lower: bool = False) -> Any:
        """A part column as a test reads it: numbers without NaN, a state in lower case."""
        read = self.column(column)
        if part == "number" and not self.nan_free(column):
            read = self.without_nan(read)
        if lower:
            read = exp.Lower(this=read)
        return read

    def without_nan(self, read: Any) -> Any:
        """A number column with NaN read as null."""
        return exp.Nullif(this=read, expression=exp.cast(exp.Literal.string("NaN"), "double"))

    def nan_free(self, column: str) -> bool:
        """Whether a number column can hold no NaN, by its type: the guard where it may is a
        comparison the engine reads as fast as the test itself, and the SQL stays the same
        for every table of these columns."""
        return column in self.shape.nan_free

    def ordered_text(self, read: Any, part: Part) -> Any:
        """Text compared by code point, as the dialect's default collation does."""
        return read

    def sort_key(self, column: str, part: Part, lower: bool) -> Any:
        return self.ordered_text(self.value(column, part, lower), part)

    # Logic -----------------------------------------------------------------------------------

    def constant(self, value: bool | None) -> Any:
        if value is None:
            return exp.cast(exp.null(), "boolean")
        return exp.true() if value else exp.false()

    def and_(self, operands: Sequence[Any]) -> Any:
        return exp.and_(*operands)

    def or_(self, operands: Sequence[Any]) -> Any:
        return exp.or_(*operands)

    def not_(self, operand: Any) -> Any:
        return exp.Not(this=exp.Paren(this=operand))

    def is_null(self, column: str) -> Any:
        return self.column(column).is_(exp.null())

    def coalesce(self, tests: Sequence[Any]) -> Any:
        return exp.Coalesce(this=tests[0], expressions=list(tests[1:]))

    # Tests -----------------------------------------------------------------------------------

    def compare(self, test: Test, positive: bool) -> Any:
        if test.part == "number" and not self.nan_free(test.column):
            return self.number_comparison(test, positive)
        return self.comparison(test)

    def comparison(self, test: Test) -> Any:
        read = self.value(test.column, test.part, test.lower)
        if test.op not in ("==", "!="):
            read = self.ordered_text(read, test.part)
        comparison = getattr(exp, _COMPARISONS[test.op])
        return comparison(this=read, expression=self.parameter(test.value))

    def number_comparison(self, test: Test, positive: bool) -> Any:
        """A comparison of a column that may hold NaN, which the engine holds the greatest
        number: TRUE on NaN only under ``not``, FALSE on NaN only where TRUE matters, null on
        null (see the module docstring)."""
        read = self.column(test.column)
        compared = getattr(exp, _COMPARISONS[test.op])(this=read,
                                                        expression=self.parameter(test.value))
        infinity = exp.cast(exp.Literal.string("Infinity"), "double")
        nan_true = test.op in (">", ">=", "!=")
        if positive and nan_true:
            return exp.and_(compared, exp.LTE(this=read.copy(), expression=infinity))
        if not positive and not nan_true:
            return exp.Paren(this=exp.or_(compared, exp.GT(this=read.copy(),
                                                           expression=infinity)))
        return compared

    def one_of(self, test: Test, positive: bool) -> Any:
        """``IN`` is null on null, as the language is; a column that may hold NaN is read as
        ``compare`` reads it."""
        if test.part == "number" and not self.nan_free(test.column):
            return super().one_of(test, positive)
        if len(test.value) == 1:
            return exp.EQ(this=self.column(test.column),
                          expression=self.parameter(test.value[0]))
        return exp.In(this=self.column(test.column),
                      expressions=[self.parameter(value) for value in test.value])

    def substring(self, test: Test) -> Any:
        position = exp.StrPosition(this=self.column(test.column),
                                   substr=self.parameter(test.value))
        return exp.GT(this=position, expression=exp.Literal.number(0))

    def has(self, test: Test) -> Any:
        """An element of a list equal to the literal: TRUE or FALSE on a list, null on null."""
        return exp.ArrayContains(this=self.column(test.column),
                                 expression=self.parameter(test.value))

    def never(self, test: Test) -> Any:
        return exp.Case().when(exp.Not(this=self.column(test.column).is_(exp.null())),
                               exp.false())

    def regex(self, test: Test) -> Any:
        column = self.column(test.column)
        return exp.RegexpLike(this=column, expression=self.parameter(self.pattern(test.value)))

    def pattern(self, pattern: str) -> str:
        """An RE2 pattern as the dialect's regex engine reads it (DuckDB's is RE2 itself)."""
        return pattern

    def written_pattern(self, pattern: str, write: Callable[[str], str]) -> str:
        """``pattern`` as ``write``, a flavour of ``wsquery.regex``, writes it for the
        dialect's engine, or the error."""
        try:
            return write(pattern)
        except RegexNotWritten as refused:
            raise self.context.error(
                f"regex {json.dumps(pattern)}: {self.DIALECT}'s regular expressions "
                f"cannot say {refused} as RE2 reads it", None, "use duckdb, which runs RE2"
            ) from None

    # Order -----------------------------------------------------------------------------------

    def type_rank(self, ranks: Sequence[tuple[Any, int]]) -> Any:
        rank = exp.Case()
        for read, rank_value in ranks:
            rank = rank.when(exp.Not(this=read.is_(exp.null())), exp.Literal.number(rank_value))
        return rank


class SqliteWriter(SqlWriter):
    """SQLite: untyped columns, lists as JSON text, times as text, NaN as the text 'NaN', and
    no regular expressions."""

    DIALECT = "sqlite"

    def parameter(self, value: Any) -> Any:
        return super().parameter(sqlite_time(value) if isinstance(value, datetime) else value)

    def column(self, name: str) -> Any:
        """SQLite reads a double-quoted name it cannot resolve as a string, so the table names
        it too, and a missing column is an error."""
        identifier = exp.to_identifier(name, quoted=True)
        return exp.column(identifier, table=exp.to_identifier(self.table, quoted=True))

    def without_nan(self, read: Any) -> Any:
        """Numbers only: the text 'NaN' (and any other text in the column) as null."""
        kind = exp.func("typeof", read.copy())
        return exp.Case().when(
            exp.In(this=kind, expressions=[exp.Literal.string("integer"),
                                           exp.Literal.string("real")]), read)

    def nan_free(self, column: str) -> bool:
        """An untyped column can hold 'NaN' or any other text, unless its rows were read
        (``to_sqlite``'s shape, or the table it was written from) and it held none."""
        return self.shape.holds_no_nan(column) and self.shape.rows_seen

    def number_comparison(self, test: Test, positive: bool) -> Any:
        """``value`` reads 'NaN' as null, so a plain comparison is UNKNOWN on it."""
        return self.comparison(test)

    def has(self, test: Test) -> Any:
        column = self.column(test.column)
        value = self.parameter(test.value)
        elements = exp.Table(this=exp.Anonymous(this="json_each", expressions=[column]),
                             alias=exp.TableAlias(this=exp.to_identifier("element")))
        found = exp.Exists(this=exp.select(exp.Literal.number(1)).from_(elements).where(
            exp.EQ(this=exp.column("value", table="element"), expression=value)))
        return exp.Case().when(column.copy().is_(exp.null()), exp.null()).else_(found)

    def regex(self, test: Test) -> Any:
        raise self.context.error("sqlite has no regular expressions", None,
                                 "use a dialect that has them: duckdb (RE2 itself), spark, "
                                 "postgres")


class PostgresWriter(SqlWriter):
    """PostgreSQL: text sorted by code point (``COLLATE "C"``), arrays searched with ``= ANY``,
    regexes written as its AREs."""

    DIALECT = "postgres"

    def ordered_text(self, read: Any, part: Part) -> Any:
        """PostgreSQL's default collation is the locale's."""
        if part in ("string", "other"):
            return exp.Collate(this=read, expression=exp.Identifier(this="C", quoted=True))
        return read

    def has(self, test: Test) -> Any:
        column = self.column(test.column)
        value = self.parameter(test.value)
        return exp.EQ(this=value, expression=exp.Any(this=exp.Paren(this=column)))

    def pattern(self, pattern: str) -> str:
        return self.written_pattern(pattern, to_postgres)


class SparkWriter(SqlWriter):
    """Spark SQL: regexes written for Java's engine, which backtracks."""

    DIALECT = "spark"

    def pattern(self, pattern: str) -> str:
        written = self.written_pattern(pattern, to_java)
        self.context.check_backtracking(pattern, "Spark's Java regex engine", None)
        return written


#: Each dialect's writer, by the dialect's name.
WRITERS: dict[str, type[SqlWriter]] = {
    writer.DIALECT: writer for writer in (SqlWriter, SqliteWriter, PostgresWriter, SparkWriter)}
DIALECTS = tuple(WRITERS)


# SQLite ----------------------------------------------------------------------------------------

def sqlite_time(moment: datetime) -> str:
    """A moment as SQLite holds it: fixed-width ISO-8601 UTC text, which sorts as time does."""
    utc = moment.astimezone(UTC)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}.{utc.microsecond:06d}Z")


def to_sqlite(runs: Iterable[Any], connection: Any, table: str = "runs") -> run_table.Shape:
    """Write ``runs`` as a run table ``table`` (created here) into an ``sqlite3`` connection,
    and give its shape. Columns are untyped, so each value keeps its own type; lists are JSON
    text, times fixed-width UTC text, booleans 0 and 1, NaN the text ``'NaN'``."""
    columns = table_columns(runs)
    for name in columns.names:
        if "\x00" in name:
            raise WsqueryError(f"the column {name!a} holds a NUL character, which SQLite "
                               "cannot name a column with")
    names = [exp.to_identifier(name, quoted=True).sql(dialect="sqlite")
             for name in columns.names]
    quoted = exp.to_identifier(table, quoted=True).sql(dialect="sqlite")
    connection.execute(f"CREATE TABLE {quoted} ({', '.join(names)})")
    rows = zip(*(map(_sqlite_value, values) for values in columns.values), strict=True)
    marks = ", ".join("?" for _ in names)
    connection.executemany(f"INSERT INTO {quoted} VALUES ({marks})", rows)
    return columns.shape


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, int) and not -run_table.INT64 <= value < run_table.INT64:
        return float(value)  # as Arrow holds it, rather than beyond SQLite's INTEGER
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, datetime):
        return sqlite_time(value)
    if isinstance(value, float) and value != value:
        return "NaN"
    return value
