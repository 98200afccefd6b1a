"""wandb-workspaces filter strings -> ``Query``: ``Config('lr') == 0.1 and ...`` read.

The reference library (``wandb_workspaces.expr``) reads these strings with Python's own parser
after rewriting the text with regular expressions; this module reads the same language with a
tokenizer and a recursive-descent parser of its own, so errors point at the exact place::

    expression  := conjunction ("or" conjunction)*
    conjunction := atom ("and" atom)*
    atom        := "(" expression ")" | within_call | condition
    condition   := field ("==" | "=" | "!=" | "<" | "<=" | ">" | ">=") value
                 | field ["not"] "in" list
                 | field "within_last" NUMBER unit
    within_call := "WithinLast" "(" field "," NUMBER "," STRING ")"
    field       := ("Config" | "SummaryMetric" | "Summary" | "Metric") "(" STRING ")"
                 | "Tags" "(" ")" | NAME
    value       := ["+" | "-"]* NUMBER | STRING | "True" | "False" | NAME | list
    list        := "[" [value ("," value)* [","]] "]" | "(" [value ("," value)* [","]] ")"
    unit        := minute[s] | hour[s] | day[s], bare or quoted, in any case

Reading follows the reference library's meaning: ``=`` is ``==``; ``<`` and ``>`` are read as
``<=`` and ``>=`` (the library rewrites them so before saving); ``Metric('Name')`` uses the
UI's attribute names (``Name`` -> ``run.displayName``, ``ID`` -> ``run.name``, ...) and passes
other names through; a bare name on the left is such a ``Metric``; a bare name as a value is
that name as a string.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import NamedTuple

from wsquery.ast import (
    UI_RUN_NAMES,
    And,
    Duration,
    Expr,
    Field,
    In,
    Not,
    Or,
    Query,
    Scalar,
    Within,
    comparison,
)
from wsquery.compilers.wandb_workspaces.vocabulary import (
    READ_OPS,
    SECTION_FUNCTIONS,
    UNITS,
)
from wsquery.errors import (
    Diagnostic,
    QuerySyntaxError,
    QueryValidationError,
)
from wsquery.syntax.parser import parse

_KEYWORDS = frozenset({"and", "or", "not", "in", "True", "False", "None"})
#: Deepest nesting of parentheses read; deeper input is refused before Python's stack is.
_MAX_DEPTH = 100
#: The reference library rewrites ``=``, ``<`` and ``>`` everywhere in the text, even inside
#: strings; a literal these would change cannot be written for it.
_LIBRARY_REWRITES = re.compile(r"(?<![!<>=])=(?!=)|<(?!=)|>(?!=)")

_TOKENS = re.compile(r"""
     (?P<space>\s+)
    |(?P<string>[rRuU]?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))
    |(?P<number>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
    |(?P<name>[^\W\d]\w*)
    |(?P<op>==|!=|<=|>=|=|<|>)
    |(?P<punct>[()\[\],+-])
""", re.VERBOSE)
_ESCAPE = re.compile(r"""\\(?:x(?P<x>[0-9a-fA-F]{2})|u(?P<u>[0-9a-fA-F]{4})
                        |U(?P<U>[0-9a-fA-F]{8})|N\{(?P<N>[^}]*)\}|(?P<o>[0-7]{1,3})|(?P<c>.))""",
                     re.VERBOSE | re.DOTALL)
_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n",
                   "r": "\r", "t": "\t", "v": "\v", "\n": ""}
_CHARACTER_HINTS = {"&": "write 'and'", "|": "write 'or'",
                    "!": "wandb-workspaces has no 'not': write '!=' or 'not in'",
                    "~": "wandb-workspaces filters have no regex match"}
_FIELD_HINT = "fields are Config('key'), SummaryMetric('key'), Metric('State') and Tags()"


class _Token(NamedTuple):
    kind: str  # space-less token kinds: string, number, name, op, a punctuation mark, end
    text: str
    start: int
    end: int



def from_wandb_workspaces(text: str) -> Query:
    """Read a wandb-workspaces filter expression, such as ``Config('lr') == 0.1 and
    Metric('State') == 'finished'``, into a ``Query``; an empty string is the empty query.

    Raises ``QuerySyntaxError`` pointing at the place that is not such an expression, and
    ``QueryValidationError`` for comparisons no run can match (as ``wsquery.parse`` would).
    """
    if not isinstance(text, str):
        raise TypeError(f"from_wandb_workspaces() takes text, not {type(text).__name__}")
    return _Reader(text).read()


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        found = _TOKENS.match(text, position)
        if found is None:
            raise QuerySyntaxError(text, [_bad_character(text, position)])
        kind = found.lastgroup
        assert kind is not None
        if kind != "space":
            token_kind = found.group() if kind == "punct" else kind
            tokens.append(_Token(token_kind, found.group(), position, found.end()))
        position = found.end()
    tokens.append(_Token("end", "", len(text), len(text)))
    return tokens


def _bad_character(text: str, position: int) -> Diagnostic:
    char = text[position]
    if char in "'\"":
        line_end = text.find("\n", position)
        end = len(text) if line_end == -1 else line_end
        return Diagnostic("unterminated string", (position, end),
                       f"close the string with {char}; strings end on the line they start")
    return Diagnostic(f"unexpected character {char!r}", (position, position + 1),
                   _CHARACTER_HINTS.get(char))


def _decode_string(token: str) -> str:
    """A Python string literal's value; ``ValueError`` for escapes Python refuses too."""
    raw = token[0] in "rR"
    body = token[2:-1] if token[0] in "rRuU" else token[1:-1]
    if raw or "\\" not in body:
        return body
    return _ESCAPE.sub(_unescape, body)


def _unescape(found: re.Match[str]) -> str:
    if found["x"] or found["u"] or found["U"]:
        return chr(int(found["x"] or found["u"] or found["U"], 16))
    if found["N"] is not None:
        try:
            return unicodedata.lookup(found["N"])
        except KeyError:
            raise ValueError(f"unknown character name {found['N']!r}") from None
    if found["o"]:
        return chr(int(found["o"], 8))
    char = found["c"]
    if char in "xuUN":
        raise ValueError(f"truncated \\{char} escape")
    return _SIMPLE_ESCAPES.get(char, "\\" + char)


def _number(token: _Token, text: str) -> int | float:
    try:
        value: int | float = float(token.text) if any(c in token.text for c in ".eE") \
            else int(token.text)
    except ValueError:
        raise QuerySyntaxError(text, [Diagnostic(f"'{token.text}' is not a number",
                                              (token.start, token.end))]) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise QuerySyntaxError(text, [Diagnostic(f"{token.text} is out of range",
                                              (token.start, token.end))])
    return value


class _Value(NamedTuple):
    value: Scalar | tuple[Scalar, ...]
    start: int
    end: int


class _Reader:
    """One pass over the tokens of one expression; raises at the first thing out of place."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.leaves: list[Expr] = []

    def read(self) -> Query:
        if self.peek().kind == "end":
            return Query()
        node = self.expression(0)
        if self.peek().kind != "end":
            raise self.unexpected(("'and'", "'or'", "end of input"))
        problems = [problem for leaf in self.leaves for problem in self.check(leaf)]
        if problems:
            raise QueryValidationError(self.text, problems)
        return Query(node)

    # Tokens ----------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.text == word

    def accept_word(self, word: str) -> bool:
        if self.at_word(word):
            self.index += 1
            return True
        return False

    def expect(self, kind: str, described: str) -> _Token:
        if self.peek().kind != kind:
            raise self.unexpected((described,))
        return self.advance()

    def unexpected(self, expected: tuple[str, ...], hint: str | None = None) -> QuerySyntaxError:
        token = self.peek()
        wanted = expected[0] if len(expected) == 1 else \
            ", ".join(expected[:-1]) + " or " + expected[-1]
        if token.kind == "end":
            position = len(self.text.rstrip())
            problem = Diagnostic(f"expected {wanted}, found end of input", (position, position),
                              hint, expected)
        else:
            problem = Diagnostic(f"expected {wanted}, found '{token.text}'",
                              (token.start, token.end), hint or self.hint_for(token), expected)
        return QuerySyntaxError(self.text, [problem])

    def error(self, message: str, span: tuple[int, int], hint: str | None = None) \
            -> QuerySyntaxError:
        return QuerySyntaxError(self.text, [Diagnostic(message, span, hint)])

    @staticmethod
    def hint_for(token: _Token) -> str | None:
        if token.kind == "name" and token.text.lower() in ("and", "or", "not", "in") \
                and token.text not in _KEYWORDS:
            return f"Python keywords are lower case: write '{token.text.lower()}'"
        if token.text == "not":
            return "wandb-workspaces has no 'not': write '!=' or 'not in'"
        return None

    # Grammar ---------------------------------------------------------------------------

    def expression(self, depth: int) -> Expr:
        if depth > _MAX_DEPTH:
            token = self.peek()
            raise self.error(f"parentheses nest deeper than {_MAX_DEPTH} levels",
                             (token.start, token.end), "flatten needless parentheses")
        first = self.conjunction(depth)
        if not self.at_word("or"):
            return first
        operands = [first]
        while self.accept_word("or"):
            operands.append(self.conjunction(depth))
        return Or(tuple(operands), span=(_start(first), _end(operands[-1])))

    def conjunction(self, depth: int) -> Expr:
        first = self.atom(depth)
        if not self.at_word("and"):
            return first
        operands = [first]
        while self.accept_word("and"):
            operands.append(self.atom(depth))
        return And(tuple(operands), span=(_start(first), _end(operands[-1])))

    def atom(self, depth: int) -> Expr:
        token = self.peek()
        if token.kind == "(":
            self.advance()
            inner = self.expression(depth + 1)
            self.expect(")", "')'")
            return inner
        if token.kind == "name" and token.text == "WithinLast" and self.peek(1).kind == "(":
            return self.within_call()
        return self.condition(self.field())

    def field(self) -> Field:
        token = self.peek()
        if token.kind != "name" or token.text in _KEYWORDS:
            raise self.unexpected(("a field such as Config('lr') or Metric('State')",))
        self.advance()
        if self.peek().kind != "(":
            return self.run_field(token.text, (token.start, token.end))
        if token.text == "Tags":
            if self.peek(1).kind == "string":
                raise self.error("wsquery reads tags as one list", self.span_from(token),
                                 "write Tags() in ['tag'] for runs that have the tag")
            self.advance()
            close = self.expect(")", "')'")
            return Field("run", ("tags",), span=(token.start, close.end))
        section = SECTION_FUNCTIONS.get(token.text)
        if section is None:
            hint = "wsquery has no keys_info section" if token.text == "KeysInfo" \
                else _FIELD_HINT
            raise self.error(f"unknown field function '{token.text}'",
                             (token.start, token.end), hint)
        self.advance()
        argument = self.expect("string", "a key in quotes")
        close = self.expect(")", "')'")
        name = self.string(argument)
        span = (token.start, close.end)
        if section == "run":
            return self.run_field(name, span)
        return Field(section, self.path(name, span), span=span)

    def run_field(self, name: str, span: tuple[int, int]) -> Field:
        key = UI_RUN_NAMES.get(name, name)
        return Field("run", self.path(key, span), span=span)

    def path(self, key: str, span: tuple[int, int]) -> tuple[str, ...]:
        segments = tuple(key.split("."))
        if not all(segments) or "`" in key:
            raise self.error(f"{key!r} is not a key wsquery can name", span,
                             "keys are non-empty names separated by single dots, "
                             "without backticks")
        return segments

    def condition(self, field: Field) -> Expr:
        token = self.peek()
        start = _start(field)
        if token.kind == "op":
            self.advance()
            value = self.value()
            if isinstance(value.value, tuple):
                raise self.error(f"'{token.text}' compares with one value, not a list",
                                 (value.start, value.end),
                                 f"write {self.text[start:token.start].strip()} in [...]")
            if value.value is None:
                raise self.error("None is no value a run can be compared with",
                                 (value.start, value.end),
                                 "wsquery writes this as 'is null' or 'is not null', "
                                 "which wandb-workspaces cannot say")
            node = comparison(field, READ_OPS[token.text], value.value, (start, value.end))
            self.leaf(node.operand if type(node) is Not else node)  # Tags() == 'x': has it
            return node
        if self.accept_word("in"):
            values, end = self.list_value()
            return self.leaf(In(field, values, span=(start, end)))
        if self.accept_word("not"):
            if not self.accept_word("in"):
                raise self.unexpected(("'in'",))
            values, end = self.list_value()
            return self.leaf(Not(In(field, values, span=(start, end)), span=(start, end)))
        if token.kind == "name" and token.text.lower() == "within_last":
            self.advance()
            amount = self.expect("number", "a number")
            unit, end = self.unit(("name", "string"), "a unit (minutes, hours or days)")
            duration = Duration(_number(amount, self.text), unit)
            return self.leaf(Within(field, duration, span=(start, end)))
        raise self.unexpected(("an operator ('==', '!=', '<', '<=', '>', '>=', 'in', 'not in', "
                               "'within_last')",))

    def within_call(self) -> Expr:
        start = self.advance().start
        self.advance()  # the "(" atom() saw
        field = self.field()
        self.expect(",", "','")
        amount = self.expect("number", "a number")
        self.expect(",", "','")
        unit, _ = self.unit(("string",), "a unit in quotes ('minutes', 'hours' or 'days')")
        close = self.expect(")", "')'")
        duration = Duration(_number(amount, self.text), unit)
        return self.leaf(Within(field, duration, span=(start, close.end)))

    def unit(self, kinds: tuple[str, ...], described: str) -> tuple[str, int]:
        """The unit the next token names (bare or quoted, as ``kinds`` allow) and its end."""
        token = self.peek()
        word = self.string(token) if token.kind == "string" else token.text
        unit = UNITS.get(word.lower()) if token.kind in kinds else None
        if unit is None:
            raise self.unexpected((described,))
        self.advance()
        return unit, token.end

    def value(self) -> _Value:
        token = self.peek()
        if token.kind in ("[", "("):
            return self.bracketed()
        if token.kind in ("+", "-"):
            return self.signed_number()
        if token.kind == "number":
            self.advance()
            return _Value(_number(token, self.text), token.start, token.end)
        if token.kind == "string":
            self.advance()
            return _Value(self.string(token), token.start, token.end)
        if token.kind != "name" or token.text in ("and", "or", "not", "in"):
            raise self.unexpected(("a value",))
        self.advance()
        if self.peek().kind == "(":
            raise self.error("a field compares with a value, not with another field",
                             self.span_from(token))
        literals: dict[str, Scalar] = {"True": True, "False": False, "None": None}
        return _Value(literals.get(token.text, token.text), token.start, token.end)

    def signed_number(self) -> _Value:
        start = self.peek().start
        negative = False
        while self.peek().kind in ("+", "-"):
            negative ^= self.advance().kind == "-"
        number = self.expect("number", "a number")
        value = _number(number, self.text)
        return _Value(-value if negative else value, start, number.end)

    def list_value(self) -> tuple[tuple[Scalar, ...], int]:
        """The values of the list after 'in' and where it ends."""
        if self.peek().kind not in ("[", "("):
            raise self.unexpected(("a list such as ['a', 'b']",))
        values = self.bracketed()
        if not isinstance(values.value, tuple):
            raise self.error("'in' needs a list", (values.start, values.end),
                             "a single value in parentheses is no list: write ['a']")
        if None in values.value:
            raise self.error("None is no value a run can be compared with",
                             (values.start, values.end), "leave None out of the list")
        return values.value, values.end

    def bracketed(self) -> _Value:
        """``[a, b]`` or ``(a, b)`` as a tuple; ``(a)`` is ``a``, as in Python."""
        opening = self.advance()
        closing = "]" if opening.kind == "[" else ")"
        items: list[Scalar] = []
        commas = 0
        while self.peek().kind != closing:
            item = self.value()
            if isinstance(item.value, tuple):
                raise self.error("lists hold single values", (item.start, item.end))
            items.append(item.value)
            if self.peek().kind != ",":
                break
            self.advance()
            commas += 1
        end = self.expect(closing, f"'{closing}'").end
        if opening.kind == "(" and len(items) == 1 and not commas:
            return _Value(items[0], opening.start, end)
        return _Value(tuple(items), opening.start, end)

    def string(self, token: _Token) -> str:
        try:
            return _decode_string(token.text)
        except ValueError as error:
            raise self.error(f"invalid string: {error}", (token.start, token.end)) from None

    def span_from(self, token: _Token) -> tuple[int, int]:
        """From ``token`` to the end of the call it starts, or of the token alone."""
        end = token.end
        if self.peek().kind == "(":
            depth = 0
            for later in self.tokens[self.index:]:
                depth += (later.kind == "(") - (later.kind == ")")
                end = later.end
                if depth <= 0 or later.kind == "end":
                    break
        return (token.start, end)

    # Meaning ---------------------------------------------------------------------------

    def leaf(self, node: Expr) -> Expr:
        self.leaves.append(node)
        return node

    def check(self, leaf: Expr) -> list[Diagnostic]:
        """Every problem ``wsquery.parse`` finds in the leaf, pointed at the leaf's source."""
        span = leaf.span or (0, len(self.text))
        try:
            parse(str(leaf))
        except QuerySyntaxError as error:
            return [Diagnostic(problem.message, span, problem.hint) for problem in error.problems]
        return []


def _start(node: Expr | Field) -> int:
    assert node.span is not None  # every node the reader builds has its span
    return node.span[0]


def _end(node: Expr) -> int:
    assert node.span is not None
    return node.span[1]
