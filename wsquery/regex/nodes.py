"""A pattern as RE2 reads it, as data: the node types of the reading, the Perl and POSIX classes
RE2 names (as code points), and why a pattern is refused (``RegexRefusal``) with the error a
user reads for it.

Apart from the reader, which builds this data, because every engine and flavour reads it: the
search engines, the backtracking analysis and each flavour's spelling walk the same nodes.
"""

from __future__ import annotations

from typing import assert_never

import attrs

from wsquery.errors import TargetError, WsqueryError
from wsquery.regex.folding import Ranges, _complement, _folded, _normalized


@attrs.frozen(slots=True)
class RegexRefusal:
    """Why a pattern is not run: what is wrong with it, how to write it instead, and where
    (``offset`` and ``length`` in the pattern, for a caret under it); ``invalid`` when it is not
    RE2 at all (else RE2 is missing, or the target cannot run it exactly)."""

    message: str
    hint: str
    invalid: bool = False
    offset: int = 0
    length: int = 0


class _Refused(Exception):
    def __init__(self, refusal: RegexRefusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def _invalid(message: str, hint: str, offset: int, length: int = 1) -> _Refused:
    return _Refused(RegexRefusal(message, hint, True, offset, max(length, 1)))


def _not_re2(pattern: str, refused: RegexRefusal) -> WsqueryError:
    """The error for a pattern that is not RE2 at all."""
    return WsqueryError(f"invalid regular expression {pattern!r}: {refused.message}"
                        + (f"\nhint: {refused.hint}" if refused.hint else ""))


def _error(pattern: str, refused: RegexRefusal, *, target: str) -> WsqueryError:
    """The error a user reads for a refused pattern: ``TargetError`` naming ``target`` when the
    pattern is RE2 but ``target`` cannot run it."""
    if refused.invalid:
        return _not_re2(pattern, refused)
    return TargetError(f"regex {_show(pattern)}: {refused.message}", target=target,
                       hint=refused.hint)


def _show(pattern: str) -> str:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return '"' + shown.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


# What RE2 knows ------------------------------------------------------------------------------

_WORD: Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
#: Perl and POSIX classes: RE2's are ASCII (``\\s`` lacks ``\\v``, ``[[:space:]]`` has it).
_GROUPS: dict[str, Ranges] = {
    "d": ((0x30, 0x39),), "s": ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)), "w": _WORD,
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)), "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0, 0x7F),), "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0, 0x1F), (0x7F, 0x7F)), "digit": ((0x30, 0x39),), "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),), "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)), "upper": ((0x41, 0x5A),), "word": _WORD,
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}


# The reading of a pattern --------------------------------------------------------------------

@attrs.frozen(slots=True)
class _Group:
    """A named class inside a set: a Perl or POSIX class (``_GROUPS``) or a Unicode one."""

    name: str
    negated: bool
    unicode: bool = False


@attrs.frozen(slots=True)
class CharSet:
    """Characters: ranges and named classes, each folded under ``(?i)`` (a negated class is
    the complement of the folded one), the union complemented when ``negate``."""

    parts: tuple[tuple[int, int] | _Group, ...]
    negate: bool = False
    fold: bool = False

    @property
    def unicode(self) -> bool:
        return any(isinstance(part, _Group) and part.unicode for part in self.parts)

    def ranges(self) -> Ranges:
        """The code points matched (not for Unicode classes, whose tables only RE2 has)."""
        pieces: list[tuple[int, int]] = []
        for part in self.parts:
            if isinstance(part, _Group):
                group = _GROUPS[part.name]
                group = _folded(group) if self.fold else group
                pieces.extend(_complement(group) if part.negated else group)
            else:
                pieces.extend(_folded((part,)) if self.fold else (part,))
        ranges = _normalized(pieces)
        return _complement(ranges) if self.negate else ranges


@attrs.frozen(slots=True)
class Assertion:
    """An empty-width test: ``\\A``, ``\\z``, ``(?m)^`` (``^m``), ``(?m)$`` (``$m``), ``\\b``,
    ``\\B``."""

    kind: str


@attrs.frozen(slots=True)
class AnyByte:
    """``\\C``: one byte of the text's UTF-8."""


@attrs.frozen(slots=True)
class Concat:
    """A sequence: each item in turn."""

    items: tuple[Node, ...]


@attrs.frozen(slots=True)
class Alternate:
    """Alternatives: any one of the items."""

    items: tuple[Node, ...]


@attrs.frozen(slots=True)
class Repeat:
    """``item`` low..high times (None: no bound); ``counted`` when written ``{m,n}``."""

    item: Node
    low: int
    high: int | None
    counted: bool


#: A node of a pattern's reading (``Reading.tree``).
Node = CharSet | Assertion | AnyByte | Concat | Alternate | Repeat


@attrs.frozen(slots=True)
class Reading:
    """A pattern read as RE2 reads it; ``pcre_edits`` rewrite its text for PCRE (a replacement
    text, or a set to spell out), ``pcre_refusal`` is what PCRE cannot read the same way."""

    tree: Node
    pcre_edits: tuple[tuple[int, int, str | CharSet], ...]
    pcre_refusal: RegexRefusal | None


def matches_nothing(node: Node, holding: frozenset[str]) -> bool:
    """Whether the pattern matches without consuming a character at a place where the
    empty-width tests ``holding`` hold and no other does. Two such places matter: the empty
    text (Python's ``\\B`` fails there, RE2's holds), and the place between two bytes of a
    character beyond ASCII, where RE2's search also starts and only ``\\B`` holds."""
    match node:
        case CharSet() | AnyByte():
            return False
        case Assertion():
            return node.kind in holding
        case Concat():
            return all(matches_nothing(item, holding) for item in node.items)
        case Alternate():
            return any(matches_nothing(item, holding) for item in node.items)
        case Repeat():
            return node.low == 0 or matches_nothing(node.item, holding)
        case _:
            assert_never(node)
