"""Query -> ``PolarsQuery``: a ``polars.Expr`` over a run table (``run_table``) that is TRUE on
exactly the rows ``evaluate`` selects, with the sort keys and limit of its ``order by`` and
``limit``; calling it on a DataFrame or LazyFrame gives those rows in ``evaluate``'s order.

polars' boolean logic is Kleene's, which is the language's three-valued logic, so each leaf is its
plan (``run_table.leaf_plan``) in polars' words: a test of the part column of the literal's type
(null on rows whose value is of another type), ``state`` through ``str.to_lowercase``, list
membership through ``list.contains``, ``within last`` as a cutoff worked out at compile time.
Given the table itself (``columns=frame``), what its rows say (``run_table.learn``) spares a rule
per row: a ``state`` is tested against the spellings the table holds that pass, a float column
holding no NaN is compared without a guard; the expression is then for that table.
polars holds NaN the greatest number, so a comparison it makes TRUE on NaN (``>``, ``>=``, ``!=``)
also asks ``is_not_nan`` where only TRUE matters (not under ``not``), and one it makes FALSE
(``<``, ``<=``, ``==``) also accepts ``is_nan`` where only FALSE matters (under ``not``): the
expression is TRUE on exactly the rows ``evaluate`` selects, though it may be FALSE where the
language has UNKNOWN. An integer column (``columns=`` says so) holds no NaN and is compared as it
is, and so is a float column the table's rows show without NaN; a sort key reads NaN as null
(``fill_nan``). polars runs Rust's ``regex``, not RE2: a pattern goes as RE2 reads it with every
class spelt out (``regex.to_rust``), or is refused (Unicode classes, ``\\C``, ``\\B``). A sort
is stable (``maintain_order``), nulls and NaN last, as ``evaluate`` sorts.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from wsquery.ast import Query, total_order
from wsquery.compilers import run_table
from wsquery.compilers.base import Context, checked_now
from wsquery.compilers.run_table import Part, Test
from wsquery.compilers.table_writer import TableWriter
from wsquery.errors import TargetError, TargetWarning
from wsquery.regex import RegexNotWritten, to_rust
from wsquery.semantics.normalize import normalize

try:
    import polars
except ImportError as missing:
    raise TargetError("the polars target needs polars", target="polars",
                      hint="pip install 'wsquery[polars]'") from missing

TARGET = "polars"
_OPTIONS = ("columns", "now", "strict")
_COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                ">": operator.gt, ">=": operator.ge}


@attrs.frozen(slots=True)
class PolarsQuery:
    """``frame.filter(q.expr)`` selects the rows; ``q(frame)`` also sorts them by ``order_by``
    (each key with its ``descending`` flag: the query's total order, ``ast.total_order``) and
    keeps the first ``limit``."""

    expr: polars.Expr
    order_by: tuple[polars.Expr, ...] = ()
    descending: tuple[bool, ...] = ()
    limit: int | None = None
    warnings: tuple[TargetWarning, ...] = ()

    def __call__(self, frame: Any) -> Any:
        """The rows of a polars DataFrame or LazyFrame the query selects, in its order."""
        selected = frame.filter(self.expr)
        if self.order_by:
            selected = selected.sort(list(self.order_by), descending=list(self.descending),
                                     nulls_last=self._has_nulls(frame), maintain_order=True)
        return selected if self.limit is None else selected.head(self.limit)

    def _has_nulls(self, frame: Any) -> bool:
        """Whether a sort key may be null in ``frame``, since putting nulls last costs a sort
        even where there are none: a key that is a column of a DataFrame is asked for its
        null count (which polars keeps); any other key, or a LazyFrame, may."""
        if not isinstance(frame, polars.DataFrame):
            return True
        return not all(key.meta.is_column() and frame.get_column(
            key.meta.output_name()).null_count() == 0 for key in self.order_by)

    def to_json(self) -> dict[str, Any]:
        """The expressions as polars prints them, and the limit."""
        return {"filter": str(self.expr),
                "order_by": [{"key": str(key), "descending": descending}
                             for key, descending in zip(self.order_by, self.descending,
                                                        strict=True)],
                "limit": self.limit}


def compile_polars(query: Query, *, text: str | None = None, columns: Any = None,
                   now: datetime | None = None, strict: bool = False,
                   **unknown: object) -> PolarsQuery:
    """``query`` as polars expressions over a run table. ``columns`` is the table (a frame, a
    schema, or a mapping of column names to ``run_table`` parts); without it each key is taken
    to be one column of the type the query compares it with. ``now`` anchors ``within last``."""
    moment = checked_now(TARGET, now, strict, unknown, ", ".join(_OPTIONS))
    context = Context(TARGET, text, strict)
    normal = normalize(query)
    order = total_order(query)
    shape = run_table.resolve_shape(columns, run_table.leaves(normal.filter), order, context)
    writer = PolarsWriter(shape, context, moment)
    writer.warn_ungrouped(query, context)
    condition = writer.where(normal.filter)
    keys = writer.order(order)
    return PolarsQuery(polars.lit(True) if condition is None else condition,
                       tuple(key for key, _ in keys),
                       tuple(descending for _, descending in keys), query.limit,
                       tuple(context.warnings))


class PolarsWriter(TableWriter[polars.Expr]):
    """A filter and sort keys as polars expressions."""

    UNGROUPED = "a polars filter does not group runs: group by was left out"
    GROUP_HINT = "group the rows it selects with group_by"

    def constant(self, value: bool | None) -> polars.Expr:
        return polars.lit(value) if value is not None else polars.lit(None,
                                                                      dtype=polars.Boolean)

    def and_(self, operands: Sequence[polars.Expr]) -> polars.Expr:
        return functools.reduce(operator.and_, operands)

    def or_(self, operands: Sequence[polars.Expr]) -> polars.Expr:
        return functools.reduce(operator.or_, operands)

    def not_(self, operand: polars.Expr) -> polars.Expr:
        return ~operand

    def is_null(self, column: str) -> polars.Expr:
        return polars.col(column).is_null()

    def coalesce(self, tests: Sequence[polars.Expr]) -> polars.Expr:
        return polars.coalesce(tests)

    def value(self, column: str, part: Part, lower: bool = False) -> polars.Expr:
        """A part column as a sort key reads it: NaN as null, a state in lower case."""
        read = polars.col(column)
        if part == "number" and not self.shape.holds_no_nan(column):
            read = read.fill_nan(None)
        return read.str.to_lowercase() if lower else read

    def compare(self, test: Test, positive: bool) -> polars.Expr:
        column = polars.col(test.column)
        read = column.str.to_lowercase() if test.lower else column
        compared: polars.Expr = _COMPARISONS[test.op](read, polars.lit(test.value))
        if test.part != "number" or self.shape.holds_no_nan(test.column):
            return compared
        nan_true = test.op in (">", ">=", "!=")  # NaN is the greatest number
        if positive and nan_true:
            return compared & column.is_not_nan()
        if not positive and not nan_true:
            return compared | column.is_nan()
        return compared

    def one_of(self, test: Test, positive: bool) -> polars.Expr:
        """Texts by ``is_in``, null on null as the language is; numbers by comparisons, which
        compare an int with a float (``is_in`` takes only a list of the column's type)."""
        if test.part != "string":
            return super().one_of(test, positive)
        return polars.col(test.column).is_in(list(test.value))

    def substring(self, test: Test) -> polars.Expr:
        return polars.col(test.column).str.contains(test.value, literal=True)

    def has(self, test: Test) -> polars.Expr:
        """Texts by ``list.contains``; other elements compared as values, so an int list
        holds 1.0 (``list.contains`` takes only a value of the elements' type)."""
        if test.part == "strings":
            return polars.col(test.column).list.contains(test.value)
        return polars.col(test.column).list.eval(
            polars.element() == polars.lit(test.value)).list.any()

    def never(self, test: Test) -> polars.Expr:
        return polars.when(polars.col(test.column).is_not_null()).then(polars.lit(False))

    def regex(self, test: Test) -> polars.Expr:
        try:
            pattern = to_rust(test.value)
        except RegexNotWritten as refused:
            raise self.context.error(
                f"regex {test.value!r}: polars' regular expressions (Rust's regex) "
                f"cannot say {refused} as RE2 reads it", None,
                "filter with the sql target on duckdb, which runs RE2") from None
        return polars.col(test.column).str.contains(pattern)

    def type_rank(self, ranks: Sequence[tuple[polars.Expr, int]]) -> polars.Expr:
        rank: Any = polars
        for read, rank_value in ranks:
            rank = rank.when(read.is_not_null()).then(polars.lit(rank_value))
        result: polars.Expr = rank
        return result
