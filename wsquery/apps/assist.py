"""Query text and a cursor -> what the grammar lets come there (``complete``); query text -> its
every problem as data (``check``): what editors, notebook widgets and the REPL ask.

Completion asks the parser where it stands after the text before the word being typed
(``syntax.parser.prefix``: lark's LALR state, from either parser), and offers, for each
terminal that state takes, the spellings that fit: fields (run attributes, the sections, and
the config and summary keys of the runs or fields given, or written elsewhere in the text),
operators, keywords (several at once where only keywords can follow, as ``is not null``),
punctuation, and values: those seen in the runs for the field being compared, a run's states,
each checked as a query would check it. ``check`` reports syntax errors, literals no run can
match, what the target says (its errors and warnings) and, given the runs or their fields,
keys none of them holds (``semantics.keys``) alike, without raising.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, Literal, TypeAlias

import attrs

from wsquery.ast import (
    RUN_ATTRIBUTES,
    RUN_KEY_ATTRIBUTES,
    SECTIONS,
    UNIT_SECONDS,
    Field,
    format_value,
)
from wsquery.errors import Diagnostic, QuerySyntaxError, TargetError, WsqueryError
from wsquery.facts.attributes import RUN_STATES, kind
from wsquery.semantics.keys import field_named, known_keys, leaves, unknown_keys
from wsquery.syntax.grammar import keywords
from wsquery.syntax.parser import OPERATORS, Prefix, parse, prefix, spelling

#: What a completion is, for an editor to show it by.
CompletionKind: TypeAlias = Literal["field", "section", "operator", "keyword", "value", "unit",
                          "punctuation"]

#: Values seen in a field, counted: keyed ``(is a bool, value)``, as ``True == 1``.
_Seen: TypeAlias = "Counter[tuple[bool, Any]]"
#: Seen values kept per field, the commonest first.
MAX_VALUES = 100
_FIELD_TERMINALS = frozenset({"FIELD", "NAME"})
#: Terminals that hold a value, and those of them a seen value can be.
_VALUES = frozenset({"NUMBER", "STRING", "DURATION", "TRUE", "FALSE", "NULL"})
#: Keyword chains stop at a terminal that is not a keyword.
_NOT_KEYWORDS = _FIELD_TERMINALS | _VALUES | {"OP", "UNIT", "$END"}
#: Durations offered where only a duration may come (``within last``).
_DURATIONS = ("1h", "1d", "7d", "30d")
#: Run attributes whose values are too many to offer (one per run, or a moment each).
_UNOFFERED = frozenset({RUN_ATTRIBUTES["id"], RUN_ATTRIBUTES["created_at"]})
#: Strings and backtick segments, each closed or open up to the end of the text.
#: (Each branch's one group is what closes it: none matched, it is open.)
_QUOTED = re.compile(r"""(?:"(?:[^"\\\n]|\\.)*("|\n)?|'(?:[^'\\\n]|\\.)*('|\n)?"""
                     r"""|`[^`]*(`)?)""")
#: What a word before the cursor is made of besides letters, digits and backtick segments.
_WORD = frozenset("_.-+/")


@attrs.frozen
class Completion:
    """One thing that may come at the cursor: ``text`` to put in place of the completed span,
    its ``kind``, and a short ``detail`` (which section a key is in, how often a value was
    seen)."""

    text: str
    kind: CompletionKind
    detail: str = ""


@attrs.frozen
class Completions:
    """What may come at the cursor: ``items`` in the order to offer them, each replacing
    ``span`` (the start of the word being typed to the cursor; empty between words)."""

    span: tuple[int, int]
    items: tuple[Completion, ...]


def complete(text: str, cursor: int | None = None, *, runs: Iterable[Any] | None = None,
             fields: Mapping[str, Iterable[Any]] | Iterable[str] | None = None) -> Completions:
    """What the grammar lets come at ``cursor`` (default: the end of ``text``), the word
    being typed there matched as a prefix, case aside. ``runs`` (any shape ``evaluate``
    reads) or ``fields`` (field text -> values seen, or field texts alone; ``fields_of``
    makes it from runs once, for completing on every key press) give the keys and values to
    offer. Text before the word that no query starts with gets no completion."""
    if not isinstance(text, str):
        raise TypeError(f"complete() takes query text, not {type(text).__name__}")
    cursor = len(text) if cursor is None else cursor
    if not 0 <= cursor <= len(text):
        raise ValueError(f"cursor {cursor} is outside the text (0 to {len(text)})")
    before = text[:cursor]
    start = _word_start(before)
    span = (start, cursor)
    state = prefix(before[:start])
    if state is None:
        return Completions(span, ())
    known = _Known(runs, fields)
    for name, token_start, token_end in state.tokens:  # keys written elsewhere in the text
        if name == "FIELD":
            field = field_named(before[token_start:token_end])
            if field is not None:
                known.mention(str(field))
    word = before[start:].lower()
    items: dict[str, Completion] = {}
    for item in _candidates(state, before, known):
        if _fits(item, word) and not (item.kind == "section" and item.text.lower() == word):
            items.setdefault(item.text, item)
    return Completions(span, tuple(items.values()))


def fields_of(runs: Iterable[Any]) -> dict[str, tuple[Any, ...]]:
    """Every field the runs hold (run attributes, config and summary keys, as a query writes
    them) -> the values seen in it, the commonest first (at most ``MAX_VALUES``; tags one by
    one). Runs that are not runs are skipped."""
    return {name: tuple(value for (_, value), _ in seen.most_common(MAX_VALUES))
            for name, seen in _seen(runs).items()}


def check(text: str, target: str | None = "runset", *, runs: Iterable[Any] | None = None,
          fields: Mapping[str, Iterable[Any]] | Iterable[str] | None = None,
          **options: Any) -> list[Diagnostic]:
    """Every problem of ``text`` as a query, in source order, errors and warnings alike,
    without raising: a syntax error (the parser stops at the first), else every literal no
    run can match, else what compiling for ``target`` (with ``options``, as ``compile``
    takes them; None: no target) refuses or warns about, and, given ``runs`` or ``fields``
    (as ``complete`` takes them), a warning (source ``keys``) on each config or summary key
    that none of them holds, naming the closest keys they do."""
    if target is not None:
        from wsquery.compilers.registry import get

        target = get(target).name  # an unknown target is the caller's mistake, not the query's
    try:
        query = parse(text)
    except QuerySyntaxError as error:
        return list(error.problems)
    known = known_keys(runs, fields)
    keys = [] if known is None else [
        attrs.evolve(problem, severity="warning", source="keys", text=text)
        for problem in unknown_keys(query, known)]
    if target is None:
        return keys
    from wsquery.compilers.registry import compile

    whole = (0, len(text))
    try:
        compiled = compile(text, target=target, **options)
    except TargetError as error:
        targeted = [Diagnostic(error.message, error.span or whole, error.hint,
                               source=target, text=text)]
    else:
        targeted = [Diagnostic(warning.message, warning.span or whole, warning.hint,
                               severity="warning", source=target, text=text)
                    for warning in compiled.warnings]
    if not keys:
        return targeted
    return sorted(keys + targeted, key=lambda diagnostic: diagnostic.span[0])


# Completion ---------------------------------------------------------------------------------

def _word_start(before: str) -> int:
    """Where the word before the cursor starts: at an open string's quote, else at the key,
    number or keyword characters (and backtick segments) that end the text."""
    end = len(before)
    for found in _QUOTED.finditer(before):
        if found.end() == end and found.lastindex is None:  # open at the cursor
            if found.group().startswith("`"):  # a key segment: the word goes on before it
                end = found.start()
                break
            return found.start()
    start = end
    while start and (before[start - 1].isalnum() or before[start - 1] in _WORD
                     or before[start - 1] == "`"):
        if before[start - 1] == "`":  # a closed segment: back to where it opens
            opening = before.rfind("`", 0, start - 1)
            if opening == -1:
                break
            start = opening
        else:
            start -= 1
    return start


def _fits(item: Completion, word: str) -> bool:
    """Whether ``item`` completes ``word`` (lower case): a prefix of it, a string's with or
    without its opening quote."""
    text = item.text.lower()
    if text.startswith(word) or text.replace("`", "").startswith(word.replace("`", "")):
        return True
    return item.kind == "value" and text[:1] == '"' and text[1:].startswith(word.lstrip("\"'"))


def _candidates(state: Prefix, before: str, known: _Known) -> Iterator[Completion]:
    """Per kind of terminal ``state`` takes, what may be written for it."""
    accepted = state.accepts()
    if accepted & _FIELD_TERMINALS:
        yield from _fields(known)
    # right after a field, only the predicates the field's kind allows
    field = str(_field_before(state, before)) if "OP" in accepted else None
    if "OP" in accepted:
        for op in OPERATORS:
            if field is None or _predicate_allowed(field, op):
                yield Completion(op, "operator")
    if accepted & (_VALUES | {"UNIT"}) and not accepted & _FIELD_TERMINALS:
        yield from _values(accepted, _field_before(state, before), known)
    if accepted & {"NUMBER", "STRING"}:  # a list where one value belongs is never a query
        accepted -= {"LSQB"}
    for terminal in sorted(accepted - _NOT_KEYWORDS, key=_terminal_order):
        for words in _keywords(state, terminal):
            text = " ".join(words)
            if field is None or _predicate_allowed(field, text):
                yield Completion(text, "keyword" if text[0].isalpha() else "punctuation")


def _terminal_order(terminal: str) -> tuple[bool, str]:
    """Keywords before punctuation, each in the order the grammar's names sort."""
    return (not (_spelling(terminal) or "?")[0].isalpha(), terminal)


def _keywords(state: Prefix, terminal: str, depth: int = 0) -> Iterator[list[str]]:
    """The spellings of ``terminal`` and, while only keywords may follow, of those after it
    (``is`` -> ``is null``, ``is not null``; ``within`` -> ``within last``)."""
    spelt = _spelling(terminal)
    if spelt is None:
        return
    after = state.after(terminal) if depth < 2 and spelt[0].isalpha() else None
    following = frozenset() if after is None else after.accepts()
    if after is None or not following or not all(_is_keyword(t) for t in following):
        yield [spelt]
        return
    for terminal_after in sorted(following, key=_terminal_order):
        for rest in _keywords(after, terminal_after, depth + 1):
            yield [spelt, *rest]


def _spelling(terminal: str) -> str | None:
    """How a keyword or punctuation is typed; None for the other terminals."""
    return keywords().get(terminal) or spelling(terminal)


def _is_keyword(terminal: str) -> bool:
    return (terminal == "NULL" or (terminal not in _NOT_KEYWORDS
            and (_spelling(terminal) or "?")[0].isalpha()))


#: Operands that make a predicate of each operator or keyword, tried in turn: the predicate
#: may follow a field if one of them makes a query the leaf check accepts.
_SAMPLE_OPERANDS = {
    "between": ('1 and 2', '"a" and "b"', '"2024-01-01" and "2024-02-01"',
                '"crashed" and "running"'),
    "in": ("[1]", '["a"]', '["finished"]'), "not in": ("[1]", '["a"]', '["finished"]'),
    "is null": ("",), "is not null": ("",), "within last": ("1d",),
}
_SAMPLE_VALUES = ("1", '"a"', "true", '"2024-01-01"', '"finished"')


@lru_cache(maxsize=4096)
def _predicate_allowed(field: str, words: str) -> bool:
    """Whether ``field`` may be followed by the operator or keyword ``words``: the leaf check
    (a field's kind) refuses ``runtime contains``, and ``within last`` but on created_at.
    Words that start no predicate (``order by``, ``and``) are not judged."""
    samples = _SAMPLE_OPERANDS.get(words)
    if samples is None:
        if words not in OPERATORS and words not in ("contains",):
            return True
        samples = _SAMPLE_VALUES
    for operand in samples:
        try:
            parse(f"{field} {words} {operand}")
        except QuerySyntaxError:
            continue
        return True
    return False


#: What each section's keys are, as completion describes them.
_SECTION_DETAILS = {"config": "a key of the run's config", "summary": "a key of the run's summary",
                    "run": "a run attribute by its W&B key (run.createdAt)"}


def _fields(known: _Known) -> Iterator[Completion]:
    for name in RUN_ATTRIBUTES:
        yield Completion(name, "field", "run attribute")
    for section in SECTIONS:
        yield Completion(f"{section}.", "section", _SECTION_DETAILS[section])
    for name in known.names():
        section = name.partition(".")[0]
        detail = f"{section} key" if section in SECTIONS else "run attribute"
        yield Completion(name, "field", detail)


def _values(accepted: frozenset[str], field: Field | None, known: _Known
            ) -> Iterator[Completion]:
    """The values that may come for ``field``: those seen in it (that the terminals taken
    allow), a run's states for ``state``, true and false, null after ``is``."""
    if field is None:
        return
    seen = known.values(str(field))
    if kind(field) == "state":  # states compare without case: offer each once, as W&B has it
        folded: _Seen = Counter()
        for (is_bool, value), count in seen.items():
            folded[is_bool, value.lower() if isinstance(value, str) else value] += count
        seen = folded
    offered = [(value, f"seen in {count} run{'' if count == 1 else 's'}" if count else "")
               for (_, value), count in seen.most_common(MAX_VALUES)]
    if kind(field) == "state":
        offered += [(state, "a run state") for state in RUN_STATES]
    if not seen or any(is_bool for is_bool, _ in seen):
        offered += [(True, ""), (False, "")]
    for value, detail in offered:
        text = format_value(value)
        terminal = ("TRUE" if value is True else "FALSE" if value is False
                    else "STRING" if isinstance(value, str) else "NUMBER")
        if terminal in accepted and (field.section != "run" or _holds(str(field), text)):
            yield Completion(text, "value", detail)
    if "DURATION" in accepted and "STRING" not in accepted:
        for duration in _DURATIONS:
            yield Completion(duration, "value", "a duration")
    if "NULL" in accepted and not accepted & {"NUMBER", "STRING"}:
        yield Completion("null", "value")
    if "UNIT" in accepted and kind(field) == "seconds":
        for unit in UNIT_SECONDS:
            yield Completion(unit, "unit", "a unit of time")


def _field_before(state: Prefix, before: str) -> Field | None:
    """The field of the predicate a value completes: the last one written, unless a
    ``limit`` came after it."""
    for name, start, end in reversed(state.tokens):
        if name in _FIELD_TERMINALS:
            return field_named(before[start:end])
        if name == "LIMIT":
            return None
    return None


@lru_cache(maxsize=4096)
def _holds(field: str, value: str) -> bool:
    """Whether ``field == value`` is a query (a run attribute's value can be wrong)."""
    try:
        parse(f"{field} == {value}")
    except QuerySyntaxError:
        return False
    return True


# What the runs hold -----------------------------------------------------------------------

class _Known:
    """The fields to offer, as a query writes them, and the values seen in one of them,
    counted (the values given are counted only for the field asked about: completing runs
    on every key press)."""

    __slots__ = ("given", "seen")

    def __init__(self, runs: Iterable[Any] | None,
                 fields: Mapping[str, Iterable[Any]] | Iterable[str] | None) -> None:
        self.seen = {} if runs is None else _seen(runs)
        self.given: dict[str, Iterable[Any]] = {}
        if isinstance(fields, Mapping):
            given: Iterable[tuple[str, Iterable[Any]]] = fields.items()
        else:
            given = ((name, ()) for name in fields or ())
        for name, values in given:
            field = field_named(name)
            if field is not None:
                self.given.setdefault(str(field), values)

    def mention(self, name: str) -> None:
        """Offer the field ``name`` too (written elsewhere in the text)."""
        self.given.setdefault(name, ())

    def names(self) -> Iterator[str]:
        yield from self.seen
        yield from (name for name in self.given if name not in self.seen)

    def values(self, name: str) -> _Seen:
        seen = Counter(self.seen.get(name, {}))
        for value in self.given.get(name, ()):
            if _offerable(value):
                seen.setdefault((type(value) is bool, value), 0)
        return seen


def _seen(runs: Iterable[Any]) -> dict[str, _Seen]:
    from wsquery.semantics.records import adapt

    seen: dict[str, _Seen] = {}

    def add(field: Field, value: Any) -> None:
        counts = seen.setdefault(str(field), Counter())
        if _offerable(value):
            counts[type(value) is bool, value] += 1

    for run in runs:
        try:
            record = adapt(run)
        except WsqueryError:
            continue
        for key in RUN_KEY_ATTRIBUTES:
            value = record.run.get(key)
            if value is None or key in _UNOFFERED:
                continue
            field = Field("run", (key,))
            for item in value if kind(field) == "tags" and isinstance(value, list) else [value]:
                add(field, item)
        for section, values in (("config", record.config), ("summary", record.summary)):
            for path, value in leaves(values) if isinstance(values, Mapping) else ():
                add(Field(section, path), value)
    return seen


def _offerable(value: Any) -> bool:
    """Whether a value seen is one a query can write: text, a bool, a finite number."""
    return isinstance(value, str | bool) or (
        isinstance(value, int | float) and math.isfinite(value))
