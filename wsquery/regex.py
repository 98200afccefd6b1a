"""User regex text (RE2 syntax) -> a reading of it, a search predicate that cannot hang, and the
same pattern for other engines.

``name =~ "pattern"`` means what Google's RE2 means: a match somewhere in the text (unanchored),
with RE2's syntax and classes. W&B's server runs such patterns with RE2, so users write RE2 and
read back what they wrote.

**Reading.** A pure-Python reader accepts exactly the syntax RE2 accepts (google-re2 is not
needed to check a pattern) and refuses the rest with the offset and length of the bad part and a
hint: backreferences, lookahead and lookbehind, atomic groups, possessive quantifiers, ``\\Z``,
``(?x)`` and other Perl or Python syntax RE2 lacks. One limit is RE2's alone: a valid pattern
whose compiled program passes RE2's memory budget (``\\pL{500}``) is refused when RE2 compiles
it.

**Searching.** With google-re2 (``pip install 'wsquery[re2]'``) RE2 runs the pattern, in time
linear in the text. Without it, Python's ``re`` runs a translation of the parsed pattern that
finds a match in exactly the same texts: every class is spelt out as the code points RE2 means
(``\\d``, ``\\w``, ``\\s`` and POSIX classes are ASCII, ``\\s`` is ``[\\t\\n\\f\\r ]``, ``(?i)``
folds case as RE2 does, by Unicode simple case folding), ``$`` without ``(?m)`` is the very end
of the text, ``\\b`` and ``\\B`` see ASCII word characters (RE2 reads UTF-8 bytes, so ``\\B``
also holds between the bytes of a character beyond ASCII, and a pattern that matches there
through ``\\B`` alone is found in any text that is not ASCII), and flags are scoped as RE2
scopes them (a ``(?i)`` inside a group holds to the end of that group). What the translation cannot
spell exactly is refused with a hint to install RE2: Unicode classes (``\\pL``, ``\\p{Greek}``,
which need RE2's tables) and ``\\C`` (one byte of UTF-8). Python's backtracking engine can take
exponential time, so patterns that risk it are refused (a repeated group holding a repeat,
``(a+)+``; a repeated group whose alternatives can start alike, ``(a|ab)*``), and the text is
bounded so that one search stays within about ten million steps; a pattern whose bound would
fall below 256 characters is refused (``(.*a){20}``), and longer text makes the search raise
``TargetError`` naming the limit rather than run for minutes.

**Lone surrogates.** W&B's text is UTF-8 and never holds them, and RE2 cannot read them; on both
engines a text is searched with each lone surrogate replaced by U+FFFD, the replacement
character. A pattern cannot hold one (it is not UTF-8); ``escape`` writes U+FFFD in its place.

**Other dialects.** ``to_pcre`` writes the pattern for MongoDB's ``$regex`` (PCRE, UTF mode,
no UCP) as the user wrote it wherever PCRE reads that spelling the same way; ``escape`` writes
text as a pattern that RE2, PCRE and Python's ``re`` all read as that text.
"""

from __future__ import annotations

import bisect
import importlib
import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from typing import Any, assert_never

import attrs

from wsquery.errors import TargetError, WsqueryError

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
_MAX_REPEAT = 1000
_SURROGATE = re.compile("[\ud800-\udfff]")

_parser: Any = importlib.import_module("re._parser")


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
#: The names ``\\p{...}`` takes: general categories, scripts (Unicode 15.1) and ``Any``.
_UNICODE_CLASSES = frozenset((
    "Any", "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me",
    "Mn", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc",
    "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs", "Adlam", "Ahom", "Anatolian_Hieroglyphs",
    "Arabic", "Armenian", "Avestan", "Balinese", "Bamum", "Bassa_Vah", "Batak", "Bengali",
    "Bhaiksuki", "Bopomofo", "Brahmi", "Braille", "Buginese", "Buhid", "Canadian_Aboriginal",
    "Carian", "Caucasian_Albanian", "Chakma", "Cham", "Cherokee", "Chorasmian", "Common",
    "Coptic", "Cuneiform", "Cypriot", "Cypro_Minoan", "Cyrillic", "Deseret", "Devanagari",
    "Dives_Akuru", "Dogra", "Duployan", "Egyptian_Hieroglyphs", "Elbasan", "Elymaic",
    "Ethiopic", "Georgian", "Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati",
    "Gunjala_Gondi", "Gurmukhi", "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran",
    "Hebrew", "Hiragana", "Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi",
    "Inscriptional_Parthian", "Javanese", "Kaithi", "Kannada", "Katakana", "Kawi", "Kayah_Li",
    "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi", "Lao", "Latin",
    "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani",
    "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin",
    "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao",
    "Modi", "Mongolian", "Mro", "Multani", "Myanmar", "Nabataean", "Nag_Mundari",
    "Nandinagari", "New_Tai_Lue", "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham",
    "Ol_Chiki", "Old_Hungarian", "Old_Italic", "Old_North_Arabian", "Old_Permic",
    "Old_Persian", "Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Old_Uyghur", "Oriya",
    "Osage", "Osmanya", "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Phags_Pa", "Phoenician",
    "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan", "Saurashtra", "Sharada", "Shavian",
    "Siddham", "SignWriting", "Sinhala", "Sogdian", "Sora_Sompeng", "Soyombo", "Sundanese",
    "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri",
    "Tamil", "Tangsa", "Tangut", "Telugu", "Thaana", "Thai", "Tibetan", "Tifinagh", "Tirhuta",
    "Toto", "Ugaritic", "Vai", "Vithkuqi", "Wancho", "Warang_Citi", "Yezidi", "Yi",
    "Zanabazar_Square",
))
#: Case pairs RE2's tables (Unicode 15.1) fold together that older Python tables do not.
_EXTRA_FOLDS = ((0x0390, 0x1FD3), (0x03B0, 0x1FE3), (0xFB05, 0xFB06))
#: Escapes of other dialects RE2 lacks -> what is wrong, what to write instead.
_FOREIGN_ESCAPES = {
    "Z": ("RE2 has no \\Z", "write \\z for the very end of the text, or $"),
    "R": ("RE2 has no \\R", "write (?:\\r\\n|\\n|\\r)"),
    "h": ("RE2 has no \\h", "write [\\t ]"),
    "c": ("RE2 has no control escapes (\\c)", "write \\x01 and so on"),
    "e": ("RE2 has no \\e", "write \\x1b"),
    "g": ("RE2 has no backreferences (\\g)", "match the repeated text itself"),
    "k": ("RE2 has no backreferences (\\k)", "match the repeated text itself"),
    "E": ("\\E ends a \\Q...\\E quote, and none is open", "write \\\\E for a backslash and E"),
}


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
_DOT = CharSet(((0, 9), (11, _MAX_CODE)))
_ANY = CharSet(_ALL)


@attrs.frozen(slots=True)
class Reading:
    """A pattern read as RE2 reads it; ``pcre_edits`` rewrite its text for PCRE (a replacement
    text, or a set to spell out), ``pcre_refusal`` is what PCRE cannot read the same way."""

    tree: Node
    pcre_edits: tuple[tuple[int, int, str | CharSet], ...]
    pcre_refusal: RegexRefusal | None


@lru_cache(maxsize=256)
def read_pattern(pattern: str) -> Reading | RegexRefusal:
    """RE2's reading of ``pattern``, or why it is not RE2 (both cached)."""
    if not isinstance(pattern, str):
        return RegexRefusal(f"a pattern is text, not {type(pattern).__name__}",
                            'write the pattern in quotes: name =~ "^run"', True, 0, 0)
    try:
        return _Reader(pattern).read()
    except _Refused as refused:
        return refused.refusal


class _Reader:
    """RE2's parser (``re2/parse.cc``) over a Python string: one pass, a stack of open groups,
    no recursion. Offsets are in characters."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0
        self.fold = self.multiline = self.dot_all = False
        # Open groups: (the alternatives so far, flags to restore, where the group opened).
        self.open: list[tuple[list[list[Node]], tuple[bool, bool, bool], int]] = []
        self.alternatives: list[list[Node]] = [[]]
        self.repeat_at: int | None = None  # where the repeat operator just read starts
        self.edits: list[tuple[int, int, str | CharSet]] = []
        self.pcre_refusal: RegexRefusal | None = None

    # The loop ----------------------------------------------------------------------------

    def read(self) -> Reading:
        text = self.text
        if (surrogate := _SURROGATE.search(text)) is not None:
            raise _invalid("a pattern cannot hold a lone surrogate (it is not UTF-8)",
                           "write the character as \\x{...}", surrogate.start())
        while self.at < len(text):
            start = self.at
            char = text[start]
            repeat_at = None
            if char == "(":
                self.open_group()
            elif char == "|":
                self.alternatives.append([])
                self.at += 1
            elif char == ")":
                self.close_group()
            elif char == "^":
                self.push(Assertion("^m" if self.multiline else "\\A"))
                if self.multiline:  # PCRE's (?m)^ fails after a final newline
                    self.edit(start, start + 1, "(?:^|(?<=\\n))")
                self.at += 1
            elif char == "$":
                self.push(Assertion("$m" if self.multiline else "\\z"))
                if not self.multiline:  # PCRE's $ also matches before a final newline
                    self.edit(start, start + 1, "\\z")
                self.at += 1
            elif char == ".":
                self.push(_ANY if self.dot_all else _DOT)
                self.at += 1
            elif char == "[":
                self.char_class()
            elif char in "*+?":
                self.at += 1
                self.repeat(start, *{"*": (0, None), "+": (1, None), "?": (0, 1)}[char],
                            counted=False)
                repeat_at = start
            elif char == "{" and (counts := self.counts()) is not None:
                self.repeat(start, *counts, counted=True)
                repeat_at = start
            elif char == "\\":
                self.escape()
            else:
                self.literal(ord(char), start, start + 1)
                if char == "{":  # PCRE2 reads {,n} as a repeat
                    self.edit(start, start + 1, "\\{")
                self.at += 1
            self.repeat_at = repeat_at
        if self.open:
            raise _invalid("missing ')' to close this group",
                           "close it, or write \\( for a literal parenthesis", self.open[-1][2])
        return Reading(_join(self.alternatives), tuple(self.edits), self.pcre_refusal)

    def push(self, node: Node) -> None:
        self.alternatives[-1].append(node)

    def literal(self, code: int, start: int, end: int, *, quoted: bool = False) -> None:
        node = CharSet(((code, code),), fold=self.fold)
        self.push(node)
        if (self.fold and not _pcre_folds_alike(code)) or 0xD800 <= code <= 0xDFFF:
            self.edit(start, end, node)
        elif quoted:
            self.edit(start, end, escape(chr(code)))

    def edit(self, start: int, end: int, replacement: str | CharSet) -> None:
        if isinstance(replacement, CharSet) and replacement.unicode:
            self.refuse_pcre("PCRE folds case in Unicode classes differently", start, end,
                             "drop (?i) around the Unicode class, or list both cases")
        self.edits.append((start, end, replacement))

    def refuse_pcre(self, message: str, start: int, end: int, hint: str) -> None:
        if self.pcre_refusal is None:
            self.pcre_refusal = RegexRefusal(message, hint, False, start, end - start)

    # Groups and flags --------------------------------------------------------------------

    def open_group(self) -> None:
        start, text = self.at, self.text
        if not text.startswith("(?", start):
            self.enter(start)
            self.at += 1
            return
        rest = text[start + 2:start + 4]
        if rest.startswith(("P<", "<")) and not rest.startswith(("<=", "<!")):
            self.named_group(start, start + (4 if rest.startswith("P") else 3))
            return
        for opening, message, hint in _FOREIGN_GROUPS:
            if rest.startswith(opening):
                raise _invalid(message, hint, start, 2 + len(opening))
        flags = [self.fold, self.multiline, self.dot_all]
        negated = saw_flag = False
        at = start + 2
        while True:
            if at >= len(text):
                raise _invalid("missing ')' after the flags", "write flags as (?i) or (?i:...)",
                               start, at - start)
            char = text[at]
            at += 1
            if char in "imsU":
                saw_flag = True
                if char != "U":  # non-greedy repeats find the same texts
                    flags["ims".index(char)] = not negated
            elif char == "-" and not negated:
                negated, saw_flag = True, False
            elif char in ":)":
                if negated and not saw_flag:
                    raise _invalid("'-' must be followed by flags to turn off",
                                   "write (?-i) or (?i-s)", start, at - start)
                if at == start + 3 and char == ")":  # (?) sets nothing; PCRE may refuse it
                    self.edit(start, at, "")
                if char == ":":
                    self.enter(start)
                self.fold, self.multiline, self.dot_all = flags
                self.at = at
                return
            else:
                raise _invalid(f"RE2 has no flag {char!r}" if char.isalpha()
                               else f"{text[start:at]!r} is no group RE2 knows",
                               "RE2's flags are i, m, s and U: (?i), (?s:...), (?-m)",
                               at - 1 if char.isalpha() else start,
                               1 if char.isalpha() else at - start)

    def named_group(self, start: int, name_at: int) -> None:
        end = self.text.find(">", name_at)
        if end < 0:
            raise _invalid("a group name must end with '>'", "write (?P<name>...)", start,
                           len(self.text) - start)
        name = self.text[name_at:end]
        if not name or not all(char.isascii() and (char.isalnum() or char == "_")
                               for char in name):
            raise _invalid("a group name is letters, digits and '_'",
                           "write (?P<name>...), or (?:...) for a group without a name",
                           start, end + 1 - start)
        if name[0].isdigit() or len(name) > 32:  # PCRE refuses these names
            self.edit(start, end + 1, "(")
        self.enter(start)
        self.at = end + 1

    def enter(self, start: int) -> None:
        self.open.append((self.alternatives, (self.fold, self.multiline, self.dot_all), start))
        self.alternatives = [[]]

    def close_group(self) -> None:
        if not self.open:
            raise _invalid("')' closes no group", "write \\) for a literal parenthesis", self.at)
        node = _join(self.alternatives)
        self.alternatives, (self.fold, self.multiline, self.dot_all), _ = self.open.pop()
        self.push(node)
        self.at += 1

    # Repeats -----------------------------------------------------------------------------

    def counts(self) -> tuple[int, int | None] | None:
        """``{n}``, ``{n,}`` or ``{n,m}`` at the reading point (consumed), or None: then the
        brace is a literal. Numbers have no leading zeros and at most 9 digits."""
        found = _COUNTS.match(self.text, self.at)
        if found is None:
            return None
        self.at = found.end()
        low = int(found["low"])
        if found["comma"] is None:
            return low, low
        return low, None if found["high"] is None else int(found["high"])

    def repeat(self, start: int, low: int, high: int | None, *, counted: bool) -> None:
        if self.text.startswith("?", self.at):
            self.at += 1  # non-greedy: the same texts match
        operator = self.text[start:self.at]
        if self.repeat_at is not None:
            first = self.repeat_at
            if operator.startswith("+"):
                raise _invalid("RE2 has no possessive quantifiers", "drop the final '+'",
                               first, self.at - first)
            raise _invalid(f"a repeat cannot repeat a repeat ({self.text[first:self.at]!r})",
                           "put the repeated part in a group: (?:a*)*", first, self.at - first)
        if counted and ((high is not None and high < low) or max(low, high or 0) > _MAX_REPEAT):
            raise _invalid(f"bad repeat count {operator!r}",
                           f"counts go from 0 to {_MAX_REPEAT}, the smaller one first",
                           start, self.at - start)
        items = self.alternatives[-1]
        if not items:
            raise _invalid(f"nothing before {operator!r} to repeat",
                           f"write \\{operator[0]} for a literal {operator[0]!r}", start,
                           self.at - start)
        items[-1] = Repeat(items[-1], low, high, counted)
        if counted and max(low, high or 0) >= 2 and _repeat_budget(items[-1]) == 0:
            raise _invalid(f"nested repeats {operator!r} multiply past {_MAX_REPEAT}",
                           "use smaller counts, or + and *", start, self.at - start)

    # Escapes -----------------------------------------------------------------------------

    def escape(self) -> None:
        start, text = self.at, self.text
        letter = text[start + 1:start + 2]
        if letter in ("b", "B", "A", "z"):
            self.push(Assertion("\\" + letter))
            self.at += 2
        elif letter == "C":
            self.push(AnyByte())
            self.refuse_pcre("PCRE may refuse \\C, one byte of a character", start, start + 2,
                             "write . for one character")
            self.at += 2
        elif letter == "Q":
            end = text.find("\\E", start + 2)
            end = len(text) if end < 0 else end
            for at in range(start + 2, end):
                self.literal(ord(text[at]), at, at + 1, quoted=True)
            self.edit(start, start + 2, "")
            if end < len(text):
                self.edit(end, end + 2, "")
            self.at = min(end + 2, len(text))
        elif letter in ("p", "P"):
            group = self.unicode_class()
            self.push(CharSet((group,), fold=self.fold))
            if self.fold:
                self.edit(start, self.at, CharSet((group,), fold=True))
        elif letter in ("d", "s", "w", "D", "S", "W"):
            node = CharSet((_Group(letter.lower(), letter.isupper()),), fold=self.fold)
            self.push(node)
            self.at += 2
            if self.fold and letter in "wW":  # RE2 folds \w: (?i)\w holds the Kelvin sign
                self.edit(start, self.at, node)
            elif letter in "sS":  # PCRE's \s holds \v
                self.edit(start, self.at, "[\\t\\n\\f\\r ]" if letter == "s" else
                          "[^\\t\\n\\f\\r ]")
        else:
            code = self.escaped_char()
            self.literal(code, start, self.at)
            if not self.fold or _pcre_folds_alike(code):
                self.pcre_char(start, code)

    def escaped_char(self, *, in_class: bool = False) -> int:
        """The character an escape such as ``\\n``, ``\\x41`` or ``\\101`` stands for."""
        start, text = self.at, self.text
        if start + 1 >= len(text):
            raise _invalid("a pattern cannot end with a lone backslash",
                           "write \\\\ for a backslash", start)
        letter = text[start + 1]
        if letter in "01234567" and (letter == "0" or text[start + 2:start + 3] in _OCTAL):
            digits = letter + "".join(itertools.takewhile(_OCTAL.__contains__,
                                                          text[start + 2:start + 4]))
            self.at = start + 1 + len(digits)
            return int(digits, 8)
        if letter.isdigit() and letter.isascii():
            raise _invalid(f"RE2 has no backreferences (\\{letter})",
                           "match the repeated text itself; write a character by its code as "
                           "\\x{...}", start, 2)
        if letter == "x":
            found = _HEX.match(text, start + 2)
            code = -1 if found is None else int(found["hex"] or found["short"], 16)
            if found is None or code > _MAX_CODE:
                raise _invalid("bad hexadecimal escape",
                               "write \\x and two hex digits, or \\x{...} up to 10FFFF",
                               start, 2 if found is None else found.end() - start)
            self.at = found.end()
            return code
        if letter in _C_ESCAPES:
            self.at = start + 2
            return _C_ESCAPES[letter]
        if letter.isascii() and not letter.isalnum():
            self.at = start + 2
            return ord(letter)
        if letter == "b" and in_class:
            message, hint = "RE2 has no \\b inside a class", "write \\x08 for a backspace"
        elif in_class and letter in "pPdDsSwW":
            message, hint = f"\\{letter} cannot end a range", "write the range's ends alone"
        elif in_class and letter in "QAzBC":
            message = f"\\{letter} has no meaning inside a class"
            hint = "write it outside the brackets"
        elif not letter.isascii():
            message, hint = f"\\{letter} is no escape", f"write {letter} without a backslash"
        else:
            message, hint = _FOREIGN_ESCAPES.get(letter, (
                f"RE2 has no escape \\{letter}", "escape only punctuation: \\. \\( \\[ \\\\"))
        raise _invalid(message, hint, start, 2)

    def pcre_char(self, start: int, code: int) -> None:
        """Spell an escaped character for PCRE where PCRE reads it otherwise."""
        written = self.text[start:self.at]
        if written[1] in _OCTAL:  # PCRE reads \12 as a backreference when there are 12 groups
            self.edit(start, self.at, f"\\x{{{code:x}}}")
        elif written == "\\v":  # PCRE's \v is any vertical space
            self.edit(start, self.at, "\\x0b")

    def unicode_class(self) -> _Group:
        """``\\pL``, ``\\p{Greek}``, ``\\PL``, ``\\p{^Greek}`` at the reading point."""
        start, text = self.at, self.text
        name_at = start + 2
        if name_at >= len(text):
            raise _invalid("\\p needs a class name", "write \\pL or \\p{Greek}", start, 2)
        if text[name_at] == "{":
            end = text.find("}", name_at)
            if end < 0:
                raise _invalid("missing '}' after the class name", "write \\p{Greek}", start,
                               len(text) - start)
            name, self.at = text[name_at + 1:end], end + 1
        else:
            name, self.at = text[name_at], name_at + 1
        negated = text[start + 1] == "P"
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        if name not in _UNICODE_CLASSES:
            raise _invalid(f"RE2 knows no Unicode class {name!r}",
                           "write a category (\\pL, \\p{Lu}, \\pN) or a script (\\p{Greek})",
                           start, self.at - start)
        return _Group(name, negated, unicode=True)

    # Classes -----------------------------------------------------------------------------

    def char_class(self) -> None:
        start, text = self.at, self.text
        self.at += 1
        negate = text.startswith("^", self.at)
        self.at += negate
        parts: list[tuple[int, int] | _Group] = []
        edits: list[tuple[int, int, str]] = []
        explicit = False  # PCRE must be given the class spelt out
        first = True
        while self.at < len(text) and (text[self.at] != "]" or first):
            first = False
            at = self.at
            if text.startswith("[:", at) and len(text) - at > 2 and (
                    end := text.find(":]", at + 2)) >= 0:
                name = text[at + 2:end]
                negated = name.startswith("^")
                if name.removeprefix("^") not in _POSIX_CLASSES:
                    raise _invalid(f"RE2 knows no POSIX class [:{name}:]",
                                   "write [[:alpha:]], [[:digit:]], [[:^space:]] and so on",
                                   at, end + 2 - at)
                parts.append(_Group(name.removeprefix("^"), negated))
                explicit |= self.fold and name.removeprefix("^") not in _CASELESS_GROUPS
                self.at = end + 2
            elif text.startswith(("\\p", "\\P"), at) and len(text) - at > 2:
                parts.append(self.unicode_class())
                explicit |= self.fold
            elif text[at:at + 2] in _PERL_CLASSES:
                group = _Group(text[at + 1].lower(), text[at + 1].isupper())
                parts.append(group)
                self.at += 2
                if group.name == "s":
                    edits.append((at, at + 2, "\\S\\x0b" if group.negated else "\\t\\n\\f\\r "))
                explicit |= self.fold and group.name == "w"
            else:
                low = self.class_char(start, edits)
                high = low
                if text.startswith("-", self.at) and text[self.at + 1:self.at + 2] not in (
                        "]", ""):
                    self.at += 1
                    high = self.class_char(start, edits)
                    if high < low:
                        raise _invalid(f"the range {text[at:self.at]!r} runs backwards",
                                       "write the smaller end first", at, self.at - at)
                parts.append((low, high))
                explicit |= self.fold and not (
                    _pcre_folds_alike(low) and _pcre_folds_alike(high)
                    and not low <= ord("I") <= high and not low <= ord("i") <= high)
                explicit |= any(0xD800 <= end <= 0xDFFF for end in (low, high))
        if self.at >= len(text):
            raise _invalid("missing ']' to close this class", "write \\[ for a literal '['",
                           start, self.at - start)
        self.at += 1
        node = CharSet(tuple(parts), negate, self.fold)
        self.push(node)
        if explicit:
            self.edit(start, self.at, node)
        else:
            self.edits.extend(edits)

    def class_char(self, start: int, edits: list[tuple[int, int, str]]) -> int:
        at, text = self.at, self.text
        if at >= len(text):
            raise _invalid("missing ']' to close this class", "write \\[ for a literal '['",
                           start, at - start)
        if text[at] == "\\":
            code = self.escaped_char(in_class=True)
            written = text[at:self.at]
            if written[1] in _OCTAL:
                edits.append((at, self.at, f"\\x{{{code:x}}}"))
            elif written == "\\v":
                edits.append((at, self.at, "\\x0b"))
            return code
        self.at += 1
        if text[at] in "-[":  # PCRE reads [\d-z] as a bad range, [[:a] as a POSIX class
            edits.append((at, at + 1, "\\" + text[at]))
        return ord(text[at])


_COUNTS = re.compile(r"\{(?P<low>[1-9][0-9]{0,8}|0)(?:(?P<comma>,)(?P<high>[1-9][0-9]{0,8}|0)?)?\}")
_HEX = re.compile(r"\{(?P<hex>[0-9A-Fa-f]+)\}|(?P<short>[0-9A-Fa-f]{2})")
_OCTAL = frozenset("01234567")
_C_ESCAPES = {"n": 10, "r": 13, "t": 9, "a": 7, "f": 12, "v": 11}
_PERL_CLASSES = frozenset({"\\d", "\\s", "\\w", "\\D", "\\S", "\\W"})
_POSIX_CLASSES = frozenset(_GROUPS) - {"d", "s", "w"}
#: Classes without letters, which ``(?i)`` leaves alone in RE2 and PCRE alike.
_CASELESS_GROUPS = frozenset({"d", "s", "digit", "space", "blank", "cntrl", "punct"})
_LOOK = "match the text itself, or split the condition with and/or"
#: Group openings of other dialects, after ``(?``: message and hint.
_FOREIGN_GROUPS = (
    ("=", "RE2 has no lookahead (?=...)", _LOOK),
    ("!", "RE2 has no negative lookahead (?!...)", _LOOK),
    ("<=", "RE2 has no lookbehind (?<=...)", _LOOK),
    ("<!", "RE2 has no negative lookbehind (?<!...)", _LOOK),
    (">", "RE2 has no atomic groups (?>...)", "use a plain group (?:...)"),
    ("P=", "RE2 has no backreferences (?P=name)", "match the repeated text itself"),
    ("P>", "RE2 has no subroutine calls (?P>name)", "write the group's pattern again"),
    ("#", "RE2 has no comments (?#...)", "leave the comment out"),
    ("(", "RE2 has no conditional groups (?(...)...)", "write the alternatives with '|'"),
    ("|", "RE2 has no branch reset groups (?|...)", "use a plain group (?:...)"),
    ("'", "RE2 names groups only as (?P<name>...) or (?<name>...)", "write (?P<name>...)"),
)


def _pcre_folds_alike(code: int) -> bool:
    """Whether PCRE's ``(?i)`` folds this character as RE2 does: ASCII save ``i`` and ``I``
    (PCRE matches the dotless and dotted Turkish i against them, one way or the other)."""
    return code < 0x80 and code not in (0x49, 0x69)


def _join(alternatives: list[list[Node]]) -> Node:
    joined = [items[0] if len(items) == 1 else Concat(tuple(items)) for items in alternatives]
    return joined[0] if len(joined) == 1 else Alternate(tuple(joined))


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Concat | Alternate):
        return node.items
    if isinstance(node, Repeat):
        return (node.item,)
    return ()


def _repeat_budget(node: Node) -> int:
    """RE2's check of nested counted repeats: 1000 divided by each count on the way down
    (the upper one, or the lower when unbounded); 0 somewhere means too many copies."""
    least = _MAX_REPEAT
    pending = [(node, _MAX_REPEAT)]
    while pending:
        node, budget = pending.pop()
        if isinstance(node, Repeat) and node.counted:
            count = node.low if node.high is None else node.high
            budget = budget // count if count > 0 else budget
        least = min(least, budget)
        pending.extend((child, budget) for child in _children(node))
    return least


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


# Public entry points -------------------------------------------------------------------------

def check(pattern: str) -> RegexRefusal | None:
    """Why ``pattern`` is not RE2 (None: it is); needs no google-re2."""
    reading = read_pattern(pattern)
    return reading if isinstance(reading, RegexRefusal) else None


def compile_user_regex(pattern: str) -> Search:
    """A predicate telling whether RE2 finds ``pattern`` somewhere in a text, that cannot
    hang: see the module docstring. A pattern that is not RE2 raises ``WsqueryError``, one the
    engine at hand refuses ``TargetError``."""
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


def backtracking_limit(pattern: str) -> int | RegexRefusal | None:
    """What the analysis guarding Python's engine says of ``pattern`` on any backtracking
    engine (Java's for Spark, PCRE for MongoDB): a ``RegexRefusal`` when a search can take
    exponential time, or ``MAX_STEPS`` on text of ``MIN_TEXT`` characters; else the longest
    text one search stays within ``MAX_STEPS`` on (None: any text). Unicode classes and
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


def to_pcre(pattern: str, *, target: str) -> str:
    """``pattern`` for MongoDB's ``$regex`` (PCRE in UTF mode, without UCP), written as the
    user wrote it where PCRE reads that the same way. Rewritten: ``$`` without ``(?m)`` (PCRE's
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
    Raises ``TargetError``, naming ``target``, for ``\\C`` and for Unicode classes under
    ``(?i)``."""
    reading = read_pattern(pattern)
    if isinstance(reading, RegexRefusal):
        raise _error(pattern, reading)
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


#: Characters RE2, PCRE and Python's re all read as operators outside a class.
_SPECIAL = frozenset("\\.^$|?*+()[]{}")


def escape(text: str) -> str:
    """A pattern matching ``text`` literally, read the same by RE2, PCRE and Python's ``re``:
    operators get a backslash, NUL is ``\\x00``, a lone surrogate becomes U+FFFD."""
    text = _SURROGATE.sub("\ufffd", text)
    return "".join("\\x00" if char == "\0" else "\\" + char if char in _SPECIAL else char
                   for char in text)


def re2_available() -> bool:
    """Whether google-re2 (import name ``re2``) can be imported."""
    return re2_module() is not None


def re2_module() -> Any:
    """The google-re2 module, or None when it is not installed."""
    try:
        return importlib.import_module("re2")
    except ImportError:
        return None


def _error(pattern: str, refused: RegexRefusal, *, target: str = _TARGET) -> WsqueryError:
    if refused.invalid:
        return WsqueryError(f"invalid regular expression {pattern!r}: {refused.message}"
                            + (f"\nhint: {refused.hint}" if refused.hint else ""))
    return TargetError(f"regex {_show(pattern)}: {refused.message}", target=target,
                       hint=refused.hint)


def _show(pattern: str) -> str:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return '"' + shown.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def _pcre_class(ranges: Ranges) -> str:
    """A PCRE class of exactly these code points, lone surrogates left out (UTF-8 text has
    none, and PCRE refuses them)."""
    ranges = _normalized(piece for low, high in ranges for piece in (
        (low, min(high, 0xD7FF)), (max(low, 0xE000), high)) if piece[0] <= piece[1])
    if not ranges:
        return "[^\\x{0}-\\x{10ffff}]"
    return "[" + "".join(f"\\x{{{low:x}}}" if low == high else f"\\x{{{low:x}}}-\\x{{{high:x}}}"
                         for low, high in ranges) + "]"


# Compilation ---------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _compile(pattern: str, use_re2: bool) -> Search | RegexRefusal:
    """The predicate for ``pattern`` on one engine, or why it is refused (both cached)."""
    reading = read_pattern(pattern)
    if isinstance(reading, RegexRefusal):
        return reading
    try:
        return _re2_search(pattern) if use_re2 else _python_search(pattern, reading.tree)
    except _Refused as refused:
        return refused.refusal


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

def _python_search(pattern: str, tree: Node) -> Search:
    """Python's ``re`` on the translation of ``tree``, over text of bounded length."""
    try:
        translated = _python_text(tree)
        python_tree = _parser.parse(translated, re.ASCII)
        limit = _python_limit(python_tree)
    except RecursionError:
        raise _fallback_refusal(pattern, "groups nest too deeply for Python's re") from None
    except _Refused as refused:
        rewrite = refused.refusal.hint
        raise _fallback_refusal(pattern, refused.refusal.message,
                                f"{_INSTALL}; or {rewrite}" if rewrite else _INSTALL) from None
    search = re.compile(translated, re.ASCII).search
    # Where Python's reading of an empty-width test differs from RE2's, there is no character
    # to consume: the pattern must match the empty text there, through the tests that hold.
    in_empty_text = matches_nothing(tree, frozenset({"\\A", "\\z", "^m", "$m", "\\B"}))
    inside_a_character = matches_nothing(tree, frozenset({"\\B"}))

    def bounded_search(text: str) -> bool:
        if limit is not None and len(text) > limit:
            raise TargetError(
                f"regex {_show(pattern)} runs on text of at most {limit} characters without "
                f"RE2, and this text has {len(text)}", target=_TARGET, hint=_INSTALL)
        if not text:
            return in_empty_text
        return (inside_a_character and not text.isascii()) or search(
            _searchable(text)) is not None

    return bounded_search


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


def _fallback_refusal(pattern: str, message: str, hint: str = _INSTALL) -> _Refused:
    return _Refused(RegexRefusal(message + ", so it runs only with RE2", hint, False, 0,
                                 len(pattern)))


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


# How long Python's engine can take -------------------------------------------------------

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


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


