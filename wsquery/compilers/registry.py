"""Target name -> the compiler that writes a query for it: the one registry that
``wsquery.compile``, ``wsquery.targets()``, the CLI's ``--target`` and the REPL's ``:target``
read.

A target is any object with a ``name``, a one-line ``description`` and ``compile(query, *,
text=None, **options)`` returning a result with ``to_json()`` and ``warnings`` (``Compiled``).
wsquery's own targets are listed here by module, so that naming them imports nothing; other
packages add targets through the entry-point group ``wsquery.targets``, each entry point naming
a ``Target`` object (loaded the first time a name is looked up that wsquery does not know, or
when every target is listed) and handed out wrapped (``compilers.plugins.PluginTarget``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Literal, Protocol, assert_never

import attrs

from wsquery.ast import Query
from wsquery.errors import TargetError, TargetWarning, WsqueryError, WsqueryWarning

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

    def read(self, text: str) -> Any:
        """``text`` (as typed after ``--option NAME=`` or ``:set NAME``) as this option's
        value: a flag from true or false (on or off, yes or no, 1 or 0), one of the choices,
        an ISO-8601 moment, or the text; ``WsqueryError`` naming the option otherwise."""
        match self.kind:
            case "flag":
                spelt = text.lower()
                if spelt in ("true", "on", "yes", "1"):
                    return True
                if spelt in ("false", "off", "no", "0"):
                    return False
                raise WsqueryError(f"{self.name} is true or false (on or off), not {text!r}")
            case "choice":
                if text not in self.choices:
                    raise WsqueryError(f"{self.name} is one of {', '.join(self.choices)}, "
                                       f"not {text!r}")
                return text
            case "time":
                from wsquery.facts.attributes import parse_datetime

                moment = parse_datetime(text)
                if moment is None:
                    raise WsqueryError(f"{self.name}: {text!r} is not an ISO-8601 date or "
                                       "datetime")
                return moment
            case "text":
                return text
            case _:
                assert_never(self.kind)


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
    BuiltinTarget("runset", "run-set JSON a saved W&B view stores (filterV2 or legacy)",
                  "compilers.runset.write", "compile_runset", (
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
                  "compilers.wandb_workspaces.write", "compile_wandb_workspaces", (STRICT,)),
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
#: Other names of wsquery's own targets: the run-set target was first called ``workspace``.
ALIASES = {"workspace": "runset"}
_registered: dict[str, Target] = {}
_plugins: dict[str, Target] | None = None


def register(target: Target) -> None:
    """Add ``target`` under its name (a later registration of the same name replaces it; a
    name of wsquery's own, or an object that is not a target, is refused)."""
    problem = _malformed(target)
    if problem is not None:
        raise TargetError(f"not a target: {problem}", target=str(getattr(target, "name", "?")))
    if target.name in _BUILTIN or target.name in ALIASES:
        raise TargetError(f"{target.name!r} is a target of wsquery's own", target=target.name)
    _registered[target.name] = target


def compile(query: str | Query, target: str = "runset", **options: Any) -> Any:
    """``wsquery.compile``: query text or a ``Query`` compiled for ``target``; repeated text
    for the run-set target comes from its bounded cache."""
    if type(query) is str and type(target) is str and ALIASES.get(target, target) == "runset":
        return _compile_text()(query, **options)
    if isinstance(query, str):
        from wsquery.syntax.parser import parse

        return get(target).compile(parse(query), text=query, **options)
    if not isinstance(query, Query):
        raise TypeError(f"expected query text or a Query, not {type(query).__name__}")
    return get(target).compile(query, text=None, **options)


def _compile_text() -> Callable[..., Any]:
    """The run-set target's text compiler (``runset.write.compile_text``), imported on first
    use: an import statement in every call would cost a tenth of compiling one condition."""
    global _runset_text
    if _runset_text is None:
        from wsquery.compilers.runset.write import compile_text

        _runset_text = compile_text
    return _runset_text


_runset_text: Callable[..., Any] | None = None


def get(name: str) -> Target:
    """The target called ``name`` (or one of its ``ALIASES``); a ``TargetError`` listing the
    known ones otherwise."""
    if isinstance(name, str):
        name = ALIASES.get(name, name)
    found = (_BUILTIN.get(name) or _registered.get(name) or _entry_points().get(name)
             if isinstance(name, str) else None)
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


def _malformed(target: object) -> str | None:
    """What keeps ``target`` from being a target, or None."""
    name = getattr(target, "name", None)
    if not isinstance(name, str) or not name.strip():
        return f"its name is {name!r}, not a non-empty string"
    if not isinstance(getattr(target, "description", None), str):
        return "its description is not a string"
    if not callable(getattr(target, "compile", None)):
        return "it has no compile method"
    listed = getattr(target, "options", ())
    if not isinstance(listed, tuple | list) or not all(isinstance(o, Option) for o in listed):
        return "its options are not a tuple of wsquery.compilers.registry.Option"
    return None


def _entry_points() -> dict[str, Target]:
    """The targets other packages declare, loaded once. A plugin that fails to load (whatever
    it raises, ``KeyboardInterrupt`` aside), is not a target, or takes a name already taken is
    left out with a warning naming it, so a broken plugin cannot break the others."""
    global _plugins
    if _plugins is None:
        import warnings
        from importlib.metadata import entry_points

        from wsquery.compilers.plugins import PluginTarget, described

        def skip(point: str, why: str) -> None:
            warnings.warn(f"the target plugin {point} is disabled: {why}", WsqueryWarning,
                          stacklevel=4)

        found: dict[str, Target] = {}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            label = f"{point.name!r} ({point.value})"
            try:
                target = point.load()
                problem = _malformed(target)
                if problem is None:
                    plugin = PluginTarget(target.name, target.description, options(target),
                                          target, point.value)
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # a plugin's own failure, whatever it is
                skip(label, f"it did not load: {described(error)}")
                continue
            if problem is not None:
                skip(label, problem)
            elif plugin.name in _BUILTIN or plugin.name in ALIASES or plugin.name in found:
                skip(label, f"the name {plugin.name!r} is taken")
            else:
                found[plugin.name] = plugin
        _plugins = found
    return _plugins
