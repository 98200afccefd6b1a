"""Query -> ``RunsetQuery``: what a W&B workspace run set stores, and warnings.

A run set keeps a query in ``filters`` (filterV2 or the legacy tree), ``grouping``, ``sort`` and
``search``; the warnings say what compiled, but not exactly as written. The query is normalized
first. A name regex (or name substring) that is a top-level condition becomes the run set's
search box; the rest becomes the filter. filterV2 is an OR of AND-chains whose items are leaves
or one-level groups, so the user's and/or structure is kept down to that depth and only what
nests deeper is distributed into an OR of ANDs, under a size limit.
"""

from __future__ import annotations

import contextlib
import marshal
import math
import re
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, assert_never

import attrs

from wsquery.ast import (
    And,
    Compare,
    Constant,
    Contains,
    Duration,
    Expr,
    Field,
    In,
    IsNull,
    Match,
    Not,
    Or,
    Query,
    Scalar,
    Span,
    Within,
    slot_constructor,
)
from wsquery.compilers.base import Context, check_options, limit_span
from wsquery.compilers.notebook import ShownInNotebooks
from wsquery.errors import TargetError, TargetWarning
from wsquery.facts.attributes import CONVERTED_KINDS, kind, typed
from wsquery.facts.formats import (
    EMPTY_SEARCH,
    HAS_TAG_OP,
    LACKS_TAG_OP,
    default_sort,
    filter_key,
    format_datetime,
    grouping_key,
)
from wsquery.semantics.normalize import (
    CREATED_AT,
    DISPLAY_NAME,
    TAGS,
    literal_key,
    never_true,
    normalize,
)
from wsquery.syntax.parser import parse

#: Most leaves one distribution into an OR of ANDs may produce before it is refused.
MAX_DISTRIBUTED_LEAVES = 200
#: Filter formats by option value.
FORMATS = ("filterv2", "legacy")

_TARGET = "runset"
_OPTIONS = "format, exact_ops, strict and limit_as_max_runs"
_MONGO_HINT = 'compile with target="mongo", which can express it'
_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
#: Operators the W&B UI cannot show -> the ones it shows in their place.
_UI_OPS = {"<": "<=", ">": ">="}
#: Longest query part quoted in a message.
_BRIEF = 60
#: The conditions that may stand for the search box.
_SEARCHES = frozenset({Match, Contains})

Conjunction = tuple[Expr, ...]


@attrs.frozen(slots=True)
class RunsetQuery(ShownInNotebooks):
    """A query as a workspace run set stores it; ``to_json()`` is what goes into a saved view's
    ``runSets[0]``. The dicts are this object's own: copy them before changing them."""

    filters: dict[str, Any]
    grouping: list[dict[str, str]]
    sort: dict[str, Any]
    search: dict[str, Any]
    warnings: tuple[TargetWarning, ...] = ()
    #: The view's max-runs setting that a ``limit`` became (``limit_as_max_runs=True``); it
    #: belongs to the view's settings, not to the run set, so ``to_json`` leaves it out.
    max_runs: int | None = None
    #: The query compiled (for its notebook form; not part of the result's value).
    query: Query | None = attrs.field(default=None, eq=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"filters": self.filters, "grouping": self.grouping, "sort": self.sort,
                "search": self.search}


#: Most compiled texts kept for when the same text comes again with the same options.
CACHED_TEXTS = 256
#: Compiled texts: the run set's JSON, marshalled, its warnings and max runs; least recently used
#: first.
_Kept = tuple[bytes, tuple[TargetWarning, ...], int | None, Query | None]
_compiled: OrderedDict[Hashable, _Kept] = OrderedDict()
_seen: set[Hashable] = set()  # texts compiled since it was last emptied, not kept (yet)


def compile_text(text: str, **options: object) -> RunsetQuery:
    """``compile_runset(parse(text), text=text, **options)``, served from a bounded cache
    when the same text comes again with the same options (a run set does not depend on when
    it is compiled). The cache keeps the JSON marshalled, so every result has dicts of its
    own, as a fresh compile gives. A text is kept from its second time on: most texts come
    once, and keeping every result would cost them all. Errors are not kept."""
    key: Hashable = (text, *sorted(options.items())) if options else text
    try:
        kept = _compiled.get(key)
    except TypeError:  # an option value no cache can hold, which the options check refuses
        return compile_runset(parse(text), text=text, **options)  # type: ignore[arg-type]
    if kept is not None:
        with contextlib.suppress(KeyError):  # another thread may have let it go meanwhile
            _compiled.move_to_end(key)
        return _new_runset_query(*marshal.loads(kept[0]), kept[1], kept[2], kept[3])
    compiled = (compile_runset(parse(text), text=text, **options)  # type: ignore[arg-type]
                if options else compile_runset(parse(text), text=text))
    if key in _seen:
        json = (compiled.filters, compiled.grouping, compiled.sort, compiled.search)
        try:
            _compiled[key] = (marshal.dumps(json), compiled.warnings, compiled.max_runs,
                              compiled.query)
        except ValueError:  # a value marshal cannot hold: that text is not kept
            return compiled
        if len(_compiled) > CACHED_TEXTS:
            _compiled.popitem(last=False)
    else:
        if len(_seen) >= CACHED_TEXTS:
            _seen.clear()
        _seen.add(key)
    return compiled


def compile_runset(query: Query, *, text: str | None = None, format: str = "filterv2",
                      exact_ops: bool = False, strict: bool = False,
                      limit_as_max_runs: bool = False, **unknown: object) -> RunsetQuery:
    """``query`` as a run set: ``format`` is ``"filterv2"`` (what W&B writes today) or
    ``"legacy"``; ``exact_ops`` keeps ``<``/``>`` that the UI cannot show; ``strict`` turns
    every warning into a ``TargetError``; ``limit_as_max_runs`` turns a ``limit`` into the
    view's max-runs setting (a run set has no limit). ``text``, the source of ``query``, lets
    errors and warnings show where they point. Whatever a run set cannot express is a
    ``TargetError``."""
    filter_format = _check_options(format, exact_ops, strict, limit_as_max_runs, unknown)
    normal = normalize(query).filter
    compiler = _Compiler(text, exact_ops, strict)
    if type(normal) is Constant:
        if not normal.value:
            raise compiler.contradiction(normal, query.filter)
        normal = None
    search, rest = compiler.split_search(normal)
    filters = compiler.legacy(rest) if filter_format == "legacy" else compiler.filter_v2(rest)
    if query.order_by:
        sort = {"keys": [{"key": filter_key(key.field), "ascending": key.ascending}
                         for key in query.order_by]}
    else:
        sort = default_sort()
    grouping = [grouping_key(field) for field in query.group_by] if query.group_by else []
    max_runs = compiler.max_runs(query, limit_as_max_runs)
    return _new_runset_query(filters, grouping, sort, search, tuple(compiler.warnings),
                             max_runs, query)


_new_runset_query = slot_constructor(RunsetQuery)


def _check_options(format: object, exact_ops: object, strict: object,
                   limit_as_max_runs: object, unknown: dict[str, object]) -> str:
    """The filter format asked for; a ``TargetError`` for any option or value not known."""
    if (format in FORMATS and type(exact_ops) is bool and type(strict) is bool
            and type(limit_as_max_runs) is bool and not unknown):
        return format  # what nearly every call gives: checked without building anything
    flags = (("exact_ops", exact_ops), ("strict", strict),
             ("limit_as_max_runs", limit_as_max_runs))
    check_options(_TARGET, unknown, _OPTIONS, flags)
    if not (isinstance(format, str) and format.lower() in FORMATS):
        raise TargetError(f"unknown format {format!r}", target=_TARGET,
                          hint='format is "filterv2" or "legacy"')
    return format.lower()


class _Compiler(Context):
    """One compilation: its options, and the warnings given so far."""

    __slots__ = ("exact_ops", "warned")

    def __init__(self, text: str | None, exact_ops: bool, strict: bool) -> None:
        super().__init__(_TARGET, text, strict)
        self.exact_ops = exact_ops
        self.warned: set[int] = set()  # ids of nodes warned about (distribution repeats them)

    def max_runs(self, query: Query, limit_as_max_runs: bool) -> int | None:
        """The view's max-runs setting a ``limit`` becomes when asked; else a ``TargetError``:
        a run set shows every run its filter selects."""
        if query.limit is None:
            return None
        span = limit_span(self.text)
        if not limit_as_max_runs:
            raise self.error(f"a run set has no limit: limit {query.limit} cannot be saved",
                             span, "pass limit_as_max_runs=True to make it the view's max-runs "
                             "setting (how many runs its charts show), or leave it out")
        message = (f"limit {query.limit} became the view's max-runs setting (maxRuns): the "
                   "charts show the first that many runs, the runs table shows them all")
        self.warn(message, span)
        return query.limit

    def warn_once(self, node: Expr, message: str, hint: str | None = None) -> None:
        """A warning about ``node``, given once however often distribution repeats it."""
        if id(node) not in self.warned or self.strict:
            self.warned.add(id(node))
            self.warn(message, node.span, hint)

    def contradiction(self, folded: Constant, original: Expr | None) -> TargetError:
        part = _find_span(original, folded.span) if original is not None else None
        what = "the filter" if part is None else _brief(part)
        return self.error(f"{what} can never be true, so the run set would show no runs",
                          folded.span, "remove the conditions that exclude each other")

    # Search ------------------------------------------------------------------------------

    def split_search(self, expr: Expr | None) -> tuple[dict[str, Any], Expr | None]:
        """The search box (from a top-level ``name =~`` or ``name contains``) and the rest."""
        if expr is None:
            return dict(EMPTY_SEARCH), None
        conjuncts = expr.operands if type(expr) is And else (expr,)
        if _SEARCHES.isdisjoint(map(type, conjuncts)):  # most often
            return dict(EMPTY_SEARCH), expr
        search: dict[str, Any] | None = None
        rest = []
        for conjunct in conjuncts:
            pattern = _search_pattern(conjunct)
            if pattern is None:
                rest.append(conjunct)
            elif not pattern:
                raise self.error(
                    f"an empty search box is no search: {conjunct} would also show runs that "
                    "have no name", conjunct.span,
                    "leave the condition out (W&B gives every run a name), or " + _MONGO_HINT)
            elif search is not None:
                raise self.error(
                    f"a run set has one search box, and {conjunct} would be a second search",
                    conjunct.span, "write both as one regular expression on name, or "
                    + _MONGO_HINT)
            else:
                search = {"query": pattern, "isRegex": True}
        if search is None:
            return dict(EMPTY_SEARCH), expr
        if not rest:
            return search, None
        return search, rest[0] if len(rest) == 1 else And(tuple(rest), span=expr.span)

    # filterV2 ----------------------------------------------------------------------------

    def filter_v2(self, expr: Expr | None) -> dict[str, Any]:
        """An OR of AND-chains; an or inside a chain becomes a group, and only what nests
        below a group's chains is distributed."""
        items: list[dict[str, Any]] = []
        if expr is not None:
            for branch in expr.operands if type(expr) is Or else (expr,):
                connector = "OR" if items else None
                for item in branch.operands if type(branch) is And else (branch,):
                    if type(item) is Or:
                        items.append(self.group(item, connector))
                    else:
                        items.append(self.leaf(item, connector))
                    connector = "AND"
        return {"filterFormat": "filterV2", "filters": items}

    def group(self, expr: Or, connector: str | None) -> dict[str, Any]:
        filters: list[dict[str, Any]] = []
        for branch in expr.operands:
            if isinstance(branch, And) and any(isinstance(o, Or) for o in branch.operands):
                conjunctions = self.distribute(branch)
            else:
                conjunctions = [branch.operands if isinstance(branch, And) else (branch,)]
            for conjunction in conjunctions:
                inner = "OR" if filters else None
                for literal in conjunction:
                    filters.append(self.leaf(literal, inner))
                    inner = "AND"
        group: dict[str, Any] = {"filters": filters}
        if connector is not None:
            group["connector"] = connector
        return group

    # Legacy ------------------------------------------------------------------------------

    def legacy(self, expr: Expr | None) -> dict[str, Any]:
        """An OR of ANDs, without the ANDs that can never be true (distributing makes them
        from conditions such as ``not (a and b) and a and b``)."""
        conjunctions: list[Conjunction] = [()]
        if expr is not None:
            conjunctions = [conjunction for conjunction in self.distribute(expr)
                            if len(conjunction) < 2 or not never_true(And(conjunction))]
            if not conjunctions:
                raise self.contradiction(Constant(False, span=expr.span), expr)
        return {"op": "OR", "filters": [
            {"op": "AND", "filters": [self.leaf(literal, None) for literal in conjunction]}
            for conjunction in conjunctions]}

    # Distribution ------------------------------------------------------------------------

    def distribute(self, expr: Expr) -> list[Conjunction]:
        """``expr`` as an OR of ANDs of leaves; a ``TargetError`` naming the part that grows
        past ``MAX_DISTRIBUTED_LEAVES`` leaves, checked before anything that big is built."""
        match expr:
            case Or():
                result: list[Conjunction] = []
                size = 0
                for operand in expr.operands:
                    part = self.distribute(operand)
                    size += _leaf_count(part)
                    if size > MAX_DISTRIBUTED_LEAVES:
                        raise self.too_big(expr)
                    result.extend(part)
                return result
            case And():
                product: list[Conjunction] = [()]
                size = 0
                for operand in expr.operands:
                    part = self.distribute(operand)
                    if len(part) * size + len(product) * _leaf_count(part) > (
                            MAX_DISTRIBUTED_LEAVES):
                        raise self.too_big(expr)
                    product = [_conjoin(left, right) for left in product for right in part]
                    size = _leaf_count(product)
                return product
            case _:
                return [(expr,)]

    def too_big(self, expr: Expr) -> TargetError:
        return self.error(
            f"{_brief(expr)} grows past {MAX_DISTRIBUTED_LEAVES} conditions when written as an "
            "OR of ANDs, the only nesting a run set filter has",
            expr.span, "factor out shared conditions or nest less, or " + _MONGO_HINT)

    # Leaves ------------------------------------------------------------------------------

    def leaf(self, expr: Expr, connector: str | None) -> dict[str, Any]:
        """One filter leaf; ``connector`` joins it to the item before it."""
        match expr:
            case Compare():
                op = expr.op
                if op in _UI_OPS and not self.exact_ops:
                    replacement = Compare(expr.field, _UI_OPS[op], expr.value)
                    self.warn_once(expr, f"{expr} became {replacement}: the W&B UI shows only "
                                   "<= and >=", f"pass exact_ops=True to keep {op}")
                    op = _UI_OPS[op]
                field, value = expr.field, expr.value
                if field.section == "run" or type(value) is Duration:
                    value = self.value(field, value, expr)
                leaf = {"key": filter_key(field), "op": _OPS[op], "value": value,
                        "disabled": False}
            case In():
                leaf = _leaf(expr.field, "IN", self.values(expr.field, expr.values, expr))
            case Not(operand=In() as inner):
                leaf = _leaf(inner.field, "NIN", self.values(inner.field, inner.values, expr))
            case Contains() if expr.field == TAGS:
                leaf = _leaf(TAGS, HAS_TAG_OP, expr.value)
            case Not(operand=Contains() as inner) if inner.field == TAGS:
                leaf = _leaf(TAGS, LACKS_TAG_OP, inner.value)
            case Within() if expr.field == CREATED_AT:
                leaf = _leaf(CREATED_AT, "WITHINSECONDS", self.seconds(expr))
            case Match() | Contains() | IsNull() | Within() | Constant() | Not() | And() | Or():
                raise self.error(f"a run set cannot express {_construct(expr)}: {expr}",
                                 expr.span, _MONGO_HINT)
            case _:
                assert_never(expr)
        if connector is not None:
            leaf["connector"] = connector
        return leaf

    def value(self, field: Field, value: Scalar, expr: Expr) -> Any:
        """A literal as a filter value: durations in seconds, states in lower case, dates in
        ISO-8601 UTC; any other literal as it is (``leaf`` leaves those of config and summary
        comparisons as they are without asking)."""
        literal_class, literal = typed(field, value)
        if literal_class == "time":
            return format_datetime(literal)
        if kind(field) == "time":
            raise self.error(f"{field} is compared with an ISO-8601 date, not {value!r}",
                             expr.span, 'write a date such as "2024-05-01"')
        if type(value) is Duration:
            return _whole(literal)
        return literal if literal_class == "str" else value

    def values(self, field: Field, values: tuple[Scalar, ...], expr: Expr) -> list[Any]:
        """The literals of an ``in`` as filter values (see ``value``)."""
        if Duration not in map(type, values) and kind(field) not in CONVERTED_KINDS:
            return list(values)  # nothing that ``value`` changes
        return [self.value(field, value, expr) for value in values]

    def seconds(self, expr: Within) -> int:
        exact = expr.duration.seconds
        whole = math.floor(exact + 0.5)  # half up: 0.5s is 1 second, not 0
        if whole != exact:
            self.warn_once(expr, f"{expr} became {whole} seconds: a run set takes whole seconds")
        return whole


def _leaf(field: Field, op: str, value: Any) -> dict[str, Any]:
    return {"key": filter_key(field), "op": op, "value": value, "disabled": False}


def _whole(number: int | float) -> int | float:
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _search_pattern(expr: Expr) -> str | None:
    """The search regex a top-level condition on the run name stands for, if it is one."""
    match expr:
        case Match() if expr.field == DISPLAY_NAME:
            return expr.pattern
        case Contains(value=str() as text) if expr.field == DISPLAY_NAME:
            return re.escape(text)
    return None


def _construct(expr: Expr) -> str:
    """What in ``expr`` a run set has no way to say."""
    match expr:
        case IsNull():
            return "'is null'"
        case Not(operand=IsNull()):
            return "'is not null'"
        case Match():
            return "a regex match except on name as a top-level condition (the search box)"
        case Not(operand=Match()):
            return "a negated regex match ('!~')"
        case Contains():
            return "'contains' except on tags, or on name as a top-level condition"
        case Not(operand=Contains()):
            return "a negated 'contains' except on tags"
        case Within():
            return "'within last' except on created_at"
        case Not(operand=Within()):
            return "a negated 'within last'"
    return "this condition"


def _conjoin(left: Conjunction, right: Conjunction) -> Conjunction:
    """Both conjunctions as one, without repeating a leaf ``left`` already has."""
    if not left:
        return right
    have = {literal_key(literal) for literal in left}
    return left + tuple(literal for literal in right if literal_key(literal) not in have)


def _brief(expr: Expr) -> str:
    """A part of the query as text short enough for a message (the caret shows all of it)."""
    text = str(expr)
    return text if len(text) <= _BRIEF else text[:_BRIEF - 3] + "..."


def _leaf_count(conjunctions: list[Conjunction]) -> int:
    return sum(len(conjunction) for conjunction in conjunctions)


def _find_span(expr: Expr, span: Span) -> Expr | None:
    """The node of ``expr`` parsed from ``span``, to name a part that normalization folded."""
    if span is None:
        return None
    if expr.span == span:
        return expr
    match expr:
        case And() | Or():
            for operand in expr.operands:
                found = _find_span(operand, span)
                if found is not None:
                    return found
        case Not():
            return _find_span(expr.operand, span)
    return None
