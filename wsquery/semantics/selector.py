"""A filter -> one generated Python function selecting runs (``compile_select_fast``): exactly
the runs the closures (``semantics.predicates``) hold TRUE, read where they stand."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple, TypeAlias, assert_never

from wsquery.ast import (
    And,
    Compare,
    Constant,
    Contains,
    Expr,
    Field,
    In,
    IsNull,
    Match,
    Not,
    Or,
    Predicate,
    Within,
    walk,
)
from wsquery.facts.attributes import kind
from wsquery.regex import compile_user_regex, quick_search
from wsquery.semantics.predicates import (
    Filter,
    TestMaker,
    Truth,
    compile_predicate,
    now_or_current,
    number_test,
    predicate_test,
    reader,
    state_test,
    string_test,
    value_rule,
)
from wsquery.semantics.records import (
    GRAPHQL_KEYS,
    NAMED,
    PLAIN_NAMES,
    SHAPELESS_KEYS,
    STEP,
    adapt,
    plain_key,
)

# Filters -> Python code -----------------------------------------------------------------------

#: The runs a filter selects: those of ``runs`` it holds TRUE for, the very objects, in their
#: order.
Selector: TypeAlias = "Callable[[Iterable[Any]], list[Any]]"
#: A filter of a run in any shape: TRUE, FALSE or UNKNOWN (None).
RunFilter: TypeAlias = "Callable[[Any], bool | None]"
#: Deepest nesting of loops a generated selector takes, its own loop over the runs included
#: (Python allows 20 nested blocks).
_MAX_BLOCKS = 16
#: The locals a generated selector reads the sections into: the sections' own names.
_SECTION_LOCALS = {"config": "config", "summary": "summary"}


class _CannotTake(Exception):
    """A filter the generated code does not take."""


class _Inline(NamedTuple):
    """A comparison tested in line, for a value of exactly the literal's class, where the test
    comes to ``value op literal`` (UNKNOWN for NaN)."""

    #: The local holding the value.
    read: str
    #: The condition that the value is of that class.
    exact: str
    #: The condition that the comparison is TRUE then (no relation but ``!=`` holds for NaN).
    holds: str
    #: Its truth then.
    truth: str
    #: The test, for any other value.
    test: str


#: Lines handing a run that is not a plain dict to the closures.
_FOREIGN = ["if general(run) is True:", "    selected.append(run)", "    plain = False",
            "continue"]


class Kept(NamedTuple):
    """What a generated selector keeps: the runs, and each order key it read from them."""

    #: The runs the filter holds TRUE for, the very objects, in their order.
    runs: list[Any]
    #: Each order key's value in each kept run (as stored: ``plain_key``), read while the run
    #: was at hand; None when a kept run is not a plain dict, so the order reads them itself.
    read: dict[Field, list[Any]] | None


#: A generated selector: the runs a filter holds TRUE for, and the order keys it read.
KeepingSelector: TypeAlias = "Callable[[Iterable[Any]], Kept]"


def compile_select_fast(expr: Expr, now: datetime | None = None) -> Selector | None:
    """``expr`` as one generated Python function selecting runs in any shape: exactly the runs
    ``compile_predicate(expr, now)(adapt(run))`` holds TRUE for; None when it cannot take
    ``expr`` (and/ors nested deeper than Python's blocks allow, a dotted key of the run
    section). Raises what ``compile_predicate``
    raises.

    Why: adapting a run, and a call per run, cost more than testing it. The function reads a
    plain dict (whose sections are dicts) where it stands, with the closures' own value tests;
    a value of one exact class it tests in line: a number, string or state compared, or in a
    list of literals of its class; a tags list holding a string; a text holding a substring
    or matching a regex. Any other run goes to the closures."""
    moment = now_or_current(now)
    keeping = generated_selector(expr, moment, adapting(compile_predicate(expr, moment)))
    if keeping is None:
        return None
    return lambda runs: keeping(runs).runs


def adapting(closures: Filter) -> RunFilter:
    """``closures`` as a filter of runs in any shape."""
    def general(run: Any) -> Truth:
        return closures(adapt(run))

    return general


def generated_selector(expr: Expr, now: datetime, general: RunFilter,
                       order: Iterable[Field] = ()) -> KeepingSelector | None:
    """The generated selector of ``expr``, handing the runs it does not read to ``general``,
    and reading from each plain dict it keeps the keys of ``order`` that stand where they are
    stored (``plain_key``): a run's dict is at hand then, and reading it again to sort costs
    as much as the test did."""
    writer = _SelectorSource(now, order)
    try:
        writer.select(expr)
    except (_CannotTake, RecursionError):
        return None
    reads = ", ".join(writer.reads)
    lines = ["def make(general, disjoint, " + ", ".join(writer.values) + "):",
             "    def select(runs):",
             "        selected = []",
             *(f"        {read} = []" for read in writer.reads),
             "        plain = True",
             "        for run in runs:",
             "            if run.__class__ is not dict:",
             *("                " + line for line in _FOREIGN),
             *writer.lines,
             f"        return selected, plain, [{reads}]",
             "    return select"]
    make = _maker("\n".join(lines))
    select = make(general, GRAPHQL_KEYS.isdisjoint, **writer.values)
    read_fields = writer.read_fields

    def keeping(runs: Iterable[Any]) -> Kept:
        selected, plain, values = select(runs)
        return Kept(selected, dict(zip(read_fields, values, strict=True)) if plain else None)

    return keeping


@functools.lru_cache(maxsize=128)
def _maker(source: str) -> Callable[..., Selector]:
    """The function ``source`` defines. Filters of one shape share a source: their literals,
    keys and tests are bound to its parameters, never written into it."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "<wsquery selector>", "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


class _SelectorSource:
    """The loop body of a generated selector, run by run: its lines, the values they name
    (``v0``, ...), and the sections of the run read so far. Truths land in locals ``t1``, ..."""

    def __init__(self, now: datetime, order: Iterable[Field] = ()) -> None:
        self.now = now
        self.lines: list[str] = []
        self.values: dict[str, Any] = {}
        self.sections: set[str] = set()
        self.locals = 0
        #: Whether the lines so far have made sure the run is a plain dict, not W&B's JSON.
        self.shape_known = False
        #: The order keys read from each kept run, and the lists (``r0``, ...) they go to.
        self.read_fields = list(dict.fromkeys(
            field for field in order if plain_key(field) is not None))
        self.reads = [f"r{index}" for index in range(len(self.read_fields))]
        self._keep = ["selected.append(run)", *(
            f"{read}.append(run.get({self.bind(plain_key(field))}))"
            for read, field in zip(self.reads, self.read_fields, strict=True))]

    def bind(self, value: Any) -> str:
        name = f"v{len(self.values)}"
        self.values[name] = value
        return name

    def local(self) -> str:
        self.locals += 1
        return f"t{self.locals}"

    def add(self, indent: int, *lines: str) -> None:
        self.lines += ["    " * indent + line for line in lines]

    def keep(self, indent: int) -> list[str]:
        """The lines keeping the run, a plain dict: it, and the order keys read from it."""
        return ["    " * indent + line for line in self._keep]

    def fallback(self, indent: int) -> list[str]:
        """Lines handing the run, a plain dict, to the closures, and going on to the next."""
        return ["    " * indent + "if general(run) is True:", *self.keep(indent + 1),
                "    " * indent + "continue"]

    # The top: keep the run when the filter is TRUE ------------------------------------------

    def select(self, node: Expr) -> None:
        """The loop body for ``node``: an and keeps the run when no operand fails to be TRUE,
        an or when one is TRUE; the first that decides spares reading the rest. An and's
        operands that read only keys of one name in either shape (``SHAPELESS_KEYS``) test the
        run before it is asked which shape it is."""
        indent = 3
        match node:
            case And():
                for operand in node.operands:
                    if not _shapeless(operand):
                        self.know_shape(indent)
                    self.fetch(operand, indent)
                    self.true_else(operand, ["continue"], indent)
                self.know_shape(indent)
                self.lines += self.keep(indent)
            case Or():
                self.know_shape(indent)
                for operand in node.operands:
                    self.fetch(operand, indent)
                    self.true_then(operand, [*self.keep(0), "continue"], indent)
            case _:
                self.know_shape(indent)
                self.fetch(node, indent)
                self.true_then(node, self.keep(0), indent)

    def know_shape(self, indent: int) -> None:
        """Lines handing W&B's run JSON to the closures, unless written already."""
        if not self.shape_known:
            self.add(indent, "if not disjoint(run):", *("    " + line for line in _FOREIGN))
            self.shape_known = True

    def fetch(self, node: Expr, indent: int) -> None:
        """Lines reading the sections ``node`` needs that are not read yet."""
        for section in sorted(_sections(node) - self.sections):
            local = _SECTION_LOCALS[section]
            self.add(indent, f'{local} = run.get("{local}")', f"if {local}.__class__ is not dict:")
            self.lines += self.fallback(indent + 1)
            self.sections.add(section)

    def true_else(self, node: Expr, lines: list[str], indent: int) -> None:
        """``lines`` when ``node`` is not TRUE."""
        inline = self.inline(node, indent)
        if inline is None:
            truth = self.local()
            self.write(node, truth, indent, 1)
            self.add(indent, f"if {truth} is not True:", *("    " + line for line in lines))
            return
        self.add(indent, f"if {inline.exact}:", f"    if not ({inline.holds}):",
                 *("        " + line for line in lines),
                 f"elif {inline.test}({inline.read}) is not True:",
                 *("    " + line for line in lines))

    def true_then(self, node: Expr, lines: list[str], indent: int) -> None:
        """``lines`` when ``node`` is TRUE."""
        inline = self.inline(node, indent)
        if inline is None:
            truth = self.local()
            self.write(node, truth, indent, 1)
            self.add(indent, f"if {truth} is True:", *("    " + line for line in lines))
            return
        self.add(indent, f"if {inline.exact}:", f"    if {inline.holds}:",
                 *("        " + line for line in lines),
                 f"elif {inline.test}({inline.read}) is True:", *("    " + line for line in lines))

    def inline(self, node: Expr, indent: int) -> _Inline | None:
        """For a leaf whose value, when of one class, is tested by one Python expression (a
        number, string or state compared; a string or number in a list, a tags list holding a
        string; a text holding a substring or matching a regex): lines reading the value into
        a local, and how it is tested in line. None for any other node."""
        match node:
            case Compare():
                make, relation, literal = value_rule(node.op, node.value, node.field)
                if make not in (number_test, string_test, state_test):
                    return None
                # node.op is one of RELATIONS' keys: value_rule refuses any other
                test = self.bind(make(relation, literal))
                return self.inlined(node.field, indent, test, make,
                                    f"{node.op} {self.bind(literal)}", nan_true=node.op == "!=")
            case In():
                return self.inline_in(node, indent)
            case Contains() if type(node.value) is str:
                test, literal = self.bind(predicate_test(node, self.now)), self.bind(node.value)
                read = self.read(node.field, indent)
                holds = f"{literal} in {read}"
                return _Inline(read, f"{read}.__class__ is str", holds, holds, test)
            case Match():
                return self.inline_match(node, indent)
            case _:
                return None

    def inline_match(self, node: Match, indent: int) -> _Inline:
        """A regex: on a short ASCII text, Python's ``re`` search called in line where the
        pattern has one (``quick_search``), else the search predicate on any text."""
        test = self.bind(predicate_test(node, self.now))
        read = self.read(node.field, indent)
        quick = quick_search(node.pattern)
        if quick is None:
            holds = f"{self.bind(compile_user_regex(node.pattern))}({read})"
            return _Inline(read, f"{read}.__class__ is str", holds, holds, test)
        search, cap = quick
        holds = f"{self.bind(search)}({read}) is not None"
        return _Inline(read, f"{read}.__class__ is str and {read}.isascii() and "
                             f"0 < len({read}) <= {self.bind(cap)}", holds, holds, test)

    def inline_in(self, node: In, indent: int) -> _Inline | None:
        """``in``: a string, state or number in a set of the literals, or a tags list holding
        one of them (strings), when every literal is of that one class."""
        rules = [value_rule("==", value, node.field) for value in node.values]
        makers = {make for make, _, _ in rules}
        if len(makers) != 1 or not makers <= {number_test, string_test, state_test}:
            return None
        make = makers.pop()
        literals = [literal for _, _, literal in rules]
        test = self.bind(predicate_test(node, self.now))
        if kind(node.field) == "tags":
            if make is not string_test:
                return None
            read = self.read(node.field, indent)
            holds = " or ".join(f"{self.bind(literal)} in {read}" for literal in literals)
            return _Inline(read, f"{read}.__class__ is list", holds, holds, test)
        return self.inlined(node.field, indent, test, make,
                            f"in {self.bind(frozenset(literals))}", nan_true=False)

    def inlined(self, field: Field, indent: int, test: str, make: TestMaker, relation: str,
                nan_true: bool) -> _Inline:
        """``value relation`` for a value of the class ``make`` tests: a number (UNKNOWN for
        NaN; ``nan_true`` when the relation holds for it), a string, or a state (lower-cased)."""
        read = self.read(field, indent)
        if make is number_test:
            relation_text = f"{read} {relation}"
            return _Inline(read, f"{read}.__class__ is float or {read}.__class__ is int",
                           relation_text + (f" and {read} == {read}" if nan_true else ""),
                           f"{relation_text} if {read} == {read} else None", test)
        relation_text = f"{read}.lower() {relation}" if make is state_test else (
            f"{read} {relation}")
        return _Inline(read, f"{read}.__class__ is str", relation_text, relation_text, test)

    def read(self, field: Field, indent: int) -> str:
        """A local holding the value of ``field``."""
        value, read = self.value(field, indent), self.local()
        self.add(indent, f"{read} = {value}")
        return read

    # Inside: the truth of a node, in a local ---------------------------------------------------

    def write(self, node: Expr, into: str, indent: int, blocks: int) -> None:
        """Lines that leave the truth of ``node`` (TRUE, FALSE or UNKNOWN, as the closures
        give it) in local ``into``; ``blocks`` counts the loops around them."""
        match node:
            case Compare() | In() | Contains() | Match() | IsNull() | Within():
                self.leaf(node, into, indent)
            case Constant():
                self.add(indent, f"{into} = {self.bind(node.value)}")
            case Not():
                truth = self.local()
                self.write(node.operand, truth, indent, blocks)
                self.add(indent, f"{into} = None if {truth} is None else not {truth}")
            case And() | Or():
                self.connective(node, into, indent, blocks)
            case _:
                assert_never(node)

    def leaf(self, node: Predicate, into: str, indent: int) -> None:
        """A leaf, in line where ``inline`` takes it (a number UNKNOWN for NaN), else its
        value test."""
        inline = self.inline(node, indent)
        if inline is None:
            test = self.bind(predicate_test(node, self.now))
            self.add(indent, f"{into} = {test}({self.value(node.field, indent)})")
            return
        self.add(indent, f"if {inline.exact}:", f"    {into} = {inline.truth}",
                 "else:", f"    {into} = {inline.test}({inline.read})")

    def connective(self, node: And | Or, into: str, indent: int, blocks: int) -> None:
        """As ``_all`` and ``_any`` do: the first FALSE (TRUE) operand decides, else UNKNOWN
        if one was. The operands sit in a loop that the deciding one leaves by ``break``."""
        if blocks == _MAX_BLOCKS:
            raise _CannotTake
        conjunction = isinstance(node, And)
        self.add(indent, f"{into} = {conjunction}", "while True:")
        for operand in node.operands:
            truth = self.local()
            self.write(operand, truth, indent + 1, blocks + 1)
            self.add(indent + 1, f"if {truth} is False:" if conjunction else f"if {truth}:",
                     f"    {into} = {not conjunction}", "    break",
                     f"if {truth} is None:", f"    {into} = None")
        self.add(indent + 1, "break")

    def value(self, field: Field, indent: int) -> str:
        """An expression reading ``field`` from a plain dict ``run``, as ``adapt`` makes it."""
        if field.section != "run":
            section = _SECTION_LOCALS[field.section]
            if len(field.path) > 1:
                return f"{self.bind(reader(field))}({section})"
            return f"{section}.get({self.bind(field.key)})"
        if len(field.path) > 1:
            raise _CannotTake  # the nested walk would start from a renamed key
        key = field.key
        value = f"run.get({self.bind(PLAIN_NAMES.get(key, key))})"
        if key in NAMED:
            value = f"{self.bind(NAMED[key])}({value})"
        if key == STEP:
            step = self.local()
            self.add(indent, f"{step} = {value}", f"if {step} is None:",
                     f"    {step} = summary.get({self.bind(STEP)})")
            return step
        return value


def _shapeless(node: Expr) -> bool:
    """Whether ``node`` reads only run keys W&B's JSON and a plain dict hold alike."""
    return all(part.section == "run" and part.path[0] in SHAPELESS_KEYS and len(part.path) == 1
               for part in walk(node) if type(part) is Field)


def _sections(node: Expr) -> set[str]:
    """The sections a generated selector reads for ``node``: a missing step is the summary's
    (``_record``)."""
    sections = set()
    for part in walk(node):
        if type(part) is Field:
            if part.section != "run":
                sections.add(part.section)
            elif part.path == (STEP,):
                sections.add("summary")
    return sections
