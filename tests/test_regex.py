"""RE2 regexes: the reader agrees with google-re2 on what is RE2, the Python translation finds
what RE2 finds, refusals point at the bad part, and the other dialects read the same."""

from __future__ import annotations

import re
import sys
import unicodedata
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsquery import regex
from wsquery.errors import TargetError, WsqueryError

re2 = pytest.importorskip("re2")

SETTINGS = settings(max_examples=400, deadline=None, database=None)


def re2_accepts(pattern: str) -> bool:
    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(pattern, options)
    except re2.error:
        return False
    return True


def re2_finds(pattern: str, text: str) -> bool:
    """What RE2 finds, lone surrogates read as U+FFFD (the module's rule, RE2 cannot read them)."""
    return re2.search(pattern, re.sub("[\ud800-\udfff]", "\ufffd", text)) is not None


@pytest.fixture
def without_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if google-re2 were not installed: ``import re2`` fails."""
    monkeypatch.setitem(sys.modules, "re2", None)
    assert not regex.re2_available()


# Validity ------------------------------------------------------------------------------------

ODD = [
    "\\1", "\\12", "a**", "a{2}{3}", "a{1001}", "a{1000}", "\\_", "\\Z", "\\z", "(?<n>a)",
    "(?P<n>a)", "\\pL", "\\p{Greek}", "\\PL", "[[:alpha:]]", "[^[:^digit:]]", "\\Qa.b\\E", "\\C",
    "(?U)a", "a(?i)b", "(?i:a)", "(?-s)", "\\é", "\\8", "\\e", "\\v", "\\x41", "\\x{10FFFF}",
    "\\x{110000}", "a|", "()", "\\x{D800}", "(a{2}){501}", "(a{2}){500}", "a(?i)*", "*",
    "(?i)*", "^*", "\\b*", "(?<=a)", "(?=a)", "(?!a)", "(?<!a)", "(?>a)", "a*+", "a++", "(?P=n)",
    "(?#c)", "(?x)a", "(?i-)", "(?-)", "(?)", "(?:)", "[]a]", "[^]a]", "[a-]", "[-a]", "[a-\\d]",
    "[\\d-z]", "[\\Q]\\E]", "\\p{^Greek}", "\\p{Foo}", "\\pN", "\\p", "[[:foo:]]", "[[:word:]]",
    "\\x{}", "\\x4", "\\xg0", "a{01}", "a{1000000000}", "a{999999999}", "(?i)\\Q", "\\Q", "\\",
    "x{2,1}", "(?P<>a)", "(?P<a-b>x)", "(?'n'a)", "(?<n", "(?P<n", "\\pé", "[\\pL]",
    "[[:^alpha:]]", "\\Ca", "(?m)$", "\\0", "\\08", "\\018", "\\400", "\\777", "[\\b]", "\\B",
    "\\cA", "{1001}", "{2,1}", "{2}", "[[:a]b:]]", "[[:a]", "[a", "(", ")", "(?", "(?i", "[\\p]",
    "[\\p", "x{,2}", "((a{10}){10}){10}", "((a{10}){10}){11}", "(?P<1a>x)", "[z-a]", "\\pLx",
    "\\p{", "[\\d-\\w]", "(?i)(?-i)(?s-m:a)", "(?P<n>a)(?P<n>b)", "(?--i)", "a{2}?", "a*??",
    "(?i)[^k]", "\\x{41}\\x{0}", "[\\x00-\\x{10ffff}]", "(|a|)*", "a{0}", "(a{0}){1000}",
]


@pytest.mark.parametrize("pattern", ODD)
def test_odd_patterns_are_rE2_exactly_when_re2_says_so(pattern: str) -> None:
    assert (regex.re2_refusal(pattern) is None) == re2_accepts(pattern), regex.re2_refusal(pattern)


SYNTAX_PIECES = [
    "a", "b", "k", "K", "i", "I", "é", "ß", "\u212a", "\u0131", "0", "7", "-", "_", " ", "\n",
    "(", ")", "(?:", "(?i)", "(?i:", "(?-i)", "(?m)", "(?s)", "(?U)", "(?P<n>", "(?<x1>", "(?=",
    "(?!", "(?<=", "(?>", "(?#", "(?P=n)", "(?", "|", "*", "+", "?", "*?", "+?", "{", "}", "{2}",
    "{1,3}", "{2,}", "{,2}", "{0}", "{1001}", "{2,1}", "{01}", "[", "]", "[^", "-", "^", "$",
    ".", "\\", "\\d", "\\D", "\\s", "\\S", "\\w", "\\W", "\\b", "\\B", "\\A", "\\z", "\\Z",
    "\\C", "\\Q", "\\E", "\\pL", "\\p{Greek}", "\\P{Lu}", "\\p{^L}", "\\p{Nope}", "\\pé",
    "[:alpha:]", "[:^digit:]", "[:nope:]", "[:", ":]", "\\x41", "\\x{10ffff}", "\\x{110000}",
    "\\x4", "\\0", "\\1", "\\12", "\\8", "\\_", "\\-", "\\.", "\\é", "\\e", "\\v", "\\n", "\\t",
    "\\cA", "\\G", "\\k",
]
syntax_soup = st.lists(st.sampled_from(SYNTAX_PIECES), max_size=10).map("".join)


@SETTINGS
@given(st.one_of(syntax_soup, st.text(st.sampled_from("ab()|*+?{}[]^$.\\-:,0129pPQEdxi<>=!"),
                                      max_size=12)))
def test_the_reader_accepts_exactly_what_re2_accepts(pattern: str) -> None:
    refused = regex.re2_refusal(pattern)
    assert (refused is None) == re2_accepts(pattern), refused
    if refused is not None:
        assert refused.invalid
        assert 0 <= refused.offset < max(len(pattern), 1)
        assert 1 <= refused.length <= len(pattern) - refused.offset or not pattern


def test_a_lone_surrogate_is_no_pattern() -> None:
    refused = regex.re2_refusal("ab\ud800")
    assert refused is not None and (refused.offset, refused.length) == (2, 1)


# Refusals ------------------------------------------------------------------------------------

REFUSALS = {
    "(a)\\1": ("RE2 has no backreferences (\\1)", 3, 2),
    "x(?=y)": ("RE2 has no lookahead (?=...)", 1, 3),
    "x(?!y)": ("RE2 has no negative lookahead (?!...)", 1, 3),
    "(?<=y)x": ("RE2 has no lookbehind (?<=...)", 0, 4),
    "(?<!y)x": ("RE2 has no negative lookbehind (?<!...)", 0, 4),
    "(?>a+)b": ("RE2 has no atomic groups (?>...)", 0, 3),
    "a*+b": ("RE2 has no possessive quantifiers", 1, 2),
    "(?P<x>a)(?P=x)": ("RE2 has no backreferences (?P=name)", 8, 4),
    "end\\Z": ("RE2 has no \\Z", 3, 2),
    "a**": ("a repeat cannot repeat a repeat ('**')", 1, 2),
    "a{2}{3}": ("a repeat cannot repeat a repeat ('{2}{3}')", 1, 6),
    "a{1001}": ("bad repeat count '{1001}'", 1, 6),
    "(a{2}){501}": ("nested repeats '{501}' multiply past 1000", 6, 5),
    "ab(c": ("missing ')' to close this group", 2, 1),
    "a)": ("')' closes no group", 1, 1),
    "x[ab": ("missing ']' to close this class", 1, 3),
    "[z-a]": ("the range 'z-a' runs backwards", 1, 3),
    "\\p{Klingon}": ("RE2 knows no Unicode class 'Klingon'", 0, 11),
    "[[:nope:]]": ("RE2 knows no POSIX class [:nope:]", 1, 8),
    "(?x)a b": ("RE2 has no flag 'x'", 2, 1),
    "+a": ("nothing before '+' to repeat", 0, 1),
    "\\é": ("\\é is no escape", 0, 2),
    "ab\\": ("a pattern cannot end with a lone backslash", 2, 1),
}


@pytest.mark.parametrize(("pattern", "expected"), REFUSALS.items())
def test_refusals_say_what_and_where(pattern: str, expected: tuple[str, int, int]) -> None:
    refused = regex.re2_refusal(pattern)
    assert refused is not None
    assert (refused.message, refused.offset, refused.length) == expected
    assert refused.invalid and refused.hint


def test_invalid_patterns_raise_wsquery_errors_with_the_hint() -> None:
    with pytest.raises(WsqueryError) as caught:
        regex.compile_user_regex("(a)\\1")
    assert str(caught.value) == (
        "invalid regular expression '(a)\\\\1': RE2 has no backreferences (\\1)\n"
        "hint: match the repeated text itself; write a character by its code as \\x{...}")
    assert not isinstance(caught.value, TargetError)


# Matching ------------------------------------------------------------------------------------

TEXT_CHARS = ["a", "b", "A", "k", "K", "\u212a", "s", "S", "\u017f", "i", "I", "\u0130", "\u0131",
              "\u00df", "\u1e9e", "\u00e9", "\u00c9", "\u03c3", "\u03c2", "\u03a3", "0", "7",
              "\u0661", "_", " ", "\n", "\t", "\x0b", "\x0c", "\r", "-", ".", "\x00", "\u00a0",
              "\u2028", "\ud800", "\ufffd", "\U0001f600", "{", "}"]
texts = st.text(st.sampled_from(TEXT_CHARS), max_size=10)

ATOMS = ["a", "b", "k", "K", "s", "i", "I", "é", "ß", "\\x{212a}", "\\x{17f}", "\\x{130}",
         "\\x{131}", "\u03c3", "\u03a3", ".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "[a-z]",
         "[^a-z]", "[\\w-]", "[^\\W\\d]", "[[:alpha:]]", "[[:^space:]]", "[[:punct:]]", "[^\\n]",
         "[k-s]", "[^i]", "[\\x{0}-\\x{10ffff}]", "\\b", "\\B", "^", "$", "\\A", "\\z", "\\x00",
         "\\n", "\\v", "\\f", "\\012", "\\Q.{\\E", "{", "x{,2}", "\\-", "\\x{d800}", "\\x{fffd}",
         ""]
QUANTIFIERS = ["*", "+", "?", "*?", "{2}", "{1,3}", "{0,2}?", "{2,}", "{0}"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map("".join),
        st.lists(children, min_size=2, max_size=3).map("|".join),
        st.builds(str.format, st.sampled_from(["({})", "(?:{})", "(?i:{})", "(?s:{})",
                                               "(?-i:{})", "(?m:{})", "(?P<g>{})", "(?i){}",
                                               "(?m){}", "(?s){}", "((?i){})"]), children),
        st.builds(lambda body, quantifier: f"(?:{body}){quantifier}", children,
                  st.sampled_from(QUANTIFIERS)),
    )


regexes = st.recursive(
    st.one_of(st.sampled_from(ATOMS),
              st.builds(lambda atom, q: atom + q, st.sampled_from([a for a in ATOMS if a]),
                        st.sampled_from(QUANTIFIERS))),
    _combine, max_leaves=8)


@settings(SETTINGS, max_examples=600)
@given(regexes, st.lists(texts, min_size=1, max_size=6))
def test_the_python_translation_finds_what_re2_finds(pattern: str, subjects: list[str]) -> None:
    assert regex.re2_refusal(pattern) is None, pattern  # the generator writes RE2 only
    compiled = regex._compile(pattern, False)
    if isinstance(compiled, regex.RegexRefusal):  # refused without RE2 (backtracking risk)
        assert not compiled.invalid and "RE2" in compiled.message
        return
    with_re2 = regex.compile_user_regex(pattern)
    for subject in subjects:
        expected = re2_finds(pattern, subject)
        assert compiled(subject) == expected, (pattern, subject)
        assert with_re2(subject) == expected, (pattern, subject)


CLASSES = ["\\w", "\\W", "\\s", "[[:upper:]]", "[^[:lower:]]", "[a-z]", "[^k]", "k", "i", "I",
           "\\x{130}", "\\x{131}", "ß", "\u03c3", "\\x{1fd3}", "\\x{fb05}", "[\\x{100}-\\x{17f}]",
           "[^\\x{400}-\\x{4ff}]", "\\x{10400}", "[\\x{13a0}-\\x{13f5}]", "µ", "\\x{1e9e}"]
code_points = st.one_of(st.integers(0, 0x10FFFF).filter(lambda c: not 0xD800 <= c <= 0xDFFF),
                        st.sampled_from([0x4B, 0x6B, 0x212A, 0x53, 0x73, 0x17F, 0x49, 0x69,
                                         0x130, 0x131, 0xB5, 0x3BC, 0x39C, 0x3C2, 0x3C3, 0x1E9E,
                                         0xDF, 0x1FD3, 0x390, 0xFB05, 0xFB06, 0x13A0, 0xAB70]))


@SETTINGS
@given(st.sampled_from(CLASSES), st.sampled_from(["", "(?i)"]),
       st.lists(code_points, min_size=1, max_size=30))
def test_classes_hold_the_code_points_re2_matches(char_class: str, flags: str,
                                                   codes: list[int]) -> None:
    """Case folding too: ``(?i)`` folds by Unicode simple case folding, not Python's rules."""
    search = regex._compile(flags + char_class, False)
    assert not isinstance(search, regex.RegexRefusal)
    for code in codes:
        assert search(chr(code)) == re2_finds(flags + char_class, chr(code)), hex(code)


def test_case_folding_where_python_and_re2_disagree(without_re2: None) -> None:
    assert not regex.compile_user_regex("(?i)i")("\u0131")  # Python's (?i) says yes
    assert not regex.compile_user_regex("(?i)I")("\u0130")
    assert regex.compile_user_regex("(?i)\\w")("\u212a")  # RE2 folds \w
    assert not regex.compile_user_regex("(?i)\\W")("k")
    assert regex.compile_user_regex("(?i)\\x{390}")("\u1fd3")


def test_re2_meaning_on_both_engines(without_re2: None) -> None:
    for pattern, text, found in [("a$", "a\n", False), ("(?m)a$", "a\n", True),
                                 ("\\s", "\x0b", False), ("[[:space:]]", "\x0b", True),
                                 ("\\d", "\u0661", False), ("\\w", "\u00e9", False),
                                 ("\\bé", " é", False), ("\\B", "", True),
                                 ("\\B", "a\u00e9b", True), ("a\\B", "a\u00e9", False),
                                 ("(?:\\B\\B)?$", "\u00e9", True), ("\\B\\b", "\u00e9", False),
                                 ("(?m)^\\z", "a\n", True),
                                 ("a(?i)b|c", "C", True), ("(a(?i)b)c", "aBC", False),
                                 ("[^a]", "\n", True), (".", "\n", False), ("(?s).", "\n", True),
                                 ("\\Qa.b\\E", "axb", False), ("\\101", "A", True)]:
        assert regex.compile_user_regex(pattern)(text) is found, pattern
        assert re2_finds(pattern, text) is found, pattern


def test_lone_surrogates_are_read_as_the_replacement_character(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for engine in ("re2", "python"):
        if engine == "python":
            monkeypatch.setitem(sys.modules, "re2", None)
        assert regex.compile_user_regex("^a\\x{fffd}b$")("a\ud800b"), engine
        assert not regex.compile_user_regex("\\x{d800}")("\ud800"), engine
        assert regex.compile_user_regex("^.$")("\udfff"), engine


def test_what_the_fallback_cannot_spell_is_refused(without_re2: None) -> None:
    for pattern in ["\\pL", "[\\p{Greek}a]", "\\C", "(?i)\\P{Lu}"]:
        with pytest.raises(TargetError) as caught:
            regex.compile_user_regex(pattern)
        assert "pip install 'wsquery[re2]'" in str(caught.value)
        assert regex.re2_refusal(pattern) is None


# Nothing hangs -------------------------------------------------------------------------------

EXPONENTIAL = {"(a+)+$": False, "(a*)*": True, "(a|a)*": True, "(.*a){20}": True,
               "(a|ab)*c": False, "(\\w+\\s?)+$": False, "(x+x+)+y": False,
               "x+x+x+x+z": False, ".*a.*b.*c.*d": False}


@pytest.mark.parametrize(("pattern", "found"), EXPONENTIAL.items())
def test_backtracking_patterns_are_refused_without_re2_and_run_with_it(
        pattern: str, found: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    assert regex.compile_user_regex(pattern)("a" * 50_000 + "!") is found
    monkeypatch.setitem(sys.modules, "re2", None)
    with pytest.raises(TargetError) as caught:
        regex.compile_user_regex(pattern)
    assert str(caught.value).startswith(f"evaluate: regex {regex._show(pattern)}: ")
    assert "pip install 'wsquery[re2]'" in str(caught.value)


def test_long_text_is_refused_rather_than_searched_slowly(without_re2: None) -> None:
    search = regex.compile_user_regex("a.*b")
    assert not search("a" * 4472)
    with pytest.raises(TargetError, match="at most 4472 characters"):
        search("a" * 5000)


def test_deep_groups_are_read_and_refused_only_by_python(without_re2: None) -> None:
    pattern = "(a" * 5000 + ")" * 5000
    assert regex.re2_refusal(pattern) is None
    with pytest.raises(TargetError, match="nest too deeply"):
        regex.compile_user_regex(pattern)


# Other dialects ------------------------------------------------------------------------------

#: Pattern -> what MongoDB's $regex (PCRE) is given.
PCRE = {
    "^run-\\d+$": "^run-\\d+\\z",
    "(?m)^a$": "(?m)(?:^|(?<=\\n))a$",
    "adam|sgd": "adam|sgd",
    "\\s+\\S": "[\\t\\n\\f\\r ]+[^\\t\\n\\f\\r ]",
    "[\\s,]": "[\\t\\n\\f\\r ,]",
    "[^\\S]": "[^\\S\\x0b]",
    "\\v": "\\x0b",
    "\\12\\0": "\\x{a}\\x{0}",
    "a{,2}": "a\\{,2}",
    "[\\d-z]": "[\\d\\-z]",
    "\\Q.*\\E+": "\\.\\*+",
    "(?P<name>x)(?<n2>y)": "(?P<name>x)(?<n2>y)",
    "(?P<1x>a)": "(a)",
    "(?)a": "a",
    "(?i)adam": "(?i)adam",
    "(?i)vit": "(?i)v(?-i:[\\x{49}\\x{69}])t",
    "(?i)é": "(?i)(?-i:[\\x{c9}\\x{e9}])",
    "(?i)\\w": "(?i)(?-i:[\\x{30}-\\x{39}\\x{41}-\\x{5a}\\x{5f}\\x{61}-\\x{7a}\\x{17f}\\x{212a}])",
    "(?i)[0-9_]": "(?i)[0-9_]",
    "\\pL\\p{Greek}": "\\pL\\p{Greek}",
    "(?U)a+?": "(?U)a+?",
    "\\x{d800}": "(?-i:[^\\x{0}-\\x{10ffff}])",
    "é\\x{10ffff}\\z\\A\\b": "é\\x{10ffff}\\z\\A\\b",
    "x|\\B": "(?:x|\\B)|[^\\x{0}-\\x{7f}]",
}


@pytest.mark.parametrize(("pattern", "pcre"), PCRE.items())
def test_pcre_is_the_pattern_as_written_where_pcre_reads_it_alike(pattern: str,
                                                                  pcre: str) -> None:
    assert regex.to_pcre(pattern, target="mongo") == pcre


def test_what_pcre_cannot_read_alike_is_refused_for_mongo() -> None:
    for pattern in ["\\C", "(?i)\\pL", "(?i)[\\p{Greek}a]"]:
        with pytest.raises(TargetError) as caught:
            regex.to_pcre(pattern, target="mongo")
        assert caught.value.target == "mongo" and caught.value.hint
    with pytest.raises(WsqueryError, match="invalid regular expression"):
        regex.to_pcre("(a)\\1", target="mongo")


#: The characters beyond ASCII that Unicode case folding joins to ASCII letters (K, S).
_ASCII_FOLDED_BEYOND_ASCII = frozenset("\u212a\u017f")


@SETTINGS
@given(regexes, st.lists(texts, min_size=1, max_size=4))
def test_pcre_means_what_re2_means_where_python_reads_pcre_alike(pattern: str,
                                                                 subjects: list[str]) -> None:
    """Python's re reads the PCRE text as PCRE does once \\z, \\x{...} and \\pL are spelt its
    way and \\b is ASCII; the text has no lone surrogates (PCRE in UTF mode refuses them)."""
    try:
        pcre = regex.to_pcre(pattern, target="mongo")
    except TargetError:
        return
    if "\\p" in pcre or "[:" in pcre:  # Python's re has no Unicode or POSIX classes
        return
    python = re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: f"\\U{int(m[1], 16):08x}", pcre)
    python = python.replace("\\z", "\\Z").replace("(?U)", "").replace("(?P<g>", "(?:")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set"
            compiled = re.compile(python, re.ASCII)
    except re.error:  # Python has no mid-pattern global flags: nothing to compare
        return
    for subject in subjects:
        subject = regex._searchable(subject)
        if "(?i" in python and _ASCII_FOLDED_BEYOND_ASCII & set(subject):
            continue  # PCRE folds k and s to these, as RE2 does; Python's ASCII mode does not
        if subject or "\\B" not in python:  # Python's \B fails in the empty text, PCRE's holds
            assert (compiled.search(subject) is not None) == re2_finds(pattern, subject), python


@SETTINGS
@given(st.text())
def test_escape_round_trips_and_means_the_text_on_every_engine(text: str) -> None:
    pattern = regex.escape(text)
    readable = regex._searchable(text)
    assert regex.re2_refusal(pattern) is None
    assert regex.to_pcre(pattern, target="mongo") == pattern
    assert re.fullmatch(pattern, readable) is not None
    assert re2.fullmatch(pattern, readable) is not None


def test_re2_module() -> None:
    assert regex.re2_module() is re2
    assert regex.re2_available()
    assert unicodedata.unidata_version  # the fallback's case tables come from Python's


@pytest.mark.parametrize("pattern", ["^run-[0-9]*3$", "a.*b", "(x+x+)+y", "\\pL+7", "s[aeiou]+n"])
def test_with_re2_short_texts_go_to_python_and_long_ones_to_re2_alike(pattern: str) -> None:
    """Python's re on the exact translation answers texts short enough to search within
    ``QUICK_STEPS`` (cheaper per call than google-re2); longer texts, and patterns Python
    could take long on, go to RE2: the answers are RE2's either way, and none raises."""
    search = regex.compile_user_regex(pattern)
    for subject in ["run-13", "run-12", "ab", "xxy", "sun7", "é7", "son",
                    "x" * 50_000 + "y", "a" + "-" * 100_000 + "b", "run-" + "1" * 60_000 + "3"]:
        assert search(subject) == re2_finds(pattern, subject), (pattern, subject[:20])
