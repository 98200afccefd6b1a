"""The vocabulary of wandb-workspaces filter strings, as its reader and writer both use it:
which function names a section, which operators and units the library knows, and how it
names run attributes."""

from __future__ import annotations

from wsquery.ast import UI_RUN_NAMES, Field

TARGET = "wandb-workspaces"

#: W&B run keys -> the UI's names ``Metric(...)`` takes.
RUN_KEY_UI_NAMES = {key: name for name, key in UI_RUN_NAMES.items()}
#: The functions naming a section, as read; the one of each written.
SECTION_FUNCTIONS = {"Config": "config", "SummaryMetric": "summary", "Summary": "summary",
                     "Metric": "run"}
SECTION_WRITERS = {"config": "Config", "summary": "SummaryMetric", "run": "Metric"}
#: Operators as the library reads them (it rewrites ``<`` and ``>`` as ``<=`` and ``>=``);
#: the ones that can be written.
READ_OPS = {"==": "==", "=": "==", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<=", ">": ">="}
WRITE_OPS = ("==", "!=", "<=", ">=")
#: ``within_last`` units as read, as written, and in seconds.
UNITS = {"minute": "m", "minutes": "m", "hour": "h", "hours": "h", "day": "d", "days": "d"}
UNIT_WRITERS = {"m": "minutes", "h": "hours", "d": "days"}
UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}


def is_tags(field: Field) -> bool:
    """Whether ``field`` is the run's tags, which the library spells ``Tags()``."""
    return field.section == "run" and field.key == "tags"
