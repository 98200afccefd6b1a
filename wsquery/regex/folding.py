"""Sets of code points as RE2 means them: sorted ranges, their union and complement, and RE2's
case folding (``(?i)``), which adds every character's case partners.

Apart from the reader because every spelling of a class reads these sets too: the reading's
``CharSet.ranges``, and the Python, PCRE and other flavours' classes written from them.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from functools import cache

#: Sorted, disjoint, inclusive ranges of code points.
Ranges = tuple[tuple[int, int], ...]

_MAX_CODE = 0x10FFFF
#: Case pairs RE2's tables (Unicode 15.1) fold together that older Python tables do not.
_EXTRA_FOLDS = ((0x0390, 0x1FD3), (0x03B0, 0x1FE3), (0xFB05, 0xFB06))


def _simple_fold(char: str) -> str:
    """The character RE2's tables fold ``char`` to (Unicode simple case folding)."""
    folded = char.casefold()
    if len(folded) == 1:
        return folded
    lower = char.lower()
    return lower if len(lower) == 1 else char  # U+0130 folds to nothing simple


@cache
def _case_orbits() -> tuple[list[int], dict[int, tuple[int, ...]]]:
    """Every character that folds together with others -> the characters it folds with
    (itself included), and those characters in order. Built once (a fifth of a second)."""
    together: dict[int, set[int]] = {}
    for code in itertools.chain(range(0xD800), range(0xE000, _MAX_CODE + 1)):
        char = chr(code)
        if char.casefold() != char and (folded := _simple_fold(char)) != char:
            together.setdefault(ord(folded), {ord(folded)}).add(code)
    orbits = {member: group for group in together.values() for member in group}
    for left, right in _EXTRA_FOLDS:
        merged = orbits.get(left, {left}) | orbits.get(right, {right})
        orbits.update(dict.fromkeys(merged, merged))
    return sorted(orbits), {code: tuple(sorted(group)) for code, group in orbits.items()}


def _folded(ranges: Ranges) -> Ranges:
    """``ranges`` with every character's case partners added, as RE2's ``(?i)`` adds them."""
    codes, orbits = _case_orbits()
    extra: list[tuple[int, int]] = []
    for low, high in ranges:
        for code in codes[bisect.bisect_left(codes, low):bisect.bisect_right(codes, high)]:
            extra.extend((partner, partner) for partner in orbits[code])
    return _normalized((*ranges, *extra)) if extra else ranges


def _normalized(pieces: Iterable[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(pieces):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


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
