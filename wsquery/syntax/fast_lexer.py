"""Lark's terminals -> the driver's shortcuts in lexing them: one regex that lexes the commonest
predicates whole, and the first characters each terminal can start with.

Apart from the driver (``lalr``) because neither changes what is lexed, only how fast: the
predicate lexer's match is the tokenization lark's lexer gives, and first characters only pick
which terminals to try. Here too is what a lexed terminal is (``_Terminal``), which the tree
builder and the driver read alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

#: A terminal as the driver shifts it: the match of its regex (named group = terminal name),
#: trailing whitespace included, so ``start()`` is where it starts and ``_text`` its text.
_Terminal: TypeAlias = "re.Match[str]"


def _text(token: _Terminal) -> str:
    return token[token.lastindex]  # type: ignore[index]


def _end(token: _Terminal) -> int:
    return token.end(token.lastindex)  # type: ignore[arg-type]


#: Finds the items of a list lexed with a predicate: ``(text, start, end)`` -> matches whose
#: group 1 is a number, group 2 a string.
_ItemFinder: TypeAlias = "Callable[[str, int, int], Iterator[_Terminal]]"

#: The terminals that may follow a predicate, and so end one lexed in one match.
_FOLLOWS = frozenset({"AND", "OR", "RPAR", "GROUP_BY", "ORDER_BY", "LIMIT"})


def _predicate_lexer(terminals: dict[str, str], numbers: dict[str, int],
                     ignored: str) -> tuple[Callable[[str, int], _Terminal | None], list[int],
                                            _ItemFinder]:
    """One regex for the commonest predicates, ``field op value`` (a number, string or
    boolean value) and ``field [not] in [...]`` (numbers and strings), together with the
    terminal after them or the end of the text: a query is mostly these, and one match then
    does the work of four or more terminals and their reductions.

    The match is the one tokenization lark's lexer gives that text. At each place the
    terminals that may stand there are tried in lark's order, each with its own regex, and
    the first that matches is taken whole: an atomic group, which the regex engine never
    backs into to make the rest match (lark's lexer does not either: ``config.a-in [1]`` is
    the field ``config.a-in``, then an error). The terminal after the predicate is one that
    only a finished predicate takes. So in any state where a predicate may start, the parser
    would reduce exactly this predicate, then meet that terminal. Groups: 1 FIELD, 2 NAME,
    3 OP, 4 NUMBER, 5 STRING, 6 TRUE or FALSE, 7 NOT, 8 the list, then one per following
    terminal, in lark's order, and the end of the text last. Returned: the regex's ``match``,
    the terminal number of each group, and what finds the items of a matched list."""
    skip = f"(?:{ignored})*+"

    def token(*alternatives: str) -> str:
        return f"(?>{'|'.join(alternatives)}){skip}"

    def group(name: str) -> str:
        return f"({terminals[name]})"

    item = token(terminals["NUMBER"], terminals["STRING"])
    comma = token(terminals["COMMA"])
    follows = [name for name in terminals if name in _FOLLOWS]
    regex = (token(group("FIELD"), group("NAME"))
             + f"(?:{token(group('OP'))}"
             + token(group("NUMBER"), group("STRING"),
                     f"({terminals['TRUE']}|{terminals['FALSE']})")
             + f"|(?:{token(group('NOT'))})?{token(terminals['IN'])}"
             + f"({terminals['LSQB']}{skip}(?:{item}(?:{comma}{item})*(?:{comma})?)?"
             + f"{terminals['RSQB']}){skip})"
             + token(*[group(name) for name in follows], r"(\Z)"))
    compiled = re.compile(regex)
    if compiled.groups != 9 + len(follows):
        raise ValueError("a terminal of the predicate lexer has a capturing group")
    items = re.compile(f"{group('NUMBER')}|{group('STRING')}").finditer
    return (compiled.match, [0] * 9 + [numbers[name] for name in follows] + [numbers["$END"]],
            items)


_ASCII = [chr(code) for code in range(128)]
#: The next characters whose terminals are told apart by their first characters.
_FIRSTS = frozenset(_ASCII)


def _first_characters(regex: str) -> frozenset[str] | None:
    """The ASCII characters a match of ``regex`` can start with; None when any character may
    start one, or when that cannot be told. Too many is safe: the lexer only tries more
    terminals than it needs to. Python's own regex parser reads the regex; it is private, so
    anything unexpected of it means "cannot be told"."""
    try:
        from re import _constants as sre
        from re import _parser as sre_parse

        parsed = sre_parse.parse(regex)
        first, nullable = _first_of(sre, parsed, bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE))
    except Exception:
        return None
    return None if first is None or nullable else frozenset(first)


def _first_of(sre: Any, items: Any, ignore_case: bool) -> tuple[set[str] | None, bool]:
    """The first characters of a parsed regex sequence (None: any), and whether it can be empty."""
    characters: set[str] = set()
    for op, argument in items:
        if op is sre.LITERAL:
            first, nullable = _cased({chr(argument)}, ignore_case), False
        elif op is sre.IN:
            first, nullable = {c for c in _ASCII if _in_set(sre, argument, c, ignore_case)}, False
        elif op is sre.BRANCH:
            first, nullable = set(), False
            for branch in argument[1]:
                branch_first, branch_nullable = _first_of(sre, branch, ignore_case)
                if branch_first is None:
                    return None, False
                first |= branch_first
                nullable = nullable or branch_nullable
        elif op is sre.SUBPATTERN:
            _, add, remove, inner = argument
            cased = (ignore_case or bool(add & sre.SRE_FLAG_IGNORECASE)) and not (
                remove & sre.SRE_FLAG_IGNORECASE)
            first_or_none, nullable = _first_of(sre, inner, cased)
            if first_or_none is None:
                return None, False
            first = first_or_none
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, _, inner = argument
            first_or_none, nullable = _first_of(sre, inner, ignore_case)
            if first_or_none is None:
                return None, False
            first, nullable = first_or_none, nullable or low == 0
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):  # zero width
            first, nullable = set(), True
        else:
            return None, False
        characters |= first
        if not nullable:
            return characters, False
    return characters, True


def _cased(characters: set[str], ignore_case: bool) -> set[str]:
    if not ignore_case:
        return characters
    return characters | {c.lower() for c in characters} | {c.upper() for c in characters}


def _in_set(sre: Any, items: Any, character: str, ignore_case: bool) -> bool:
    """Whether a character set may match ``character`` (erring towards yes)."""
    negated = bool(items) and items[0][0] is sre.NEGATE
    if negated and ignore_case:
        return True
    variants = _cased({character}, ignore_case)
    hit = any(_item_matches(sre, op, argument, variant)
              for op, argument in items if op is not sre.NEGATE for variant in variants)
    return hit is not negated


def _item_matches(sre: Any, op: Any, argument: Any, character: str) -> bool:
    if op is sre.LITERAL:
        return bool(ord(character) == argument)
    if op is sre.RANGE:
        return bool(argument[0] <= ord(character) <= argument[1])
    if op is sre.CATEGORY:
        digit, space = character.isdecimal(), character.isspace()
        word = character.isalnum() or character == "_"
        categories = {sre.CATEGORY_DIGIT: digit, sre.CATEGORY_NOT_DIGIT: not digit,
                      sre.CATEGORY_SPACE: space, sre.CATEGORY_NOT_SPACE: not space,
                      sre.CATEGORY_WORD: word, sre.CATEGORY_NOT_WORD: not word}
        if argument in categories:
            return categories[argument]
    raise ValueError(f"unknown character set item {op} {argument}")

