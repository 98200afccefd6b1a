"""What one compilation shares across a target's compiler: the source text that errors point
into, whether warnings are errors (``strict``), the warnings given so far, and the checks of the
options the runs-API and mongo targets have in common (``now``, ``strict``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from wsquery.ast import Span
from wsquery.errors import TargetError, TargetWarning


class Context:
    """One compilation for ``target``: errors and warnings point into ``text``."""

    __slots__ = ("strict", "target", "text", "warnings")

    def __init__(self, target: str, text: str | None, strict: bool) -> None:
        self.target = target
        self.text = text
        self.strict = strict
        self.warnings: list[TargetWarning] = []

    def error(self, message: str, span: Span, hint: str | None = None) -> TargetError:
        return TargetError(message, target=self.target, span=span, text=self.text, hint=hint)

    def warn(self, message: str, span: Span, hint: str | None = None) -> None:
        """A warning, or with ``strict`` the ``TargetError`` it becomes."""
        if self.strict:
            raise self.error(message, span, hint)
        self.warnings.append(TargetWarning(message, self.target, span, hint, self.text))

    def check_backtracking(self, pattern: str, engine: str, span: Span) -> None:
        """Refuse a pattern that could hang ``engine``, a backtracking one, as Python's engine
        is guarded (``regex.backtracking_limit``); warn of one whose search time grows fast
        enough that text beyond ``LONG_TEXT`` characters could take long."""
        from wsquery.regex import RegexRefusal, backtracking_limit

        limit = backtracking_limit(pattern)
        linear = f"or use a target whose engine runs in linear time: {LINEAR_ENGINES}"
        if isinstance(limit, RegexRefusal):
            raise self.error(f"regex {json.dumps(pattern)}: {limit.message}, and {engine} "
                             "backtracks", span, f"{limit.hint}; {linear}")
        if limit is not None and limit < LONG_TEXT:
            self.warn(f"regex {json.dumps(pattern)}: {engine} backtracks, and one search on "
                      f"text longer than {limit} characters may take over ten million steps",
                      span, f"anchor the pattern with ^, or separate its repeats; {linear}")


#: Text lengths a backtracking engine should search any pattern it is given quickly.
LONG_TEXT = 4096
#: Where a pattern runs in time linear in the text, as errors name them.
LINEAR_ENGINES = "runs-api (RE2), sql on duckdb (RE2), polars (Rust's regex), pandas (RE2)"


def check_options(target: str, unknown: dict[str, object], known: str,
                  flags: Sequence[tuple[str, object]]) -> None:
    """A ``TargetError`` for an option the target does not know (``known`` lists those it
    does) or a flag that is not True or False."""
    if unknown:
        names = ", ".join(repr(name) for name in sorted(unknown))
        plural = "s" if len(unknown) > 1 else ""
        raise TargetError(f"unknown option{plural} {names}", target=target,
                          hint=f"options are {known}")
    for name, value in flags:
        if not isinstance(value, bool):
            raise TargetError(f"{name} must be True or False, not {value!r}", target=target)


def checked_now(target: str, now: object, strict: object, unknown: dict[str, object],
                known: str = "now and strict") -> datetime:
    """The moment ``within last`` counts back from (default: the current time; naive means
    UTC); a ``TargetError`` for an option or value not known (``known`` lists the target's
    options)."""
    check_options(target, unknown, known, [("strict", strict)])
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise TargetError(f"now must be a datetime, not {type(now).__name__}", target=target)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def cover(spans: Sequence[Span]) -> Span:
    """The span from the first to the last of ``spans``; None unless every one is known."""
    known = [span for span in spans if span is not None]
    if not known or len(known) != len(spans):
        return None
    return (min(span[0] for span in known), max(span[1] for span in known))


def limit_span(text: str | None) -> Span:
    """Where ``limit`` stands in a query's source text (it is the query's last clause)."""
    if text is None:
        return None
    start = text.lower().rfind("limit")
    return None if start < 0 else (start, len(text.rstrip()))
