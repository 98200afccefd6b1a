"""RE2's reading -> a pattern for Python's ``re`` that finds a match in exactly the same texts.

Every class is spelt out as the code points RE2 means (``\\d``, ``\\w``, ``\\s`` and POSIX
classes are ASCII, ``\\s`` is ``[\\t\\n\\f\\r ]``, ``(?i)`` folds case as RE2 does, by Unicode
simple case folding), ``$`` without ``(?m)`` is the very end of the text, ``\\b`` and ``\\B``
see ASCII word characters, and flags are scoped as RE2 scopes them (the reading has applied
them). What cannot be spelt exactly is refused: Unicode classes (``\\pL``, ``\\p{Greek}``,
which need RE2's tables) and ``\\C`` (one byte of UTF-8). Apart from the search engine because
the backtracking analysis reads the same translation.
"""

from __future__ import annotations

from typing import assert_never

from wsquery.regex.folding import Ranges, _complement
from wsquery.regex.nodes import (
    Alternate,
    AnyByte,
    Assertion,
    CharSet,
    Concat,
    Node,
    RegexRefusal,
    Repeat,
    _Refused,
)

_PYTHON_ASSERTS = {"\\A": "\\A", "\\z": "\\Z", "^m": "(?m:^)", "$m": "(?m:$)", "\\b": "\\b",
                   "\\B": "\\B"}


def _python_text(node: Node, approximate: bool = False) -> str:
    """RE2's reading -> a Python pattern (compiled with ``re.ASCII``, for ``\\b``) matching
    the same texts; every class spelt out, so no other flag is needed. ``approximate`` writes
    Unicode classes and ``\\C`` as any character (for the analysis of search time only)."""
    match node:
        case CharSet() | AnyByte() if approximate and (isinstance(node, AnyByte) or node.unicode):
            return "[\\x00-\\U0010ffff]"
        case CharSet():
            if node.unicode:
                raise _Refused(RegexRefusal(
                    "Python's re has no tables for RE2's Unicode classes (\\pL, \\p{Greek})",
                    "list the characters in a class: [a-zà-ÿ]"))
            return _python_class(node.ranges())
        case Assertion():
            return _PYTHON_ASSERTS[node.kind]
        case AnyByte():
            raise _Refused(RegexRefusal(
                "Python's re cannot match \\C, one byte of a character", ""))
        case Concat():
            return "".join(_python_text(item, approximate) for item in node.items)
        case Alternate():
            return "(?:" + "|".join(_python_text(item, approximate) for item in node.items) + ")"
        case Repeat():
            high = "" if node.high is None else node.high
            count = {(0, ""): "*", (1, ""): "+", (0, 1): "?"}.get((node.low, high),
                                                                  f"{{{node.low},{high}}}")
            return "(?:" + _python_text(node.item, approximate) + ")" + count
        case _:
            assert_never(node)


def _python_class(ranges: Ranges) -> str:
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _escape(ranges[0][0])
    negate = len(_complement(ranges)) < len(ranges)
    shown = _complement(ranges) if negate else ranges
    if not shown:
        return "[^\\x00-\\U0010ffff]" if not negate else "[\\x00-\\U0010ffff]"
    return ("[^" if negate else "[") + "".join(
        _escape(low) if low == high else f"{_escape(low)}-{_escape(high)}"
        for low, high in shown) + "]"


def _escape(code: int) -> str:
    return f"\\U{code:08x}"
