"""Lark's LALR parser -> its tables as plain data, a tight loop that parses over them, and the
cache that keeps them between runs.

The loop builds AST nodes as it reduces (``tree._Build``), so no parse tree is ever built. The
tables are lark's insides, read here and nowhere else: ``parser`` checks that a driver made from
them parses as lark does before using it, and keeps them in the user's cache directory, one file
per key (``parser._tables_key``), so the next run needs no lark at all.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from wsquery.syntax import fast_lexer
from wsquery.syntax.fast_lexer import (
    _ASCII,
    _FIRSTS,
    _end,
    _first_characters,
    _predicate_lexer,
    _Terminal,
)
from wsquery.syntax.grammar import read_text
from wsquery.syntax.tree import _Build

if TYPE_CHECKING:
    from lark import Lark

#: What the driver calls to reduce by a rule: a ``_Build`` method, or None when the rule is a
#: one-child ``?rule`` whose child is the result as it is.
_Reducer: TypeAlias = "Callable[..., Any] | None"


#: A table entry that is no action: the terminal is an error in that state.
_ERROR = 1 << 30


def _tables(lark: Lark) -> dict[str, Any]:
    """What the driver needs of lark's parser, as plain data: the terminals in lark's lexing
    order with their regexes and first characters, the rules, and the LALR table (one row of
    actions per state, and the gotos with the one-child ``?rule`` reductions after them
    folded in)."""
    from lark.parsers.lalr_analysis import Shift

    table = lark.parser.parser.parser.parse_table
    ordered = sorted(lark.terminals, key=lambda t: (
        -t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    ignored = "|".join(t.pattern.to_regexp() for t in ordered if t.name in lark.ignore_tokens)
    terminals = [(t.name, t.pattern.to_regexp()) for t in ordered
                 if t.name not in lark.ignore_tokens]
    for name, regex in terminals:
        if re.compile(regex).groups:
            raise ValueError(f"terminal {name} has a capturing group")
    numbers = {name: number for number, (name, _) in enumerate(terminals, 1)}
    end = numbers["$END"] = len(terminals) + 1
    rules = list(dict.fromkeys(rule for actions in table.states.values()
                               for action, rule in actions.values() if action is not Shift))
    rule_numbers = {rule: number for number, rule in enumerate(rules)}
    nonterminals = {name: number for number, name in enumerate(
        dict.fromkeys(str(rule.origin.name) for rule in rules))}
    passes = {number for number, rule in enumerate(rules)
              if rule.options.expand1 and not rule.alias and len(rule.expansion) == 1}
    states = range(max(table.states) + 1)
    rows = [[_ERROR] * (end + 1) for _ in states]
    gotos: list[list[int | None]] = [[None] * len(nonterminals) for _ in states]
    for state, actions in table.states.items():
        for name, (action, arg) in actions.items():
            if str(name) in numbers:
                rows[state][numbers[str(name)]] = arg if action is Shift else ~rule_numbers[arg]
            elif str(name) in nonterminals:
                gotos[state][nonterminals[str(name)]] = arg
    # lark accepts on reaching the end state with the end of input next; here the end state
    # shifts the end of input, which the loop takes as accepting.
    rows[table.end_states["start"]][end] = table.end_states["start"]

    def ahead(below: int, target: int) -> list[int]:
        """Per next terminal, the state after going to ``target`` from ``below`` and reducing
        every one-child ``?rule`` that follows: those reductions leave the values as they
        are, and each goes to its rule's state from ``below`` again."""
        states = []
        for kind in range(end + 1):
            state = target
            while rows[state][kind] < 0 and ~rows[state][kind] in passes:
                state = gotos[below][nonterminals[str(rules[~rows[state][kind]].origin.name)]]  # type: ignore[assignment]
            states.append(state)
        return states

    return {
        "ignored": ignored,
        "terminals": [[name, regex, None if first is None else "".join(sorted(first))]
                      for name, regex in terminals for first in [_first_characters(regex)]],
        "rules": [[None if number in passes else rule.alias or str(rule.origin.name),
                   len(rule.expansion), nonterminals[str(rule.origin.name)],
                   list(rule.options.empty_indices) or None]
                  for number, rule in enumerate(rules)],
        "rows": rows,
        "gotos": [[None if target is None else ahead(state, target) for target in targets]
                  for state, targets in enumerate(gotos)],
        "nonterminals": list(nonterminals),
        "accepted": [sorted(str(name) for name in table.states.get(state, {}) if name in numbers)
                     for state in states],
        "start": table.start_states["start"],
    }


#: A lexer of the driver: a regex's ``match`` and the terminal number of each of its groups.
_Lexer: TypeAlias = "tuple[Callable[[str, int], _Terminal | None], list[int]]"


class _Lexers(dict[Any, "_Lexer"]):
    """Lexers compiled when first needed, by key: ``make`` makes one, kept if ``keep``."""

    def __init__(self, make: Callable[[Any], _Lexer],
                 keep: Callable[[Any], bool] = lambda key: True) -> None:
        super().__init__()
        self.make = make
        self.keep = keep

    def __missing__(self, key: Any) -> _Lexer:
        lexer = self.make(key)
        if self.keep(key):
            self[key] = lexer
        return lexer


class _Driver:
    """A tight LALR loop over lark's own tables, lexing contextually like lark does.

    Terminals are numbered in lark's lexing order. A state's table row says, per terminal
    number, to shift (the next state, >= 0), to reduce (``~rule``) or that it is an error
    (``_ERROR``). Lark's lexer picks the first terminal, in that order, that matches; so does the
    driver, with the regex of the terminals that can start with the next character (the
    whitespace after a terminal is part of its match). When the state does not accept that
    terminal, the state's own regex (only the terminals it accepts) decides, exactly as lark's
    contextual lexer does: a terminal the state accepts that matched earlier in the order
    would have been picked first. Where a predicate may start, the predicate lexer is tried
    first: a whole ``field op value`` or ``field [not] in [...]`` and the terminal after it.
    On any error the driver gives up, and ``parser.parse`` lets lark re-run the text to explain
    it. Each regex is compiled the first time it is needed.
    """

    def __init__(self, tables: dict[str, Any]) -> None:
        ignored = tables["ignored"]
        terminals: dict[str, str] = {name: regex for name, regex, _ in tables["terminals"]}
        numbers = {name: number for number, name in enumerate(terminals, 1)}
        self.end = len(terminals) + 1
        #: Terminal names by number (0: none).
        self.names = ["", *terminals, "$END"]
        firsts = {name: None if first is None else frozenset(first)
                  for name, _, first in tables["terminals"]}
        # The loop tells the end of the text itself; only a state's own lexer may meet it.
        terminals["$END"], numbers["$END"], firsts["$END"] = r"\Z", self.end, frozenset()

        def lexer(names: list[str], accepted: frozenset[str] | None = None) -> _Lexer:
            """The regex of ``names`` in order (those not ``accepted`` never match), and the
            terminal number of each of its groups."""
            alternatives = "|".join(
                f"(?P<{name.strip('$')}>"
                f"{terminals[name] if accepted is None or name in accepted else '(?!)'})"
                for name in names) or "(?!)"
            return (re.compile(f"(?:{alternatives})(?:{ignored})*+").match,
                    [0, *(numbers[name] for name in names)])

        self.skip = re.compile(f"(?:{ignored})*+").match  # matches everywhere, even empty
        #: First characters of text that need no skipping (its first terminal starts at once).
        self.no_skip = frozenset(_ASCII) - (_first_characters(ignored) or frozenset(_ASCII))
        #: Lexers by the next character, of the terminals that can start with it; beyond ASCII,
        #: of all terminals.
        everything = _Lexers(lambda _: lexer(list(terminals)))
        by_names = _Lexers(lambda names: lexer(list(names)))

        def by_character(character: str) -> _Lexer:
            if character not in _FIRSTS:
                return everything[None]
            return by_names[tuple(name for name, first in firsts.items()
                                  if first is None or character in first)]

        self.by_character = _Lexers(by_character, keep=_FIRSTS.__contains__)
        #: Per rule: what reducing by it calls (None only for size one), its size, the
        #: nonterminal it makes.
        self.rules: list[tuple[Any, int, int]] = [
            (_reducer(name, size, empty), size, origin)
            for name, size, origin, empty in tables["rules"]]
        self.rows: list[list[int]] = tables["rows"]
        #: Per state and nonterminal, per next terminal: the state to go to (None where the
        #: table has no goto, which no reduction reaches).
        self.gotos: list[list[Any]] = tables["gotos"]
        #: Per state, the lexer of the terminals it accepts.
        by_accepted = _Lexers(lambda accepted: lexer(list(terminals), accepted))
        self.lexers = _Lexers(lambda state: by_accepted[frozenset(tables["accepted"][state])])
        self.start: int = tables["start"]
        #: Per state, where a predicate goes to (as ``gotos``), None where none starts.
        predicate = tables["nonterminals"].index("predicate")
        self.predicate_gotos: list[list[int] | None] = [row[predicate] for row in self.gotos]
        self.lex_predicate, self.predicate_kinds, self.list_items = _predicate_lexer(
            terminals, numbers, ignored)

    def parse(self, text: str, build: _Build) -> Any:
        """The ``Query`` built, or ``None`` when lark must explain an error."""
        by_character = self.by_character
        rows, gotos, rules, end = self.rows, self.gotos, self.rules, self.end
        state = self.start
        states = [state]
        values: list[Any] = []
        push_state, push_value, pop_value = states.append, values.append, values.pop
        length = len(text)
        position = 0 if text[:1] in self.no_skip else self.skip(text).end()  # type: ignore[union-attr]
        token = None
        predicate_gotos, lex_predicate = self.predicate_gotos, self.lex_predicate
        predicate_kinds, list_items = self.predicate_kinds, self.list_items
        while True:
            if position < length:
                ahead = predicate_gotos[state]
                if ahead is not None and (token := lex_predicate(text, position)) is not None:
                    # a whole predicate, reduced at once, and the terminal after it; the
                    # match then stands for that terminal (its last group, which ``_end``
                    # reads, is that terminal's)
                    push_value(build.lexed_predicate(token, list_items))
                    kind = predicate_kinds[token.lastindex]  # type: ignore[index]
                    state = ahead[kind]
                    push_state(state)
                    action = rows[state][kind]
                else:
                    lex, numbering = by_character[text[position]]
                    token = lex(text, position)
                    if token is None:
                        return None
                    kind = numbering[token.lastindex]  # type: ignore[index]
                    action = rows[state][kind]
                    if action == _ERROR:  # the state does not take this terminal: another?
                        lex, numbering = self.lexers[state]
                        token = lex(text, position)
                        if token is None:
                            return None
                        kind = numbering[token.lastindex]  # type: ignore[index]
                        action = rows[state][kind]
                position = token.end()
            else:
                kind = end
                action = rows[state][end]
            while action < 0:  # reduce; the stacks shrink by the rule's size, then grow by one
                reduce, size, origin = rules[~action]
                if size == 1:
                    if reduce is not None:
                        values[-1] = reduce(build, values[-1])
                    state = gotos[states[-2]][origin][kind]
                    states[-1] = state
                    action = rows[state][kind]
                    continue
                if size == 3:
                    right = pop_value()
                    middle = pop_value()
                    values[-1] = reduce(build, values[-1], middle, right)
                    del states[-2:]
                    state = gotos[states[-2]][origin][kind]
                    states[-1] = state
                    action = rows[state][kind]
                    continue
                if size:
                    children = values[-size:]
                    del values[-size:]
                    push_value(reduce(build, *children))
                    del states[-size:]
                else:
                    push_value(reduce(build))
                state = gotos[states[-1]][origin][kind]
                push_state(state)
                action = rows[state][kind]
            if action == _ERROR:
                return None
            if kind == end:  # only the end state shifts the end of input
                return values[-1]
            state = action
            push_state(state)
            push_value(token)

    def prefix(self, text: str) -> _DriverPrefix | None:
        """Where the tables stand after the terminals of ``text`` (see ``parser.prefix``): the
        loop of ``parse`` on states alone, lexing terminal by terminal as it does without a
        predicate in one match."""
        states = [self.start]
        tokens: list[tuple[str, int, int]] = []
        length = len(text)
        position = self.skip(text).end()  # type: ignore[union-attr]
        while position < length:
            lex, numbering = self.by_character[text[position]]
            token = lex(text, position)
            if token is None:
                return None
            if self.rows[states[-1]][numbering[token.lastindex]] == _ERROR:  # type: ignore[index]
                lex, numbering = self.lexers[states[-1]]
                token = lex(text, position)
                if token is None:
                    return None
            if not self.shift(states, numbering[token.lastindex]):  # type: ignore[index]
                return None
            tokens.append((self.names[numbering[token.lastindex]], token.start(), _end(token)))  # type: ignore[index]
            position = token.end()
        return _DriverPrefix(self, states, tuple(tokens))

    def shift(self, states: list[int], kind: int) -> bool:
        """Reduce ``states`` as the terminal ``kind`` next makes the parser reduce, then shift
        it; False (with ``states`` spoilt) when the table has no action for it."""
        rows, gotos, rules = self.rows, self.gotos, self.rules
        action = rows[states[-1]][kind]
        while action < 0:
            _, size, origin = rules[~action]
            if size:
                del states[-size:]
            state = gotos[states[-1]][origin][kind]
            states.append(state)
            action = rows[state][kind]
        if action == _ERROR:
            return False
        states.append(action)
        return True


class _DriverPrefix:
    """A prefix as the driver reads it (``parser.Prefix``): its stack of states."""

    __slots__ = ("driver", "states", "tokens")

    def __init__(self, driver: _Driver, states: list[int],
                 tokens: tuple[tuple[str, int, int], ...]) -> None:
        self.driver = driver
        self.states = states
        self.tokens = tokens

    def accepts(self) -> frozenset[str]:
        shift, states = self.driver.shift, self.states
        return frozenset(name for kind, name in enumerate(self.driver.names)
                         if kind and shift(states[:], kind))

    def after(self, terminal: str) -> _DriverPrefix | None:
        states = self.states[:]
        if not self.driver.shift(states, self.driver.names.index(terminal)):
            return None
        return _DriverPrefix(self.driver, states, self.tokens)


def _reducer(name: str | None, size: int, empty: list[bool] | None) -> _Reducer:
    """What reducing by a rule calls: the ``_Build`` method named, with None for the absent
    optional parts that ``empty`` marks, slot by slot (the method's defaults when they come
    last); None for a one-child ``?rule``."""
    if name is None:
        return None
    method: Callable[..., Any] = getattr(_Build, name)
    if not empty or not any(empty[:size]):
        return method
    slots = iter(range(size))
    plan = [None if absent else next(slots) for absent in empty]

    def with_placeholders(build: _Build, *children: Any) -> Any:
        return method(build, *[None if i is None else children[i] for i in plan])

    return with_placeholders


def _source_stamp() -> str | None:
    """The length and CRC-32 of the source of the modules that make and read the tables: this
    one, and the fast lexer's (the terminals' first characters are in the tables)."""
    try:
        source = b""
        for path in (__file__, fast_lexer.__file__):
            with open(path, "rb") as file:
                source += file.read()
    except OSError:
        return None
    return f"{len(source)}:{zlib.crc32(source):08x}"


def _tables_path(key: dict[str, Any]) -> str:
    """Where the tables for ``key`` are kept: the user's cache directory, one file per key
    (so environments with different lark versions do not take turns)."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = zlib.crc32(json.dumps(key, sort_keys=True).encode())
    return os.path.join(home, "wsquery", f"parser-tables-{digest:08x}.json")


def _keep(path: str, content: dict[str, Any]) -> None:
    """Write ``content`` to ``path`` whole or not at all; a cache that cannot be written is
    no cache."""
    import tempfile

    try:
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=name,
                                         delete=False) as file:
            json.dump(content, file)
        os.replace(file.name, path)
    except OSError:
        pass


def _lark_version() -> str | None:
    """lark's version, read from its source when lark is not imported yet (importing it costs
    much of what keeping the tables saves); None when it cannot be told, and then no tables
    are kept."""
    if "lark" in sys.modules:
        version = getattr(sys.modules["lark"], "__version__", None)
        return version if isinstance(version, str) else None
    try:
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec("lark", None) if find_spec is not None else None
            if spec is not None:
                break
        else:
            return None
        source = read_text(spec.origin or "")
    except (OSError, ImportError, ValueError):
        return None
    found = re.search(r"^__version__\b[^=\n]*=\s*[\"']([^\"']+)[\"']", source, re.MULTILINE)
    return found.group(1) if found else None
