"""RE2 pattern text -> its reading (``nodes.Reading``), or why it is not RE2.

A pure-Python reader accepts exactly the syntax RE2 accepts (google-re2 is not needed to check a
pattern) and refuses the rest with the offset and length of the bad part and a hint:
backreferences, lookahead and lookbehind, atomic groups, possessive quantifiers, ``\\Z``,
``(?x)`` and other Perl or Python syntax RE2 lacks. One limit is RE2's alone: a valid pattern
whose compiled program passes RE2's memory budget (``\\pL{500}``) is refused when RE2 compiles
it. As it reads, the reader notes where PCRE reads the same spelling otherwise (the reading's
``pcre_edits``, which ``pcre.to_pcre`` applies): only the reader knows where each node was
written. A pattern cannot hold a lone surrogate (it is not UTF-8); ``escape`` writes U+FFFD in
its place.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from wsquery.regex.folding import _MAX_CODE
from wsquery.regex.nodes import (
    _GROUPS,
    Alternate,
    AnyByte,
    Assertion,
    CharSet,
    Concat,
    Node,
    Reading,
    RegexRefusal,
    Repeat,
    _Group,
    _not_re2,
    _Refused,
)

_MAX_REPEAT = 1000
_SURROGATE = re.compile("[\ud800-\udfff]")


def _invalid(message: str, hint: str, offset: int, length: int = 1) -> _Refused:
    return _Refused(RegexRefusal(message, hint, True, offset, max(length, 1)))


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
#: ``.`` without and with ``(?s)``.
_DOT = CharSet(((0, 9), (11, _MAX_CODE)))
_ANY = CharSet(((0, _MAX_CODE),))


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


def _read(pattern: str) -> Reading:
    """RE2's reading of ``pattern``; ``WsqueryError`` when it is not RE2."""
    reading = read_pattern(pattern)
    if isinstance(reading, RegexRefusal):
        raise _not_re2(pattern, reading)
    return reading


def re2_refusal(pattern: str) -> RegexRefusal | None:
    """Why ``pattern`` is not RE2 (None: it is); needs no google-re2."""
    reading = read_pattern(pattern)
    return reading if isinstance(reading, RegexRefusal) else None


#: Characters RE2, PCRE and Python's re all read as operators outside a class.
_SPECIAL = frozenset("\\.^$|?*+()[]{}")


def escape(text: str) -> str:
    """A pattern matching ``text`` literally, read the same by RE2, PCRE and Python's ``re``:
    operators get a backslash, NUL is ``\\x00``, a lone surrogate becomes U+FFFD."""
    text = _SURROGATE.sub("\ufffd", text)
    return "".join("\\x00" if char == "\0" else "\\" + char if char in _SPECIAL else char
                   for char in text)


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
