"""Query -> the list of problems that make it meaningless (literals no run can ever match).

Run attributes have known types: a literal of another type, an unknown state, a date that is
not ISO-8601 or a broken regex can never select a run, so it is refused before anything is
compiled. Every problem is collected, each pointing at the predicate it came from.
"""

from __future__ import annotations

from typing import assert_never

from wsquery.ast import (
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
    Within,
)
from wsquery.errors import Diagnostic
from wsquery.facts.attributes import NUMERIC_KINDS, RUN_STATES, kind, parse_datetime

#: Deepest nesting of and/or/not accepted; deeper input is refused before any pass recurses.
MAX_DEPTH = 100
#: Sections whose keys have no known type, and the literals a comparison on such a key never
#: has a problem with (null and durations have).
UNTYPED_SECTIONS = frozenset({"config", "summary"})
UNCHECKED_LITERALS = frozenset({str, int, float, bool})
_DATE_HINT = 'write an ISO-8601 date such as "2024-05-01" or "2024-05-01T12:00:00Z"'
_NO_SPAN = (0, 0)


def check(query: Query) -> list[Diagnostic]:
    """Every problem in ``query``; an empty list when it is meaningful."""
    return [] if query.filter is None else check_condition(query.filter)


def check_condition(condition: Expr) -> list[Diagnostic]:
    """Every problem in ``condition``, in the order of its leaves."""
    problems: list[Diagnostic] = []
    _check_expr(condition, problems)
    return problems


def _check_expr(node: Expr, problems: list[Diagnostic]) -> None:
    match node:
        case And() | Or():
            for operand in node.operands:
                _check_expr(operand, problems)
        case Not():
            _check_expr(node.operand, problems)
        case _:
            check_leaf(node, problems)


def check_leaf(node: Expr, problems: list[Diagnostic]) -> None:
    """Add the problems of one leaf to ``problems``; the parser checks each leaf it builds.

    Only run attributes have known types, so a comparison on a config or summary key with a
    plain literal has nothing to check, and is let through first."""
    match node:
        case Compare():
            value = node.value
            if node.field.section in UNTYPED_SECTIONS and type(value) in UNCHECKED_LITERALS:
                return
            _check_values(node.field, node.op, (value,), node.span, problems)
        case In():
            _check_values(node.field, "in", node.values, node.span, problems)
        case Contains():
            _check_contains(node, problems)
        case Match():
            _check_match(node, problems)
        case Within():
            if kind(node.field) != "time":
                problems.append(Diagnostic(
                    "'within last' applies to created_at only", node.span or _NO_SPAN,
                    hint="write created_at within last 3d"))
        case IsNull() | Constant():
            pass
        case And() | Or() | Not():
            raise TypeError(f"not a leaf: {node}")
        case _:
            assert_never(node)


def list_for_one_value(field: Field, op: str, span: tuple[int, int]) -> Diagnostic:
    """A list where ``op`` takes one value: lists are for ``in``."""
    message = ("'contains' takes one value, not a list" if op == "contains"
               else f"'{op}' compares with one value, not a list")
    return Diagnostic(message, span, hint=f"write {field} in [...] to match any of several values")


def null_compared(field: Field, op: str, span: tuple[int, int]) -> Diagnostic:
    """``field == null`` or another comparison with null, which no run can meet."""
    wanted = "is null" if op == "==" else "is not null"
    return Diagnostic(f"nothing is {'equal' if op == '==' else 'compared'} to null", span,
                   hint=f"write {field} {wanted}")


def bad_limit(span: tuple[int, int]) -> Diagnostic:
    """A ``limit`` that is no whole number of runs, 1 or more."""
    return Diagnostic("limit takes a whole number of runs, 1 or more", span,
                   hint="write limit 10 for the first 10 runs in order")


def _check_values(field: Field, op: str, values: tuple[Scalar, ...],
                  span: tuple[int, int] | None, problems: list[Diagnostic]) -> None:
    span = span or _NO_SPAN
    field_kind = kind(field)
    for value in values:
        if value is None:
            problems.append(Diagnostic(f"'{op}' never matches null", span,
                                    hint=f"write {field} is null"))
        elif isinstance(value, Duration) and field_kind != "seconds":
            problems.append(Diagnostic(
                f"{field} is not a duration; durations compare with runtime only", span,
                hint=f"write a number: {value.seconds:g} seconds is {value}"))
    if field_kind == "tags":
        if op != "in":
            problems.append(Diagnostic(
                f"tags is a list: '{op}' cannot match it", span,
                hint='write tags == "best", tags != "best" or tags in ["a", "b"]'))
        elif not all(isinstance(v, str) for v in values):
            problems.append(Diagnostic("tags are strings", span, hint='write tags in ["a", "b"]'))
    elif field_kind == "time":
        for value in values:
            if not (isinstance(value, str) and parse_datetime(value) is not None):
                problems.append(Diagnostic(
                    f"{field} is compared with a date or datetime, not {_show(value)}", span,
                    hint=_DATE_HINT))
    elif field_kind in NUMERIC_KINDS:
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | float | Duration):
                problems.append(Diagnostic(f"{field} is a number, not {_show(value)}", span,
                                        hint=f"write a number{_duration_hint(field_kind)}"))
    elif field_kind in ("text", "state"):
        for value in values:
            if value is not None and not isinstance(value, str):
                problems.append(Diagnostic(f"{field} is a string, not {_show(value)}", span,
                                        hint=f'write {field} {op} "{_show_plain(value)}"'))
            elif field_kind == "state" and isinstance(value, str) and (
                    value.lower() not in RUN_STATES):
                problems.append(Diagnostic(f'{field} is never "{value}"', span,
                                        hint=_state_hint(value)))


def _check_contains(node: Contains, problems: list[Diagnostic]) -> None:
    span = node.span or _NO_SPAN
    value = node.value
    if value is None or isinstance(value, Duration):
        problems.append(Diagnostic("'contains' needs a string or a number", span,
                                hint=f'write {node.field} contains "text"'))
    elif kind(node.field) in NUMERIC_KINDS | {"time"}:
        problems.append(Diagnostic(f"{node.field} holds no text to search", span,
                                hint="compare it with '<', '>=' or 'between'"))
    elif kind(node.field) in ("text", "state", "tags") and not isinstance(value, str):
        op = "==" if kind(node.field) == "tags" else "contains"
        problems.append(Diagnostic(f"{node.field} holds strings, not {_show(value)}", span,
                                hint=f'write {node.field} {op} "{_show_plain(value)}"'))


def _check_match(node: Match, problems: list[Diagnostic]) -> None:
    span = node.span or _NO_SPAN
    if kind(node.field) in NUMERIC_KINDS | {"time", "tags"}:
        problems.append(Diagnostic(f"{node.field} is not a string; '=~' cannot match it", span,
                                hint="match strings such as name, group or config keys"))
        return
    from wsquery.regex import re2_refusal  # here: most queries hold no regex

    refused = re2_refusal(node.pattern)
    if refused is not None:
        problems.append(Diagnostic(f"not an RE2 regular expression: {refused.message}", span,
                                hint=refused.hint))


def _state_hint(value: str) -> str:
    import difflib  # here: only a mistake needs it

    close = difflib.get_close_matches(value.lower(), RUN_STATES, n=1, cutoff=0.6)
    listed = "states are " + ", ".join(RUN_STATES)
    return f'did you mean "{close[0]}"? {listed}' if close else listed


def _duration_hint(field_kind: str) -> str:
    return " of seconds or a duration such as 2h" if field_kind == "seconds" else ""


def _show(value: Scalar) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show_plain(value: Scalar) -> str:
    return _show(value).strip('"')
