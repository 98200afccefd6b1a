"""RE2's reading -> the pattern for PCRE (in UTF mode, without UCP), written as the user wrote it
wherever PCRE reads that spelling the same way.

The reader notes, as it reads, each place PCRE reads otherwise (``Reading.pcre_edits``) and what
PCRE cannot read alike at all (``Reading.pcre_refusal``); this module applies the edits. Apart
from the reader because only targets that run PCRE ask for it, naming themselves as ``target``.
"""

from __future__ import annotations

from wsquery.regex.folding import Ranges, _normalized
from wsquery.regex.nodes import _error, matches_nothing
from wsquery.regex.reader import _read


def to_pcre(pattern: str, *, target: str) -> str:
    """``pattern`` for PCRE in UTF mode, without UCP, written as the user wrote it where PCRE
    reads that the same way. Rewritten: ``$`` without ``(?m)`` (PCRE's
    also matches before a final newline) -> ``\\z``; ``(?m)^`` (PCRE's fails after a final
    newline) -> ``(?:^|(?<=\\n))``; ``\\s`` and ``\\S`` (PCRE's hold ``\\v``) -> explicit
    classes; ``\\v`` (PCRE's is any vertical space) -> ``\\x0b``; octal escapes (PCRE may read
    ``\\12`` as a backreference) -> ``\\x{a}``; a literal ``{`` -> ``\\{`` and, in classes,
    ``-`` and ``[`` escaped; ``\\Q...\\E`` -> escaped characters; group names PCRE refuses
    (leading digit, over 32 characters) and ``(?)`` dropped; escaped surrogates (PCRE refuses
    them, RE2 never matches them) -> a class without them; a pattern that matches the empty
    text through ``\\B`` alone (RE2 reads bytes, and ``\\B`` holds inside every character
    beyond ASCII, PCRE reads characters) -> ``(?:...)|[^\\x{0}-\\x{7f}]``; under ``(?i)``,
    ``i``, ``I``, characters beyond ASCII, ``\\w``, ``\\W`` and classes with letters (PCRE
    folds the Turkish i, the Kelvin sign and others otherwise) -> ``(?-i:[...])`` spelt out as
    RE2 folds them.
    Raises ``WsqueryError`` when ``pattern`` is not RE2, and ``TargetError``, naming
    ``target``, for ``\\C`` and for Unicode classes under ``(?i)``."""
    reading = _read(pattern)
    if reading.pcre_refusal is not None:
        raise _error(pattern, reading.pcre_refusal, target=target)
    pieces = []
    done = 0
    for start, end, replacement in sorted(reading.pcre_edits, key=lambda edit: edit[0]):
        pieces.append(pattern[done:start])
        pieces.append(replacement if isinstance(replacement, str)
                      else "(?-i:" + _pcre_class(replacement.ranges()) + ")")
        done = end
    pieces.append(pattern[done:])
    pcre = "".join(pieces)
    if matches_nothing(reading.tree, frozenset({"\\B"})) and not matches_nothing(
            reading.tree, frozenset()):  # matches inside a character: see matches_nothing
        return f"(?:{pcre})|[^\\x{{0}}-\\x{{7f}}]"
    return pcre


def _pcre_class(ranges: Ranges) -> str:
    """A PCRE class of exactly these code points, lone surrogates left out (UTF-8 text has
    none, and PCRE refuses them)."""
    ranges = _normalized(piece for low, high in ranges for piece in (
        (low, min(high, 0xD7FF)), (max(low, 0xE000), high)) if piece[0] <= piece[1])
    if not ranges:
        return "[^\\x{0}-\\x{10ffff}]"
    return "[" + "".join(f"\\x{{{low:x}}}" if low == high else f"\\x{{{low:x}}}-\\x{{{high:x}}}"
                         for low, high in ranges) + "]"
