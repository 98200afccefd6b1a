"""Run files and run tables that are malformed: each ends in a ``WsqueryError`` naming the
file, the line or row and the key where known (on the CLI one ``error:`` line and exit status
2, never a traceback), and ``wsquery filter`` writes only valid JSON."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery.apps.display import json_line, load_runs, read_text
from wsquery.compilers.sql import to_sqlite
from wsquery.errors import WsqueryError

ROOT = Path(__file__).resolve().parents[1]


def wsquery_filter(path: Path, query: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wsquery", "filter", query, str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


#: Malformed files -> their bytes and what the one error line must say.
FILES: dict[str, tuple[bytes, str]] = {
    "long-int.jsonl": (b'{"name": "a"}\n{"name": "b", "config": {"x": ' + b"7" * 5000 + b"}}\n",
                       "long-int.jsonl:2: invalid JSON: Exceeds the limit (4300 digits)"),
    "deep-array.jsonl": (b'{"config": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}\n",
                         "deep-array.jsonl:1: JSON nested deeper than Python reads"),
    "deep-config.jsonl": (b'{"name": "a"}\n{"config": ' + nested(5000).encode() + b"}\n",
                          "deep-config.jsonl:2: JSON nested deeper than Python reads"),
    "latin-1.jsonl": ('{"name": "a"}\n{"name": "café"}\n'.encode("latin-1"),
                      "latin-1.jsonl: line 2, column 14: byte 0xe9 is not UTF-8"),
    "surrogate-key.jsonl": (b'{"name": "a", "config": {"lr\\udc00": 1}}\n',
                            "surrogate-key.jsonl:1: the key 'config.lr\\udc00' holds a lone "
                            "surrogate"),
    "surrogate-value.json": (b'[{"name": "a"}, {"name": "b", "tags": ["x\\ud83d"]}]',
                             "surrogate-value.json: the value at '[1].tags[0]' holds a lone "
                             "surrogate"),
    "duplicate.csv": (b"name,config.lr,config.lr\na,1,2\n",
                      "duplicate.csv: the column 'config.lr' appears twice"),
    "latin-1.csv": ("name,config.opt\na,adam\nb,néw\n".encode("latin-1"),
                    "latin-1.csv: row 2, column 'config.opt': the value is not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_malformed_file_is_one_error_line(tmp_path: Path, name: str) -> None:
    data, said = FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    done = wsquery_filter(path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: {tmp_path}/{said}"), done.stderr[-2000:]
    assert done.stderr.count("\n") == 1


def test_a_csv_of_100_000_columns_is_read(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    count = 100_000
    path.write_text("name," + ",".join(f"config.c{i}" for i in range(count)) + "\n"
                    + "a," + ",".join(str(i) for i in range(count)) + "\n", "utf-8")
    done = wsquery_filter(path, "config.c99999 == 99999")
    assert done.returncode == 0, done.stderr[-2000:]
    [row] = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["name"] == "a" and row["config.c99999"] == 99999 and len(row) == count + 1


# --- NaN and infinities ----------------------------------------------------------------------

def strict_json(text: str) -> Any:
    """JSON as RFC 8259 has it: NaN and Infinity are not JSON."""
    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_filter_writes_nan_and_infinities_as_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text('{"name": "a", "config": {"x": NaN, "y": Infinity, "z": -Infinity, '
                    '"w": [NaN, "Infinity"]}}\n', "utf-8")
    done = wsquery_filter(path)
    assert done.returncode == 0, done.stderr
    [run] = [strict_json(line) for line in done.stdout.splitlines()]
    assert run["config"] == {"x": None, "y": math.inf, "z": -math.inf, "w": [None, "Infinity"]}


def test_infinities_round_trip_through_filter(tmp_path: Path) -> None:
    first = tmp_path / "first.jsonl"
    first.write_text('{"name": "a", "summary": {"loss": Infinity}}\n'
                     '{"name": "b", "summary": {"loss": -Infinity}}\n'
                     '{"name": "c", "summary": {"loss": 2}}\n', "utf-8")
    query = "summary.loss > -1 order by summary.loss desc"
    once = wsquery_filter(first, query)
    second = tmp_path / "second.jsonl"
    second.write_text(once.stdout, "utf-8")
    twice = wsquery_filter(second, query)
    assert [strict_json(line)["name"] for line in once.stdout.splitlines()] == ["a", "c"]
    assert twice.stdout == once.stdout


@given(st.recursive(st.floats() | st.text(max_size=8) | st.none() | st.integers(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20))
@settings(max_examples=300)
def test_json_line_is_valid_json_that_reads_back(value: Any) -> None:
    back = strict_json(json_line(value))

    def expected(item: Any) -> Any:
        if isinstance(item, float) and math.isnan(item):
            return None
        if isinstance(item, dict):
            return {key: expected(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [expected(inner) for inner in item]
        return item

    assert back == expected(value)


# --- run records -----------------------------------------------------------------------------

def deep_config(depth: int) -> dict[str, Any]:
    config: dict[str, Any] = {"lr": 1}
    for _ in range(depth):
        config = {"a": config}
    return config


#: Run records no table can hold -> what the error says.
RECORDS: dict[str, tuple[list[Any], str]] = {
    "long-int": ([{"name": "a"}, {"name": "b", "config": {"x": 7 ** 5000}}],
                 "runs[1]: config.x: an integer of 14037 bits is beyond what a float64"),
    "deep-config": ([{"name": "a", "config": deep_config(5000)}],
                    "nests keys deeper than 100 levels"),
    "surrogate-key": ([{"name": "a", "config": {"lr\udc00": 1}}],
                      "runs[0]: the key 'config.lr\\udc00' holds a lone surrogate"),
    "surrogate-value": ([{"name": "a"}, {"name": "b\ud83d"}],
                        "runs[1]: name: 'b\\ud83d' holds a lone surrogate"),
    "column-clash": ([{"name": "a", "config": {"lr": 1, "lr:string": "x"}},
                      {"name": "b", "config": {"lr": "fast"}}],
                     "two columns would be called 'config.lr:string'"),
}


@pytest.mark.parametrize("name", sorted(RECORDS))
@pytest.mark.parametrize("writer", ["to_frame", "to_sqlite"])
def test_a_record_no_table_holds_is_an_error_naming_it(name: str, writer: str) -> None:
    runs, said = RECORDS[name]
    with pytest.raises(WsqueryError) as caught:
        if writer == "to_frame":
            wsquery.to_frame(runs)
        else:
            to_sqlite(runs, sqlite3.connect(":memory:"))
    assert said in str(caught.value)


def test_to_sqlite_refuses_a_nul_in_a_key_naming_it(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "runs.sqlite3") as connection, \
            pytest.raises(WsqueryError, match=r"the column 'config\.a\\x00b' holds a NUL"):
        to_sqlite([{"name": "a", "config": {"a\x00b": 1}}], connection)


def test_to_sqlite_keeps_an_int_beyond_int64_as_a_float(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "runs.sqlite3") as connection:
        to_sqlite([{"name": "a", "config": {"x": 2 ** 70}}], connection)
        assert connection.execute('SELECT "config.x" FROM runs').fetchone() == (2.0 ** 70,)


# --- any file at all -------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=15)
run_keys = st.sampled_from(["name", "id", "state", "tags", "config", "summary", "created_at",
                            "summaryMetrics", "user", "group", "runtime"])
runs = st.lists(st.dictionaries(run_keys, json_values, max_size=5) | json_values, max_size=4)
queries = st.sampled_from(["", "config.a > 1", 'name == "a"', "tags contains \"x\"",
                           "config.a is null order by summary.b desc limit 2",
                           "created_at > 2024-01-01"])


@given(runs=runs, query=queries)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_runs_are_selected_tabled_or_refused(runs: list[Any], query: str) -> None:
    for action in (lambda: wsquery.evaluate(query, runs),
                   lambda: wsquery.to_frame(runs),
                   lambda: to_sqlite(runs, sqlite3.connect(":memory:")),
                   lambda: wsquery.compile(query, target="pandas")(wsquery.to_frame(runs))):
        with contextlib.suppress(WsqueryError):
            action()


@given(data=st.binary(max_size=300)
       | json_values.map(lambda v: json.dumps(v).encode())
       | runs.map(lambda rs: "\n".join(json.dumps(r) for r in rs).encode()))
@settings(max_examples=300, deadline=None)
def test_any_bytes_load_as_runs_or_are_refused(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="wsquery-fuzzed-") as folder:
        path = Path(folder) / "fuzzed.jsonl"
        path.write_bytes(data)
        try:
            loaded = load_runs(read_text(str(path)), str(path))
        except WsqueryError:
            return
    for run in loaded:
        with contextlib.suppress(WsqueryError):
            strict_json(json_line(run))
