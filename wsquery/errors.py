"""The exceptions wsquery raises; every failure a user can cause is one of these.

Query errors point at the source: ``str(error)`` shows the line and column, the offending line
with a caret (``^``) or tildes (``~~~``) under the exact span, what was expected and a hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs


class WsqueryError(Exception):
    """Base of every error wsquery raises on purpose."""


class WsqueryWarning(UserWarning):
    """Something was read or written with a loss worth knowing: a disabled filter item left
    out, an unknown spec version read as the one wsquery knows."""


Severity = Literal["error", "warning"]


@attrs.frozen(slots=True)
class Diagnostic:
    """One thing wrong with a query: ``message``, where (``span``, offsets into the text, and
    its 1-based ``line`` and ``column``), what was ``expected`` there (syntax errors), a
    ``hint``, its ``severity`` and its ``source``: ``syntax``, ``meaning`` (a literal no run
    can match), ``keys`` (a key none of the runs given holds) or a target's name. Errors carry
    these, and ``check`` returns them."""

    message: str
    span: tuple[int, int]
    hint: str | None = None
    expected: tuple[str, ...] = ()
    severity: Severity = "error"
    source: str = "syntax"
    #: The query text the span points into; without it the text is taken as one line.
    text: str | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def line(self) -> int:
        return line_column(self.text or "", self.span[0])[0]

    @property
    def column(self) -> int:
        return line_column(self.text or "", self.span[0])[1]

    def __str__(self) -> str:
        if self.text is None:
            return self.message + (f"\nhint: {self.hint}" if self.hint else "")
        return render_problem(self.text, self)


#: The older name of ``Diagnostic``.
Problem = Diagnostic


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def render_problem(text: str, problem: Diagnostic) -> str:
    """The problem as the user reads it: position, message, the source line marked, a hint."""
    start, end = problem.span
    line_no, column = line_column(text, start)
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    if line_end == -1:
        line_end = len(text)
    source_line = text[line_start:line_end]
    width = max(1, min(end, line_end) - start)
    marker = "^" if width == 1 else "~" * width
    indent = "".join("\t" if ch == "\t" else " " for ch in source_line[: start - line_start])
    parts = [
        f"line {line_no}, column {column}: {problem.message}",
        f"    {source_line}",
        f"    {indent}{marker}",
    ]
    if problem.hint:
        parts.append(f"hint: {problem.hint}")
    return "\n".join(parts)


class QuerySyntaxError(WsqueryError):
    """The text is not a query. Carries where (``line``, ``column``, ``span``), ``expected``
    (what would have been accepted, in the user's spelling) and a ``hint``."""

    #: What ``problems`` are about: the text's form, or (a validation error) its meaning.
    source = "syntax"

    def __init__(self, text: str, problems: Sequence[Diagnostic]) -> None:
        if not problems:
            raise ValueError("a query error needs at least one problem")
        self.text = text
        self.problems = tuple(attrs.evolve(problem, text=text, source=self.source)
                              for problem in problems)
        first = self.problems[0]
        self.message = first.message
        self.span = first.span
        self.line, self.column = line_column(text, first.span[0])
        self.expected = first.expected
        self.hint = first.hint
        super().__init__("\n".join(render_problem(text, p) for p in self.problems))


class QueryValidationError(QuerySyntaxError):
    """The text parses but cannot mean anything: unknown names, literals that can never match a
    known attribute, bad regexes. ``problems`` lists every one found, in source order."""

    source = "meaning"


class TargetError(WsqueryError):
    """A valid query that a target (the workspace run set, MongoDB filters) cannot express."""

    def __init__(
        self,
        message: str,
        *,
        target: str,
        span: tuple[int, int] | None = None,
        text: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.target = target
        self.span = span
        self.text = text
        self.hint = hint
        if text is not None and span is not None:
            rendered = render_problem(text, Diagnostic(f"{target}: {message}", span, hint))
        else:
            rendered = f"{target}: {message}" + (f"\nhint: {hint}" if hint else "")
        super().__init__(rendered)


@attrs.frozen(slots=True)
class TargetWarning:
    """Something compiled, but not exactly as written (``<`` saved as ``<=``, seconds rounded,
    a second sort key dropped). ``str()`` shows the message and, when the query text is known,
    the line with the part marked."""

    message: str
    target: str
    span: tuple[int, int] | None = None
    hint: str | None = None
    text: str | None = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        if self.text is not None and self.span is not None:
            return render_problem(self.text, Diagnostic(f"{self.target}: {self.message}",
                                                     self.span, self.hint))
        return f"{self.target}: {self.message}" + (f"\nhint: {self.hint}" if self.hint else "")


class DecompileError(WsqueryError):
    """Run-set JSON that wsquery cannot read back: an unknown section, op or shape."""

    def __init__(self, message: str, *, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class WorkspaceError(WsqueryError):
    """Saving, loading or listing views failed; carries the server's own message."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


class WorkspaceValueError(WsqueryError, ValueError):
    """A workspace, section, panel or setting holds a value W&B cannot store, or a spec or view
    URL cannot be read as one."""


class AuthenticationError(WorkspaceError):
    """No API key, or the server refused it (HTTP 401)."""


class PermissionDeniedError(WorkspaceError):
    """The key is valid but may not do this (HTTP 403, PERMISSION_ERROR)."""


class NotFoundError(WorkspaceError):
    """The entity, project or view does not exist."""


class RateLimitedError(WorkspaceError):
    """HTTP 429 persisted past the retry budget."""


class ServerError(WorkspaceError):
    """HTTP 5xx persisted past the retry budget, or the server answered with GraphQL errors."""


class InvalidInputError(ServerError, WorkspaceValueError):
    """The server refused what was sent as input it cannot take (GraphQL ``BAD_USER_INPUT``):
    sending it again cannot help, so it is never retried. A ``ServerError`` (the server's
    GraphQL error) and a ``WorkspaceValueError`` (a value W&B cannot take)."""


class NetworkError(WorkspaceError):
    """The server could not be reached or did not answer in time."""
