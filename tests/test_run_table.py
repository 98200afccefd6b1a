"""Run tables: ``to_frame`` names and types columns as the module docstring says for every run
shape ``evaluate`` takes, on every backend; ``shape_of`` reads that back; ``wsquery filter`` reads
CSV and Parquet; and the README's "Filtering run tables" examples run as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow
import pyarrow.csv
import pyarrow.parquet
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsquery
from tests import strategies
from wsquery.compilers.run_columns import to_frame
from wsquery.compilers.run_table import shape_of
from wsquery.errors import WsqueryError

from .test_sql import MIXED_RUNS

ROOT = Path(__file__).parent.parent
SECTION = "## Filtering run tables"


def section_text() -> str:
    """The README's section."""
    source = (ROOT / "README.md").read_text(encoding="utf-8")
    start = source.index(SECTION)
    following = re.search(r"^## ", source[start + len(SECTION):], re.MULTILINE)
    return source[start:] if following is None else source[
        start:start + len(SECTION) + following.start()]


def test_the_readme_examples_run_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", section_text(), re.DOTALL)
    assert len(blocks) == 4  # the runs, pandas, polars, DuckDB
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)


def test_the_readme_table_names_every_dialect() -> None:
    header = next(line for line in section_text().splitlines() if line.startswith("| |"))
    assert header == "| | DuckDB | SQLite | PostgreSQL | Spark SQL |"


ARROW_TYPES = {
    "name:number": "int64", "name:string": "string", "id": "string", "state": "string",
    "tags": "list<item: string>",
    "created_at:string": "string", "created_at:time": "timestamp[us, tz=UTC]",
    "runtime": "double", "user": "string", "sweep": "string", "group": "string",
    "job_type": "string", "host": "string", "step": "int64",
    "config.flag:bool": "bool", "config.flag:number": "int64",
    "config.lr:number": "double", "config.lr:string": "string",
    "config.m:numbers": "list<item: double>", "config.m:strings": "list<item: string>",
    "config.m:string": "string", "config.m:other": "string",
    "config.opt:string": "string", "config.opt:strings": "list<item: string>",
    "config.opt:other": "string", "config.opt.beta": "int64", "summary.acc": "double",
}


def test_columns_are_named_and_typed_by_their_values() -> None:
    table = to_frame(MIXED_RUNS, backend="arrow")
    assert {field.name: str(field.type) for field in table.schema} == ARROW_TYPES
    assert table.column_names[:12] == [
        "name:number", "name:string", "id", "state", "tags", "created_at:string",
        "created_at:time", "runtime", "user", "sweep", "group", "job_type"]
    rows = table.to_pylist()
    assert rows[0]["created_at:time"] == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert rows[1]["created_at:string"] == "not a date"
    assert [row["config.m:other"] for row in rows] == ["[1, 'a']", "[2.5]", None, None]
    assert [row["config.m:numbers"] for row in rows] == [[1.0], [2.5], None, None]
    assert [row["config.m:strings"] for row in rows] == [["a"], [], None, None]
    assert [row["config.opt:other"] for row in rows] == [None, "{'beta': 2}", None, "['adam']"]
    summary = table.column("summary.acc").to_pylist()
    assert summary[0] != summary[0] and summary[2] is None  # NaN is not null


def rows_text(table: Any) -> str:
    """The rows as JSON text, where NaN is NaN (NaN is not equal to itself)."""
    return json.dumps(table.to_pylist(), default=str)


def test_every_backend_holds_the_same_table() -> None:
    arrow = to_frame(MIXED_RUNS, backend="arrow")
    polars_frame = to_frame(MIXED_RUNS, backend="polars")
    pandas_frame = to_frame(MIXED_RUNS, backend="pandas")
    expected = rows_text(arrow)
    assert rows_text(polars_frame.to_arrow()) == expected
    assert rows_text(pyarrow.Table.from_pandas(pandas_frame, preserve_index=False)) == expected
    for frame in (arrow, polars_frame, pandas_frame, arrow.schema, polars_frame.schema):
        assert shape_of(frame) == shape_of(arrow)
    assert dict(shape_of(arrow).parts["config.lr"]) == {
        "number": "config.lr:number", "string": "config.lr:string"}
    assert dict(shape_of(arrow).parts["tags"]) == {"strings": "tags"}


class WandbRun:
    """A run object as ``wandb.Api().runs()`` gives, by the attributes ``evaluate`` reads."""

    def __init__(self, run_id: str, lr: float) -> None:
        self.id = run_id
        self.name = f"run-{run_id}"
        self.state = "finished"
        self.tags = ["x"]
        self.created_at = "2024-01-01T00:00:00"
        self.config = {"lr": lr}
        self.summary = {"_step": 7}


def test_graphql_json_and_run_objects_give_the_same_table() -> None:
    graphql = [{"name": "g1", "displayName": "run-g1", "state": "finished", "tags": ["x"],
                "createdAt": "2024-01-01T00:00:00", "config": '{"lr": {"value": 0.1}}',
                "summaryMetrics": '{"_step": 7}'}]
    table = to_frame(graphql, backend="arrow").to_pylist()[0]
    objects = to_frame([WandbRun("g1", 0.1)], backend="arrow").to_pylist()[0]
    assert table == objects
    assert table["config.lr"] == 0.1 and table["step"] == 7 and table["summary._step"] == 7
    assert table["created_at"] == datetime(2024, 1, 1, tzinfo=UTC)


class _Adapted(dict[str, Any]):
    """A dict subclass: adapted run by run, never read where it stands."""


def _table_or_error(runs: list[Any]) -> tuple[str, str]:
    try:
        table = to_frame(runs, backend="arrow")
    except WsqueryError as error:
        return "error", str(error)
    return str(table.schema), json.dumps(table.to_pydict(), default=str)


#: Runs with a few extra keys read where they stand: a step, a user, W&B's time text, tags of
#: several element types, a nested section, keys that are not text.
_ODD_RUNS = st.fixed_dictionaries({}, optional={
    "step": st.one_of(st.none(), st.integers(0, 9)),
    "user": st.one_of(st.none(), st.just("amy"), st.just({"username": "zed"})),
    "created_at": st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-02T00:00:00+01:00",
                                   "2024-01-01", "not a date", "2024-13-01T00:00:00Z"]),
    "tags": st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", 1, True, "\ud800"]),
                                          max_size=2)),
    "config": st.one_of(st.just({"a": {"b": 1}}), st.just({1: "x", "k": 2}),
                        st.just({"k": "\ud800"}), st.just({"\udc00": 1}), st.just("{}")),
    "summary": st.one_of(st.just({"_step": 3}), st.just({}), st.none()),
})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(strategies.runs, _ODD_RUNS), max_size=5))
def test_plain_dicts_read_where_they_stand_give_the_table_adapted_runs_give(
        runs: list[dict[str, Any]]) -> None:
    """Plain dicts are read where they stand, for all the runs at once; the same runs adapted
    one by one give the same table, or the same error naming the same run and key."""
    assert _table_or_error(runs) == _table_or_error([_Adapted(run) for run in runs])


def test_a_table_of_no_runs_has_the_attribute_columns() -> None:
    table = to_frame([], backend="arrow")
    assert table.num_rows == 0
    assert table.column_names == ["name", "id", "state", "tags", "created_at", "runtime",
                                  "user", "sweep", "group", "job_type", "host", "step"]
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(WsqueryError, match="unknown backend 'numpy'; backends are pandas, "
                                           "polars, arrow"):
        wsquery.to_frame([], backend="numpy")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wsquery", *args], capture_output=True,
                          text=True, check=False, cwd=ROOT)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_filter_reads_a_run_table_file(tmp_path: Path, suffix: str) -> None:
    table = to_frame(MIXED_RUNS, backend="arrow").select(["id", "name:string", "summary.acc"])
    path = tmp_path / f"runs{suffix}"
    if suffix == ".csv":
        pyarrow.csv.write_csv(table, path)
    else:
        pyarrow.parquet.write_table(table, path)
    result = run_cli("filter", "summary.acc > 0.1 order by summary.acc desc", str(path))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["d", "b"]


def test_filter_names_a_table_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    path.write_text("not parquet", encoding="utf-8")
    result = run_cli("filter", "config.a == 1", str(path))
    assert result.returncode != 0
    assert str(path) in result.stderr and "Traceback" not in result.stderr


def test_compile_prints_a_select_with_its_parameters() -> None:
    result = run_cli("compile", "--target", "sql", "--dialect", "sqlite", "--table", "t",
                     'name == "x" limit 2')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "dialect": "sqlite",
        "sql": 'SELECT * FROM "t" WHERE "t"."name" = :p1 ORDER BY "t"."created_at" DESC, '
               '"t"."id" ASC NULLS LAST LIMIT :p2',
        "parameters": {"p1": "x", "p2": 2}}
