"""A user's RE2 pattern -> a search predicate that cannot hang: RE2 itself when google-re2 is
installed (Python's ``re`` on the exact translation for texts it searches within
``QUICK_STEPS``), else Python's ``re`` on that translation, over text of bounded length.

``name =~ "pattern"`` means what Google's RE2 means: a match somewhere in the text
(unanchored), with RE2's syntax and classes. W&B's server runs such patterns with RE2, so users
write RE2 and read back what they wrote. With google-re2 (``pip install 'wsquery[re2]'``) RE2
runs the pattern, in time linear in the text, but for texts short enough that the translation
runs within ``QUICK_STEPS`` (cheaper than a call of google-re2). Without it, Python's ``re``
runs the translation (``python``): RE2 reads UTF-8 bytes, so ``\\B`` also holds between the
bytes of a character beyond ASCII, and a pattern that matches there through ``\\B`` alone is
found in any text that is not ASCII. Python's backtracking engine can take exponential time, so
patterns that risk it are refused (``backtracking``), and the text is bounded so that one
search stays within about ten million steps; longer text makes the search raise ``TargetError``
naming the limit rather than run for minutes.

**Lone surrogates.** W&B's text is UTF-8 and never holds them, and RE2 cannot read them; on both
engines a text is searched with each lone surrogate replaced by U+FFFD, the replacement
character.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from wsquery.errors import TargetError
from wsquery.regex.backtracking import MAX_STEPS, _parser, _python_limit
from wsquery.regex.nodes import Node, RegexRefusal, _error, _Refused, _show, matches_nothing
from wsquery.regex.python import _python_text
from wsquery.regex.reader import _SURROGATE, read_pattern

#: A search predicate: whether the pattern matches somewhere in the text.
Search = Callable[[str], bool]

#: With RE2 installed, a text short enough that Python's engine searches it within this many
#: steps goes to Python's ``re`` (on the exact translation) instead: for the short texts runs
#: hold, one call of google-re2 costs more than the whole search.
QUICK_STEPS = 20_000
#: Who runs the predicate, as its errors name it.
_TARGET = "evaluate"
_INSTALL = "install RE2, which runs any pattern in linear time: pip install 'wsquery[re2]'"


def compile_user_regex(pattern: str) -> Search:
    """A predicate telling whether RE2 finds ``pattern`` somewhere in a text, that cannot
    hang: see the module docstring. A pattern that is not RE2 raises ``WsqueryError``, one the
    engine at hand refuses ``TargetError``."""
    compiled = _compile(pattern, re2_available())
    if isinstance(compiled, RegexRefusal):
        raise _error(pattern, compiled, target=_TARGET)
    return compiled


def refusal(pattern: str, *, with_re2: bool | None = None) -> RegexRefusal | None:
    """Why ``compile_user_regex`` refuses ``pattern`` (None when it accepts it); ``with_re2``
    picks the engine (default: RE2 when it is installed)."""
    use_re2 = re2_available() if with_re2 is None else with_re2
    compiled = _compile(pattern, use_re2)
    return compiled if isinstance(compiled, RegexRefusal) else None


def re2_available() -> bool:
    """Whether google-re2 (import name ``re2``) can be imported."""
    return re2_module() is not None


def re2_module() -> Any:
    """The google-re2 module, or None when it is not installed."""
    try:
        return importlib.import_module("re2")
    except ImportError:
        return None


def _compile(pattern: str, use_re2: bool) -> Search | RegexRefusal:
    """The predicate for ``pattern`` on one engine, or why it is refused."""
    made = _made(pattern, use_re2)
    return made if isinstance(made, RegexRefusal) else made[0]


def quick_search(pattern: str) -> tuple[Callable[[str], object], int] | None:
    """What ``compile_user_regex(pattern)`` does for a text that is ASCII, not empty, and no
    longer than the number given: Python's ``re`` search (a match, or None) on the pattern's
    exact translation. A caller that tests many texts may call it in line for those, sparing
    a call per text; None where no text is searched so. Refuses what ``compile_user_regex``
    refuses."""
    made = _made(pattern, re2_available())
    if isinstance(made, RegexRefusal):
        raise _error(pattern, made, target=_TARGET)
    plan = made[1]
    return None if plan is None else (plan.search, plan.cap)


@lru_cache(maxsize=256)
def _made(pattern: str, use_re2: bool) -> tuple[Search, _PythonPlan | None] | RegexRefusal:
    """The predicate for ``pattern`` on one engine and the plan of Python's ``re`` it runs
    short texts with (None: RE2 alone), or why it is refused (all cached)."""
    reading = read_pattern(pattern)
    if isinstance(reading, RegexRefusal):
        return reading
    try:
        if not use_re2:
            plan = _python_plan(pattern, reading.tree, MAX_STEPS)
            return _python_search(pattern, plan), plan
        re2_search = _re2_search(pattern)
    except _Refused as refused:
        return refused.refusal
    quick = _quick_plan(pattern, reading.tree)
    if quick is None:  # Python's engine could take long even on short text: RE2 alone
        return re2_search, None
    # short texts (run names, states) go to Python's re, which costs less per call
    return _python_search(pattern, quick, longer=re2_search), quick


def _quick_plan(pattern: str, tree: Node) -> _PythonPlan | None:
    """Python's ``re`` for texts it searches within ``QUICK_STEPS``, beside RE2; None when it
    could take long even on short text."""
    try:
        return _python_plan(pattern, tree, QUICK_STEPS)
    except _Refused:
        return None


def _searchable(text: str) -> str:
    """The text as both engines read it: lone surrogates become U+FFFD."""
    return text if text.isascii() or _SURROGATE.search(text) is None else _SURROGATE.sub(
        "\ufffd", text)


def _re2_search(pattern: str) -> Search:
    re2 = re2_module()
    options = re2.Options()
    options.log_errors = False
    try:
        search = re2.compile(pattern.encode("utf-8"), options).search
    except re2.error as error:
        detail = error.args[0] if error.args else ""
        detail = detail.decode() if isinstance(detail, bytes) else str(detail)
        raise _Refused(RegexRefusal(f"RE2 cannot compile it ({detail})",
                                    "use smaller repeat counts or fewer Unicode classes",
                                    False, 0, len(pattern))) from None
    return lambda text: search(_searchable(text).encode("utf-8")) is not None


# Python's engine -----------------------------------------------------------------------------

class _PythonPlan(NamedTuple):
    """Python's ``re`` on a pattern's exact translation, and where its reading needs mending."""

    search: Callable[[str], object]
    #: The longest text searched within the step budget (None: any).
    limit: int | None
    #: The longest ASCII text searched as it stands (``limit``, or as long as any).
    cap: int
    #: Whether the pattern matches the empty text.
    in_empty_text: bool
    #: Whether it matches inside a character beyond ASCII (through ``\\B``).
    inside_a_character: bool


def _python_plan(pattern: str, tree: Node, max_steps: int) -> _PythonPlan:
    """Python's ``re`` on the translation of ``tree``, bounded to text it searches within
    ``max_steps``; raises ``_Refused`` where Python's engine cannot be trusted with it."""
    try:
        translated = _python_text(tree)
        python_tree = _parser.parse(translated, re.ASCII)
        limit = _python_limit(python_tree, max_steps)
    except RecursionError:
        raise _fallback_refusal(pattern, "groups nest too deeply for Python's re") from None
    except _Refused as refused:
        rewrite = refused.refusal.hint
        raise _fallback_refusal(pattern, refused.refusal.message,
                                f"{_INSTALL}; or {rewrite}" if rewrite else _INSTALL) from None
    # Where Python's reading of an empty-width test differs from RE2's, there is no character
    # to consume: the pattern must match the empty text there, through the tests that hold.
    return _PythonPlan(re.compile(translated, re.ASCII).search, limit,
                       sys.maxsize if limit is None else limit,
                       matches_nothing(tree, frozenset({"\\A", "\\z", "^m", "$m", "\\B"})),
                       matches_nothing(tree, frozenset({"\\B"})))


def _python_search(pattern: str, plan: _PythonPlan, *, longer: Search | None = None) -> Search:
    """``plan``'s search over text it is bounded to; a longer text goes to ``longer`` (RE2),
    or without it raises ``TargetError``."""
    search, limit, cap, in_empty_text, inside_a_character = plan

    def bounded_search(text: str) -> bool:
        if text.isascii() and 0 < len(text) <= cap:  # most texts: searched as they are
            return search(text) is not None
        if limit is not None and len(text) > limit:
            if longer is not None:
                return longer(text)
            raise TargetError(
                f"regex {_show(pattern)} runs on text of at most {limit} characters without "
                f"RE2, and this text has {len(text)}", target=_TARGET, hint=_INSTALL)
        if not text:
            return in_empty_text
        return (inside_a_character and not text.isascii()) or search(
            _searchable(text)) is not None

    return bounded_search


def _fallback_refusal(pattern: str, message: str, hint: str = _INSTALL) -> _Refused:
    return _Refused(RegexRefusal(message + ", so it runs only with RE2", hint, False, 0,
                                 len(pattern)))
