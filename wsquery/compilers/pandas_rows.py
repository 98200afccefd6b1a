"""Query -> ``PandasQuery``: a function from a pandas run table (``run_table``) to the rows
``evaluate`` selects, in its order, and the nullable-boolean mask (TRUE, FALSE or NA for
UNKNOWN) it selects them by.

The shape of the table is read when the function is called, from the frame itself, so one
compiled query serves any run table. Each leaf is its plan (``run_table.leaf_plan``) computed
over the columns as Arrow arrays (``pyarrow.compute``, whose ``and_kleene``/``or_kleene`` are
the language's three-valued logic, and whose regexes are RE2's, the language's): a test of the
part column of the literal's type, NaN made null before a comparison, ``state`` lower-cased,
list membership element by element. Columns of pandas' own NumPy dtypes work too, with their
meaning: NaN there is pandas' missing value, so ``is null`` holds for it; ``to_frame`` gives
Arrow-backed columns, where NaN and null stay apart as ``evaluate`` keeps them.
"""

from __future__ import annotations

import functools
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
    OrderKey,
    Query,
    Within,
    total_order,
)
from wsquery.compilers import run_table
from wsquery.compilers.base import Context, checked_now
from wsquery.compilers.run_table import IsNullPlan, Leaf, OrderPlan, Part, Test
from wsquery.errors import TargetError, TargetWarning
from wsquery.semantics.normalize import normalize

try:
    import pandas
    import pyarrow
    import pyarrow.compute as pc
    import pyarrow.types
except ImportError as missing:
    raise TargetError("the pandas target needs pandas and pyarrow", target="pandas",
                      hint="pip install 'wsquery[pandas]'") from missing

TARGET = "pandas"
_OPTIONS = ("now", "strict")
_COMPARISONS = {"==": "equal", "!=": "not_equal", "<": "less", "<=": "less_equal",
                ">": "greater", ">=": "greater_equal"}


@attrs.frozen(slots=True)
class PandasQuery:
    """``q(frame)`` is the rows of ``frame`` the query selects, in its order (the index kept);
    ``q.mask(frame)`` the nullable booleans the filter gives each row."""

    filter: Expr | None
    #: The query's total order (``ast.total_order``).
    order_by: tuple[OrderKey, ...]
    limit: int | None
    now: datetime
    text: str | None = None
    warnings: tuple[TargetWarning, ...] = ()

    def mask(self, frame: Any) -> Any:
        """A pandas ``boolean`` Series aligned with ``frame``: TRUE, FALSE or NA (UNKNOWN)."""
        values = self._truth(frame)
        return pandas.Series(pandas.array(values.to_pylist(), dtype="boolean"),
                             index=frame.index)

    def __call__(self, frame: Any) -> Any:
        chosen = pc.indices_nonzero(pc.fill_null(self._truth(frame), False))
        context = Context(TARGET, self.text, False)
        shape = run_table.shape_of(frame)
        keys = []
        columns: dict[str, Any] = {}
        for key in self.order_by:
            plan = run_table.order_plan(key, shape, context)
            direction = "ascending" if plan.ascending else "descending"
            for value in _sort_values(frame, plan, chosen):
                name = f"k{len(columns)}"
                columns[name] = value
                keys.append((name, direction, "at_end"))
        if keys:
            order = pc.sort_indices(pyarrow.table(columns), sort_keys=keys)
            chosen = pc.take(chosen, order)
        rows = chosen.to_pylist()[:self.limit]
        return frame.iloc[rows]

    def _truth(self, frame: Any) -> Any:
        if self.filter is None:
            return pyarrow.array([True] * len(frame), pyarrow.bool_())
        context = Context(TARGET, self.text, False)
        shape = run_table.shape_of(frame)
        return _Writer(frame, shape, context, self.now).expr(self.filter)

    def to_json(self) -> dict[str, Any]:
        """The query the function runs, in normal form."""
        return {"filter": None if self.filter is None else str(self.filter),
                "order_by": [str(key) for key in self.order_by], "limit": self.limit}


def compile_pandas(query: Query, *, text: str | None = None, now: datetime | None = None,
                   strict: bool = False, **unknown: object) -> PandasQuery:
    """``query`` as a function of a pandas run table. ``now`` anchors ``within last``."""
    moment = checked_now(TARGET, now, strict, unknown, ", ".join(_OPTIONS))
    context = Context(TARGET, text, strict)
    if query.group_by:
        context.warn("a pandas selection does not group runs: group by was left out", None,
                     "group the rows it selects with DataFrame.groupby")
    return PandasQuery(normalize(query).filter, total_order(query), query.limit, moment, text,
                       tuple(context.warnings))


def _column(frame: Any, name: str) -> Any:
    """A column as an Arrow array (an Arrow-backed column as it is)."""
    return pyarrow.array(frame[name])


def _value(frame: Any, column: str, part: Part, lower: bool = False) -> Any:
    read = _column(frame, column)
    if part == "number" and pyarrow.types.is_floating(read.type):
        read = pc.if_else(pc.is_nan(read), None, read)
    return pc.utf8_lower(read) if lower else read


def _sort_values(frame: Any, plan: OrderPlan, rows: Any) -> list[Any]:
    """The arrays ``plan`` sorts ``rows`` by: the rank of each value's type when there are
    several, then each part."""
    parts = dict(plan.columns)
    values = {column: pc.take(_value(frame, column, part, plan.lowered and part == "string"),
                              rows) for column, part in plan.columns}
    keys = []
    if plan.ranks:
        ranks = [pc.if_else(pc.is_null(values[column]), None,
                            pyarrow.scalar(rank, pyarrow.int8()))
                 for column, rank in plan.ranks]
        keys.append(pc.coalesce(*ranks))
    keys.extend(values[column] for column in parts)
    return keys


class _Writer:
    """A filter computed over one frame, as Arrow boolean arrays."""

    def __init__(self, frame: Any, shape: run_table.Shape, context: Context,
                 now: datetime) -> None:
        self.frame = frame
        self.shape = shape
        self.context = context
        self.now = now
        self.rows = len(frame)

    def constant(self, value: bool | None) -> Any:
        return pyarrow.array([value] * self.rows, pyarrow.bool_())

    def expr(self, node: Expr) -> Any:
        match node:
            case And():
                return functools.reduce(pc.and_kleene, (self.expr(o) for o in node.operands))
            case Or():
                return functools.reduce(pc.or_kleene, (self.expr(o) for o in node.operands))
            case Not():
                return pc.invert(self.expr(node.operand))
            case Constant():
                return self.constant(node.value)
            case Compare() | In() | Match() | Contains() | IsNull() | Within():
                return self.plan(run_table.leaf_plan(node, self.shape, self.context, self.now))
            case _:
                assert_never(node)

    def plan(self, plan: Leaf | IsNullPlan) -> Any:
        match plan:
            case IsNullPlan():
                if not plan.columns:
                    return self.constant(True)
                return functools.reduce(pc.and_, (pc.is_null(_column(self.frame, column))
                                                  for column in plan.columns))
            case Leaf():
                if plan.any_of:
                    return functools.reduce(pc.or_kleene, (self.plan(leaf)
                                                           for leaf in plan.any_of))
                tests = [self.test(test) for test in plan.tests]
                if not tests:
                    return self.constant(None)
                return tests[0] if len(tests) == 1 else pc.coalesce(*tests)
            case _:
                assert_never(plan)

    def test(self, test: Test) -> Any:
        match test.op:
            case "==" | "!=" | "<" | "<=" | ">" | ">=":
                read = _value(self.frame, test.column, test.part, test.lower)
                literal = test.value
                if test.part == "time":
                    literal = pyarrow.scalar(literal, pyarrow.timestamp("us", tz="UTC"))
                return getattr(pc, _COMPARISONS[test.op])(read, literal)
            case "substring":
                return pc.match_substring(_column(self.frame, test.column), test.value)
            case "has":
                return self.has(test)
            case "never":
                column = _column(self.frame, test.column)
                return pc.if_else(pc.is_null(column), None, False)
            case "regex":  # Arrow's regexes are RE2's
                return pc.match_substring_regex(_column(self.frame, test.column), test.value)
        raise AssertionError(f"unknown test {test.op!r}")

    def has(self, test: Test) -> Any:
        """TRUE where an element of the list equals the literal, FALSE on other lists."""
        lists = _column(self.frame, test.column)
        equal = pc.fill_null(pc.equal(pc.list_flatten(lists), test.value), False)
        holding = pc.unique(pc.filter(pc.list_parent_indices(lists), equal))
        found = pc.is_in(pyarrow.array(range(self.rows), pyarrow.int64()),
                         value_set=pc.cast(holding, pyarrow.int64()))
        return pc.if_else(pc.is_null(lists), None, found)
