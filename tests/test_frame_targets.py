"""The polars and pandas targets select exactly the rows ``evaluate`` selects, in its order, over
generated runs as ``to_frame`` writes them (missing keys, nulls, NaN, mixed types, lists); the
pandas mask is nullable booleans; what polars' regex engine cannot read as RE2 is refused."""

from __future__ import annotations

from typing import Any

import pandas
import polars
import pytest
from hypothesis import given

import wsquery
from wsquery.ast import Query
from wsquery.compilers.pandas_rows import PandasQuery, compile_pandas
from wsquery.compilers.polars_expr import PolarsQuery, compile_polars
from wsquery.compilers.run_columns import to_frame
from wsquery.errors import TargetError

from .test_sql import (
    CASES,
    MIXED_RUNS,
    NOW,
    PROPERTY,
    RUNS,
    TABLE_QUERIES,
    expected_rows,
    sorts_lists,
)


def polars_rows(query: Query, runs: list[dict[str, Any]]) -> list[int]:
    frame = to_frame(runs, backend="polars").with_row_index("row")
    compiled = compile_polars(query, columns=frame, now=NOW)
    return compiled(frame)["row"].to_list()  # type: ignore[no-any-return]


def pandas_rows(query: Query, runs: list[dict[str, Any]]) -> list[int]:
    frame = to_frame(runs, backend="pandas")
    return list(compile_pandas(query, now=NOW)(frame).index)


@PROPERTY
@given(TABLE_QUERIES, RUNS)
def test_polars_selects_what_evaluate_selects_in_order(query: Query,
                                                       runs: list[dict[str, Any]]) -> None:
    if sorts_lists(query, runs):
        with pytest.raises(TargetError, match="its values are lists"):
            polars_rows(query, runs)
        return
    assert polars_rows(query, runs) == expected_rows(query, runs), str(query)


@PROPERTY
@given(TABLE_QUERIES, RUNS)
def test_pandas_selects_what_evaluate_selects_in_order(query: Query,
                                                       runs: list[dict[str, Any]]) -> None:
    if sorts_lists(query, runs):
        with pytest.raises(TargetError, match="its values are lists"):
            pandas_rows(query, runs)
        return
    assert pandas_rows(query, runs) == expected_rows(query, runs), str(query)


@pytest.mark.parametrize("text", CASES)
def test_cases_on_both_frames(text: str) -> None:
    query = wsquery.parse(text)
    expected = expected_rows(query, MIXED_RUNS)
    assert polars_rows(query, MIXED_RUNS) == expected
    assert pandas_rows(query, MIXED_RUNS) == expected


def test_the_pandas_mask_is_nullable_booleans() -> None:
    frame = to_frame(MIXED_RUNS, backend="pandas")
    compiled = wsquery.compile("config.lr > 0.05", target="pandas")
    assert isinstance(compiled, PandasQuery)
    mask = compiled.mask(frame)
    assert str(mask.dtype) == "boolean"
    assert mask.tolist() == [True, pandas.NA, False, pandas.NA]


def test_pandas_reads_numpy_columns_with_their_meaning() -> None:
    """A frame of pandas' own dtypes: NaN is pandas' missing value there."""
    frame = pandas.DataFrame({"config.lr": [0.1, float("nan"), 0.001],
                              "name": ["a", None, "c"]})
    compiled = compile_pandas(wsquery.parse("config.lr is null or name == \"c\""))
    assert list(compiled(frame).index) == [1, 2]


def test_polars_expr_and_its_json() -> None:
    frame = to_frame(MIXED_RUNS, backend="polars")
    compiled = wsquery.compile("summary.acc > 0.1 order by summary.acc desc limit 1",
                               target="polars", columns=frame)
    assert isinstance(compiled, PolarsQuery)
    assert frame.filter(compiled.expr)["id"].to_list() == ["b", "d"]
    assert compiled(frame.lazy()).collect()["id"].to_list() == ["d"]
    assert compiled.to_json() == {
        "filter": str(compiled.expr),
        "order_by": [{"key": str(key), "descending": descending} for key, descending in
                     zip(compiled.order_by, (True, True, False), strict=True)],
        "limit": 1}
    assert "summary.acc" in compiled.to_json()["filter"]


def test_a_pattern_rust_cannot_read_as_re2_is_refused() -> None:
    with pytest.raises(TargetError) as raised:
        compile_polars(wsquery.parse('name =~ "\\\\pL"'))
    assert "the sql target on duckdb, which runs RE2" in str(raised.value)
    assert "Unicode classes" in str(raised.value)


@pytest.mark.parametrize("pattern", ["(?i)straße", "^a.c$", "(?m)^b$", "\\bx\\b", "[[:alpha:]]+\\d",
                                     "(?s)a.b", "\\x{212a}", "(?i)k"])
def test_polars_regexes_find_what_re2_finds(pattern: str) -> None:
    texts = ["STRASSE", "straße", "STRAẞE", "abc", "a\nc", "a\nb", "b\n", "x y", "xy",
             "\u212a", "K", "k", "ab1", "é1", ""]
    runs = [{"id": str(index), "name": text} for index, text in enumerate(texts)]
    query = Query(wsquery.parse(f"name =~ {pattern!r}".replace("'", '"')).filter)
    assert polars_rows(query, runs) == expected_rows(query, runs)
    assert pandas_rows(query, runs) == expected_rows(query, runs)


def test_polars_frame_without_the_key_reads_it_as_missing() -> None:
    frame = to_frame([{"id": "a"}], backend="polars")
    assert "config.lr" not in frame.columns
    compiled = compile_polars(wsquery.parse("config.lr is null and not config.lr > 1"),
                              columns=frame)
    assert compiled(frame)["id"].to_list() == []
    compiled = compile_polars(wsquery.parse("config.lr is null"), columns=frame)
    assert compiled(frame)["id"].to_list() == ["a"]


def test_polars_guards_against_nan_only_where_a_column_can_hold_it() -> None:
    """An integer column holds no NaN: its comparisons go as written; a float column's are
    narrowed to numbers that are not NaN where only TRUE matters."""
    schema = {"config.n": polars.Int64, "config.lr": polars.Float64}
    compiled = compile_polars(wsquery.parse("config.n != 2 and config.n <= 5"),
                              columns=polars.Schema(schema))
    assert "nan" not in str(compiled.expr)
    compiled = compile_polars(wsquery.parse("config.lr != 2"), columns=polars.Schema(schema))
    assert "is_not_nan" in str(compiled.expr)
