"""The walk the table targets share (``compilers.table_writer``): an engine that gives only the
logic primitives and comparisons gets the filter and the order from the base, with ``positive``
turned under ``not``, and every test or sort it has no primitive for is a ``TargetError``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

import wsquery
from wsquery.compilers import run_table
from wsquery.compilers.base import Context
from wsquery.compilers.run_table import Part, Shape, shape_of
from wsquery.compilers.table_writer import TableWriter
from wsquery.errors import TargetError
from wsquery.semantics.normalize import normalize

NOW = datetime(2024, 1, 2, tzinfo=UTC)
SHAPE = shape_of({"name": "string", "tags": "strings", "created_at": "time", "id": "string",
                  "config.lr": "number", "config.l": "numbers", "config.x:number": "number",
                  "config.x:string": "string"})


class TextWriter(TableWriter[str]):
    """The logic primitives and comparisons as text, and nothing else."""

    UNGROUPED = "text is not grouped"
    GROUP_HINT = "group it yourself"

    def constant(self, value: bool | None) -> str:
        return str(value).upper()

    def and_(self, operands: Sequence[str]) -> str:
        return "(" + " AND ".join(operands) + ")"

    def or_(self, operands: Sequence[str]) -> str:
        return "(" + " OR ".join(operands) + ")"

    def not_(self, operand: str) -> str:
        return f"NOT {operand}"

    def is_null(self, column: str) -> str:
        return f"{column} IS NULL"

    def coalesce(self, tests: Sequence[str]) -> str:
        return "COALESCE(" + ", ".join(tests) + ")"

    def value(self, column: str, part: Part, lower: bool = False) -> str:
        return f"lower({column})" if lower else column

    def compare(self, test: run_table.Test, positive: bool) -> str:
        where = "" if positive else " [FALSE matters]"
        return f"{self.value(test.column, test.part, test.lower)} {test.op} {test.value!r}{where}"


def written(text: str, shape: Shape = SHAPE) -> tuple[str | None, list[tuple[str, bool]]]:
    query = wsquery.parse(text)
    writer = TextWriter(shape, Context("text", text, False), NOW)
    return writer.where(normalize(query).filter), writer.order(wsquery.ast.total_order(query))


def test_the_base_walks_the_filter_and_the_total_order() -> None:
    condition, order = written("not created_at within last 1d or config.lr > 1 and name is "
                               "not null order by name")
    assert condition == ("(NOT created_at >= datetime.datetime(2024, 1, 1, 0, 0, "
                         "tzinfo=datetime.timezone.utc) [FALSE matters] OR (config.lr > 1 AND "
                         "NOT (name IS NULL)))")
    assert order == [("name", False), ("created_at", True), ("id", False)]


def test_a_filter_that_keeps_every_row_is_none() -> None:
    assert written("order by name")[0] is None
    assert written("true")[0] is None


@pytest.mark.parametrize(("text", "refusal"), [
    ('name =~ "^a"', "a regular expression"),
    ('name contains "a"', "a substring test"),
    ('tags in ["a"]', "a test of a list's elements"),
    ('config.l contains "a"', "a test of a list with no element of the literal's type"),
    ("order by config.x", "an order of values of several types"),
])
def test_what_an_engine_has_no_primitive_for_is_refused(text: str, refusal: str) -> None:
    with pytest.raises(TargetError) as raised:
        written(text)
    assert str(raised.value).splitlines()[0] == (
        f"text: cannot write {refusal}")


def test_group_by_is_a_warning_or_with_strict_an_error() -> None:
    query = wsquery.parse("group by name")
    context = Context("text", None, False)
    TextWriter.warn_ungrouped(query, context)
    assert [warning.message for warning in context.warnings] == ["text is not grouped"]
    with pytest.raises(TargetError, match="text is not grouped"):
        TextWriter.warn_ungrouped(query, Context("text", None, True))
