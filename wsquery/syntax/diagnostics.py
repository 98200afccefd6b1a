"""A syntax error lark raises -> a ``Diagnostic`` in the user's words: the place, what was expected
(``'=='``, "a field", "end of input") and a hint where one fits (``=>`` -> ``>=``).

Apart from the parsers because only an error needs it: the driver and lark's parser build, and
when either gives up, ``parser.parse`` has lark re-run the text and this module describes what
lark raised. Keywords are described by their words as the grammar spells them
(``grammar.keywords``); the other terminals by the table here.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from wsquery.ast import format_value
from wsquery.errors import Diagnostic
from wsquery.syntax.grammar import keywords

if TYPE_CHECKING:
    from lark import Token
    from lark.exceptions import UnexpectedInput, UnexpectedToken

#: The comparison operators as the language spells them (``=`` is also read as ``==``).
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "=~", "!~")

_OPERATORS = ", ".join(f"'{op}'" for op in OPERATORS)
#: How errors name the terminals that are not keywords.
_NOT_KEYWORDS = {
    "FIELD": "a field", "NAME": "a field", "NUMBER": "a number", "STRING": "a string",
    "DURATION": "a duration", "UNIT": "a unit (s, m, h, d, w)",
    "OP": f"an operator ({_OPERATORS})", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['",
    "RSQB": "']'", "COMMA": "','", "$END": "end of input",
}
_VALUE_TERMINALS = {"NUMBER", "STRING", "DURATION", "TRUE", "FALSE", "NULL"}
#: The order expected terminals are listed in (any other last).
_ORDER = ["AND", "OR", "FIELD", "NAME", "NOT", "LPAR", "NUMBER", "STRING", "DURATION", "TRUE",
          "FALSE", "NULL", "LSQB", "OP", "IN", "BETWEEN", "CONTAINS", "IS", "WITHIN", "LAST",
          "UNIT", "ASC", "DESC", "COMMA", "RSQB", "RPAR", "GROUP_BY", "ORDER_BY", "LIMIT", "$END"]
#: The tests after a field other than the comparison operators, as keyword terminals.
_WORD_TESTS = (("IN",), ("NOT", "IN"), ("BETWEEN",), ("CONTAINS",), ("IS", "NULL"),
               ("WITHIN", "LAST"))


@cache
def _descriptions() -> dict[str, str]:
    """Every terminal -> how an error names it: a keyword as its words in quotes, read off the
    grammar (``GROUP_BY``: ``'group by'``), the others as ``_NOT_KEYWORDS`` says."""
    return {**{name: f"'{words}'" for name, words in keywords().items()}, **_NOT_KEYWORDS}


def spelling(terminal: str) -> str | None:
    """How a terminal with one spelling is typed (``GROUP_BY``: ``group by``, ``LPAR``:
    ``(``); None for the others (fields, values, operators)."""
    described = _descriptions().get(terminal, "")
    return described[1:-1] if described.startswith("'") else None


def _describe_expected(names: set[str]) -> tuple[str, ...]:
    names = set(names)
    if "OR" in names:
        names.add("AND")  # LALR reduced the and-chain before failing; 'and' fits there too
    if len(names) > 1:
        names.discard("UNIT")  # "5 days" is rare; listing units after every number is noise
    described: list[str] = []
    if "FIELD" in names and "NOT" in names and "LPAR" in names:
        described.append("a condition")
        names -= {"FIELD", "NAME", "NOT", "LPAR", "LSQB"} | _VALUE_TERMINALS
    if len(names & _VALUE_TERMINALS) >= 3:
        described.append("a value")
        names -= _VALUE_TERMINALS | ({"LSQB"} if "OP" not in names else set())
    if "OP" in names and "IN" in names:
        words = keywords()
        tests = ", ".join("'" + " ".join(words[name] for name in test) + "'"
                          for test in _WORD_TESTS)
        described.append(f"an operator ({_OPERATORS}, {tests})")
        names -= {"OP", "IN", "NOT", "BETWEEN", "CONTAINS", "IS", "WITHIN"}
    ordered = sorted(names, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER))
    descriptions = _descriptions()
    described.extend(descriptions.get(n, n) for n in ordered)
    return tuple(dict.fromkeys(described))


def _join(options: tuple[str, ...]) -> str:
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + " or " + options[-1]


def _syntax_problem(text: str, error: UnexpectedInput) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(error, UnexpectedToken):
        token = error.token
        accepted = _accepted(error)
        expected = _describe_expected(accepted)
        if token.type == "$END":
            position = len(text.rstrip())
            return Diagnostic(f"expected {_join(expected)}, found end of input",
                           (position, position), _hint_at_end(text, expected), expected)
        span = (token.start_pos, token.end_pos)
        found = f"'{token}'"
        return Diagnostic(f"expected {_join(expected)}, found {found}", span,
                       _hint_for_token(text, token, accepted), expected)
    assert isinstance(error, UnexpectedCharacters)
    offset = error.pos_in_stream or 0
    char = text[offset]
    expected = _describe_expected(set(error.allowed or ()))
    if char in "\"'":
        line_end = text.find("\n", offset)
        return Diagnostic("unterminated string",
                       (offset, len(text) if line_end == -1 else line_end),
                       f"close the string with {char}; strings end on the line they start",
                       expected)
    if char == "." and text[:offset].rstrip().split()[-1:] in (["config"], ["summary"],
                                                                  ["run"], ["summary_metrics"]):
        return Diagnostic("expected a key after the section", (offset, offset + 1),
                       "write a key such as config.lr or summary.`val loss`", expected)
    if char == "`":
        return Diagnostic("unexpected backtick", (offset, offset + 1),
                       "backticks quote one key segment after a section: summary.`val loss`",
                       expected)
    if char.isdigit() or (char in "+-." and offset + 1 < len(text)):
        end = offset
        while end < len(text) and (text[end].isalnum() or text[end] in "+-._"):
            end += 1
        return Diagnostic(f"'{text[offset:end]}' is not a number, duration or field",
                       (offset, max(end, offset + 1)),
                       "durations are a number and a unit: 90s, 5m, 2h, 3d, 1w", expected)
    hint = "a regex match is written '=~'" if char == "~" else None
    return Diagnostic(f"unexpected character {char!r}", (offset, offset + 1), hint, expected)


def _accepted(error: UnexpectedToken) -> set[str]:
    """The terminals the parser really accepts here; LALR's own list over-approximates."""
    try:
        return set(error.interactive_parser.accepts())  # type: ignore[no-untyped-call]
    except Exception:  # the parser state cannot be replayed; fall back to the table's list
        return set(error.expected)


_MISSPELT_OPERATORS = {"=>": ">=", "=<": "<=", "<>": "!=", "===": "==", "!==": "!=",
                       "~=": "=~"}


def _hint_for_token(text: str, token: Token, expected: set[str]) -> str | None:
    value = str(token).lower()
    before = text[:token.start_pos].rstrip()
    for wrong, right in _MISSPELT_OPERATORS.items():
        if (before + value).endswith(wrong) and len(value) < len(wrong):
            return f"'{wrong}' is written '{right}'"
    if expected == {"LSQB"}:
        return "write the values as a list: in [1, 2]"
    if "LAST" in expected:
        return "write 'within last 3d'"
    if expected <= {"NULL", "NOT"}:
        return "'is' only takes null: is null, is not null; compare values with '=='"
    if "OP" in expected and value in ("like", "matches", "match", "regex", "~"):
        return "a regex match is written '=~'"
    if token.type in ("GROUP_BY", "ORDER_BY") and expected == {"$END"}:
        return "'limit' comes last, after 'group by' and 'order by'"
    if token.type == "GROUP_BY" and "GROUP_BY" not in expected and "ORDER_BY" not in expected:
        return "'group by' comes before 'order by'"
    if token.type == "RPAR" and "RPAR" not in expected:
        return "this ')' closes no '('"
    if token.type == "NAME" and "STRING" in expected and "FIELD" not in expected:
        return f"text is written in quotes: {format_value(str(token))}"
    if token.type in ("FIELD", "NAME"):
        meant = _keyword_meant(value, expected)
        if meant is not None:
            return f"did you mean '{meant}'?"
    if "AND" in expected and token.type in ("FIELD", "NAME", "STRING", "NUMBER", "LPAR"):
        return "join conditions with 'and' or 'or'"
    if "OP" in expected and token.type in ("STRING", "NUMBER", "DURATION"):
        return "compare with an operator: field == value"
    return None


def _keyword_meant(word: str, expected: set[str]) -> str | None:
    """The keyword expected here that ``word`` is one slip away from (``oder``: ``order by``,
    ``adn``: ``and``; two for words over four letters), or the first word of (``order``:
    ``order by``); None when none is that close."""
    phrases = {words.split()[0]: words for name, words in keywords().items()
               if name in expected}
    if word in phrases:  # the first word of two, alone
        return phrases[word] if phrases[word] != word else None
    near = [(_slips(word, first), first[:1] != word[:1], phrase)
            for first, phrase in phrases.items()]
    near = [candidate for candidate in near if candidate[0] <= (1 if len(candidate[2]) <= 4
                                                               else 2)]
    return min(near)[2] if near else None  # the nearest; on a tie, the one starting alike


def _slips(typed: str, meant: str) -> int:
    """Letters left out, added, changed or swapped with the next to make ``meant`` of
    ``typed`` (the optimal string alignment distance)."""
    previous2: list[int] = []
    previous = list(range(len(meant) + 1))
    for i, char in enumerate(typed, 1):
        row = [i]
        for j, other in enumerate(meant, 1):
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (char != other)))
            if i > 1 and j > 1 and char == meant[j - 2] and typed[i - 2] == other:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


def _hint_at_end(text: str, expected: tuple[str, ...]) -> str | None:
    if "')'" in expected and text.count("(") > text.count(")"):
        return "every '(' needs a matching ')'"
    if "']'" in expected:
        return "close the list with ']'"
    return None
