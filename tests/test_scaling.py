"""Work grows linearly with the size of a query, counted in function calls and never timed; a
text compiled again comes from a bounded cache; starting up reuses the parser's tables, and
never those of another grammar.

Each growth case compiles (or decompiles) a query of n and of ten times n leaves with a profile
hook that counts every call, Python's and C's; linear work makes the second count at most ten
times the first (plus a little), while anything quadratic in the leaves shows up many times
over.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import wsquery
from wsquery.compilers.runset import write as runset
from wsquery.syntax import parser as parser_module

SMALL = 200
#: Ten times the leaves may cost at most this much more than ten times the calls.
SLACK = 1.05


def calls(action: Callable[[], Any]) -> int:
    """How many functions ``action`` calls, directly or not."""
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return count


LEAVES = ['config.lr >= 0.{n}', 'summary.acc <= {n}.5', 'state == "finished"',
          'config.optimizer in ["adam", "sgd{n}"]', 'config.batch_size != {n}',
          'tags in ["best{n}"]', 'config.model == "resnet{n}"', 'created_at within last {n}d']


def mixed(leaves: int) -> str:
    """And-chains of varied leaves joined by or, as people write them."""
    parts = [LEAVES[i % len(LEAVES)].format(n=i + 1) for i in range(leaves)]
    return "".join(("" if i == 0 else " or " if i % 5 == 0 else " and ") + part
                   for i, part in enumerate(parts))


def grouped(leaves: int) -> str:
    """Parenthesized ors inside one and: filterV2 groups."""
    pairs = [f"(config.a{i} == {i} or summary.b{i} <= {i})" for i in range(leaves // 2)]
    return " and ".join(pairs)


def one_field_or(leaves: int) -> str:
    """Equalities on one field, merged into one ``in``."""
    return " or ".join(f"config.x == {i}" for i in range(leaves))


def one_field_and(leaves: int) -> str:
    """Inequalities on one field, merged into one ``not in`` after a contradiction check."""
    return " and ".join(f"config.x != {i}" for i in range(leaves))


SHAPES = {"mixed": mixed, "grouped": grouped, "one field, or": one_field_or,
          "one field, and": one_field_and}


@pytest.mark.parametrize("shape", SHAPES)
def test_compile_grows_linearly(shape: str) -> None:
    make = SHAPES[shape]
    for leaves in (SMALL, 10 * SMALL):  # the parser is built and names seen before counting
        wsquery.compile(make(leaves))
    small = calls(lambda: wsquery.compile(make(SMALL)).to_json())
    large = calls(lambda: wsquery.compile(make(10 * SMALL)).to_json())
    assert large <= 10 * small * SLACK, (small, large)


@pytest.mark.parametrize("shape", ["mixed", "grouped"])
def test_decompile_grows_linearly(shape: str) -> None:
    make = SHAPES[shape]
    small_json = wsquery.compile(make(SMALL)).to_json()
    large_json = wsquery.compile(make(10 * SMALL)).to_json()
    wsquery.decompile(small_json)
    small = calls(lambda: wsquery.decompile(small_json))
    large = calls(lambda: wsquery.decompile(large_json))
    assert large <= 10 * small * SLACK, (small, large)


def test_ten_thousand_leaves_compile() -> None:
    text = mixed(10_000)
    filters = wsquery.compile(text).to_json()["filters"]["filters"]
    assert len(filters) == 10_000


# A text compiled again --------------------------------------------------------------------------

def test_a_text_compiled_again_comes_from_the_cache() -> None:
    text = mixed(40) + " and config.cached == 1"
    fresh = runset.compile_runset(wsquery.parse(text), text=text)
    results = [runset.compile_text(text) for _ in range(3)]  # kept from the second on
    assert calls(lambda: runset.compile_text(text)) < 20
    assert all(result == fresh for result in results)
    results[2].filters["filters"].pop()
    results[2].sort["keys"][0]["ascending"] = True
    assert runset.compile_text(text) == fresh  # each result has dicts of its own
    legacy = [runset.compile_text(text, format="legacy") for _ in range(3)]
    assert legacy[2] == legacy[1] != fresh


def test_the_cache_is_bounded() -> None:
    for serial in range(runset.CACHED_TEXTS + 10):
        for _ in range(2):
            runset.compile_text(f"config.bounded == {serial}")
    assert len(runset._compiled) == runset.CACHED_TEXTS
    assert len(runset._seen) <= runset.CACHED_TEXTS


def test_errors_are_not_kept() -> None:
    with pytest.raises(wsquery.TargetError) as first:
        runset.compile_text("config.x is null")
    with pytest.raises(wsquery.TargetError) as second:
        runset.compile_text("config.x is null")
    assert first.value is not second.value


# Starting up: the parser's tables are kept between runs, and never for another grammar -------

@pytest.fixture
def fresh_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory, and a parser built anew on first use (and again after)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parser_module._driver.cache_clear()
    parser_module._lark.cache_clear()
    yield tmp_path / "cache" / "wsquery"
    parser_module._driver.cache_clear()
    parser_module._lark.cache_clear()


def test_kept_tables_are_those_lark_makes(fresh_parser: Path) -> None:
    parser_module._driver()
    (kept,) = fresh_parser.iterdir()
    content = json.loads(kept.read_text(encoding="utf-8"))
    assert content["key"] == parser_module._tables_key()
    assert content["tables"] == json.loads(json.dumps(parser_module._tables(parser_module._lark())))


def test_kept_tables_serve_the_next_run_without_lark(fresh_parser: Path) -> None:
    before = wsquery.parse('config.lr <= 0.1 and tags in ["a"] order by summary.acc desc')
    parser_module._driver.cache_clear()
    parser_module._lark.cache_clear()
    after = wsquery.parse('config.lr <= 0.1 and tags in ["a"] order by summary.acc desc')
    assert after == before
    assert parser_module._lark.cache_info().currsize == 0  # lark was not needed


def test_tables_of_another_grammar_are_never_used(fresh_parser: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    parser_module._driver()
    (kept,) = fresh_parser.iterdir()
    # A grammar where `between` is no keyword: text using it parses differently, or not.
    grammar = Path(parser_module.grammar_path()).read_text(encoding="utf-8")
    changed = tmp_path / "wsquery.lark"
    changed.write_text(grammar.replace("| field BETWEEN value AND value -> between\n", ""),
                       encoding="utf-8")
    monkeypatch.setattr(parser_module, "grammar_path", lambda: changed)
    parser_module._driver.cache_clear()
    parser_module._lark.cache_clear()
    # The old tables stand where the new grammar's would, as if their names had collided.
    Path(parser_module._tables_path(parser_module._tables_key())).write_text(
        kept.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(wsquery.QuerySyntaxError):
        wsquery.parse("config.lr between 1 and 2")


def test_unreadable_kept_tables_are_made_again(fresh_parser: Path) -> None:
    path = Path(parser_module._tables_path(parser_module._tables_key()))
    path.parent.mkdir(parents=True)
    path.write_text('{"key": {"lark": "1.0"}, "tables": ', encoding="utf-8")
    assert str(wsquery.parse("config.lr <= 0.1")) == "config.lr <= 0.1"
    assert json.loads(path.read_text(encoding="utf-8"))["key"] == parser_module._tables_key()
