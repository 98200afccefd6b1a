"""wsquery: say which runs a W&B workspace shows, in one line of text.

``parse`` turns text into a typed ``Query``; ``compile`` turns it into the JSON a workspace run
set stores; ``decompile`` reads that JSON back; ``evaluate`` and ``matches`` apply a query to
runs locally and define what every query means. Heavy modules load on first use, so importing
wsquery stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:  # every name the façade serves, for type checkers (``X as X``: kept out of
    # ``__all__`` but still served)
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from wsquery.apps.assist import Completions
    from wsquery.ast import Query
    from wsquery.build import and_, field, not_, or_
    from wsquery.compilers.mongo import MongoQuery
    from wsquery.compilers.runs_api import RunsApiQuery
    from wsquery.compilers.runset.write import RunsetQuery
    from wsquery.errors import (
        AuthenticationError as AuthenticationError,
    )
    from wsquery.errors import (
        DecompileError as DecompileError,
    )
    from wsquery.errors import (
        Diagnostic,
        WsqueryError,
    )
    from wsquery.errors import (
        InvalidInputError as InvalidInputError,
    )
    from wsquery.errors import (
        NetworkError as NetworkError,
    )
    from wsquery.errors import (
        NotFoundError as NotFoundError,
    )
    from wsquery.errors import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from wsquery.errors import (
        Problem as Problem,
    )
    from wsquery.errors import (
        QuerySyntaxError as QuerySyntaxError,
    )
    from wsquery.errors import (
        QueryValidationError as QueryValidationError,
    )
    from wsquery.errors import (
        RateLimitedError as RateLimitedError,
    )
    from wsquery.errors import (
        ServerError as ServerError,
    )
    from wsquery.errors import (
        TargetError as TargetError,
    )
    from wsquery.errors import (
        TargetWarning as TargetWarning,
    )
    from wsquery.errors import (
        WorkspaceError as WorkspaceError,
    )
    from wsquery.errors import (
        WorkspaceValueError as WorkspaceValueError,
    )
    from wsquery.errors import (
        WsqueryWarning as WsqueryWarning,
    )
    from wsquery.version import __version__ as __version__
    from wsquery.wandb.runs import runs
    from wsquery.wandb.views import (
        BarPlot as BarPlot,
    )
    from wsquery.wandb.views import (
        LinePlot as LinePlot,
    )
    from wsquery.wandb.views import (
        RunSettings as RunSettings,
    )
    from wsquery.wandb.views import (
        ScalarChart as ScalarChart,
    )
    from wsquery.wandb.views import (
        Section as Section,
    )
    from wsquery.wandb.views import (
        SectionPanelSettings as SectionPanelSettings,
    )
    from wsquery.wandb.views import (
        Workspace as Workspace,
    )
    from wsquery.wandb.views import (
        WorkspaceSettings as WorkspaceSettings,
    )
    from wsquery.wandb.views import (
        list_views,
    )


#: The verbs, the query and its builder, what ``complete`` and ``check`` give, and the errors'
#: base. The rest is in the subpackages and, as before, reachable here too (``_LAZY``):
#: ``wsquery.errors`` (each error), ``wsquery.wandb.views`` (``Workspace``, its sections and
#: panels), ``wsquery.compilers`` (each target's compiled result).
__all__ = [
    "Completions",
    "Diagnostic",
    "Query",
    "WsqueryError",
    "and_",
    "check",
    "compile",
    "complete",
    "decompile",
    "evaluate",
    "field",
    "from_wandb_workspaces",
    "list_views",
    "matches",
    "normalize",
    "not_",
    "or_",
    "parse",
    "runs",
    "targets",
    "to_frame",
    "to_sqlite",
    "to_wandb_workspaces",
]

#: Names served by modules loaded on first use, so ``import wsquery`` stays cheap.
_LAZY = {
    "Query": "ast",
    "__version__": "version",
    "Completions": "apps.assist",
    **dict.fromkeys(["AuthenticationError", "DecompileError", "InvalidInputError",
                     "Diagnostic", "NetworkError", "NotFoundError",
                     "PermissionDeniedError", "Problem", "QuerySyntaxError",
                     "QueryValidationError", "RateLimitedError", "ServerError", "TargetError",
                     "TargetWarning", "WorkspaceError", "WorkspaceValueError", "WsqueryError",
                     "WsqueryWarning"], "errors"),
    "RunsetQuery": "compilers.runset.write",
    **dict.fromkeys(["field", "and_", "or_", "not_"], "build"),
    "MongoQuery": "compilers.mongo",
    "RunsApiQuery": "compilers.runs_api",
    "runs": "wandb.runs",
    **dict.fromkeys(["BarPlot", "LinePlot", "RunSettings", "ScalarChart", "Section",
                     "SectionPanelSettings", "Workspace", "WorkspaceSettings", "list_views"],
                    "wandb.views"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wsquery' has no attribute {name!r}")
    value = getattr(_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Every name, the lazily loaded ones too, so that completion (IPython's, an editor's)
    offers the whole API."""
    return sorted(set(globals()) | set(__all__) | set(_LAZY))


def _module(name: str) -> Any:
    """The wsquery module ``name``, imported on first use: an import statement in every call
    would cost more than some calls' whole work."""
    module = _modules.get(name)
    if module is None:
        from importlib import import_module

        module = _modules[name] = import_module(f".{name}", __name__)
    return module


_modules: dict[str, Any] = {}


def parse(text: str) -> Query:
    """Parse query text into a ``Query``. ``str(query)`` is its canonical text."""
    return _module("syntax.parser").parse(text)  # type: ignore[no-any-return]


def normalize(query: str | Query) -> Query:
    """The same query with ``not`` pushed to the leaves, and/or flattened, duplicates dropped,
    constants folded and ``x == a or x == b`` merged into ``x in [a, b]``."""
    return _module("semantics.normalize").normalize(_as_query(query))  # type: ignore[no-any-return]


@overload
def compile(
    query: str | Query, target: Literal["runset", "workspace"] = "runset", **options: Any
) -> RunsetQuery: ...


@overload
def compile(
    query: str | Query, target: Literal["mongo"], **options: Any
) -> MongoQuery: ...


@overload
def compile(
    query: str | Query, target: Literal["runs-api"], **options: Any
) -> RunsApiQuery: ...


@overload
def compile(
    query: str | Query, target: str, **options: Any
) -> RunsetQuery | RunsApiQuery | MongoQuery: ...


def compile(
    query: str | Query, target: str = "runset", **options: Any
) -> RunsetQuery | RunsApiQuery | MongoQuery:
    """Compile a query for ``target``: ``"runset"`` (also called ``"workspace"``) gives a
    ``RunsetQuery`` whose ``to_json()`` is what goes into a saved view's ``runSets[0]``;
    ``"runs-api"`` gives a
    ``RunsApiQuery`` whose ``to_json()`` holds the arguments of ``wandb.Api().runs()``, as
    W&B's SDK writes them; ``"mongo"`` gives a ``MongoQuery`` for a MongoDB collection of run
    documents, exact under MongoDB's own rules.

    Run-set options: ``format="filterv2"|"legacy"``, ``exact_ops=False`` (keep ``<``/``>``
    instead of the UI's ``<=``/``>=``), ``strict=False`` (turn warnings into errors),
    ``limit_as_max_runs=False`` (a ``limit`` becomes the view's max-runs setting).
    Runs-API and mongo options: ``now=None`` (the moment ``within last`` counts back from;
    default the current time), ``strict=False`` (for the runs API, also refuse what W&B's
    meaning for runs without the key is not known of).
    """
    return _module("compilers.registry").compile(query, target, **options)  # type: ignore[no-any-return]


def complete(text: str, cursor: int | None = None, *, runs: Iterable[Any] | None = None,
             fields: Mapping[str, Iterable[Any]] | Iterable[str] | None = None) -> Completions:
    """What may come at ``cursor`` (default: the end) of query text, as the grammar allows it
    there: the span the word being typed covers, and each candidate's text and kind. ``runs``
    or ``fields`` (field text -> values seen) give the keys and values to offer."""
    return _module("apps.assist").complete(  # type: ignore[no-any-return]
        text, cursor, runs=runs, fields=fields)


def check(text: str, target: str | None = "runset", *, runs: Iterable[Any] | None = None,
          fields: Mapping[str, Iterable[Any]] | Iterable[str] | None = None,
          **options: Any) -> list[Diagnostic]:
    """Every problem of query text as data, without raising: syntax errors, literals no run
    can match, and the errors and warnings of compiling for ``target`` (None: none), each
    with its span, message, hint, what was expected and its severity. Given ``runs`` or
    ``fields`` (as ``complete`` takes them), also a warning on each config or summary key
    none of them holds, naming the closest keys they do: a misspelled key selects nothing."""
    return _module("apps.assist").check(  # type: ignore[no-any-return]
        text, target, runs=runs, fields=fields, **options)


def targets() -> list[str]:
    """The names ``compile(target=...)`` takes: wsquery's own targets, then those other
    packages add (entry-point group ``wsquery.targets``) or
    ``wsquery.compilers.registry.register``."""
    return _module("compilers.registry").names()  # type: ignore[no-any-return]


def decompile(data: dict[str, Any]) -> Query:
    """Read run-set JSON back into a ``Query``: a filterV2 filter, a legacy filter tree, or a
    whole run set with ``filters``, ``grouping``, ``sort`` and ``search``."""
    return _module("compilers.runset.read").decompile(data)  # type: ignore[no-any-return]


def evaluate(query: str | Query, runs: Iterable[Any], *, now: datetime | None = None) -> list[Any]:
    """The runs that match ``query``, in its ``order by`` order (else as given).

    Runs are W&B GraphQL run JSON or plain dicts (see the README); ``now`` anchors
    ``within last`` and defaults to the current time."""
    from wsquery.semantics.evaluate import evaluate as evaluate_runs

    return evaluate_runs(_as_query(query), runs, now=now)


def matches(query: str | Query, run: Any, *, now: datetime | None = None) -> bool:
    """Whether one run matches ``query``'s filter (unknown counts as no match)."""
    from wsquery.semantics.evaluate import matches as run_matches

    return run_matches(_as_query(query), run, now=now)


def from_wandb_workspaces(text: str) -> Query:
    """Read a filter expression of W&B's wandb-workspaces library, such as
    ``Config('lr') == 0.1 and Metric('State') == 'finished'``, as a ``Query``."""
    from wsquery.compilers.wandb_workspaces.read import from_wandb_workspaces as read

    return read(text)


def to_wandb_workspaces(query: str | Query) -> str:
    """Write a query as a wandb-workspaces filter expression; what that library cannot say is
    a ``TargetError``."""
    from wsquery.compilers.wandb_workspaces.write import to_wandb_workspaces as write

    return write(query)


def to_frame(runs: Iterable[Any], backend: str = "pandas") -> Any:
    """A run table of ``runs`` (any shape ``evaluate`` takes): one row per run, typed columns
    named as the language names them (``id``, ``created_at``, ``config.lr``); ``backend`` is
    ``"pandas"``, ``"polars"`` or ``"arrow"``. The ``sql``, ``polars`` and ``pandas`` targets
    select from it exactly the rows ``evaluate`` selects."""
    return _module("compilers.run_columns").to_frame(runs, backend)


def to_sqlite(runs: Iterable[Any], connection: Any, table: str = "runs") -> Any:
    """Write ``runs`` as a run table ``table`` (created here) into an ``sqlite3`` connection;
    the shape it returns is what ``compile(..., target="sql", dialect="sqlite", columns=...)``
    takes, so that a key no run has reads as missing, as ``evaluate`` reads it."""
    return _module("compilers.sql").to_sqlite(runs, connection, table)


def _as_query(query: str | Query) -> Query:
    if isinstance(query, str):
        return parse(query)
    if isinstance(query, _module("ast").Query):
        return query  # type: ignore[no-any-return]
    raise TypeError(f"expected query text or a Query, not {type(query).__name__}")
