"""Target name -> the compiler that writes a query for it: the one registry that
``wsquery.compile``, ``wsquery.targets()``, the CLI's ``--target`` and the REPL's ``:target``
read.

A target is any object with a ``name``, a one-line ``description`` and ``compile(query, *,
text=None, **options)`` returning a result with ``to_json()`` and ``warnings`` (``Compiled``).
wsquery's own targets are listed here by module, so that naming them imports nothing; other
packages add targets through the entry-point group ``wsquery.targets``, each entry point naming
a ``Target`` object (loaded the first time a name is looked up that wsquery does not know, or
when every target is listed).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Literal, Protocol

import attrs

from wsquery.ast import Query
from wsquery.errors import TargetError, TargetWarning

#: The entry-point group other packages register targets in.
ENTRY_POINT_GROUP = "wsquery.targets"


class Compiled(Protocol):
    """What a target's ``compile`` gives: JSON to hand on, and what was said about it."""

    @property
    def warnings(self) -> tuple[TargetWarning, ...]: ...

    def to_json(self) -> Any: ...


@attrs.frozen
class Option:
    """One option a target's ``compile`` takes: the CLI offers it as ``--name`` (``--option
    name=value`` for a plugin's), and reads the value as ``kind`` says."""

    name: str
    #: ``flag`` (True or False), ``choice`` (one of ``choices``), ``text``, or ``time`` (an
    #: ISO-8601 moment, given to ``compile`` as an aware datetime).
    kind: Literal["flag", "choice", "text", "time"]
    help: str
    choices: tuple[str, ...] = ()


STRICT = Option("strict", "flag", "turn warnings into errors")
NOW = Option("now", "time", "the moment 'within last' counts back from (default: now)")


class Target(Protocol):
    """A compile target: ``compile`` raises ``TargetError`` for what it cannot express and
    for options it does not know. A target may also list its ``options`` (``Option``)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def compile(self, query: Query, *, text: str | None = None, **options: Any) -> Compiled: ...


@attrs.frozen
class BuiltinTarget:
    """One of wsquery's own targets: ``function`` in ``module``, imported on first use."""

    name: str
    description: str
    module: str
    function: str
    options: tuple[Option, ...] = ()

    def compile(self, query: Query, *, text: str | None = None, **options: Any) -> Compiled:
        compiler: Callable[..., Compiled] = getattr(
            importlib.import_module(f"wsquery.{self.module}"), self.function)
        return compiler(query, text=text, **options)


_BUILTIN: dict[str, Target] = {target.name: target for target in (
    BuiltinTarget("workspace", "run-set JSON a saved W&B view stores (filterV2 or legacy)",
                  "compilers.runset", "compile_workspace", (
                      Option("format", "choice", "run-set filter format (default: filterv2)",
                             ("filterv2", "legacy")),
                      Option("exact_ops", "flag", "keep < and > instead of the UI's <= and >="),
                      Option("limit_as_max_runs", "flag",
                             "make a limit the view's max-runs setting"),
                      STRICT)),
    BuiltinTarget("runs-api", "the arguments of wandb.Api().runs, as W&B's SDK writes them",
                  "compilers.runs_api", "compile_runs_api", (NOW, STRICT)),
    BuiltinTarget("mongo", "a filter for a MongoDB collection of run documents",
                  "compilers.mongo", "compile_mongo", (NOW, STRICT)),
    BuiltinTarget("wandb-workspaces", "a filter string of W&B's wandb-workspaces library",
                  "compilers.wandb_workspaces", "compile_wandb_workspaces", (STRICT,)),
    BuiltinTarget("sql", "a SELECT over a run table: DuckDB, SQLite, PostgreSQL, Spark SQL",
                  "compilers.sql", "compile_sql", (
                      Option("dialect", "choice", "SQL dialect (default: duckdb)",
                             ("duckdb", "sqlite", "postgres", "spark")),
                      Option("table", "text", "the run table's name (default: runs)"),
                      Option("tiebreak", "text", "a column ordering rows order by leaves tied"),
                      NOW, STRICT)),
    BuiltinTarget("polars", "a polars expression over a run table, with its order and limit",
                  "compilers.polars_expr", "compile_polars", (NOW, STRICT)),
    BuiltinTarget("pandas", "a function from a pandas run table to the rows it selects",
                  "compilers.pandas_rows", "compile_pandas", (NOW, STRICT)),
)}
_registered: dict[str, Target] = {}
_plugins: dict[str, Target] | None = None


def register(target: Target) -> None:
    """Add ``target`` under its name (a later registration of the same name replaces it; a
    name of wsquery's own is refused)."""
    if target.name in _BUILTIN:
        raise TargetError(f"{target.name!r} is a target of wsquery's own", target=target.name)
    _registered[target.name] = target


def get(name: str) -> Target:
    """The target called ``name``; a ``TargetError`` listing the known ones otherwise."""
    found = _BUILTIN.get(name) or _registered.get(name) or _entry_points().get(name)
    if found is None:
        raise TargetError(f"unknown target {name!r}", target=str(name),
                          hint="targets are " + ", ".join(names()))
    return found


def options(target: Target) -> tuple[Option, ...]:
    """The options ``target`` lists (none when it lists none)."""
    return tuple(getattr(target, "options", ()))


def builtin_options() -> dict[str, tuple[Option, list[str]]]:
    """Every option of wsquery's own targets -> the option and the targets taking it, without
    importing a target (the CLI builds its flags from this)."""
    found: dict[str, tuple[Option, list[str]]] = {}
    for target in _BUILTIN.values():
        for option in options(target):
            found.setdefault(option.name, (option, []))[1].append(target.name)
    return found


def names() -> list[str]:
    """Every target's name: wsquery's own first, then the registered ones, then plugins."""
    return list(dict.fromkeys([*_BUILTIN, *_registered, *_entry_points()]))


def _entry_points() -> dict[str, Target]:
    """The targets other packages declare, loaded once; one that fails to load is skipped
    with a warning naming it, so a broken plugin cannot break the others."""
    global _plugins
    if _plugins is None:
        import warnings
        from importlib.metadata import entry_points

        from wsquery.errors import WsqueryWarning

        found: dict[str, Target] = {}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                target = point.load()
                name = target.name
            except Exception as error:  # a plugin's own failure, whatever it is
                warnings.warn(f"the target plugin {point.name!r} ({point.value}) did not load: "
                              f"{error}", WsqueryWarning, stacklevel=3)
                continue
            found.setdefault(name, target)
        _plugins = found
    return _plugins
