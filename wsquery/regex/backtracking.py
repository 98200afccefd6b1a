"""A pattern -> how long a backtracking engine may take on it: refused when a search can take
exponential time or a high power of the text's length, else the longest text one search stays
within ``MAX_STEPS`` on.

The analysis reads Python's own parse of the pattern's Python translation (``python``), whose
classes are spelt out: repeats whose end the rest of the pattern can move multiply the work by
the text's length, alternatives that start alike multiply the paths tried. It guards the
search without RE2 (``search``), and any target whose engine backtracks asks it too
(``backtracking_limit``). Apart from the search because it judges a pattern, not a text.
"""

from __future__ import annotations

import importlib
import itertools
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import attrs

from wsquery.regex.nodes import RegexRefusal, _Refused
from wsquery.regex.python import _escape, _python_text
from wsquery.regex.reader import read_pattern

#: Steps of Python's backtracking engine one search may take (about 20 ms).
MAX_STEPS = 10_000_000
#: Shortest text limit a pattern may need without RE2; a tighter one refuses the pattern.
MIN_TEXT = 256

_parser: Any = importlib.import_module("re._parser")


def backtracking_limit(pattern: str) -> int | RegexRefusal | None:
    """What the analysis guarding Python's engine says of ``pattern`` on any backtracking
    engine (Java's, PCRE): a ``RegexRefusal`` when a search can take exponential time, or
    ``MAX_STEPS`` on text of ``MIN_TEXT`` characters; else the longest text one search stays
    within ``MAX_STEPS`` on (None: any text). Unicode classes and
    ``\\C`` are read as any character, which can only make the answer more cautious. A pattern
    that is not RE2 gives None: its own error comes from the target's writer."""
    reading = read_pattern(pattern)
    if isinstance(reading, RegexRefusal):
        return None
    try:
        return _python_limit(_parser.parse(_python_text(reading.tree, approximate=True),
                                           re.ASCII))
    except RecursionError:
        return RegexRefusal("groups nest too deeply to tell how long a search takes",
                            "nest fewer groups", False, 0, len(pattern))
    except _Refused as refused:
        return attrs.evolve(refused.refusal, length=len(pattern))


_CHAR_OPS = frozenset({"LITERAL", "NOT_LITERAL", "IN"})
_REPEAT_OPS = frozenset({"MAX_REPEAT", "MIN_REPEAT"})


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


#: A character node of Python's parse made hashable: ("LITERAL", code), ("NOT_LITERAL", code)
#: or ("IN", items) with items ("NEGATE", None), ("LITERAL", code),
#: ("RANGE", (low, high)); with the flags it is read under.
_Char = tuple[tuple[str, Any], int]
#: What follows a part of a pattern: nothing at all, one character node, or anything else.
_END: _Char = (("END", None), 0)
_OTHER: _Char = (("OTHER", None), 0)


def _python_limit(tree: Any, max_steps: int = MAX_STEPS) -> int | None:
    """The longest text Python's engine may search with this pattern within ``max_steps``
    (None: any), or ``_Refused`` when that is under ``MIN_TEXT`` characters (the pattern can
    take exponential time, or a high power of the text's length)."""
    flags = tree.state.flags
    cost = _sequence_cost(tree.data, flags, _END)
    degree = cost.ambiguous + (1 if cost.scans else 0) + (0 if _anchored(tree.data, flags) else 1)
    if degree == 0:
        return None
    # steps(n) = paths * n**degree / degree!  <=  MAX_STEPS
    log_limit = (math.log(max_steps) + math.lgamma(degree + 1) - math.log(cost.paths)) / degree
    limit = math.floor(math.exp(min(log_limit, 60.0)))
    if limit < MIN_TEXT:
        raise _Refused(RegexRefusal(
            f"a backtracking engine could take about n**{degree} steps on text of n characters "
            f"(repeats that can trade characters, such as .*a.*b or x+x+, or alternatives that "
            f"start alike)",
            "anchor with ^ and separate repeats with characters they cannot match"))
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
            raise _Refused(RegexRefusal(
                "a repeated group holds a repeat (like (a+)+ or (\\d+\\.)+), which a "
                "backtracking engine can take exponential time on",
                "write the group once without the inner repeat"))
        if inner_cost.paths > 1:
            raise _Refused(RegexRefusal(
                "a repeated group holds alternatives that can start alike (like (a|ab)*), "
                "which a backtracking engine can take exponential time on",
                "use a character class: [ab]*"))
        char = _single_char(body.data, flags)
        if follower is _END:
            return _Cost()  # nothing after it can fail, so it is never backtracked into
        if char is not None and follower is not _OTHER and _disjoint(char, follower):
            return _Cost(scans=1)
        return _Cost(ambiguous=1)
    raise AssertionError(f"unexpected regex node {name}")  # the translation writes no other


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
    for ((kind, code), _), other in ((left, right), (right, left)):
        if kind == "LITERAL":
            return _char_pattern(other).fullmatch(chr(code)) is None
    return False


def _char(op: Any, av: Any) -> tuple[str, Any]:
    """A character node of Python's parse, hashable (see ``_Char``)."""
    name = op.name
    if name != "IN":
        return (name, av)
    return (name, tuple((item.name, value) for item, value in av))


@lru_cache(maxsize=4096)
def _char_pattern(char: _Char) -> re.Pattern[str]:
    """One character node as a Python pattern of its own (the translation's classes are
    spelt out, so no flag changes what they match)."""
    (name, value), _ = char
    if name == "LITERAL":
        return re.compile(_escape(value))
    if name == "NOT_LITERAL":
        return re.compile(f"[^{_escape(value)}]")
    return re.compile(
        "[" + "".join(_set_item_text(item, item_value) for item, item_value in value) + "]")


def _set_item_text(item: str, value: Any) -> str:
    if item == "NEGATE":
        return "^"
    if item == "LITERAL":
        return _escape(value)
    return f"{_escape(value[0])}-{_escape(value[1])}"  # RANGE: the translation has no other
