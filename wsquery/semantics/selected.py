"""The runs ``evaluate`` gives: a list, as before, that also shows itself in a notebook as a
table of the runs (id, name, state, and each field the query names)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from wsquery.ast import Field, Query, format_number, walk
from wsquery.semantics.predicates import field_value

#: Rows the notebook table shows before it only counts the rest.
SHOWN_ROWS = 50
_FIRST_COLUMNS = tuple(Field("run", (key,)) for key in ("name", "displayName", "state"))


class SelectedRuns(list[Any]):
    """The runs a query selects, in its order: a ``list`` of the very objects given, which
    Jupyter shows as a table (``_repr_html_``)."""

    __slots__ = ("query",)

    def __init__(self, runs: Iterable[Any], query: Query) -> None:
        super().__init__(runs)
        self.query = query

    def _repr_html_(self) -> str:
        named = [node for node in walk(self.query) if type(node) is Field]
        columns = list(dict.fromkeys([*_FIRST_COLUMNS, *named]))
        head = "".join(f"<th>{escape(str(field))}</th>" for field in columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(cell_text(field_value(run, field)))}</td>"
                             for field in columns) + "</tr>"
            for run in self[:SHOWN_ROWS])
        more = (f"<tr><td colspan={len(columns)}>... and {len(self) - SHOWN_ROWS} more</td></tr>"
                if len(self) > SHOWN_ROWS else "")
        count = f"{len(self)} run{'' if len(self) == 1 else 's'} selected by {self.query}"
        return (f'<div class="wsquery-runs"><p>{escape(count)}</p><table>'
                f"<thead><tr>{head}</tr></thead><tbody>{rows}{more}</tbody></table></div>")


def cell_text(value: Any) -> str:
    """A run's value as a table cell shows it: nothing for a missing one, literals as queries
    write them (``true``, ``0.1``), other values as JSON."""
    match value:
        case None:
            return ""
        case bool():
            return "true" if value else "false"
        case int() | float():
            return format_number(value)
        case str():
            return value
        case _:
            return json.dumps(value, ensure_ascii=False, default=str)
