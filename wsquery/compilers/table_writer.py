"""A query's normal form -> one engine's expressions over a run table (``run_table``): the part
the table targets (``sql``, ``polars``, ``pandas``) share.

``TableWriter`` owns what does not depend on the engine: the walk of the filter in the
language's three-valued logic (``positive``: whether TRUE or, under ``not``, FALSE is what
matters), each leaf as its plan (``run_table.leaf_plan``: the first non-null of its tests, or
every column null), the query's total order (``ast.total_order``: its ``order by`` keys, then
``created_at`` newest first, then ``id``) as sort keys (``run_table.order_plan``), and the
warning that ``group by`` was left out. An engine's writer subclasses it and gives only its
primitives (true, false and null; and, or, not; is-null; the first non-null; a column as a test
or a sort key reads it; the tests), as a sqlglot dialect overrides only what it writes
differently. A test an engine has no primitive for is a ``TargetError``, never written as
something else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar, Generic, TypeVar, assert_never

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
)
from wsquery.compilers import run_table
from wsquery.compilers.base import Context
from wsquery.compilers.run_table import IsNullPlan, Leaf, Part, Shape, Test
from wsquery.errors import TargetError

#: An engine's expression: a sqlglot node, a polars expression, an Arrow array.
E = TypeVar("E")


class TableWriter(ABC, Generic[E]):
    """A filter and an order over a run table of ``shape`` as expressions ``E`` of one engine;
    errors and warnings go through ``context``; ``now`` is where ``within last`` counts back
    from."""

    #: What the target's result leaves out of ``group by``, and what to do instead.
    UNGROUPED: ClassVar[str]
    GROUP_HINT: ClassVar[str]

    def __init__(self, shape: Shape, context: Context, now: datetime) -> None:
        self.shape = shape
        self.context = context
        self.now = now

    @classmethod
    def warn_ungrouped(cls, query: Query, context: Context) -> None:
        """Warn (with ``strict``: refuse) that the rows are not grouped by ``group by``."""
        if query.group_by:
            context.warn(cls.UNGROUPED, None, cls.GROUP_HINT)

    # The walk --------------------------------------------------------------------------------

    def where(self, condition: Expr | None) -> E | None:
        """A normal form's filter as a test of a row; None when it keeps every row."""
        if condition is None or condition == Constant(True):
            return None
        return self.expr(condition)

    def expr(self, node: Expr, positive: bool = True) -> E:
        """``node``: TRUE on exactly the rows where it is TRUE when ``positive``, else (under
        ``not``) FALSE on exactly the rows where it is FALSE."""
        match node:
            case And():
                return self.and_([self.expr(operand, positive) for operand in node.operands])
            case Or():
                return self.or_([self.expr(operand, positive) for operand in node.operands])
            case Not():
                return self.not_(self.expr(node.operand, not positive))
            case Constant():
                return self.constant(node.value)
            case Compare() | In() | Match() | Contains() | IsNull() | Within():
                return self.plan(run_table.leaf_plan(node, self.shape, self.context, self.now),
                                 positive)
            case _:
                assert_never(node)

    def plan(self, plan: Leaf | IsNullPlan, positive: bool) -> E:
        match plan:
            case IsNullPlan():
                if not plan.columns:
                    return self.constant(True)
                return self.and_([self.is_null(column) for column in plan.columns])
            case Leaf():
                if plan.any_of:
                    return self.or_([self.plan(leaf, positive) for leaf in plan.any_of])
                tests = [self.test(test, positive) for test in plan.tests]
                if not tests:
                    return self.constant(None)
                return tests[0] if len(tests) == 1 else self.coalesce(tests)
            case _:
                assert_never(plan)

    def test(self, test: Test, positive: bool) -> E:
        match test.op:
            case "==" | "!=" | "<" | "<=" | ">" | ">=":
                return self.compare(test, positive)
            case "one_of":
                return self.one_of(test, positive)
            case "substring":
                return self.substring(test)
            case "has":
                return self.has(test)
            case "never":
                return self.never(test)
            case "regex":
                return self.regex(test)
        raise self.cannot(f"the test {test.op!r}")

    def order(self, keys: Iterable[OrderKey]) -> list[tuple[E, bool]]:
        """``keys`` (a query's total order) as sort keys, each with whether it sorts
        descending: for each key the rank of its value's type when it has several, then each
        of its part columns."""
        order: list[tuple[E, bool]] = []
        for key in keys:
            plan = run_table.order_plan(key, self.shape, self.context)
            descending = not plan.ascending
            if plan.ranks:
                parts = dict(plan.columns)
                rank = self.type_rank([(self.value(column, parts[column]), rank_value)
                                       for column, rank_value in plan.ranks])
                order.append((rank, descending))
            order.extend((self.sort_key(column, part, plan.lowered and part == "string"),
                          descending) for column, part in plan.columns)
        return order

    def cannot(self, what: str) -> TargetError:
        """The refusal of what the engine has no primitive for (the error names the target)."""
        return self.context.error(f"cannot write {what}", None)

    # Every engine's primitives ---------------------------------------------------------------

    @abstractmethod
    def constant(self, value: bool | None) -> E:
        """TRUE, FALSE, or (None) UNKNOWN on every row."""

    @abstractmethod
    def and_(self, operands: Sequence[E]) -> E:
        """Kleene's AND of one or more operands."""

    @abstractmethod
    def or_(self, operands: Sequence[E]) -> E:
        """Kleene's OR of one or more operands."""

    @abstractmethod
    def not_(self, operand: E) -> E:
        """Kleene's NOT."""

    @abstractmethod
    def is_null(self, column: str) -> E:
        """TRUE where ``column`` is null, else FALSE."""

    @abstractmethod
    def coalesce(self, tests: Sequence[E]) -> E:
        """The first of two or more ``tests`` that is not null."""

    @abstractmethod
    def value(self, column: str, part: Part, lower: bool = False) -> E:
        """A part column as it is compared and sorted: NaN as null, lower case if ``lower``."""

    @abstractmethod
    def compare(self, test: Test, positive: bool) -> E:
        """A comparison (``test.op`` one of ``== != < <= > >=``) of a part column with a
        literal; null where the column is."""

    def one_of(self, test: Test, positive: bool) -> E:
        """TRUE where the column equals one of the values ``test.value``, FALSE where it is set
        to another, null where it is null: the comparisons or-ed, unless the engine has a
        test of membership."""
        return self.or_([self.compare(attrs.evolve(test, op="==", value=value), positive)
                         for value in test.value])

    # What an engine may lack: refused unless it writes it ------------------------------------

    def substring(self, test: Test) -> E:
        """TRUE where the text holds ``test.value``."""
        raise self.cannot("a substring test")

    def has(self, test: Test) -> E:
        """TRUE where an element of the list equals the literal, FALSE on other lists."""
        raise self.cannot("a test of a list's elements")

    def never(self, test: Test) -> E:
        """FALSE where the column (a list with no element of the literal's type, a state none
        of whose spellings passes) is set, else null."""
        raise self.cannot("a test of a list with no element of the literal's type")

    def regex(self, test: Test) -> E:
        """TRUE where RE2's ``test.value`` finds a match in the text."""
        raise self.cannot("a regular expression")

    def type_rank(self, ranks: Sequence[tuple[E, int]]) -> E:
        """The rank of the first of the read columns that is set."""
        raise self.cannot("an order of values of several types")

    def sort_key(self, column: str, part: Part, lower: bool) -> E:
        """A part column as a sort key: nulls and NaN last, in ``value``'s reading."""
        return self.value(column, part, lower)
