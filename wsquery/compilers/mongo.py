"""Query -> ``MongoQuery``: the ``filters`` and ``order`` for a MongoDB collection of run
documents, selecting exactly the runs the query selects under MongoDB's own rules.

**What a filter is matched against.** A run as a document (``mongo_document``): its W&B run keys
at the top (``name`` is the id, ``displayName``, ``state``, ``tags``, ``createdAt``,
``duration``, ``username``, ...), ``config`` and ``summary_metrics`` as plain nested values. Three
assumptions about such documents, all true of W&B's runs, are relied on:

1. The run attributes other than ``tags`` never hold a list, ``tags`` holds a list of strings or
   null, and ``state`` is lower case (so the case-insensitive ``state`` becomes a plain
   comparison with the lower-cased literal).
2. ``createdAt`` is missing, null or ISO-8601 UTC text of one fixed width,
   ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (``iso_timestamp``), so the order of the text is the order in
   time and literals are written the same way.
3. No key of ``config`` or ``summary_metrics`` holds a dot: a MongoDB path cannot reach such a
   key (wandb issues #2819, #3087), so ``config.a.b`` always means the nested ``a`` -> ``b``.

**Exactness.** A run matches the filter iff the query's filter is TRUE for it (three-valued
logic, ``semantics.evaluate`` is the reference). The query is normalized first, so ``not`` sits
only on leaves and every and/or is in a positive context: each (negated) leaf is compiled to the
set of runs for which it is TRUE, and and/or become ``$and``/``$or``. A leaf that can never be
TRUE drops out of an or and empties an and. MongoDB differs from the language in three ways, and
each leaf is guarded against them with the documented operators only:

- *Types.* ``$gt``/``$gte``/``$lt``/``$lte`` compare only values of the literal's BSON type
  (type bracketing), and NaN compares with nothing: exactly the language's rule. So ``x == 1``
  is ``{"$gte": 1, "$lte": 1}`` (``$eq`` and ``$in`` treat ``true`` as ``1`` in some engines),
  ``x != v`` is ``$or`` of ``$lt``/``$gt`` (``$ne`` would also match missing keys, strings,
  lists), ``x not in [...]`` the ``$or`` of the open intervals between the values, and
  ``$gte: ""`` says "a string" next to ``$nor`` of a ``$regex`` for ``!~`` and ``not contains``.
- *Arrays.* MongoDB applies a condition to each element of an array, the language treats a list
  as one value of its own type. For keys that may hold lists (config, summary, other run keys)
  a scalar test also requires ``"<key>.0": {"$exists": false}``: no non-empty array (and no
  object with a key ``"0"``, which fails every scalar test anyway). On a nested key every key on
  the way must be an object, not an array of them: ``{"$nor": [{"<prefix>": {"$gte": []}}]}``
  (an array operand compares, type-bracketed, with whole arrays only).
- *Missing and null.* ``{"x": null}`` matches missing or null (``is null``, plus no array that
  holds a null); ``is not null`` is ``{"$ne": null}`` or a non-empty array. A list ``contains``
  is an element equality on a non-empty array; ``not contains`` on a list is
  ``{"$gte": [], "$ne": v}`` (an array, none of its elements ``v``); a boolean element is
  matched type-bracketed. A number element relies on MongoDB's equality, which keeps ``1`` and
  ``true`` apart (mongomock does not, inside arrays).

``state`` literals are lower-cased, ``created_at`` literals become fixed-width UTC text, a
duration is its seconds; ``step`` is the run's own ``_step`` when it has one, else
``summary_metrics._step``, spelled out as such. ``within last`` is a ``createdAt`` bound computed
from ``now``. Regexes (RE2, the language's) go to MongoDB's engine, PCRE, as written except
where PCRE reads a spelling differently (``regex.to_pcre``); what has no exact PCRE form
is refused, and ``contains`` searches for escaped text. What cannot be written exactly is a
``TargetError``.

This target is for real MongoDB collections of run documents; W&B's own runs API is the
``runs-api`` target (``wsquery.compilers.runs_api``).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias, assert_never

import attrs

from wsquery.ast import (
    EARLIEST,
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
    OrderKey,
    Query,
    Scalar,
    Span,
    Within,
    total_order,
)
from wsquery.compilers.base import Context, checked_now, cover
from wsquery.compilers.notebook import ShownInNotebooks
from wsquery.errors import TargetError, TargetWarning, WsqueryError
from wsquery.facts.attributes import Kind, attribute, parse_datetime, typed_as
from wsquery.facts.formats import RUNS_API_CONFIG_KEYS_WITH_VALUE, iso_timestamp
from wsquery.regex import escape, to_pcre
from wsquery.semantics.normalize import NEGATED_OP, normalize
from wsquery.semantics.records import adapt, run_keys

if TYPE_CHECKING:
    pass

#: What ``compile(..., target=...)`` calls this target.
TARGET = "mongo"
#: The order of a query without ``order by``: newest first, as W&B's API orders by default.
DEFAULT_ORDER = "-createdAt"

Filter: TypeAlias = "dict[str, Any]"
_Truth: TypeAlias = "Filter | None"  # the filter of the runs a part is TRUE for; None: no run

_SECTIONS = {"config": "config", "summary": "summary_metrics"}
#: Top-level keys of a run document that are sections, not run keys.
_SECTION_KEYS = frozenset({"config", "summary", "summary_metrics", "summaryMetrics"})
_RANGE_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_STEP = ("run", ("_step",))
#: Run keys that W&B's runs always hold, each as text of one form (assumptions 1 and 2), which a
#: collection sorts as the language does.
_SORTED = frozenset({"name", "displayName", "state", "createdAt"})


@attrs.frozen(slots=True)
class MongoQuery(ShownInNotebooks):
    """A query as W&B's runs API takes it: ``Api().runs(path, filters=q.filters, order=q.order)``.

    ``warnings`` say what was left out (grouping, order keys after the first, the limit).
    The dict is this object's own: copy it before changing it."""

    filters: Filter
    order: str = DEFAULT_ORDER
    warnings: tuple[TargetWarning, ...] = ()
    #: The query's whole order for a collection's ``find(...).sort(sort)``: its ``order by``
    #: keys, then ``createdAt`` newest first, then the id (``name``).
    sort: tuple[tuple[str, int], ...] = (("createdAt", -1), ("name", 1))
    limit: int | None = None
    #: The query compiled (for its notebook form; not part of the result's value).
    query: Query | None = attrs.field(default=None, eq=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """``filters``, ``order`` (for ``Api.runs``), ``sort`` (for a collection's cursor, as
        ``[path, 1 or -1]`` pairs) and ``limit`` when the query has one."""
        data: dict[str, Any] = {"filters": self.filters, "order": self.order,
                                "sort": [list(key) for key in self.sort]}
        if self.limit is not None:
            data["limit"] = self.limit
        return data


def compile_mongo(query: Query, *, text: str | None = None, now: datetime | None = None,
                  strict: bool = False, **unknown: object) -> MongoQuery:
    """``query`` as a MongoDB filter and order. ``now`` anchors ``within last`` (default: the
    current time; naive means UTC); ``strict`` turns warnings into ``TargetError``\\ s; ``text``,
    the source of ``query``, lets errors and warnings show where they point."""
    compiler = _Compiler(text, checked_now(TARGET, now, strict, unknown), strict)
    filters = compiler.query_filter(query)
    if filters is None:
        raise compiler.error("the filter can never be true, so no run would match",
                             query.filter.span if query.filter is not None else None,
                             "some conditions exclude each other, or can never hold "
                             "(true and false have no order)")
    order = compiler.order(query)
    sort = compiler.sort(query)
    return MongoQuery(filters, order, tuple(compiler.warnings), sort, query.limit, query)


# Places: where a field lives in a run document --------------------------------------------------

@attrs.frozen(slots=True)
class _Place:
    """A field as a document path. ``kind``: ``list`` for keys that may hold any JSON (guarded
    against arrays), ``single`` for run attributes that never hold a list, ``tags``, ``step``
    (two keys, see ``_Compiler.step``); ``prefixes`` are the paths of the objects on the way
    to a nested key; ``reads``: how a literal reads on it (the run attribute's kind in
    ``facts.attributes``: ``time`` for created_at)."""

    path: str
    kind: str
    prefixes: tuple[str, ...] = ()
    reads: Kind = "any"


class _Compiler(Context):
    """One compilation: its options, and the warnings given so far."""

    __slots__ = ("now",)

    def __init__(self, text: str | None, now: datetime, strict: bool) -> None:
        super().__init__(TARGET, text, strict)
        self.now = now

    # Query -----------------------------------------------------------------------------------

    def query_filter(self, query: Query) -> _Truth:
        """The filter of ``query`` (``{}`` for every run), None when no run can match."""
        if query.group_by:
            self.warn("the runs API does not group runs: group by was left out",
                      cover([field.span for field in query.group_by]),
                      "group the runs it returns yourself")
        try:
            normal = normalize(query).filter
            return {} if normal is None else self.expr(normal)
        except RecursionError:
            raise self.error("the filter nests too deeply to compile", query.filter.span
                             if query.filter is not None else None) from None

    def order(self, query: Query) -> str:
        if not query.order_by:
            return DEFAULT_ORDER
        first, *rest = query.order_by
        if rest:
            dropped = ", ".join(str(key) for key in rest)
            self.warn(f"the runs API orders by one key: {dropped} was left out",
                      cover([key.span for key in rest]),
                      "sort the runs it returns by the other keys yourself")
        place = self.place(first.field, first.span)
        path = place.path if place.kind != "step" else "_step"
        return ("+" if first.ascending else "-") + path

    def sort(self, query: Query) -> tuple[tuple[str, int], ...]:
        """The cursor's sort for the query's total order. MongoDB puts a missing or null value
        first when ascending, NaN before numbers, and types in BSON's order, so only keys that
        W&B's runs always hold as text of one form sort as the language sorts (``_SORTED``);
        any other key is sorted with a warning."""
        keys = []
        for key in total_order(query):
            place = self.place(key.field, key.span)
            if place.path not in _SORTED:
                self.warn(f"order by {key.field}: MongoDB sorts runs without it first when "
                          "ascending, NaN before numbers and types in BSON's order, so the "
                          "runs may come in another order than the language's", key.span,
                          "sort the runs it returns with wsquery.evaluate")
            keys.append((place.path if place.kind != "step" else "_step",
                         1 if key.ascending else -1))
        return tuple(keys)

    def place(self, field: Field, span: Span) -> _Place:
        """Where ``field`` lives in a run document; a ``TargetError`` when no path reaches it."""
        for segment in field.path:
            if not segment:
                problem = "an empty key, which no MongoDB path can reach"
            elif "." in segment:
                problem = f"the key {segment!r}, which holds a dot: MongoDB paths cannot reach it"
            elif segment.startswith("$"):
                problem = f"the key {segment!r}, which MongoDB would read as an operator"
            else:
                continue
            raise self.error(f"{field} names {problem}", span,
                             "the runs API cannot reach such keys (wandb issues #2819, #3087): "
                             "filter or sort the fetched runs with wsquery.evaluate")
        key = field.key
        if field.section == "run":
            known = attribute(field)
            if (field.section, field.path) == _STEP:
                return _Place("_step", "step")
            if known is not None and known.kind == "tags":
                return _Place(key, "tags")
            if known is not None and known.kind != "any":  # a single value (assumption 1)
                return _Place(key, "single", reads=known.kind)
            if field.path[0] in _SECTION_KEYS:
                raise self.error(f"{field} names a section of the run document, not a run key",
                                 span, f"write config.{key.partition('.')[2] or 'key'} or "
                                 f"summary.{key.partition('.')[2] or 'key'}")
            segments = list(field.path)
            root = ""
        else:
            segments = list(field.path)
            if field.section == "config" and RUNS_API_CONFIG_KEYS_WITH_VALUE:
                segments.insert(1, "value")
            root = _SECTIONS[field.section] + "."
        wrapped = 1 if field.section == "config" and RUNS_API_CONFIG_KEYS_WITH_VALUE else 0
        prefixes = tuple(root + ".".join(segments[:end]) for end in range(1, len(segments))
                         if end != wrapped)
        return _Place(root + ".".join(segments), "list", prefixes)

    # Expressions -----------------------------------------------------------------------------

    def expr(self, node: Expr) -> _Truth:
        match node:
            case And():
                return _and([self.expr(operand) for operand in node.operands])
            case Or():
                return _or([self.expr(operand) for operand in node.operands])
            case Constant():
                return {} if node.value else None
            case Not():
                return self.negation(node.operand, node)
            case Compare() | In() | Match() | Contains() | IsNull() | Within():
                return self.leaf(node, node, negated=False)
            case _:
                assert_never(node)

    def negation(self, node: Expr, outer: Not) -> _Truth:
        """The runs ``not node`` is TRUE for (normalization leaves only leaves here; the rest
        follows the three-valued laws)."""
        match node:
            case And():
                return _or([self.negation(operand, outer) for operand in node.operands])
            case Or():
                return _and([self.negation(operand, outer) for operand in node.operands])
            case Constant():
                return None if node.value else {}
            case Not():
                return self.expr(node.operand)
            case Compare():
                flipped = Compare(node.field, NEGATED_OP[node.op], node.value, span=outer.span)
                return self.leaf(flipped, flipped, negated=False)
            case In() | Match() | Contains() | IsNull() | Within():
                return self.leaf(node, outer, negated=True)
            case _:
                assert_never(node)

    def leaf(self, node: Compare | In | Match | Contains | IsNull | Within, shown: Expr,
             negated: bool) -> _Truth:
        """The runs a leaf (or with ``negated`` its negation) is TRUE for; ``shown`` is the
        node errors point at."""
        place = self.place(node.field, shown.span)
        if place.kind == "step":
            return self.step(node, shown, negated)
        return self.at(place, node, shown, negated)

    def step(self, node: Compare | In | Match | Contains | IsNull | Within, shown: Expr,
             negated: bool) -> _Truth:
        """``step``: the run's own ``_step`` when it holds a value, else the summary's."""
        own = _Place("_step", "list")
        summary = _Place("summary_metrics._step", "list")
        own_truth = self.at(own, node, shown, negated)
        if isinstance(node, IsNull) and not negated:
            return _and([own_truth, self.at(summary, node, shown, False)])
        if isinstance(node, IsNull):  # either holds a value
            return _or([own_truth, self.at(summary, node, shown, True)])
        return _or([own_truth, _and([_is_null(own), self.at(summary, node, shown, negated)])])

    def at(self, place: _Place, node: Compare | In | Match | Contains | IsNull | Within,
           shown: Expr, negated: bool) -> _Truth:
        match node:
            case Compare():
                return self.compare(place, node.op, node.value, shown)
            case In():
                if negated:
                    return self.not_in(place, node.values, shown)
                return self.in_(place, node.values, shown)
            case Contains():
                return self.contains(place, node.value, shown, negated)
            case Match():
                return self.match(place, node.pattern, shown, negated)
            case IsNull():
                return _is_not_null(place) if negated else _is_null(place)
            case Within():
                return self.within(place, node, shown, negated)
            case _:
                assert_never(node)

    # Leaves ----------------------------------------------------------------------------------

    def literal(self, place: _Place, value: Scalar, shown: Expr) -> tuple[str, Any]:
        """``(class, value as the document holds it)``; class ``never`` when no value can equal
        it (null, NaN, a created_at literal that is not a date)."""
        literal_class, literal = typed_as(place.reads, value)
        if literal_class == "time":
            return ("str", iso_timestamp(literal))
        if literal_class == "num" and isinstance(literal, float) and not math.isfinite(literal):
            raise self.error(f"{_show(value)} has no JSON form", shown.span,
                             "use a finite number")
        return (literal_class, literal)

    def compare(self, place: _Place, op: str, value: Scalar, shown: Expr) -> _Truth:
        if place.kind == "tags":
            return None  # a list (or null) never compares
        kind, literal = self.literal(place, value, shown)
        if kind == "never" or (kind == "bool" and op not in ("==", "!=")):
            return None
        if kind == "bool" and op == "!=":
            op, literal = "==", not literal
        path = place.path
        if op == "==":
            test = {path: literal} if kind == "str" else {path: {"$gte": literal,
                                                                 "$lte": literal}}
        elif op == "!=":
            test = _outside(path, [literal])
        else:
            test = {path: {_RANGE_OPS[op]: literal}}
        return _scalar(place, test)

    def classes(self, place: _Place, values: Iterable[Scalar], shown: Expr
                ) -> dict[str, list[Any]]:
        """The literals by class, each once, in order."""
        found: dict[str, list[Any]] = {}
        seen: set[tuple[str, bool, Any]] = set()
        for value in values:
            kind, literal = self.literal(place, value, shown)
            # 1 and 1.0 are one literal (equal hashes), 1 and True are not (the bool flag)
            key = (kind, isinstance(literal, bool), literal)
            if key not in seen:
                seen.add(key)
                found.setdefault(kind, []).append(literal)
        return found

    def in_(self, place: _Place, values: tuple[Scalar, ...], shown: Expr) -> _Truth:
        found = self.classes(place, values, shown)
        found.pop("never", None)
        if place.kind == "tags":  # has any of them
            members = [v for kind in ("str", "num", "bool") for v in found.get(kind, ())]
            if not members:
                return None
            return {"tags": members[0] if len(members) == 1 else {"$in": members}}
        path = place.path
        branches: list[_Truth] = []
        strings = found.get("str", [])
        if strings:
            branches.append({path: strings[0] if len(strings) == 1 else {"$in": strings}})
        numbers = found.get("num", [])
        if len(numbers) == 1:
            branches.append({path: {"$gte": numbers[0], "$lte": numbers[0]}})
        elif numbers:
            branches.append({path: {"$in": numbers, "$gte": min(numbers),
                                    "$lte": max(numbers)}})
        booleans = found.get("bool", [])
        if booleans:
            branches.append({path: {"$gte": min(booleans), "$lte": max(booleans)}})
        truth = _or(branches)
        return None if truth is None else _scalar(place, truth)

    def not_in(self, place: _Place, values: tuple[Scalar, ...], shown: Expr) -> _Truth:
        """TRUE when every ``==`` is FALSE: the value has the class of every literal and equals
        none of them."""
        found = self.classes(place, values, shown)
        if place.kind == "tags":  # a list that has none of them
            members = [v for kind in ("str", "num", "bool") for v in found.get(kind, ())]
            return {"tags": {"$nin": [*members, None]}}
        if len(found) != 1 or "never" in found:
            return None
        (kind, literals), = found.items()
        if kind == "bool":
            if len(literals) == 2:
                return None
            other = not literals[0]
            return _scalar(place, {place.path: {"$gte": other, "$lte": other}})
        return _scalar(place, _outside(place.path, literals))

    def contains(self, place: _Place, value: Scalar, shown: Expr, negated: bool) -> _Truth:
        self.refuse_text(place, shown, "'contains'")
        kind, literal = self.literal(_Place(place.path, place.kind), value, shown)
        if kind == "str" and any(0xD800 <= ord(character) <= 0xDFFF for character in literal):
            raise self.error("the text holds a lone surrogate, which no UTF-8 text (what the "
                             "server searches) holds", shown.span)
        path = place.path
        if place.kind == "tags":
            members = [] if kind == "never" else [literal]
            if negated:
                return {"tags": {"$nin": [*members, None]}}
            return {"tags": literal} if members else None
        lists = place.kind == "list"
        if negated:
            branches: list[_Truth] = []
            if kind == "str":
                branches.append(_scalar(place, {path: {"$gte": ""},
                                                "$nor": [{path: {"$regex": escape(literal)}}]},
                                        prefixes=False))
            if lists and kind == "bool":  # an array without the boolean
                branches.append({path: {"$gte": []}, "$nor": [_boolean(path, literal)]})
            elif lists:  # an array without an element equal to the literal
                branches.append({path: {"$gte": []} if kind == "never"
                                 else {"$gte": [], "$ne": literal}})
            truth = _or(branches)
            return None if truth is None else _guard_prefixes(place, truth)
        if kind == "never":
            return None
        branches = []
        if kind == "str":
            branches.append(_scalar(place, {path: {"$regex": escape(literal)}},
                                    prefixes=False))
            if lists:
                branches.append({path: literal})
        elif lists:
            element = _boolean(path, literal) if kind == "bool" else {path: literal}
            branches.append(_merge(element, {f"{path}.0": {"$exists": True}}))
        truth = _or(branches)
        return None if truth is None else _guard_prefixes(place, truth)

    def match(self, place: _Place, pattern: str, shown: Expr, negated: bool) -> _Truth:
        self.refuse_text(place, shown, "'=~'")
        if place.kind == "tags":
            return None  # a list (or null) never matches
        try:
            translated = to_pcre(pattern, target="mongo")
        except TargetError as error:
            raise self.error(error.message, shown.span, error.hint) from None
        self.check_backtracking(pattern, "MongoDB's PCRE", shown.span)
        path = place.path
        if negated:
            return _scalar(place, {path: {"$gte": ""}, "$nor": [{path: {"$regex": translated}}]})
        return _scalar(place, {path: {"$regex": translated}})

    def refuse_text(self, place: _Place, shown: Expr, what: str) -> None:
        if place.reads == "time":
            raise self.error(
                f"{what} reads created_at as text, which run documents hold in another form",
                shown.span, "compare created_at with a date, or use 'within last'")

    def within(self, place: _Place, node: Within, shown: Expr, negated: bool) -> _Truth:
        if place.reads != "time":
            raise self.error("'within last' applies to created_at only", shown.span)
        cutoff = node.duration.before(self.now)
        bound = iso_timestamp(cutoff)
        if negated:
            return None if cutoff == EARLIEST else {place.path: {"$lt": bound}}
        return {place.path: {"$gte": bound}}


# Filters -----------------------------------------------------------------------------------------

def _scalar(place: _Place, test: Filter, *, prefixes: bool = True) -> Filter:
    """``test`` (true only for single values of one type) where the key may hold an array:
    then no non-empty array, and (``prefixes``) no array on the way to a nested key."""
    if place.kind == "list":
        test = _merge(test, {f"{place.path}.0": {"$exists": False}})
    return _guard_prefixes(place, test) if prefixes else test


def _guard_prefixes(place: _Place, truth: Filter) -> Filter:
    if not place.prefixes:
        return truth
    return _merge(truth, {"$nor": [{prefix: {"$gte": []}} for prefix in place.prefixes]})


def _boolean(path: str, literal: bool) -> Filter:
    """The value, or an element, is this boolean: type-bracketed, as ``{path: true}`` is not
    in every engine (some take ``1`` for ``true``)."""
    return {path: {"$gte": True} if literal else {"$lte": False}}


def _is_null(place: _Place) -> Filter:
    """Missing or null; through a key on the way that is not an object, missing too."""
    if place.kind != "list":
        return {place.path: None}
    own: Filter = {place.path: None, f"{place.path}.0": {"$exists": False}}
    if not place.prefixes:
        return own
    not_objects: list[Filter] = [{"$nor": [{prefix: {"$gte": {}}}]} for prefix in place.prefixes]
    arrays: list[Filter] = [{prefix: {"$gte": []}} for prefix in place.prefixes]
    return {"$or": [own, *not_objects, *arrays]}


def _is_not_null(place: _Place) -> Filter:
    if place.kind != "list":
        return {place.path: {"$ne": None}}
    held: Filter = {"$or": [{place.path: {"$ne": None}}, {f"{place.path}.0": {"$exists": True}}]}
    if not place.prefixes:
        return held
    objects: Filter = {prefix: {"$gte": {}} for prefix in place.prefixes}
    return _guard_prefixes(place, _merge(objects, held))


def _outside(path: str, literals: Sequence[Any]) -> Filter:
    """A value of the literals' type equal to none of them: the open intervals around them."""
    ordered = sorted(literals)
    intervals: list[Filter] = [{path: {"$lt": ordered[0]}}]
    intervals += [{path: {"$gt": low, "$lt": high}}
                  for low, high in itertools.pairwise(ordered)]
    intervals.append({path: {"$gt": ordered[-1]}})
    return {"$or": intervals}


def _and(parts: Iterable[_Truth]) -> _Truth:
    """All of ``parts``: None when one is None; keys merged into one document where they can
    be (MongoDB ANDs the keys of a document, and the operators of a key)."""
    merged: Filter = {}
    for part in parts:
        if part is None:
            return None
        merged = _merge(merged, part)
    return merged


def _merge(left: Filter, right: Filter) -> Filter:
    """One filter for ``left`` and ``right`` together."""
    merged = dict(left)
    rest: list[Filter] = list(merged.pop("$and", []))
    for key, condition in right.items():
        if key == "$and":
            rest.extend(condition)
        elif key not in merged:
            merged[key] = condition
        elif _text(merged[key]) == _text(condition):
            continue  # the same guard twice (``==`` would take true for 1)
        elif key == "$nor":
            merged[key] = [*merged[key], *condition]
        elif _operators(merged[key]) and _operators(condition) and not (
                merged[key].keys() & condition.keys()):
            merged[key] = {**merged[key], **condition}
        else:
            rest.append({key: condition})
    if rest:
        merged["$and"] = rest
    return merged


def _text(condition: Any) -> str:
    return json.dumps(condition, sort_keys=True)


def _operators(condition: Any) -> bool:
    return isinstance(condition, dict) and bool(condition) and all(
        key.startswith("$") for key in condition)


def _or(parts: Iterable[_Truth]) -> _Truth:
    """Any of ``parts``: None when all are None, ``{}`` when one is."""
    branches: list[Filter] = []
    for part in parts:
        if part is None:
            continue
        if not part:
            return {}
        if list(part) == ["$or"]:
            branches.extend(part["$or"])
        else:
            branches.append(part)
    if not branches:
        return None
    return branches[0] if len(branches) == 1 else {"$or": branches}


def _show(value: Scalar) -> str:
    return str(value) if not isinstance(value, str) else json.dumps(value)


# Documents ---------------------------------------------------------------------------------------

def mongo_document(run: Any) -> dict[str, Any]:
    """A run (any shape ``wsquery.evaluate`` reads, as a mapping) as the document runs-API
    filters are matched against: its run keys under W&B's names at the top, ``config`` and
    ``summary_metrics`` unwrapped, ``createdAt`` as ``iso_timestamp`` text. A ``WsqueryError``
    when ``createdAt`` is not a date (W&B's always is)."""
    if not isinstance(run, Mapping):
        raise WsqueryError(f"a run document is made from a mapping, not {type(run).__name__}")
    record = adapt(run)
    document = {key: value for key, value in run_keys(record).items()
                if key not in _SECTION_KEYS}
    created = document.get("createdAt")
    if created is not None:
        moment = created if isinstance(created, datetime) else (
            parse_datetime(created) if isinstance(created, str) else None)
        if moment is None:
            raise WsqueryError(f"createdAt {created!r} is not an ISO-8601 date")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        document["createdAt"] = iso_timestamp(moment)
    config = dict(record.config.items()) if isinstance(record.config, Mapping) else {}
    if RUNS_API_CONFIG_KEYS_WITH_VALUE:
        config = {key: {"value": value} for key, value in config.items()}
    document["config"] = config
    summary = record.summary
    document["summary_metrics"] = dict(summary.items()) if isinstance(summary, Mapping) else {}
    return document


def order_key(order: str) -> OrderKey:
    """The order key a runs-API ``order`` string (``-createdAt``, ``+summary_metrics.loss``)
    stands for."""
    ascending = not order.startswith("-")
    path = order.lstrip("+-")
    section, dot, rest = path.partition(".")
    if dot and section == "summary_metrics":
        return OrderKey(Field("summary", tuple(rest.split("."))), ascending)
    if dot and section == "config":
        segments = rest.split(".")
        if RUNS_API_CONFIG_KEYS_WITH_VALUE and len(segments) > 1 and segments[1] == "value":
            del segments[1]
        return OrderKey(Field("config", tuple(segments)), ascending)
    return OrderKey(Field("run", tuple(path.split("."))), ascending)
