"""Query -> ``PolarsQuery``: a ``polars.Expr`` over a run table (``run_table``) that is TRUE on
exactly the rows ``evaluate`` selects, with the sort keys and limit of its ``order by`` and
``limit``; calling it on a DataFrame or LazyFrame gives those rows in ``evaluate``'s order.

polars' boolean logic is Kleene's, which is the language's three-valued logic, so each leaf is its
plan (``run_table.leaf_plan``) in polars' words: a test of the part column of the literal's type
(null on rows whose value is of another type), ``state`` through ``str.to_lowercase``, list
membership through ``list.contains``, ``within last`` as a cutoff worked out at compile time.
polars holds NaN the greatest number, so a comparison it makes TRUE on NaN (``>``, ``>=``, ``!=``)
also asks ``is_not_nan`` where only TRUE matters (not under ``not``), and one it makes FALSE
(``<``, ``<=``, ``==``) also accepts ``is_nan`` where only FALSE matters (under ``not``): the
expression is TRUE on exactly the rows ``evaluate`` selects, though it may be FALSE where the
language has UNKNOWN. An integer column (``columns=`` says so) holds no NaN and is compared as it
is; a sort key reads NaN as null (``fill_nan``). polars runs Rust's ``regex``, not RE2: a pattern
goes as RE2 reads it with every class spelt out (``run_table.write_regex``), or is refused (Unicode
classes, ``\\C``, ``\\B``). A sort is stable (``maintain_order``), nulls and NaN last, as
``evaluate`` sorts.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime
from typing import Any, assert_never

import attrs

from wsquery.ast import (
    And,
    Compare,
    Constant,
    Contains,
    Expr,
    In,
    IsNull,
    Match,
    Not,
    Or,
    Query,
    Within,
    total_order,
)
from wsquery.compilers import run_table
from wsquery.compilers.base import Context, checked_now
from wsquery.compilers.run_table import IsNullPlan, Leaf, OrderPlan, Part, Shape, Test
from wsquery.errors import TargetError, TargetWarning
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
                                     nulls_last=True, maintain_order=True)
        return selected if self.limit is None else selected.head(self.limit)

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
    writer = _Writer(shape, context, moment)
    if query.group_by:
        context.warn("a polars filter does not group runs: group by was left out", None,
                     "group the rows it selects with group_by")
    expr = polars.lit(True) if normal.filter is None else writer.expr(normal.filter)
    keys: list[polars.Expr] = []
    descending: list[bool] = []
    for key in order:
        plan = run_table.order_plan(key, shape, context)
        for sort_key in writer.order(plan):
            keys.append(sort_key)
            descending.append(not plan.ascending)
    return PolarsQuery(expr, tuple(keys), tuple(descending), query.limit,
                       tuple(context.warnings))


class _Writer:
    def __init__(self, shape: Shape, context: Context, now: datetime) -> None:
        self.shape = shape
        self.context = context
        self.now = now

    def expr(self, node: Expr, positive: bool = True) -> polars.Expr:
        """``node`` as an expression: TRUE on exactly the rows where it is TRUE when
        ``positive``, else (under ``not``) FALSE on exactly the rows where it is FALSE."""
        match node:
            case And():
                return functools.reduce(operator.and_, (self.expr(o, positive)
                                                        for o in node.operands))
            case Or():
                return functools.reduce(operator.or_, (self.expr(o, positive)
                                                       for o in node.operands))
            case Not():
                return ~self.expr(node.operand, not positive)
            case Constant():
                return polars.lit(node.value)
            case Compare() | In() | Match() | Contains() | IsNull() | Within():
                return self.plan(run_table.leaf_plan(node, self.shape, self.context, self.now),
                                 positive)
            case _:
                assert_never(node)

    def plan(self, plan: Leaf | IsNullPlan, positive: bool) -> polars.Expr:
        match plan:
            case IsNullPlan():
                if not plan.columns:
                    return polars.lit(True)
                return functools.reduce(operator.and_, (polars.col(column).is_null()
                                                        for column in plan.columns))
            case Leaf():
                if plan.any_of:
                    return functools.reduce(operator.or_, (self.plan(leaf, positive)
                                                           for leaf in plan.any_of))
                tests = [self.test(test, positive) for test in plan.tests]
                if not tests:
                    return polars.lit(None, dtype=polars.Boolean)
                return tests[0] if len(tests) == 1 else polars.coalesce(tests)
            case _:
                assert_never(plan)

    def value(self, column: str, part: Part, lower: bool = False) -> polars.Expr:
        """A part column as a sort key reads it: NaN as null, a state in lower case."""
        read = polars.col(column)
        if part == "number" and column not in self.shape.nan_free:
            read = read.fill_nan(None)
        return read.str.to_lowercase() if lower else read

    def test(self, test: Test, positive: bool) -> polars.Expr:
        column = polars.col(test.column)
        match test.op:
            case "==" | "!=" | "<" | "<=" | ">" | ">=":
                read = column.str.to_lowercase() if test.lower else column
                compared: polars.Expr = _COMPARISONS[test.op](read, polars.lit(test.value))
                if test.part != "number" or test.column in self.shape.nan_free:
                    return compared
                nan_true = test.op in (">", ">=", "!=")  # NaN is the greatest number
                if positive and nan_true:
                    return compared & column.is_not_nan()
                if not positive and not nan_true:
                    return compared | column.is_nan()
                return compared
            case "substring":
                return column.str.contains(test.value, literal=True)
            case "has":  # compared as values, so an int list holds 1.0
                return column.list.eval(polars.element() == polars.lit(test.value)).list.any()
            case "never":
                return polars.when(column.is_not_null()).then(polars.lit(False))
            case "regex":
                try:
                    pattern = run_table.write_regex(test.value, "rust")
                except run_table.RegexNotWritten as refused:
                    raise self.context.error(
                        f"regex {test.value!r}: polars' regular expressions (Rust's regex) "
                        f"cannot say {refused} as RE2 reads it", None,
                        "filter with the sql target on duckdb, which runs RE2") from None
                return column.str.contains(pattern)
        raise AssertionError(f"unknown test {test.op!r}")

    def order(self, plan: OrderPlan) -> list[polars.Expr]:
        keys = []
        parts = dict(plan.columns)
        if plan.ranks:
            rank: Any = polars
            for column, rank_value in plan.ranks:
                rank = rank.when(self.value(column, parts[column]).is_not_null()).then(
                    polars.lit(rank_value))
            keys.append(rank)
        for column, part in plan.columns:
            keys.append(self.value(column, part, plan.lowered and part == "string"))
        return keys
