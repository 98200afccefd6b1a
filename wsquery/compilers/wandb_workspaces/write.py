"""``Query`` -> a wandb-workspaces filter string (the ``wandb-workspaces`` target).

What the reference library cannot read back as the same runs is refused with the part
pointed at: ``not`` other than ``not in``, ``<`` and ``>`` (it reads them as ``<=`` and
``>=``), regex matches, ``is null``, clauses, and literals its text rewrites would change.
"""

from __future__ import annotations

import math
import re
from typing import assert_never

import attrs

from wsquery.ast import (
    UI_RUN_NAMES,
    And,
    Compare,
    Constant,
    Contains,
    Duration,
    Expr,
    Field,
    In,
    IsNull,
    Match,
    Not,
    Or,
    Query,
    Scalar,
    Span,
    Within,
)
from wsquery.compilers.base import check_options
from wsquery.compilers.notebook import ShownInNotebooks
from wsquery.compilers.wandb_workspaces.vocabulary import (
    RUN_KEY_UI_NAMES,
    SECTION_WRITERS,
    TARGET,
    UNIT_SECONDS,
    UNIT_WRITERS,
    WRITE_OPS,
    is_tags,
)
from wsquery.errors import (
    TargetError,
    TargetWarning,
)
from wsquery.facts.attributes import kind
from wsquery.syntax.parser import parse

#: The reference library rewrites ``=``, ``<`` and ``>`` everywhere in the text, even inside
#: strings; a literal these would change cannot be written for it.
_LIBRARY_REWRITES = re.compile(r"(?<![!<>=])=(?!=)|<(?!=)|>(?!=)")


def to_wandb_workspaces(query: Query | str) -> str:
    """Write a query as a wandb-workspaces filter expression that selects the same runs.

    Raises ``TargetError`` (target ``"wandb-workspaces"``) naming the first construct that
    has no such expression: ``not`` other than ``not in``, ``<`` and ``>`` (the library reads
    them as ``<=`` and ``>=``), regex matches, ``is null``, ``contains`` other than on tags,
    ``true``/``false``, ``group by`` and ``order by``. ``state`` values are written in lower
    case, and durations compared with ``runtime`` as seconds.
    """
    text = query if isinstance(query, str) else None
    parsed = parse(query) if isinstance(query, str) else query
    if not isinstance(parsed, Query):
        raise TypeError(f"expected query text or a Query, not {type(query).__name__}")
    return compile_wandb_workspaces(parsed, text=text).text


@attrs.frozen
class WandbWorkspacesFilter(ShownInNotebooks):
    """A query as a wandb-workspaces filter expression (the ``wandb-workspaces`` target);
    ``to_json()`` is that text."""

    text: str
    warnings: tuple[TargetWarning, ...] = ()
    #: The query compiled (for its notebook form; not part of the result's value).
    query: Query | None = attrs.field(default=None, eq=False, repr=False)

    def to_json(self) -> str:
        return self.text


def compile_wandb_workspaces(query: Query, *, text: str | None = None, strict: bool = False,
                             **unknown: object) -> WandbWorkspacesFilter:
    """``to_wandb_workspaces`` as a compile target; ``text``, the source of ``query``, lets
    errors point into it. It gives no warnings, so ``strict`` changes nothing."""
    check_options(TARGET, unknown, "strict only", [("strict", strict)])
    return WandbWorkspacesFilter(_write(query, text), query=query)


def _write(parsed: Query, text: str | None) -> str:
    writer = _ExpressionWriter(text)
    if parsed.limit is not None:
        raise writer.refuse("'limit' has no place in a filter expression", None,
                            "set the view's max runs instead")
    if parsed.group_by:
        raise writer.refuse("'group by' has no place in a filter expression",
                            parsed.group_by[0].span, "set the grouping of the run set itself")
    if parsed.order_by:
        raise writer.refuse("'order by' has no place in a filter expression",
                            parsed.order_by[0].span, "set the sort of the run set itself")
    if parsed.filter is None:
        return ""
    return writer.expr(parsed.filter)




class _ExpressionWriter:
    """Writes one query's filter; ``text`` is its source, when known, for errors with a caret."""

    def __init__(self, text: str | None) -> None:
        self.text = text

    def refuse(self, message: str, span: Span, hint: str | None = None) -> TargetError:
        return TargetError(message, target=TARGET, span=span, text=self.text, hint=hint)

    def expr(self, node: Expr) -> str:
        match node:
            case And():
                return " and ".join(f"({self.expr(o)})" if isinstance(o, And | Or)
                                    else self.expr(o) for o in node.operands)
            case Or():
                return " or ".join(f"({self.expr(o)})" if isinstance(o, Or) else self.expr(o)
                                   for o in node.operands)
            case Compare():
                if node.op not in WRITE_OPS:
                    raise self.refuse(
                        f"'{node.op}' cannot be written", node.span,
                        f"wandb-workspaces reads '{node.op}' as '{node.op}='; write "
                        f"'{node.op}=' if that is meant")
                value = self.value(node.field, node.value, node.span)
                return f"{self.field(node.field)} {node.op} {value}"
            case In():
                values = self.values(node.field, node.values, node.span)
                return f"{self.field(node.field)} in {values}"
            case Within():
                return f"{self.field(node.field)} within_last {self.duration(node)}"
            case Contains():
                if not is_tags(node.field):
                    raise self.refuse(f"'contains' on {node.field} cannot be written",
                                      node.span, "only tags can be searched: Tags() in ['tag']")
                return f"Tags() in {self.values(node.field, (node.value,), node.span)}"
            case Not():
                return self.negation(node)
            case Match():
                raise self.refuse("a regex match ('=~') cannot be written", node.span,
                                  "the workspace run set's search box takes a name regex")
            case IsNull():
                raise self.refuse("'is null' cannot be written", node.span)
            case Constant():
                raise self.refuse(f"'{node}' as a condition cannot be written",
                                  node.span, "leave the filter out to select every run")
            case _:
                assert_never(node)

    def negation(self, node: Not) -> str:
        operand = node.operand
        if isinstance(operand, In):
            values = self.values(operand.field, operand.values, node.span)
            return f"{self.field(operand.field)} not in {values}"
        if isinstance(operand, Contains) and is_tags(operand.field):
            return f"Tags() not in {self.values(operand.field, (operand.value,), node.span)}"
        raise self.refuse(f"'{node}' cannot be written: there is no 'not'", node.span,
                          "wsquery.normalize(query) turns 'not' into the opposite comparison "
                          "where one exists")

    def field(self, field: Field) -> str:
        if is_tags(field):
            return "Tags()"
        name = field.key
        if field.section == "run":
            name = RUN_KEY_UI_NAMES.get(name, name)
            if UI_RUN_NAMES.get(name, name) != field.key:
                raise self.refuse(f"run key {field.key!r} reads back as "
                                  f"run.{UI_RUN_NAMES[name]} in wandb-workspaces", field.span)
        return f"{SECTION_WRITERS[field.section]}({self.string(name, field.span)})"

    def value(self, field: Field, value: Scalar, span: Span) -> str:
        match value:
            case bool():
                return "True" if value else "False"
            case int() | float():
                if not math.isfinite(value):
                    raise self.refuse(f"{value} has no literal", span)
                return repr(value)
            case str():
                return self.string(value.lower() if kind(field) == "state" else value, span)
            case Duration():
                seconds = value.seconds
                return repr(int(seconds) if float(seconds).is_integer() else seconds)
            case None:
                raise self.refuse("null cannot be written", span)
            case _:
                assert_never(value)

    def values(self, field: Field, values: tuple[Scalar, ...], span: Span) -> str:
        return "[" + ", ".join(self.value(field, v, span) for v in values) + "]"

    def string(self, value: str, span: Span) -> str:
        literal = repr(value)
        if _LIBRARY_REWRITES.search(literal):
            raise self.refuse(f"{literal} would be changed by wandb-workspaces, which rewrites "
                              "every '=', '<' and '>' in the text", span)
        return literal

    def duration(self, node: Within) -> str:
        """The amount and unit the library turns into the same whole number of seconds."""
        amount, unit = node.duration.amount, node.duration.unit
        if unit == "s":
            amount, unit = amount / 60, "m"
        elif unit == "w":
            amount, unit = amount * 7, "d"
        if isinstance(amount, float) and amount.is_integer() and node.duration.unit in "sw":
            amount = int(amount)
        written, unit_name = repr(amount), UNIT_WRITERS[unit]
        exact = re.fullmatch(r"\d+(?:\.\d+)?", written) is not None and abs(
            int(float(written) * UNIT_SECONDS[unit_name]) - node.duration.seconds) < 1e-6
        if not exact:
            raise self.refuse(f"'{node.duration}' cannot be written", node.span,
                              "wandb-workspaces counts whole seconds as minutes, hours or "
                              "days written without an exponent")
        return f"{written} {unit_name}"
