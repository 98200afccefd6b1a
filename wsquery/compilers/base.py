"""What one compilation shares across a target's compiler: the source text that errors point
into, whether warnings are errors (``strict``), the warnings given so far, and the checks of the
options the runs-API and mongo targets have in common (``now``, ``strict``)."""

from __future__ import annotations

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
