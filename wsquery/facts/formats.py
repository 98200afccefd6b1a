"""W&B format facts shared by the compilers and the decompiler, each choice made once here.

Choices the public record leaves open (marked *unverified* in the format notes) live only in
this module, so that changing one is a one-line edit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wsquery.facts.attributes import FieldKey


def default_sort() -> dict[str, Any]:
    """The run set's sort when a query has no ``order by``, newest first: a new dict each
    time, as callers may change it."""
    return {"keys": [{"key": {"section": "run", "name": "createdAt"}, "ascending": False}]}


#: The run set's search box when a query sets no name regex.
EMPTY_SEARCH: dict[str, Any] = {"query": ""}
#: Operators of run-set filter leaves (filterV2 and legacy alike).
WORKSPACE_OPS = ("=", "!=", "<=", ">=", "<", ">", "IN", "NIN", "WITHINSECONDS")

# *unverified*: whether the UI writes config filter keys with ".value" after the first segment.
# wsquery writes the plain flattened key (as the reference library does) and reads both.
CONFIG_FILTER_KEYS_WITH_VALUE = False

# *unverified*: whether the runs API (``wandb.Api().runs(filters=...)``) wants config keys as
# ``config.<key>`` or ``config.<key>.value``; W&B's docs show both. wsquery writes the plain form.
RUNS_API_CONFIG_KEYS_WITH_VALUE = False

# The runs API's order strings spell run keys as ``Api.runs``' docstring does ("``created_at``,
# ``heartbeat_at``, ``config.*.value``, or ``summary_metrics.*``"); *unverified*: other run keys
# (``displayName``, ``state``, ...) are written under their own names, as W&B's SDK writes
# a sort key of a run set (``QueryGenerator.keys_to_order``).
RUNS_API_ORDER_NAMES = {"createdAt": "created_at", "heartbeatAt": "heartbeat_at"}

# *unverified*: how W&B's server orders runs that tie on a sort key, and where it puts runs that
# lack the key. wsquery takes it to sort as the language does (``ast.total_order``: missing values
# last, ties newest first, then by run id): the embedded server does, and the runs-API, mongo and
# run-set targets are tested against that order.

# *unverified*: the panel bank keys of the panel search bar (the reference library declares
# them in its models but does not write them).
PANEL_SEARCH_QUERY_KEY = "searchQuery"
PANEL_SEARCH_EXPAND_KEY = "autoExpandSearchResults"

# *unverified*: how the W&B UI stores its tag operators "is" and "is not" on run tags. wsquery
# writes them as wandb-workspaces writes ``Tags() == "x"`` and ``Tags() != "x"``; it reads these
# and the ``tags`` section's leaves (``{"section": "tags", "name": "x"}`` = true or false).
HAS_TAG_OP = "="
LACKS_TAG_OP = "!="

# *unverified*: a non-regex search box matches run names containing the text, case-sensitively.
PLAIN_SEARCH_IS_SUBSTRING = True


def filter_key(field: FieldKey) -> dict[str, str]:
    """The ``key`` of a filter leaf or sort key for a field."""
    if field.section == "config" and CONFIG_FILTER_KEYS_WITH_VALUE:
        return grouping_key(field)
    return {"section": field.section, "name": field.key}


def grouping_key(field: FieldKey) -> dict[str, str]:
    """A grouping entry: config keys get ``.value`` after their first segment (``lr.value``,
    ``optimizer.value.lr``), as the reference library writes them."""
    if field.section == "config":
        first, *rest = field.key.split(".", 1)
        return {"section": "config", "name": ".".join([first, "value", *rest])}
    return {"section": field.section, "name": field.key}


def config_key_from_wandb(name: str) -> str:
    """A config key as written in a filter or grouping, with any ``.value`` after the first
    segment removed (``optimizer.value.lr`` -> ``optimizer.lr``)."""
    first, dot, rest = name.partition(".")
    if not dot:
        return name
    if rest == "value":
        return first
    if rest.startswith("value."):
        return f"{first}.{rest[len('value.'):]}"
    return name


def format_datetime(value: datetime) -> str:
    """A timestamp as W&B's filters take it: ISO-8601 in UTC with a ``Z``."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def iso_timestamp(moment: datetime) -> str:
    """A timestamp as run documents hold ``createdAt`` and runs-API filters compare with it:
    UTC, fixed width, so that text order is time order (``2024-05-01T12:00:00.000000Z``).
    *unverified*: how W&B's server compares ``createdAt`` with the text of a filter (its
    docstring's example is ``2023-01-01T12:00:00Z``); a fixed width is right for text and time
    order alike."""
    plain = moment.astimezone(UTC).replace(tzinfo=None)
    return plain.isoformat(timespec="microseconds") + "Z"
