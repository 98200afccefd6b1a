"""User regex text -> a search predicate that cannot hang: RE2 when it is installed, else
Python's ``re`` on patterns that cannot backtrack badly, over text of bounded length.

``name =~ "pattern"`` means Python's ``re.search(pattern, value)``, whichever engine runs it.

**Everywhere.** A pattern must compile with Python's ``re``, and constructs RE2 cannot run are
refused, so a query means the same on every machine and can go to a server that speaks RE2:
backreferences (``\\1``, ``(?P=name)``), lookahead and lookbehind (``(?=``, ``(?!``,
``(?<=``, ``(?<!``), conditional groups (``(?(1)a|b)``), atomic groups (``(?>...)``) and
possessive quantifiers (``a*+``).

**With RE2** (``pip install 'wsquery[re2]'``, the ``google-re2`` package): the pattern is
translated from Python's own parse of it into RE2 syntax that means the same, so matching takes
time linear in the text. Character classes are spelt out as the code points Python matches
(``\\d``, ``\\w``, ``\\s`` are Unicode-wide, case-insensitive matching folds case as Python
does), ``$`` is Python's (end, or before a final newline), ``\\Z`` is the very end, and lone
surrogates are matched as Python matches them. Two things RE2 reads differently on some texts
are run by Python's ``re`` on those texts only: ``\\b``/``\\B`` (RE2 knows only ASCII word
characters, so text that is not ASCII goes to Python unless the pattern has the ``(?a)`` flag)
and a ``$`` with more pattern after it (text with a newline before its last character). Such a
pattern must then also pass the checks below, or it is refused. A pattern RE2 cannot compile
(repeat counts that multiply past 1000, a program too large) goes to Python's re when the checks
below allow it, else it is refused; the program for text that is not ASCII, with its classes
spelt out in full, is built when the first such text comes, so a refusal of it comes then too.
The first such text in a process also builds Python's Unicode tables (a fraction of a second).

**Without RE2** Python's backtracking engine runs the pattern, so patterns that can take
exponential time are refused: a repeated group holding a repeat (``(a+)+``, ``(a*)*``,
``(\\d+\\.)+``) and a repeated group whose alternatives can start alike (``(a|a)*``,
``(a|ab)*``). What remains takes at most polynomial time, and the degree is estimated from the
repeats that can trade characters with what follows them (``.*a.*b``, ``x+x+``); the text a
pattern is run on is bounded so that one search stays within about ten million steps. A
pattern whose bound would fall below 256 characters is refused (``(.*a){20}``, ``a.*b.*c.*d``);
ordinary patterns (``^run-\\d+$``, ``adam|sgd``, ``[a-z]+_v\\d``, ``.*loss``) are accepted, and
longer text makes the search raise ``TargetError`` naming the limit rather than run for minutes.

Either way a match is looked for at every position, as ``re.search`` is documented to do;
CPython's own ``re.search`` skips some when a pattern starts with a ``(?a:...)`` group holding
``\\w``, ``\\d`` or ``\\s``, and those are matched position by position.
"""

from __future__ import annotations

import importlib
import itertools
import math
import re
import sys
import warnings
from array import array
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

import attrs

from .errors import TargetError, WsqueryError

#: A search predicate: whether the pattern matches somewhere in the text.
Search = Callable[[str], bool]
#: Sorted, disjoint, inclusive ranges of code points.
Ranges = tuple[tuple[int, int], ...]

#: Steps of Python's backtracking engine one search may take (about 20 ms).
MAX_STEPS = 10_000_000
#: Shortest text limit a pattern may need without RE2; a tighter one refuses the pattern.
MIN_TEXT = 256

_TARGET = "evaluate"
_INSTALL = "install RE2, which runs any pattern in linear time: pip install 'wsquery[re2]'"
_MAX_CODE = 0x10FFFF
_ALL: Ranges = ((0, _MAX_CODE),)
_SURROGATES = (0xD800, 0xDFFF)
_RE2_REPEAT = 1000
_MAX_CHUNKS = 64

_parser: Any = importlib.import_module("re._parser")
_MAXREPEAT: int = _parser.MAXREPEAT

_CHAR_OPS = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN"})
_REPEAT_OPS = frozenset({"MAX_REPEAT", "MIN_REPEAT"})
_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D",
               "CATEGORY_SPACE": r"\s", "CATEGORY_NOT_SPACE": r"\S",
               "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}
_UNPORTABLE = {
    "GROUPREF": ("a backreference", "match the repeated text explicitly"),
    "GROUPREF_EXISTS": ("a conditional group (?(...)...)", "write the alternatives with '|'"),
    "ATOMIC_GROUP": ("an atomic group (?>...)", "use a plain group (?:...)"),
    "POSSESSIVE_REPEAT": ("a possessive quantifier (*+, ++, ?+, {m,n}+)",
                          "drop the final '+' of the quantifier"),
}


@attrs.frozen(slots=True)
class RegexRefusal:
    """Why a pattern is not run: what is wrong with it, and how to write it instead;
    ``invalid`` when it is no regular expression at all (else RE2 or safety rules it out)."""

    message: str
    hint: str
    invalid: bool = False


@attrs.frozen(slots=True)
class Re2Pattern:
    """A user pattern in RE2 syntax. ``caveat`` says on which texts RE2 would read it
    differently from Python's ``re`` (None: on none)."""

    text: str
    caveat: str | None = None


class _Refused(Exception):
    def __init__(self, message: str, hint: str, *, invalid: bool = False) -> None:
        super().__init__(message)
        self.refusal = RegexRefusal(message, hint, invalid)


# Public entry points ---------------------------------------------------------------------------

def compile_user_regex(pattern: str) -> Search:
    """A predicate telling whether ``pattern`` is found in a text (``re.search`` semantics),
    that cannot hang: see the module docstring. A refused pattern raises ``TargetError``, one
    that is no regular expression at all ``WsqueryError``."""
    compiled = _compile(pattern, re2_available())
    if isinstance(compiled, RegexRefusal):
        raise _error(pattern, compiled)
    return compiled


def refusal(pattern: str, *, with_re2: bool | None = None) -> RegexRefusal | None:
    """Why ``compile_user_regex`` refuses ``pattern`` (None when it accepts it); ``with_re2``
    picks the engine (default: RE2 when it is installed)."""
    use_re2 = re2_available() if with_re2 is None else with_re2
    compiled = _compile(pattern, use_re2)
    return compiled if isinstance(compiled, RegexRefusal) else None


def unportable(pattern: str) -> RegexRefusal | None:
    """What in ``pattern`` RE2 cannot run or Python's ``re`` cannot compile (None: nothing).
    Refused on every machine; needs no RE2 to tell."""
    try:
        _unportable(_parse(pattern).data)
    except _Refused as refused:
        return refused.refusal
    except RecursionError:
        return _too_deep()
    return None


def to_re2(pattern: str) -> Re2Pattern:
    """``pattern`` in RE2 syntax, finding a match in exactly the (UTF-8) texts where
    ``re.search(pattern, text)`` does, save those ``caveat`` names. Raises ``TargetError``
    when RE2 cannot run it."""
    try:
        tree = _parse(pattern)
        _unportable(tree.data)
        emitter = _Emitter(_unicode_set, _code_class)
        text = emitter.translate(tree)
    except _Refused as refused:
        raise _error(pattern, refused.refusal) from None
    except RecursionError:
        raise _error(pattern, _too_deep()) from None
    caveats = []
    if emitter.unicode_boundary:
        caveats.append("\\b and \\B see only ASCII letters, digits and _ as word characters")
    if emitter.inner_end:
        caveats.append("'$' before more pattern also matches before a newline inside the text")
    if emitter.non_boundary and not _EMPTY_NON_BOUNDARY:
        caveats.append("\\B also holds in the empty text")
    return Re2Pattern(text, "; ".join(caveats) or None)


def re2_available() -> bool:
    """Whether ``google-re2`` (import name ``re2``) can be imported."""
    return _re2() is not None


def _re2() -> Any:
    try:
        return importlib.import_module("re2")
    except ImportError:
        return None


def _error(pattern: str, refused: RegexRefusal) -> WsqueryError:
    if refused.invalid:
        return WsqueryError(f"invalid regular expression {pattern!r}: {refused.message}")
    return TargetError(f"regex {_show(pattern)}: {refused.message}", target=_TARGET,
                       hint=refused.hint)


def _show(pattern: str) -> str:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return '"' + shown.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def _too_deep() -> RegexRefusal:
    return RegexRefusal("groups nest too deeply to read", "flatten needless groups",
                        invalid=True)


# Compilation -----------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _compile(pattern: str, use_re2: bool) -> Search | RegexRefusal:
    """The predicate for ``pattern`` on one engine, or why it is refused (both cached)."""
    try:
        tree = _parse(pattern)
        _unportable(tree.data)
        if use_re2:
            return _re2_search(pattern, tree)
        try:
            limit = _python_limit(tree)
        except _Refused as refused:
            return attrs.evolve(refused.refusal,
                                message=refused.refusal.message + ", so it runs only with RE2")
        return _python_search(pattern, tree, limit)
    except _Refused as refused:
        return refused.refusal
    except RecursionError:
        return _too_deep()


def _parse(pattern: str) -> Any:
    """Python's parse of ``pattern`` (a ``re._parser.SubPattern``); it compiles, too."""
    if not isinstance(pattern, str):
        raise _Refused(f"a pattern is text, not {type(pattern).__name__}",
                       'write the pattern in quotes: name =~ "^run"', invalid=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set": the validator reports it
            re.compile(pattern)
            return _parser.parse(pattern)
    except re.error as error:
        raise _Refused(str(error), "escape special characters with a backslash: \\. \\( \\[",
                       invalid=True) from None
    except OverflowError as error:
        raise _Refused(str(error), "repeat counts go up to 4294967294", invalid=True) from None


def _unportable(items: Iterable[tuple[Any, Any]]) -> None:
    """Refuse what RE2 cannot run, wherever it is."""
    for op, av in items:
        name = op.name
        if name in _UNPORTABLE:
            what, hint = _UNPORTABLE[name]
            raise _Refused(f"RE2 cannot run {what}, so wsquery does not accept it", hint)
        if name in ("ASSERT", "ASSERT_NOT"):
            look = "lookbehind" if av[0] < 0 else "lookahead"
            kind = "a negative " if name == "ASSERT_NOT" else "a "
            raise _Refused(f"RE2 cannot run {kind}{look}, so wsquery does not accept it",
                           "match the text itself, or split the condition with and/or")
        for child in _children(name, av):
            _unportable(child.data)


def _children(name: str, av: Any) -> list[Any]:
    if name == "SUBPATTERN":
        return [av[3]]
    if name == "BRANCH":
        return list(av[1])
    if name in _REPEAT_OPS:
        return [av[2]]
    return []


# Python's engine -------------------------------------------------------------------------------

def _python_search(pattern: str, tree: Any, limit: int | None) -> Search:
    compiled = re.compile(pattern)
    if _misread_by_search(tree):
        match = compiled.match

        def search(text: str) -> bool:
            return any(match(text, start) is not None for start in range(len(text) + 1))
    else:
        def search(text: str) -> bool:
            return compiled.search(text) is not None

    if limit is None:
        return search

    def bounded_search(text: str) -> bool:
        if len(text) > limit:
            raise TargetError(
                f"regex {_show(pattern)} runs on text of at most {limit} characters without "
                f"RE2, and this text has {len(text)}", target=_TARGET, hint=_INSTALL)
        return search(text)

    return bounded_search


def _misread_by_search(tree: Any) -> bool:
    """Whether CPython's ``re.search`` (3.11 at least) skips places the pattern matches at.

    Searching, ``re`` skips positions whose character cannot start a match, judged by the
    pattern's first class; when that class sits in a group that sets ``(?a)`` and holds
    ``\\w``, ``\\d`` or ``\\s``, the class is compiled with the pattern's outer flags, so
    ``re.search(r"(?a:\\W)", "\\u212a")`` finds nothing although the Kelvin sign matches.
    The pattern's meaning is a match at some position, so such patterns are matched position by
    position instead."""
    items, flags = tree.data, tree.state.flags
    outer_ascii = flags & re.ASCII
    while items and items[0][0].name == "SUBPATTERN":
        flags = _scoped(flags, items[0][1])
        items = items[0][1][3].data
    if not items or items[0][0].name != "IN" or flags & re.ASCII == outer_ascii:
        return False
    return any(item.name == "CATEGORY" for item, _ in items[0][1])


@attrs.frozen(slots=True)
class _Cost:
    """How far backtracking can go: ``ambiguous`` repeats whose end the rest of the pattern
    can move (each multiplies the work by the text length), ``scans`` repeats that can only
    end at one place but are scanned back over, ``paths`` alternatives tried on the same text."""

    ambiguous: int = 0
    scans: int = 0
    paths: int = 1

    def then(self, other: _Cost) -> _Cost:
        return _Cost(self.ambiguous + other.ambiguous, self.scans + other.scans,
                     self.paths * other.paths)

    def times(self, count: int) -> _Cost:
        return _Cost(self.ambiguous * count, self.scans * count,
                     self.paths ** min(count, 64))


#: A character node of Python's parse made hashable: ("LITERAL", code), ("NOT_LITERAL", code),
#: ("ANY", None) or ("IN", items) with items ("NEGATE", None), ("LITERAL", code),
#: ("RANGE", (low, high)), ("CATEGORY", name); with the flags it is read under.
_Char = tuple[tuple[str, Any], int]
#: What follows a part of a pattern: nothing at all, one character node, or anything else.
_END: _Char = (("END", None), 0)
_OTHER: _Char = (("OTHER", None), 0)


def _python_limit(tree: Any) -> int | None:
    """The longest text Python's engine may search with this pattern within ``MAX_STEPS``
    (None: any), or ``_Refused`` when the pattern can take exponential time."""
    flags = tree.state.flags
    cost = _sequence_cost(tree.data, flags, _END)
    degree = cost.ambiguous + (1 if cost.scans else 0) + (0 if _anchored(tree.data, flags) else 1)
    if degree == 0:
        return None
    # steps(n) = paths * n**degree / degree!  <=  MAX_STEPS
    log_limit = (math.log(MAX_STEPS) + math.lgamma(degree + 1) - math.log(cost.paths)) / degree
    limit = math.floor(math.exp(min(log_limit, 60.0)))
    if limit < MIN_TEXT:
        raise _Refused(
            f"Python's re could take about n**{degree} steps on text of n characters "
            f"(repeats that can trade characters, such as .*a.*b or x+x+, or alternatives that "
            f"start alike)",
            _INSTALL + "; or anchor with ^ and separate repeats with characters they cannot "
            "match")
    return limit


def _anchored(items: Sequence[tuple[Any, Any]], flags: int) -> bool:
    """Whether a search can only start at the beginning of the text."""
    if not items:
        return False
    op, av = items[0]
    return op.name == "AT" and (av.name == "AT_BEGINNING_STRING" or (
        av.name == "AT_BEGINNING" and not flags & re.MULTILINE))


def _sequence_cost(items: Sequence[tuple[Any, Any]], flags: int, follower: _Char) -> _Cost:
    total = _Cost()
    for index, (op, av) in enumerate(items):
        total = total.then(_item_cost(op, av, flags, _next(items, index + 1, flags, follower)))
    return total


def _next(items: Sequence[tuple[Any, Any]], start: int, flags: int,
          follower: _Char) -> _Char:
    """The first thing that consumes text after ``items[:start]``; anchors are skipped, but
    they keep an end of pattern from counting as the end."""
    anchors = False
    for op, av in items[start:]:
        name = op.name
        if name == "AT":
            anchors = True
            continue
        return (_char(op, av), flags) if name in _CHAR_OPS else _OTHER
    if anchors and follower is _END:
        return _OTHER
    return follower


def _item_cost(op: Any, av: Any, flags: int, follower: _Char) -> _Cost:
    name = op.name
    if name in _CHAR_OPS or name == "AT":
        return _Cost()
    if name == "SUBPATTERN":
        return _sequence_cost(av[3].data, _scoped(flags, av), follower)
    if name == "BRANCH":
        costs = [_sequence_cost(alt.data, flags, follower) for alt in av[1]]
        paths = (max(c.paths for c in costs) if _distinct_starts(av[1], flags)
                 else sum(c.paths for c in costs))
        return _Cost(max(c.ambiguous for c in costs), max(c.scans for c in costs), paths)
    if name in _REPEAT_OPS:
        low, high, body = av
        if low == high:
            inner = follower if low <= 1 else _OTHER
            return _sequence_cost(body.data, flags, inner).times(low)
        inner_cost = _sequence_cost(body.data, flags, _OTHER)
        if inner_cost.ambiguous or inner_cost.scans:
            raise _Refused(
                "a repeated group holds a repeat (like (a+)+ or (\\d+\\.)+), which Python's re "
                "can take exponential time on",
                _INSTALL + "; or write the group once without the inner repeat")
        if inner_cost.paths > 1:
            raise _Refused(
                "a repeated group holds alternatives that can start alike (like (a|ab)*), "
                "which Python's re can take exponential time on",
                _INSTALL + "; or use a character class: [ab]*")
        char = _single_char(body.data, flags)
        if follower is _END:
            return _Cost()  # nothing after it can fail, so it is never backtracked into
        if char is not None and follower is not _OTHER and _disjoint(char, follower):
            return _Cost(scans=1)
        return _Cost(ambiguous=1)
    raise AssertionError(f"unexpected regex node {name}")  # _unportable refused it already


def _scoped(flags: int, av: Any) -> int:
    added: int = av[1]
    removed: int = av[2]
    return (flags | added) & ~removed


def _single_char(items: Sequence[tuple[Any, Any]], flags: int) -> _Char | None:
    """The one character node ``items`` consist of, looking through plain groups."""
    if len(items) != 1:
        return None
    op, av = items[0]
    if op.name in _CHAR_OPS:
        return (_char(op, av), flags)
    if op.name == "SUBPATTERN":
        return _single_char(av[3].data, _scoped(flags, av))
    return None


def _distinct_starts(alternatives: Sequence[Any], flags: int) -> bool:
    """Whether each alternative starts with a character no other one can start with."""
    starts = []
    for alternative in alternatives:
        first = _next(alternative.data, 0, flags, _OTHER)
        if first is _OTHER or first[0][0] != "LITERAL":
            return False
        starts.append(first)
    return all(_disjoint(a, b) for a, b in itertools.combinations(starts, 2))


def _disjoint(left: _Char, right: _Char) -> bool:
    """Whether two character nodes match no character in common (False when unsure)."""
    for ((kind, code), flags), other in ((left, right), (right, left)):
        if kind == "LITERAL" and not flags & re.IGNORECASE:
            return _char_pattern(other).fullmatch(chr(code)) is None
    (left_kind, left_code), _ = left
    (right_kind, right_code), _ = right
    if left_kind == right_kind == "LITERAL" and max(left_code, right_code) < 128:
        # Both ignore case: ASCII characters fold together only with their own case pair
        # and a few non-ASCII look-alikes (K and the Kelvin sign), never with another letter.
        return chr(left_code).lower() != chr(right_code).lower()
    return False


def _char(op: Any, av: Any) -> tuple[str, Any]:
    """A character node of Python's parse, hashable (see ``_Char``)."""
    name = op.name
    if name != "IN":
        return (name, av)
    return (name, tuple((item.name, value.name if item.name == "CATEGORY" else value)
                        for item, value in av))


@lru_cache(maxsize=4096)
def _char_pattern(char: _Char) -> re.Pattern[str]:
    """One character node as a Python pattern of its own, with the flags it is read under."""
    (name, value), flags = char
    if name == "LITERAL":
        text = _escape(value)
    elif name == "NOT_LITERAL":
        text = f"[^{_escape(value)}]"
    elif name == "ANY":
        text = "."
    else:
        text = "[" + "".join(_set_item_text(item, item_value) for item, item_value in value) + "]"
    return re.compile(_global_flags(flags) + text)


def _global_flags(flags: int) -> str:
    """Flags as a pattern's leading group: scoped ones, ``(?a:...)``, are misread by
    ``re.search`` when the pattern starts with them (see ``_python_search``)."""
    letters = ("i" if flags & re.IGNORECASE else "") + ("s" if flags & re.DOTALL else "") + (
        "a" if flags & re.ASCII else "")
    return f"(?{letters})" if letters else ""


def _set_item_text(item: str, value: Any) -> str:
    if item == "NEGATE":
        return "^"
    if item == "LITERAL":
        return _escape(value)
    if item == "RANGE":
        return f"{_escape(value[0])}-{_escape(value[1])}"
    return _CATEGORIES[value]


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


# RE2 -------------------------------------------------------------------------------------------

def _re2_search(pattern: str, tree: Any) -> Search:
    """RE2 on text it reads as Python does; Python's engine on the rest (see the docstring).

    ASCII text (the usual case) is searched by a program whose classes hold only ASCII, which
    is cheap to build; other text by a program over UTF-8 bytes, built when first needed."""
    emitter = _Emitter(_ascii_set, _code_class)
    try:
        ascii_search = _re2_compile(emitter.translate(tree))
    except _Refused as refused:
        return _python_instead(pattern, tree, refused)
    unicode_boundary, inner_end = emitter.unicode_boundary, emitter.inner_end
    empty_search = ascii_search
    if emitter.non_boundary and not _EMPTY_NON_BOUNDARY:
        empty_search = _re2_compile(_Emitter(_ascii_set, _code_class, empty=True).translate(tree))
    fallback: Search | None = None
    if unicode_boundary or inner_end:
        try:
            fallback = _python_search(pattern, tree, _python_limit(tree))
        except _Refused as refused:
            cause = "\\b or \\B" if unicode_boundary else "'$' before more pattern"
            raise _Refused(
                f"{cause} sends some texts to Python's re, and {refused.refusal.message}",
                "write (?a) at the start to make \\b ASCII-only, end the pattern at '$', "
                "or simplify the repeats") from None
    unicode_search: list[Search] = []

    def search(text: str) -> bool:
        if fallback is not None and (
                (inner_end and text.find("\n", 0, len(text) - 1) >= 0)
                or (unicode_boundary and not text.isascii())):
            return fallback(text)
        if text.isascii():
            return (ascii_search if text else empty_search)(text.encode("ascii"))
        if not unicode_search:
            unicode_search.append(_unicode_search(pattern, tree))
        return unicode_search[0](text)

    return search


def _unicode_search(pattern: str, tree: Any) -> Search:
    """RE2 over the UTF-8 bytes of any text (lone surrogates encoded like other characters),
    each class spelt as the byte sequences of its code points. The match must start at a
    character, so an assertion never holds in the middle of one. Should RE2 refuse this
    longer program, Python's engine runs the pattern if it may."""
    translated = _Emitter(_unicode_set, _byte_class).translate(tree)
    try:
        program = _re2_compile(f"\\A(?:{_byte_class(_ALL)})*?(?:{translated})", latin1=True)
    except _Refused as refused:
        try:
            return _python_instead(pattern, tree, refused)
        except _Refused as both:
            failure = _error(pattern, both.refusal)

        def refuse(text: str) -> bool:
            raise failure

        return refuse
    return lambda text: program(text.encode("utf-8", "surrogatepass"))


def _python_instead(pattern: str, tree: Any, refused: _Refused) -> Search:
    """Python's engine for a pattern RE2 refused (too large), if it may run it."""
    try:
        return _python_search(pattern, tree, _python_limit(tree))
    except _Refused as python_refused:
        raise _Refused(f"{refused.refusal.message}, and {python_refused.refusal.message}",
                       refused.refusal.hint) from None


def _re2_compile(text: str, *, latin1: bool = False) -> Callable[[bytes], bool]:
    re2 = _re2()
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    if latin1:
        options.encoding = re2.Options.Encoding.LATIN1
    try:
        search = re2.compile(text.encode("ascii") if latin1 else text, options).search
    except re2.error as error:
        detail = error.args[0] if error.args else ""
        detail = detail.decode() if isinstance(detail, bytes) else str(detail)
        raise _Refused(f"RE2 cannot compile it ({detail})",
                       "use smaller repeat counts or fewer Unicode classes") from None
    return lambda data: search(data) is not None


#: Whether Python's \B holds in the empty text (not in Python 3.11 to 3.13; RE2's does).
_EMPTY_NON_BOUNDARY = re.search(r"\B", "") is not None


class _Emitter:
    """Python's parse of a pattern -> RE2 syntax with the same meaning. ``charset`` gives the
    code points a character node matches and ``render`` spells them; anchors and repeats are
    spelt out, so no RE2 flag is needed. ``empty`` translates for the empty text only."""

    def __init__(self, charset: Callable[[_Char], Ranges], render: Callable[[Ranges], str],
                 *, empty: bool = False) -> None:
        self.charset = charset
        self.render = render
        self.empty = empty
        self.unicode_boundary = False
        self.non_boundary = False
        self.inner_end = False

    def translate(self, tree: Any) -> str:
        return self.sequence(tree.data, tree.state.flags, tail=True)

    def sequence(self, items: Sequence[tuple[Any, Any]], flags: int, *, tail: bool) -> str:
        last = len(items) - 1
        return "".join(self.item(op, av, flags, tail=tail and index == last)
                       for index, (op, av) in enumerate(items))

    def item(self, op: Any, av: Any, flags: int, *, tail: bool) -> str:
        name = op.name
        if name in _CHAR_OPS:
            return self.render(self.charset((_char(op, av), flags)))
        if name == "AT":
            return self.anchor(av.name, flags, tail=tail)
        if name == "SUBPATTERN":
            return "(?:" + self.sequence(av[3].data, _scoped(flags, av), tail=tail) + ")"
        if name == "BRANCH":
            return "(?:" + "|".join(self.sequence(alt.data, flags, tail=tail)
                                    for alt in av[1]) + ")"
        if name in _REPEAT_OPS:
            low, high, body = av
            inner = self.sequence(body.data, flags, tail=tail and high <= 1)
            return _repeat(f"(?:{inner})", low, None if high == _MAXREPEAT else high)
        raise AssertionError(f"unexpected regex node {name}")  # _unportable refused it already

    def anchor(self, name: str, flags: int, *, tail: bool) -> str:
        multiline = flags & re.MULTILINE
        if name == "AT_BEGINNING":
            return "(?m:^)" if multiline else "\\A"
        if name == "AT_BEGINNING_STRING":
            return "\\A"
        if name == "AT_END_STRING":
            return "\\z"
        if name == "AT_END":
            if multiline:
                return "(?m:$)"
            if tail:
                return "(?:\\n?\\z)"  # Python's $: the end, or a final newline (consumed)
            self.inner_end = True  # the same as Python's $ unless a newline precedes the last
            return "(?m:$)"
        if not flags & re.ASCII:
            self.unicode_boundary = True
        if name == "AT_BOUNDARY":
            return "\\b"
        self.non_boundary = True
        return _NEVER if self.empty and not _EMPTY_NON_BOUNDARY else "\\B"


_NEVER = "[^\\x00-\\x{10ffff}]"


def _repeat(atom: str, low: int, high: int | None) -> str:
    """``atom`` repeated low..high times (None: no bound), counts split into RE2's 1000."""
    chunks = []
    while low > _RE2_REPEAT:
        chunks.append(f"{atom}{{{_RE2_REPEAT}}}")
        low -= _RE2_REPEAT
        if high is not None:
            high -= _RE2_REPEAT
    if high is None:
        chunks.append(atom + {0: "*", 1: "+"}.get(low, f"{{{low},}}"))
    else:
        chunks.append(atom + _count(low, min(high, _RE2_REPEAT)))
        high -= min(high, _RE2_REPEAT)
        while high > 0:
            chunks.append(atom + _count(0, min(high, _RE2_REPEAT)))
            high -= min(high, _RE2_REPEAT)
    if len(chunks) > _MAX_CHUNKS:
        raise _Refused(f"RE2 cannot run a repeat count above {_MAX_CHUNKS * _RE2_REPEAT}",
                       "use a smaller repeat count")
    return "".join(chunks)


def _count(low: int, high: int) -> str:
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _code_class(ranges: Ranges) -> str:
    """A class of code points in RE2's UTF-8 syntax; lone surrogates, which UTF-8 text never
    holds, are left out."""
    ranges = _subtract(ranges, (_SURROGATES,))
    if not ranges:
        return _NEVER
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _hex(ranges[0][0])
    return "[" + "".join(_hex(low) if low == high else f"{_hex(low)}-{_hex(high)}"
                         for low, high in ranges) + "]"


@lru_cache(maxsize=4096)
def _byte_class(ranges: Ranges) -> str:
    """A class of code points as the UTF-8 byte sequences that encode them (surrogates
    included), for RE2 reading bytes as Latin-1."""
    sequences = [
        "".join(_hex(low) if low == high else f"[{_hex(low)}-{_hex(high)}]"
                for low, high in sequence)
        for low, high in ranges for sequence in _utf8_sequences(low, high)]
    if not sequences:
        return _NEVER
    return sequences[0] if len(sequences) == 1 else "(?:" + "|".join(sequences) + ")"


def _utf8_sequences(low: int, high: int) -> list[list[tuple[int, int]]]:
    """The code points low..high as byte-range sequences, each matching a run of UTF-8
    encodings byte by byte (the split of Rust's regex-syntax ``Utf8Sequences``)."""
    sequences = []
    pending = [(low, high)]
    while pending:
        start, end = pending.pop()
        while True:
            for limit in (0x7F, 0x7FF, 0xFFFF):  # one encoding length per piece
                if start <= limit < end:
                    pending.append((limit + 1, end))
                    end = limit
                    break
            else:
                for shift in (6, 12, 18):  # continuation bytes must span their whole range
                    mask = (1 << shift) - 1
                    if start & ~mask != end & ~mask:
                        if start & mask:
                            pending.append(((start | mask) + 1, end))
                            end = start | mask
                            break
                        if end & mask != mask:
                            pending.append((end & ~mask, end))
                            end = (end & ~mask) - 1
                            break
                else:
                    first = chr(start).encode("utf-8", "surrogatepass")
                    last = chr(end).encode("utf-8", "surrogatepass")
                    sequences.append(list(zip(first, last, strict=True)))
                    break
    return sequences


def _hex(code: int) -> str:
    return f"\\x{{{code:x}}}"


# Character sets --------------------------------------------------------------------------------

@cache
def _ascii_text() -> str:
    return "".join(map(chr, range(128)))


@lru_cache(maxsize=4096)
def _ascii_set(char: _Char) -> Ranges:
    """The ASCII characters a node matches, asked of Python's engine itself."""
    return _ranges_of(map(ord, _char_pattern(char).findall(_ascii_text())))


@lru_cache(maxsize=4096)
def _unicode_set(char: _Char) -> Ranges:
    """Every code point a node matches. Case-insensitive matching can differ from
    case-sensitive matching only on characters that have case, so Python's engine is asked
    about those, and the rest is worked out from the node."""
    ranges = _case_sensitive_set(char)
    if char[1] & re.IGNORECASE:
        cased_ranges, cased_text = _cased()
        found = _ranges_of(map(ord, _char_pattern(char).findall(cased_text)))
        ranges = _union(_subtract(ranges, cased_ranges), found)
    return ranges


def _case_sensitive_set(char: _Char) -> Ranges:
    (name, value), flags = char
    if name == "LITERAL":
        return ((value, value),)
    if name == "NOT_LITERAL":
        return _complement(((value, value),))
    if name == "ANY":
        return _ALL if flags & re.DOTALL else _complement(((10, 10),))
    pieces: list[tuple[int, int]] = []
    for item, item_value in value:
        if item == "LITERAL":
            pieces.append((item_value, item_value))
        elif item == "RANGE":
            pieces.append(item_value)
        elif item == "CATEGORY":
            pieces.extend(_category(item_value, bool(flags & re.ASCII)))
    ranges = _normalized(pieces)
    return _complement(ranges) if value[0][0] == "NEGATE" else ranges


@cache
def _every_character() -> str:
    """All code points in order, lone surrogates included."""
    codes = array("I" if array("I").itemsize == 4 else "L", range(_MAX_CODE + 1))
    return codes.tobytes().decode(f"utf-32-{'le' if sys.byteorder == 'little' else 'be'}",
                                  "surrogatepass")


@cache
def _category(name: str, ascii_only: bool) -> Ranges:
    """The code points of ``\\d``, ``\\w``, ``\\s`` and their negations, asked of Python."""
    flags = _global_flags(re.ASCII if ascii_only else 0)
    runs = re.compile(f"{flags}(?:{_CATEGORIES[name]})+").finditer(_every_character())
    return tuple((run.start(), run.end() - 1) for run in runs)


@cache
def _cased() -> tuple[Ranges, str]:
    """The characters case-insensitive matching may treat differently: those with case, their
    lower case, and the extra pairs Python's ``re`` folds together."""
    sre: Any = importlib.import_module("_sre")
    casefix: Any = importlib.import_module("re._casefix")
    codes = range(_MAX_CODE + 1)
    cased = set(itertools.compress(codes, map(sre.unicode_iscased, codes)))
    cased.update(list(map(sre.unicode_tolower, cased)))
    for key, values in casefix._EXTRA_CASES.items():
        cased.add(key)
        cased.update(values)
    ordered = sorted(cased)
    return _ranges_of(ordered), "".join(map(chr, ordered))


def _ranges_of(codes: Iterable[int]) -> Ranges:
    """Sorted code points -> ranges."""
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and code <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(code, ranges[-1][1]))
        else:
            ranges.append((code, code))
    return tuple(ranges)


def _normalized(pieces: Iterable[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(pieces):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def _union(left: Ranges, right: Ranges) -> Ranges:
    return _normalized((*left, *right))


def _complement(ranges: Ranges) -> Ranges:
    gaps = []
    start = 0
    for low, high in ranges:
        if low > start:
            gaps.append((start, low - 1))
        start = high + 1
    if start <= _MAX_CODE:
        gaps.append((start, _MAX_CODE))
    return tuple(gaps)


def _subtract(ranges: Ranges, removed: Ranges) -> Ranges:
    return _intersect(ranges, _complement(_normalized(removed)))


def _intersect(left: Ranges, right: Ranges) -> Ranges:
    """Both range lists' common part, in one pass over the two."""
    common = []
    i = j = 0
    while i < len(left) and j < len(right):
        low = max(left[i][0], right[j][0])
        high = min(left[i][1], right[j][1])
        if low <= high:
            common.append((low, high))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return tuple(common)
