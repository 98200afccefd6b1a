"""Query -> ``PandasQuery``: a function from a pandas run table (``run_table``) to the rows
``evaluate`` selects, in its order, and the nullable-boolean mask (TRUE, FALSE or NA for
UNKNOWN) it selects them by.

The shape of the table is read when the function is called, from the frame itself, so one
compiled query serves any run table. Each leaf is its plan (``run_table.leaf_plan``) computed
over the columns as Arrow arrays (``pyarrow.compute``, whose ``and_kleene``/``or_kleene`` are
the language's three-valued logic, and whose regexes are RE2's, the language's): a test of the
part column of the literal's type, NaN made null before a comparison in a column holding NaN,
``state`` tested against the spellings of it the column holds that pass (``run_table.learn``),
list membership element by element. Columns of pandas' own NumPy dtypes work too, with their
meaning: NaN there is pandas' missing value, so ``is null`` holds for it; ``to_frame`` gives
Arrow-backed columns, where NaN and null stay apart as ``evaluate`` keeps them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from wsquery.ast import Expr, OrderKey, Query, total_order
from wsquery.compilers import run_table
from wsquery.compilers.base import Context, checked_now
from wsquery.compilers.run_table import Part, Test
from wsquery.compilers.table_writer import TableWriter
from wsquery.errors import TargetError, TargetWarning
from wsquery.semantics.normalize import normalize

try:
    import numpy
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
        values = self._truth(self._writer(frame))
        return pandas.Series(pandas.array(values.to_pylist(), dtype="boolean"),
                             index=frame.index)

    def __call__(self, frame: Any) -> Any:
        writer = self._writer(frame)
        chosen = pc.indices_nonzero(pc.fill_null(self._truth(writer), False))
        columns: dict[str, Any] = {}
        keys = []
        for values, descending in writer.order(self.order_by):
            name = f"k{len(columns)}"
            columns[name] = pc.take(values, chosen)
            keys.append((name, "descending" if descending else "ascending", "at_end"))
        if keys:
            order = pc.sort_indices(pyarrow.table(columns), sort_keys=keys)
            chosen = pc.take(chosen, order)
        rows = chosen.to_pylist()[:self.limit]
        return frame.iloc[rows]

    def _writer(self, frame: Any) -> PandasWriter:
        """A writer for ``frame``, knowing what its rows say of the columns the filter tests
        (``run_table.learn``: a state's spellings, floats holding no NaN), which holds for
        this frame alone, as the writer does."""
        context = Context(TARGET, self.text, False)
        shape = run_table.learn(run_table.shape_of(frame), frame,
                                run_table.leaves(self.filter))
        return PandasWriter(frame, shape, context, self.now)

    def _truth(self, writer: PandasWriter) -> Any:
        truth = writer.where(self.filter)
        return writer.constant(True) if truth is None else truth

    def to_json(self) -> dict[str, Any]:
        """The query the function runs, in normal form."""
        return {"filter": None if self.filter is None else str(self.filter),
                "order_by": [str(key) for key in self.order_by], "limit": self.limit}


def compile_pandas(query: Query, *, text: str | None = None, now: datetime | None = None,
                   strict: bool = False, **unknown: object) -> PandasQuery:
    """``query`` as a function of a pandas run table. ``now`` anchors ``within last``."""
    moment = checked_now(TARGET, now, strict, unknown, ", ".join(_OPTIONS))
    context = Context(TARGET, text, strict)
    PandasWriter.warn_ungrouped(query, context)
    return PandasQuery(normalize(query).filter, total_order(query), query.limit, moment, text,
                       tuple(context.warnings))


def _column(frame: Any, name: str) -> Any:
    """A column as an Arrow array (an Arrow-backed column as it is)."""
    return pyarrow.array(frame[name])


class PandasWriter(TableWriter[Any]):
    """A filter and sort keys computed over one frame, as Arrow arrays."""

    UNGROUPED = "a pandas selection does not group runs: group by was left out"
    GROUP_HINT = "group the rows it selects with DataFrame.groupby"

    def __init__(self, frame: Any, shape: run_table.Shape, context: Context,
                 now: datetime) -> None:
        super().__init__(shape, context, now)
        self.frame = frame
        self.rows = len(frame)

    def constant(self, value: bool | None) -> Any:
        return pyarrow.array([value] * self.rows, pyarrow.bool_())

    def and_(self, operands: Sequence[Any]) -> Any:
        return functools.reduce(pc.and_kleene, operands)

    def or_(self, operands: Sequence[Any]) -> Any:
        return functools.reduce(pc.or_kleene, operands)

    def not_(self, operand: Any) -> Any:
        return pc.invert(operand)

    def is_null(self, column: str) -> Any:
        return pc.is_null(_column(self.frame, column))

    def coalesce(self, tests: Sequence[Any]) -> Any:
        return pc.coalesce(*tests)

    def value(self, column: str, part: Part, lower: bool = False) -> Any:
        read = _column(self.frame, column)
        if part == "number" and pyarrow.types.is_floating(read.type) and (
                not self.shape.holds_no_nan(column)):
            read = pc.if_else(pc.is_nan(read), None, read)
        return pc.utf8_lower(read) if lower else read

    def compare(self, test: Test, positive: bool) -> Any:
        read = self.value(test.column, test.part, test.lower)
        literal = test.value
        if test.part == "time":
            literal = pyarrow.scalar(literal, pyarrow.timestamp("us", tz="UTC"))
        return getattr(pc, _COMPARISONS[test.op])(read, literal)

    def substring(self, test: Test) -> Any:
        return pc.match_substring(_column(self.frame, test.column), test.value)

    def has(self, test: Test) -> Any:
        """The rows holding an equal element, marked in one array by their indices."""
        lists = _column(self.frame, test.column)
        if isinstance(lists, pyarrow.ChunkedArray):  # parent indices count from each chunk
            lists = lists.combine_chunks()
        equal = pc.fill_null(pc.equal(pc.list_flatten(lists), test.value), False)
        found = numpy.zeros(self.rows, dtype=bool)
        found[pc.filter(pc.list_parent_indices(lists), equal).to_numpy()] = True
        return pc.if_else(pc.is_null(lists), None, pyarrow.array(found))

    def never(self, test: Test) -> Any:
        return pc.if_else(pc.is_null(_column(self.frame, test.column)), None, False)

    def regex(self, test: Test) -> Any:
        """Arrow's regexes are RE2's."""
        return pc.match_substring_regex(_column(self.frame, test.column), test.value)

    def type_rank(self, ranks: Sequence[tuple[Any, int]]) -> Any:
        return pc.coalesce(*(pc.if_else(pc.is_null(read), None,
                                        pyarrow.scalar(rank, pyarrow.int8()))
                             for read, rank in ranks))
