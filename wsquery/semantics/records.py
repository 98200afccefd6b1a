"""Runs in any shape -> ``Record``: what ``evaluate`` reads a run through (see
``semantics.evaluate`` for the three shapes a run may come in)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from wsquery.ast import (
    RUN_ATTRIBUTES,
    Field,
)
from wsquery.errors import WsqueryError

GRAPHQL_KEYS = frozenset({"displayName", "summaryMetrics", "createdAt", "jobType", "username"})
#: Plain names that differ from their W&B run key; the others (state, tags, ...) are the same.
PLAIN_NAMES = {key: attribute for attribute, key in RUN_ATTRIBUTES.items() if attribute != key}
_OBJECT_ATTRIBUTES = (*RUN_ATTRIBUTES, "config", "summary", "summary_metrics")
#: The step's run key: a run without a step of its own takes the summary's.
STEP = RUN_ATTRIBUTES["step"]


class Lookup(Protocol):
    """What a record reads keys through: a dict, or a dict-like object such as wandb's summary."""

    def get(self, key: str, /) -> Any: ...


class Record:
    """One run, adapted once: ``run`` holds its run keys under their W&B names (``displayName``,
    ``createdAt``, ``_step``, ...), ``config`` and ``summary`` its two sections, unwrapped."""

    __slots__ = ("config", "run", "summary")

    def __init__(self, run: Lookup, config: Lookup, summary: Lookup) -> None:
        self.run = run
        self.config = config
        self.summary = summary


class _ObjectRun:
    """The run keys of a run object: the known attributes read once, any other key on demand."""

    __slots__ = ("known", "source")

    def __init__(self, source: object, known: dict[str, Any]) -> None:
        self.source = source
        self.known = known

    def get(self, key: str, /) -> Any:
        if key in self.known:
            return self.known[key]
        if key.startswith("__"):
            return None
        return getattr(self.source, key, None)


# Runs -> records -------------------------------------------------------------------------------

def adapt(run: Any) -> Record:
    """The record of one run in any accepted shape (see the module docstring); anything that is
    not a run raises ``WsqueryError``."""
    if isinstance(run, dict | Mapping):
        return _from_plain(run) if GRAPHQL_KEYS.isdisjoint(run) else _from_graphql(run)
    if any(hasattr(run, name) for name in _OBJECT_ATTRIBUTES):
        return _from_object(run)
    shown = safe_repr(run)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise WsqueryError(
        f"not a run: {type(run).__name__} {shown}; a run is W&B run JSON, a dict with keys "
        "such as id, name, config and summary, or an object with those attributes")


def _from_graphql(source: Mapping[str, Any]) -> Record:
    config = _mapping(source.get("config"))
    config = {key: _unwrap(value) for key, value in config.items()}
    summary = _mapping(source.get("summaryMetrics"))
    run = dict(source)
    username = source.get("username")
    run["username"] = _user_name(source.get("user")) if username is None else username
    sweep = _sweep_id(source.get("sweep"))
    run["sweep"] = source.get("sweepName") if sweep is None else sweep
    return _record(run, config, summary)


def _from_plain(source: Mapping[str, Any]) -> Record:
    summary = source.get("summary")
    if summary is None:
        summary = source.get("summary_metrics")
    sections = _section(summary)
    return Record(_PlainRun(source, sections), _section(source.get("config")), sections)


class _PlainRun:
    """The run keys of a plain run, read as a query asks for them: under W&B's names, from the
    language's (``created_at`` -> ``createdAt``); a missing step from the summary. Adapting
    reads nothing, so sorting or testing a few keys of many runs costs only those keys."""

    __slots__ = ("source", "summary")

    def __init__(self, source: Mapping[str, Any], summary: Lookup) -> None:
        self.source = source
        self.summary = summary

    def get(self, key: str, /) -> Any:
        value = self.source.get(PLAIN_NAMES.get(key, key))
        name_of = NAMED.get(key)
        if name_of is not None:
            value = name_of(value)
        if value is None and key == STEP:
            value = self.summary.get(STEP)
        return value

    def as_dict(self) -> dict[str, Any]:
        """Every key the run holds, and every run attribute, under W&B's names."""
        run = dict(self.source)
        for key in (*PLAIN_NAMES, *NAMED, STEP):
            run[key] = self.get(key)
        return run


def run_keys(record: Record) -> dict[str, Any]:
    """A record's run keys as a dict under W&B's names (a run object's: the known ones)."""
    run = record.run
    if isinstance(run, _PlainRun):
        return run.as_dict()
    if isinstance(run, _ObjectRun):
        return dict(run.known)
    return dict(run) if isinstance(run, dict) else {}


def _from_object(source: object) -> Record:
    known = {key: getattr(source, attribute, None) for attribute, key in RUN_ATTRIBUTES.items()}
    known["username"] = _user_name(known["username"])
    known["sweep"] = _sweep_id(known["sweep"])
    summary = getattr(source, "summary", None)
    if summary is None:
        summary = getattr(source, "summary_metrics", None)
    config, summary = _section(getattr(source, "config", None)), _section(summary)
    if known[STEP] is None:
        known[STEP] = summary.get(STEP)
    return Record(_ObjectRun(source, known), config, summary)


def _record(run: dict[str, Any], config: Lookup, summary: Lookup) -> Record:
    if run.get(STEP) is None:
        run[STEP] = summary.get(STEP)
    return Record(run, config, summary)


def _mapping(value: Any) -> Mapping[str, Any]:
    """A section of run JSON as a mapping: JSON text is decoded, anything unreadable is empty."""
    if value.__class__ is dict:
        return value
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, Mapping) else {}


def _section(value: Any) -> Lookup:
    """A config or summary: a mapping, or a dict-like object read key by key only as a query
    asks (wandb's summary object may download a stored tensor when one of its keys is read)."""
    return value if value.__class__ is dict or is_dict_like(value) else _mapping(value)


def is_dict_like(value: Any) -> bool:
    return isinstance(value, dict | Mapping) or (
        callable(getattr(value, "keys", None)) and callable(getattr(value, "get", None)))


def _unwrap(value: Any) -> Any:
    """A GraphQL config value without its ``{"value": ..., "desc": ...}`` wrapper."""
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _user_name(user: Any) -> Any:
    """A user's name: GraphQL spells it ``{"username": ...}``, wandb's User object
    ``.username``; any other value is the name itself."""
    if user is None or user.__class__ is str:
        return user
    if isinstance(user, Mapping):
        return user.get("username")
    return getattr(user, "username", user)


def _sweep_id(sweep: Any) -> Any:
    """A sweep's id: GraphQL spells it ``{"name": ...}``, wandb's Sweep object ``.id``; any
    other value is the id itself."""
    if sweep is None or sweep.__class__ is str:
        return sweep
    if isinstance(sweep, Mapping):
        return sweep.get("name")
    return getattr(sweep, "id", sweep)


#: Run keys whose value may come as an object that holds it (a user, a sweep), and how a plain
#: dict's value is read out.
NAMED = {"username": _user_name, "sweep": _sweep_id}
#: Run keys W&B's run JSON and a plain dict both hold under the one name, read alike: testing
#: one needs not know which of the two a run is.
SHAPELESS_KEYS = frozenset(attribute for attribute, key in RUN_ATTRIBUTES.items()
                           if attribute == key and key not in NAMED and key != STEP)


def all_plain(runs: list[Any]) -> bool:
    """Whether every run is a plain dict (not W&B's GraphQL JSON, not an object)."""
    return {run.__class__ for run in runs} == {dict} and all(map(GRAPHQL_KEYS.isdisjoint, runs))


def plain_key(field: Field) -> str | None:
    """The key a plain dict holds ``field`` under where its value stands for itself (a run
    key read as stored: ``created_at`` for ``createdAt``); None for a section's key, a nested
    path, a user or sweep (read out of what holds them), or the step (the summary's when
    missing)."""
    if field.section != "run" or len(field.path) > 1:
        return None
    key = field.key
    return None if key in NAMED or key == STEP else PLAIN_NAMES.get(key, key)


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a stand-in where Python will not write it (an int inside it with
    more digits than Python converts, or nesting deeper than Python recurses)."""
    try:
        return repr(value)
    except (ValueError, RecursionError):
        return "(too large to show)"
