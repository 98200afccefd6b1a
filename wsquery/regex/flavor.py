"""RE2's reading -> a pattern for an engine that is not RE2, every class spelt out as the code
points RE2 means: the walk the Java, PostgreSQL and Rust flavours share, and what each flavour
gives it (``Flavor``).

Apart from the flavour modules because the walk is one: a flavour is only how its engine writes
an assertion, a code point and a class of nothing, and which counts it takes. The pattern so
written finds a match in exactly the texts RE2 does (``(?i)``, ``.`` and ``\\d`` mean RE2's,
``\\b`` and ``\\B`` look at ASCII word characters); what a flavour cannot say is
``RegexNotWritten``.
"""

from __future__ import annotations

from typing import assert_never

import attrs

from wsquery.regex.folding import Ranges
from wsquery.regex.nodes import (
    Alternate,
    AnyByte,
    Assertion,
    CharSet,
    Concat,
    Node,
    Repeat,
    matches_nothing,
)
from wsquery.regex.reader import _read

_ASCII_WORD = "[0-9A-Za-z_]"
#: ``\\b`` and ``\\B`` over ASCII word characters, for engines whose own read Unicode words.
_LOOKAROUND_ASSERTS = {
    "\\b": f"(?:(?<={_ASCII_WORD})(?!{_ASCII_WORD})|(?<!{_ASCII_WORD})(?={_ASCII_WORD}))",
    "\\B": f"(?:(?<={_ASCII_WORD})(?={_ASCII_WORD})|(?<!{_ASCII_WORD})(?!{_ASCII_WORD}))"}


@attrs.frozen(slots=True)
class Flavor:
    """How an engine writes RE2's reading: each assertion (``nodes.Assertion.kind`` -> text;
    one it lacks is not written), one code point (a format), a class that matches nothing, the
    largest count of ``{m,n}``, the first code point its text can hold, and a class of every
    character beyond ASCII (None when it cannot say that ``\\B`` alone matches inside one)."""

    asserts: dict[str, str]
    code: str
    nothing: str
    max_count: int = 1000
    first_code: int = 0
    beyond_ascii: str | None = None


class RegexNotWritten(Exception):
    """What a flavor cannot read as RE2 does."""


def write(pattern: str, flavor: Flavor) -> str:
    """RE2's reading of ``pattern`` written for ``flavor``. ``RegexNotWritten`` for Unicode
    classes, ``\\C``, and counts or assertions the flavor lacks; ``WsqueryError`` when
    ``pattern`` is not RE2 at all."""
    tree = _read(pattern).tree
    written = _write(tree, flavor)
    if matches_nothing(tree, frozenset({"\\B"})) and not matches_nothing(tree, frozenset()):
        # RE2 reads UTF-8 bytes: \B alone matches inside any character beyond ASCII
        if flavor.beyond_ascii is None:
            raise RegexNotWritten("\\B matching between the bytes of a character")
        written = f"(?:{written})|{flavor.beyond_ascii}"
    return written


def _write(node: Node, flavor: Flavor) -> str:
    match node:
        case CharSet():
            if node.unicode:
                raise RegexNotWritten("Unicode classes (\\pL, \\p{Greek})")
            return _class(node.ranges(), flavor)
        case Assertion():
            written = flavor.asserts.get(node.kind)
            if written is None:
                raise RegexNotWritten(f"{node.kind} as RE2 reads it")
            return written
        case AnyByte():
            raise RegexNotWritten("\\C, one byte of a character")
        case Concat():
            return "".join(_write(item, flavor) for item in node.items)
        case Alternate():
            return "(?:" + "|".join(_write(item, flavor) for item in node.items) + ")"
        case Repeat():
            high = node.high
            if max(node.low, high or 0) > flavor.max_count:
                raise RegexNotWritten(f"counts above {flavor.max_count}")
            count = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get(
                (node.low, high), f"{{{node.low},{'' if high is None else high}}}")
            return "(?:" + _write(node.item, flavor) + ")" + count
        case _:
            assert_never(node)


def _class(ranges: Ranges, flavor: Flavor) -> str:
    """Exactly these code points, without surrogates (text that came as UTF-8 holds none)."""
    first = flavor.first_code
    kept = [(max(low, first), high) for piece_low, piece_high in ranges
            for low, high in ((piece_low, min(piece_high, 0xD7FF)),
                              (max(piece_low, 0xE000), piece_high))
            if max(low, first) <= high]
    if not kept:
        return flavor.nothing
    return "[" + "".join(flavor.code.format(low) if low == high else
                         flavor.code.format(low) + "-" + flavor.code.format(high)
                         for low, high in kept) + "]"
