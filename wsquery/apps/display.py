"""Run-set JSON and run files for people and scripts: the outline of a filter that ``explain``
shows, runs read from JSON lines or a JSON array, and hints said in the words of the command
line or the REPL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Literal

from wsquery.errors import WsqueryError

#: Where a hint naming a target's option (``pass exact_ops=True``, as the Python API takes it)
#: is read.
Audience = Literal["cli", "repl"]
_OPTION_HINT = re.compile(r"\bpass (?P<name>[a-z_]+)=(?P<value>True|False|\"[^\"]*\"|'[^']*'|\w+)")


def in_terms_of(text: str, audience: Audience) -> str:
    """``text`` (a warning, an error, a hint) with each ``pass NAME=VALUE`` naming an option
    of wsquery's own targets said as ``audience`` sets it: ``--exact-ops`` on the command
    line, ``:set exact_ops true`` in the REPL. Options only Python takes stay as they are."""
    from wsquery.compilers.registry import builtin_options

    known = builtin_options()

    def said(found: re.Match[str]) -> str:
        name, value = found["name"], found["value"].strip("\"'")
        option = known.get(name, (None,))[0]
        if option is None:
            return found.group()
        if audience == "repl":
            return f"type :set {name} {value.lower() if option.kind == 'flag' else value}"
        flag = "--" + name.replace("_", "-")
        return f"add {flag}" if option.kind == "flag" else f"add {flag} {value}"

    return _OPTION_HINT.sub(said, text)


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


def read_text(path: str) -> str:
    """A file's text (``-``: standard input's), which must be UTF-8: a byte that is not says
    where it is."""
    import sys

    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as handle:
            data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise WsqueryError(f"{path}: line {line}, column {column}: byte "
                           f"0x{data[error.start]:02x} is not UTF-8 (the file must be UTF-8 "
                           "text)") from None


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
    file, as a pandas frame of Arrow-backed columns, so that null and NaN stay apart. Its
    column names must differ, and its text must be UTF-8."""
    try:
        import pandas
        import pyarrow
        import pyarrow.csv
        import pyarrow.parquet
    except ImportError:
        raise WsqueryError(f"{path}: reading a table needs pandas and pyarrow: "
                           "pip install 'wsquery[pandas]'") from None
    try:
        if path.lower().endswith(".csv"):
            table = pyarrow.csv.read_csv(path, read_options=pyarrow.csv.ReadOptions(
                block_size=_csv_block_size(path)))
        else:
            table = pyarrow.parquet.read_table(path)
    except (OSError, pyarrow.ArrowException) as error:
        raise WsqueryError(f"{path}: {error}") from None
    seen: set[str] = set()
    for name in table.column_names:
        if name in seen:
            raise WsqueryError(f"{path}: the column {name!r} appears twice; a run table's "
                               "columns must have different names")
        seen.add(name)
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pyarrow.types.is_binary(column.type) or pyarrow.types.is_large_binary(column.type):
            for row, value in enumerate(column.to_pylist(), 1):
                if value is not None:
                    try:
                        value.decode("utf-8")
                    except UnicodeDecodeError:
                        raise WsqueryError(f"{path}: row {row}, column {name!r}: the value is "
                                           "not UTF-8 text (the file must be UTF-8)") from None
    return table.to_pandas(types_mapper=pandas.ArrowDtype)


def _csv_block_size(path: str) -> int:
    """A block that holds the header row whole (Arrow infers the columns from the first
    block, and reads a longer header as no header at all)."""
    with open(path, "rb") as handle:
        header = handle.readline()
    return max(1 << 20, 2 * len(header) + 1024)


def table_rows(frame: Any) -> list[dict[str, Any]]:
    """The rows of a pandas frame as dicts of plain Python values (None for null)."""
    import pyarrow

    return pyarrow.Table.from_pandas(frame, preserve_index=False).to_pylist()  # type: ignore[no-any-return]


def runs_in_file(path: str) -> list[dict[str, Any]]:
    """The runs a file holds, as run records: JSON lines or a JSON array of runs as they are,
    or a run table (CSV, Parquet) whose columns are named as a query names fields (``id``,
    ``state``, ``config.lr``, ``summary.`val loss```), each row nested back into a run (a
    null cell is a key the run lacks)."""
    if not path.lower().endswith(TABLE_SUFFIXES):
        records = load_runs(read_text(path), path)
        for number, record in enumerate(records, 1):
            if not isinstance(record, dict):
                raise WsqueryError(f"{path}: run {number} is not a JSON object")
        return records
    from wsquery.semantics.keys import field_named

    frame = load_table(path)
    places: dict[str, tuple[str, ...]] = {}
    for column in frame.columns:
        field = field_named(str(column))
        if field is None:
            raise WsqueryError(f"{path}: the column {column!r} names no field "
                               "(columns are named as queries name fields: config.lr)")
        places[column] = ((field.section, *field.path) if field.section != "run"
                          else (str(column).removeprefix("run."),))
    runs = []
    for row in table_rows(frame):
        run: dict[str, Any] = {}
        for column, value in row.items():
            if value is None:
                continue
            *parents, key = places[column]
            holder = run
            for parent in parents:
                holder = holder.setdefault(parent, {})
                if not isinstance(holder, dict):
                    raise WsqueryError(f"{path}: the column {column!r} is a key inside "
                                       f"{parent!r}, which another column holds a value of")
            holder[key] = value
        runs.append(run)
    return runs


def load_json(text: str, name: str) -> Any:
    """JSON text as Python values; ``name`` says where it came from in errors. Keys and text
    must be Unicode text (a lone surrogate, ``"\\ud800"``, is refused with its key)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise WsqueryError(
            f"{name}: line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}"
        ) from None
    except ValueError as error:  # an integer of more digits than Python converts
        raise WsqueryError(f"{name}: invalid JSON: {error}".split("; use sys.")[0]) from None
    except RecursionError:
        raise WsqueryError(f"{name}: JSON nested deeper than Python reads") from None
    if _SURROGATE_ESCAPE.search(text):
        where = _surrogate_in(value)
        if where is not None:
            raise WsqueryError(f"{name}: {where} holds a lone surrogate, which is not text")
    return value


#: A JSON escape of a UTF-16 surrogate: only text holding one can load into a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _surrogate_in(value: Any, path: str = "") -> str | None:
    """Where in ``value`` a string holds a lone surrogate (``the key 'config.\\ud800'``,
    ``the value at 'config.x'``), or None."""
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:
        current, where = pending.pop()
        if isinstance(current, dict):
            for key, item in current.items():
                inner = f"{where}.{key}" if where else str(key)
                if _lone_surrogate(key):
                    return f"the key {inner!a}"
                pending.append((item, inner))
        elif isinstance(current, list):
            pending.extend((item, f"{where}[{index}]") for index, item in enumerate(current))
        elif _lone_surrogate(current):
            return f"the value at {where!a}"
    return None


def _lone_surrogate(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_line(value: Any) -> str:
    """``value`` as one line of valid JSON: infinities as ``1e999`` and ``-1e999`` (JSON
    numbers that read back as infinities) and NaN as null, since JSON has no NaN; times and
    other values as their text."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        pass  # a float that is not finite, or an int too long to write
    try:
        text = json.dumps(_nan_as_null(value), ensure_ascii=False, default=str)
    except (ValueError, RecursionError) as error:
        raise WsqueryError(f"cannot write as JSON: {error}".split("; use sys.")[0]) from None
    return _STRING_OR_INFINITY.sub(lambda found: found[1] or "1e999", text)


#: A JSON string (kept as it is) or the ``Infinity`` that ``json.dumps`` writes for one.
_STRING_OR_INFINITY = re.compile(r'("(?:[^"\\]|\\.)*")|Infinity')


def _nan_as_null(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {key: _nan_as_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_as_null(item) for item in value]
    return value
