"""Run attributes -> what W&B calls them and how a literal reads on each: the one table.

Every pass that needs to know a run attribute asks here: the parser and the builder (names,
aliases), validation (which literals can match), normalize, the evaluator and every target
(what a literal means on a field: a date for ``created_at``, seconds for ``runtime``, a state
compared without case), the REPL and the Pygments lexer (the vocabulary). Config and summary
keys have no known type: a literal on them means itself.

This module imports nothing of wsquery, so that ``ast`` can take its names from it: a field
and a literal are what ``FieldKey`` and ``Scalar`` say they are (``ast.Field`` and
``ast.Scalar`` are both).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeAlias

import attrs


class FieldKey(Protocol):
    """A field as this module reads it: its section and its W&B key (``ast.Field``)."""

    @property
    def section(self) -> str: ...

    @property
    def key(self) -> str: ...


class _Seconds(Protocol):
    """A duration as this module reads it: what it means in seconds (``ast.Duration``)."""

    @property
    def seconds(self) -> float: ...


#: A literal of a query (``ast.Scalar``).
Scalar: TypeAlias = "bool | int | float | str | _Seconds | None"

#: How a literal reads on an attribute: ``text``; ``state`` (text compared without case, one of
#: ``RUN_STATES``); ``number``; ``seconds`` (a number of seconds, also compared with durations
#: such as ``2h``); ``time`` (an ISO-8601 date); ``tags`` (a list of text, ``==`` tests
#: membership); ``any`` (no known type, as config keys).
Kind: TypeAlias = Literal["text", "state", "number", "seconds", "time", "tags", "any"]

#: The kinds whose values are numbers.
NUMERIC_KINDS = frozenset({"number", "seconds"})
#: The kinds on which ``typed`` reads a literal as something else than itself: a date, a
#: lower-case state.
CONVERTED_KINDS = frozenset({"time", "state"})


@attrs.frozen(slots=True)
class RunAttribute:
    """One attribute of a run, under each of its names."""

    #: The language's bare name (``created_at``); None for a key the language names only
    #: through W&B's UI name (``RelativeTime(Process)``).
    name: str | None
    #: The key W&B stores it under in run-set filters, sorts and groupings, and the runs API's
    #: path for it (``createdAt``).
    key: str
    kind: Kind
    #: The name W&B's UI and the wandb-workspaces library give it (``CreatedTimestamp``).
    ui_name: str | None
    #: Where W&B's GraphQL ``Run`` holds it (``user.username``); None when it has no field.
    graphql: str | None

    @property
    def list_valued(self) -> bool:
        return self.kind == "tags"

    @property
    def case_insensitive(self) -> bool:
        return self.kind == "state"


#: Every run attribute, in the order they are listed to people.
ATTRIBUTES: tuple[RunAttribute, ...] = (
    RunAttribute("name", "displayName", "text", "Name", "displayName"),
    RunAttribute("id", "name", "text", "ID", "name"),
    RunAttribute("state", "state", "state", "State", "state"),
    RunAttribute("tags", "tags", "tags", "Tags", "tags"),
    RunAttribute("created_at", "createdAt", "time", "CreatedTimestamp", "createdAt"),
    RunAttribute("runtime", "duration", "seconds", "Runtime", None),
    RunAttribute("user", "username", "text", "User", "user.username"),
    RunAttribute("sweep", "sweep", "text", "Sweep", "sweepName"),
    RunAttribute("group", "group", "text", "Group", "group"),
    RunAttribute("job_type", "jobType", "text", "JobType", "jobType"),
    RunAttribute("host", "host", "text", "Hostname", None),
    RunAttribute("step", "_step", "number", "Step", "summaryMetrics._step"),
    RunAttribute(None, "inputArtifacts", "any", "UsingArtifact", None),
    RunAttribute(None, "outputArtifacts", "any", "OutputtingArtifact", None),
    RunAttribute(None, "_absolute_runtime", "any", "RelativeTime(Wall)", None),
    RunAttribute(None, "_runtime", "any", "RelativeTime(Process)", None),
    RunAttribute(None, "_timestamp", "any", "WallTime", None),
)

#: W&B ``run`` keys -> their attribute.
BY_KEY: dict[str, RunAttribute] = {attribute.key: attribute for attribute in ATTRIBUTES}

#: The states a run can be in, as W&B stores them (lower case).
RUN_STATES = ("running", "pending", "preempting", "crashed", "failed", "killed", "finished",
              "preempted")


def attribute(field: FieldKey) -> RunAttribute | None:
    """The run attribute ``field`` names; None for config and summary keys and unknown keys."""
    return BY_KEY.get(field.key) if field.section == "run" else None


def kind(field: FieldKey | None) -> Kind:
    """How a literal reads on ``field`` (``any`` for config and summary keys, and for no field:
    a value inside a list)."""
    known = None if field is None else attribute(field)
    return "any" if known is None else known.kind


#: A literal as it compares on a field: ``("bool", b)``, ``("num", n)`` (durations in seconds),
#: ``("str", s)`` (lower case on a state), ``("time", aware UTC datetime)``, or ``("never",
#: None)`` when no run value ever compares TRUE with it (null, NaN, a created_at literal that
#: is not a date).
Typed: TypeAlias = tuple[Literal["bool", "num", "str", "time", "never"], Any]

_NEVER: Typed = ("never", None)


def typed(field: FieldKey | None, value: Scalar) -> Typed:
    """What ``value`` means on ``field`` under ``==`` and ordering: the one reading of a literal
    that validation, normalize, the evaluator and every target share."""
    return typed_as(kind(field), value)


def typed_as(field_kind: Kind, value: Scalar) -> Typed:
    """What ``value`` means on a field of kind ``field_kind`` (see ``typed``)."""
    if field_kind == "time":
        moment = parse_datetime(value) if isinstance(value, str) else None
        return _NEVER if moment is None else ("time", moment)
    match value:
        case None:
            return _NEVER
        case bool():
            return ("bool", value)
        case int() | float():
            return ("num", value) if value == value else _NEVER
        case str():
            return ("str", value.lower() if field_kind == "state" else value)
        case _:  # a duration
            return ("num", value.seconds)


def parse_datetime(text: str) -> datetime | None:
    """An ISO-8601 date or datetime as an aware UTC datetime; naive means UTC. None if invalid."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
