"""Run-set JSON and run files for people and scripts: the outline of a filter that ``explain``
shows, and runs read from JSON lines or a JSON array."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from wsquery.errors import WsqueryError


def outline(filters: dict[str, Any]) -> list[str]:
    """A run-set filter as indented lines, one item each, showing the shape chosen."""
    if filters.get("filterFormat") == "filterV2":
        items = filters["filters"]
        if not items:
            return ["(every run)"]
        return list(_outline_v2(items, 0))
    lines = []
    for index, term in enumerate(filters["filters"]):
        leaves = " AND ".join(_leaf_text(leaf) for leaf in term["filters"])
        lines.append(("OR " if index else "") + (leaves or "(every run)"))
    return lines


def _outline_v2(items: list[dict[str, Any]], depth: int) -> Iterator[str]:
    for item in items:
        connector = item.get("connector", "")
        prefix = "  " * depth + (connector + " " if connector else "")
        if "filters" in item:
            yield prefix + "("
            yield from _outline_v2(item["filters"], depth + 1)
            yield "  " * depth + ")"
        else:
            yield prefix + _leaf_text(item)


def _leaf_text(leaf: dict[str, Any]) -> str:
    key = leaf["key"]
    return (f"{key['section']}.{key['name']} {leaf['op']} "
            f"{json.dumps(leaf['value'], ensure_ascii=False)}")


def load_runs(source: str, name: str) -> list[Any]:
    """Runs from JSON-lines text, or from one JSON array."""
    stripped = source.lstrip()
    if stripped.startswith("["):
        runs = load_json(source, name)
        if not isinstance(runs, list):
            raise WsqueryError(f"{name}: expected a JSON array of runs")
        return runs
    runs = []
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip():
            runs.append(load_json(line, f"{name}:{number}"))
    return runs


#: File suffixes ``wsquery filter`` reads as a run table rather than as run JSON.
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def load_table(path: str) -> Any:
    """A run table (``wsquery.to_frame``'s columns, or any table of runs) from a CSV or Parquet
    file, as a pandas frame of Arrow-backed columns, so that null and NaN stay apart."""
    try:
        import pandas
        import pyarrow.csv
        import pyarrow.parquet
    except ImportError:
        raise WsqueryError(f"{path}: reading a table needs pandas and pyarrow: "
                           "pip install 'wsquery[pandas]'") from None
    try:
        if path.lower().endswith(".csv"):
            table = pyarrow.csv.read_csv(path)
        else:
            table = pyarrow.parquet.read_table(path)
    except (OSError, pyarrow.ArrowInvalid) as error:
        raise WsqueryError(f"{path}: {error}") from None
    return table.to_pandas(types_mapper=pandas.ArrowDtype)


def table_rows(frame: Any) -> list[dict[str, Any]]:
    """The rows of a pandas frame as dicts of plain Python values (None for null)."""
    import pyarrow

    return pyarrow.Table.from_pandas(frame, preserve_index=False).to_pylist()  # type: ignore[no-any-return]


def load_json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise WsqueryError(
            f"{name}: line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}"
        ) from None
