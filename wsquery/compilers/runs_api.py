"""Query -> ``RunsApiQuery``: the ``filters``, ``order`` and ``per_page`` of W&B's public runs
API (``wandb.Api().runs``), written as W&B's own SDK writes them (``wandb/runs.py`` fetches
runs with them).

**What is known.** W&B's SDK turns the filter tree a run set stores into runs-API filters in
``wandb/apis/public/query_generator.py`` (``QueryGenerator.filter_to_mongo``); this target
writes the same forms: ``{path: value}`` for ``==``, ``{path: {"$ne"|"$gt"|"$gte"|"$lt"|"$lte"|
"$in"|"$nin"|"$regex": value}}``, ``$and``/``$or``, paths ``config.<key>``,
``summary_metrics.<key>`` and a run key's own name (``displayName``, ``createdAt``, ...), a tag
as ``{"tags": name}``, a missing tag as ``{"$or": [{"tags": null}, {"tags": {"$ne": name}}]}``.
Beyond those it uses only operators ``Api.runs``' docstring lists (``$nor`` for ``!~``) and
orders as that docstring spells them (``created_at``, ``config.<key>.value``,
``summary_metrics.<key>``). Regexes are RE2, the server's dialect and the language's, so a
pattern goes out as it was written.

**What is not known** is how W&B's server treats a run that lacks the key (or holds null)
under ``$ne``, ``$nin``, ``$nor`` and ``{path: null}``: MongoDB would select it, SQL would not,
and ``evaluate`` selects it only for ``is null``. Those forms (``!=``, ``not in``, ``!~``,
``is null``, ``is not null`` on any key but ``tags``) come with a warning, and ``strict=True``
refuses them; so does ``contains`` on a config or summary key, whose value may be text or a
list (MongoDB's element match and regex blur the two). Everything else selects what
``evaluate`` selects on W&B's runs, given that a run's ``tags`` is always a list of strings,
``state`` is lower case, ``createdAt`` is set and the config and summary keys a query reads
hold no lists: MongoDB matches a list element by element (``config.lr == 1`` selects
``[1, "a"]``), and whether W&B does is not known either.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, assert_never

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
    OrderKey,
    Query,
    Scalar,
    Span,
    Within,
)
from wsquery.compilers.base import Context, checked_now, cover, limit_span
from wsquery.compilers.notebook import ShownInNotebooks
from wsquery.errors import TargetWarning
from wsquery.facts.attributes import kind, typed
from wsquery.facts.formats import (
    RUNS_API_CONFIG_KEYS_WITH_VALUE,
    RUNS_API_ORDER_NAMES,
    iso_timestamp,
)
from wsquery.semantics.normalize import NEGATED_OP, TAGS, normalize

if TYPE_CHECKING:
    pass

#: What ``compile(..., target=...)`` calls this target.
TARGET = "runs-api"
#: The order of a query without ``order by``: newest first, as the language orders.
DEFAULT_ORDER = "-" + RUNS_API_ORDER_NAMES.get("createdAt", "createdAt")
#: ``Api.runs``' own page size, the most a ``limit`` asks for at once.
DEFAULT_PER_PAGE = 50

Filter: TypeAlias = "dict[str, Any]"

_SECTION_PATHS = {"config": "config.", "summary": "summary_metrics."}
_RANGE_OPS = {"!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
#: A filter no run matches, from the documented operators: no run id is in the empty list.
NO_RUN: Filter = {"name": {"$in": []}}


@attrs.frozen(slots=True)
class RunsApiQuery(ShownInNotebooks):
    """A query as ``wandb.Api().runs`` takes it: ``api.runs(path, **q.to_json())``.

    ``warnings`` say what was left out (grouping, order keys after the first, the limit) and
    which parts W&B's meaning for runs without the key is not known of. The dict is this
    object's own."""

    filters: Filter
    order: str = DEFAULT_ORDER
    per_page: int | None = None
    warnings: tuple[TargetWarning, ...] = ()
    #: The query compiled (for its notebook form; not part of the result's value).
    query: Query | None = attrs.field(default=None, eq=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The keyword arguments of ``Api.runs``: ``filters``, ``order``, and ``per_page``
        when the query has a ``limit``."""
        arguments: dict[str, Any] = {"filters": self.filters, "order": self.order}
        if self.per_page is not None:
            arguments["per_page"] = self.per_page
        return arguments


def compile_runs_api(query: Query, *, text: str | None = None, now: datetime | None = None,
                     strict: bool = False, **unknown: object) -> RunsApiQuery:
    """``query`` as runs-API arguments. ``now`` anchors ``within last`` (default: the current
    time; naive means UTC); ``strict`` turns warnings into ``TargetError``\\ s; ``text``, the
    source of ``query``, lets errors and warnings show where they point."""
    compiler = _Compiler(text, checked_now(TARGET, now, strict, unknown), strict)
    if query.group_by:
        compiler.warn("the runs API does not group runs: group by was left out",
                      cover([field.span for field in query.group_by]),
                      "group the runs it returns yourself")
    normal = normalize(query).filter
    filters = {} if normal is None else compiler.expr(normal)
    per_page = None
    if query.limit is not None:
        per_page = min(query.limit, DEFAULT_PER_PAGE)
        compiler.warn(f"Api.runs has no limit: it returns every matching run, so limit "
                      f"{query.limit} only sets its page size (per_page={per_page})",
                      limit_span(text),
                      f"take the first {query.limit} runs it returns, as wsquery.runs does")
    return RunsApiQuery(filters, compiler.order(query.order_by), per_page,
                        tuple(compiler.warnings), query)


class _Compiler(Context):
    """One compilation: its options, and the warnings given so far."""

    __slots__ = ("now",)

    def __init__(self, text: str | None, now: datetime, strict: bool) -> None:
        super().__init__(TARGET, text, strict)
        self.now = now

    def unknown_when_missing(self, node: Expr, field: Field) -> None:
        """Warn that W&B's meaning of ``node`` for runs without ``field`` is not known."""
        if field == TAGS:
            return  # every W&B run has a list of tags
        self.warn(f"{node}: whether the runs API selects runs without {field} (or with null "
                  "there) is not known; MongoDB would, evaluate does "
                  + ("so too" if isinstance(node, IsNull) else "not"), node.span,
                  "check the runs it returns with wsquery.evaluate, as wsquery.runs() does")

    # Order -----------------------------------------------------------------------------------

    def order(self, keys: tuple[OrderKey, ...]) -> str:
        if not keys:
            return DEFAULT_ORDER
        first, *rest = keys
        if rest:
            dropped = ", ".join(str(key) for key in rest)
            self.warn(f"the runs API orders by one key: {dropped} was left out",
                      cover([key.span for key in rest]),
                      "sort the runs it returns by the other keys yourself")
        field = first.field
        path = self.path(field, first.span)
        if field.section == "config":  # W&B keeps a config value under "value"
            head, *tail = field.path
            path = ".".join(["config", head, "value", *tail])
        elif field.section == "run":
            path = RUNS_API_ORDER_NAMES.get(field.key, field.key)
        return ("+" if first.ascending else "-") + path

    # Filters ---------------------------------------------------------------------------------

    def path(self, field: Field, span: Span) -> str:
        """The runs-API path of ``field``: ``config.<key>``, ``summary_metrics.<key>`` or a run
        key's own name; a ``TargetError`` for keys no path reaches."""
        for segment in field.path:
            if not segment or "." in segment or segment.startswith("$"):
                raise self.error(
                    f"{field} names the key {segment!r}, which no runs-API path can reach",
                    span, "the runs API cannot reach keys with dots (wandb issues #2819, "
                    "#3087): filter or sort the fetched runs with wsquery.evaluate")
        if field.section == "run":
            return field.key
        segments = list(field.path)
        if field.section == "config" and RUNS_API_CONFIG_KEYS_WITH_VALUE:
            segments.insert(1, "value")
        return _SECTION_PATHS[field.section] + ".".join(segments)

    def expr(self, node: Expr) -> Filter:
        match node:
            case And():
                return _and([self.expr(operand) for operand in node.operands])
            case Or():
                return {"$or": [self.expr(operand) for operand in node.operands]}
            case Constant():
                return {} if node.value else dict(NO_RUN)
            case Not():
                return self.negation(node.operand, node)
            case Compare():
                return self.compare(node.field, node.op, node.value, node)
            case In():
                return {self.path(node.field, node.span): {"$in": self.values(node)}}
            case Contains():
                return self.contains(node)
            case Match():
                return {self.path(node.field, node.span): {"$regex": node.pattern}}
            case IsNull():
                self.unknown_when_missing(node, node.field)
                return {self.path(node.field, node.span): None}
            case Within():
                return {self.path(node.field, node.span): {"$gte": self.cutoff(node)}}
            case _:
                assert_never(node)

    def negation(self, node: Expr, outer: Not) -> Filter:
        """``not node``; normalizing leaves ``not`` on leaves only (the rest follows De
        Morgan's laws, which hold in three-valued logic)."""
        match node:
            case And():
                return {"$or": [self.negation(operand, outer) for operand in node.operands]}
            case Or():
                return _and([self.negation(operand, outer) for operand in node.operands])
            case Constant():
                return dict(NO_RUN) if node.value else {}
            case Not():
                return self.expr(node.operand)
            case Compare():
                return self.compare(node.field, NEGATED_OP[node.op], node.value, outer)
            case In():
                self.unknown_when_missing(outer, node.field)
                return {self.path(node.field, node.span): {"$nin": self.values(node)}}
            case Contains() if node.field == TAGS:
                tag = self.literal(node.field, node.value, outer)
                return {"$or": [{"tags": None}, {"tags": {"$ne": tag}}]}
            case Match():
                self.unknown_when_missing(outer, node.field)
                return {"$nor": [{self.path(node.field, node.span): {"$regex": node.pattern}}]}
            case IsNull():
                self.unknown_when_missing(outer, node.field)
                return {self.path(node.field, node.span): {"$ne": None}}
            case Within():
                return {self.path(node.field, node.span): {"$lt": self.cutoff(node)}}
            case Contains():
                self.warn(f"{outer}: the runs API's test is not quite the language's, and "
                          "whether it selects runs without the key is not known", outer.span,
                          "check the runs it returns with wsquery.evaluate, as wsquery.runs() "
                          "does")
                path = self.path(node.field, node.span)
                literal = self.literal(node.field, node.value, outer)
                if not isinstance(literal, str):
                    return {path: {"$ne": literal}}
                from wsquery.regex import escape

                return {"$nor": [{path: {"$regex": escape(literal)}}]}
            case _:
                assert_never(node)

    def compare(self, field: Field, op: str, value: Scalar, shown: Expr) -> Filter:
        literal = self.literal(field, value, shown)
        if isinstance(literal, bool) and op not in ("==", "!="):
            return dict(NO_RUN)  # true and false have no order: never TRUE
        path = self.path(field, shown.span)
        if op == "==":
            return {path: literal}
        if op == "!=":
            self.unknown_when_missing(shown, field)
        return {path: {_RANGE_OPS[op]: literal}}

    def contains(self, node: Contains) -> Filter:
        """A tag as W&B's SDK writes it; a substring as an escaped regex; a list member as
        MongoDB's element match (``{path: value}``). Run attributes hold single strings; a
        config or summary value may be either, where the two tests blur."""
        literal = self.literal(node.field, node.value, node)
        if node.field == TAGS:
            return {"tags": literal}
        path = self.path(node.field, node.span)
        if node.field.section != "run":
            blur = ("on a list it also finds the text inside an element" if
                    isinstance(literal, str) else "it also selects a single value equal to it")
            self.warn(f"{node}: the runs API's test is not quite the language's: {blur}",
                      node.span, "check the runs it returns with wsquery.evaluate, as "
                      "wsquery.runs() does")
        if not isinstance(literal, str):
            return {path: literal}
        from wsquery.regex import escape

        return {path: {"$regex": escape(literal)}}

    def values(self, node: In) -> list[Any]:
        return [self.literal(node.field, value, node) for value in node.values]

    def literal(self, field: Field, value: Scalar, shown: Expr) -> Any:
        """A literal as the runs API compares it: dates as ISO-8601 UTC text, durations and
        the runtime in seconds, states in lower case; other literals as they are."""
        literal_class, literal = typed(field, value)
        if literal_class == "time":
            return iso_timestamp(literal)
        if kind(field) == "time" and isinstance(value, str):
            raise self.error(f"{value!r} is not a date", shown.span)
        if isinstance(value, Duration):
            if isinstance(literal, float) and not math.isfinite(literal):
                raise self.error(f"{value} is more seconds than JSON can hold", shown.span,
                                 "use a shorter duration")
            return int(literal) if isinstance(literal, float) and literal.is_integer() else literal
        return literal if literal_class == "str" else value

    def cutoff(self, node: Within) -> str:
        return iso_timestamp(node.duration.before(self.now))


def _and(parts: list[Filter]) -> Filter:
    """All of ``parts``: one document when their keys differ (as a filter is written by
    hand), else ``$and``."""
    merged: Filter = {}
    for part in parts:
        if merged.keys() & part.keys():
            return {"$and": parts}
        merged.update(part)
    return merged


#: Run keys by the spelling of an order string (``created_at`` -> ``createdAt``).
_RUN_KEYS_ORDERED = {spelled: key for key, spelled in RUNS_API_ORDER_NAMES.items()}


# Reading orders back -----------------------------------------------------------------------------

def order_key(order: str) -> OrderKey:
    """The order key a runs-API ``order`` string stands for (``-created_at``,
    ``+config.lr.value``, ``-summary_metrics.loss``, ``+displayName``)."""
    ascending = not order.startswith("-")
    path = order.lstrip("+-")
    section, dot, rest = path.partition(".")
    if dot and section == "summary_metrics":
        return OrderKey(Field("summary", tuple(rest.split("."))), ascending)
    if dot and section == "config":
        segments = rest.split(".")
        if len(segments) > 1 and segments[1] == "value":
            del segments[1]
        return OrderKey(Field("config", tuple(segments)), ascending)
    return OrderKey(Field("run", (_RUN_KEYS_ORDERED.get(path, path),)), ascending)
