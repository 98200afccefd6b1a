"""``wsquery.complete``: what the grammar lets come at a cursor, at every kind of position,
with the keys and values of runs; every candidate, put in place, leaves text that parses or
that a query starts with; lark's own parser completes exactly as the driver over its tables."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery import QuerySyntaxError, QueryValidationError
from wsquery.apps.assist import Completion, Completions, complete, fields_of
from wsquery.syntax import parser as parser_module
from wsquery.syntax.grammar import keywords

from .strategies import queries

CASES = json.loads((Path(__file__).parent / "cases" / "language.json").read_text("utf-8"))

RUNS: list[dict[str, Any]] = [
    {"id": "r1", "name": "sweep-1", "state": "finished", "tags": ["best", 'say "hi"'],
     "user": "ada", "runtime": 30,
     "config": {"lr": 0.1, "optimizer": "adam", "opt": {"beta": 0.9}, "layers": [1, 2]},
     "summary": {"val_loss": 0.05, "val loss": 2, "acc": 1e-05}},
    {"id": "r2", "name": "other", "state": "crashed", "tags": ["best"],
     "config": {"lr": 0.2, "optimizer": "sgd", "flag": True, "ünï": "x"},
     "summary": {"val_loss": 0.5}},
    # W&B's GraphQL shape: config values wrapped, summary as JSON text
    {"name": "r3", "displayName": "gql", "state": "running", "tags": [],
     "config": json.dumps({"lr": {"value": 0.1}, "optimizer": {"value": "adam"}}),
     "summaryMetrics": json.dumps({"val_loss": 1})},
]
FIELDS = fields_of(RUNS)


def texts(result: Completions) -> list[str]:
    return [item.text for item in result.items]


# What comes where -----------------------------------------------------------------------------

ATTRIBUTES = ["name", "id", "state", "tags", "created_at", "runtime", "user", "sweep", "group",
              "job_type", "host", "step"]
KEYS = ["config.lr", "config.optimizer", "config.opt", "config.opt.beta", "config.layers",
        "summary.val_loss", "summary.`val loss`", "summary.acc", "config.flag", "config.ünï"]
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "=~", "!~"]
AFTER_A_FIELD = [*OPERATORS, "between", "contains", "in", "is not null", "is null", "not in"]
AFTER_A_CONDITION = ["and", "group by", "limit", "or", "order by"]


@pytest.mark.parametrize(("text", "expected"), [
    ("", [*ATTRIBUTES, "config.", "summary.", "run.", *KEYS, "group by", "limit", "not",
          "order by", "("]),
    ("config.opt", ["config.optimizer", "config.opt", "config.opt.beta"]),
    ("CONFIG.O", ["config.optimizer", "config.opt", "config.opt.beta"]),
    ("summary.`val l", ["summary.`val loss`"]),
    ("summary.val", ["summary.val_loss", "summary.`val loss`"]),
    ("st", ["state", "step"]),
    ("co", ["config.", *[k for k in KEYS if k.startswith("config.")]]),
    ("config.lr ", AFTER_A_FIELD),
    ("state ", AFTER_A_FIELD),
    # only what the field's kind allows: no `within last` but on created_at, no text search
    # on a number of seconds, no regex on a moment
    ("created_at ", [*OPERATORS[:6], "between", "is not null", "is null", "within last"]),
    ("runtime ", [*OPERATORS[:6], "between", "in", "is not null", "is null", "not in"]),
    ("tags ", ["==", "!=", "contains", "in", "is not null", "is null", "not in"]),
    ("config.lr is ", ["null", "not null"]),
    ("config.lr is not ", ["null"]),
    ("config.lr not ", ["in"]),
    ("created_at within ", ["last"]),
    ("created_at within last ", ["1h", "1d", "7d", "30d"]),
    ("config.lr == ", ["0.1", "0.2"]),
    ("config.flag == ", ["true", "false"]),
    ("config.nothing_seen == ", ["true", "false"]),
    ("summary.acc > ", ["1e-05"]),
    ("config.optimizer == ", ['"adam"', '"sgd"']),
    ("config.optimizer == 'a", ['"adam"']),
    ('config.optimizer == "s', ['"sgd"']),
    ("config.optimizer == s", ['"sgd"']),
    ("state == ", ['"finished"', '"crashed"', '"running"', '"pending"', '"preempting"',
                   '"failed"', '"killed"', '"preempted"']),
    ("state == fin", ['"finished"']),
    ("tags contains ", ['"best"', '"say \\"hi\\""']),
    ("name =~ ", ['"sweep-1"', '"other"', '"gql"']),
    ("user == ", ['"ada"']),
    ("runtime > ", ["30"]),
    ("runtime > 5 ", ["s", "m", "h", "d", "w", *AFTER_A_CONDITION]),
    ("config.lr in ", ["["]),
    ("config.lr in [", ["0.1", "0.2", "]"]),
    ("config.lr in [0.1, ", ["0.1", "0.2", "]"]),
    ("config.lr in [0.1 ", [",", "]"]),
    ("config.lr between ", ["0.1", "0.2"]),
    ("config.lr between 0.1 ", ["and"]),
    ("config.lr == 0.1 ", AFTER_A_CONDITION),
    ("config.lr == 0.1 an", ["and"]),
    ("config.lr == 0.1 gro", ["group by"]),
    ("config.lr == 0.1 AND ", [*ATTRIBUTES, "config.", "summary.", "run.", *KEYS, "not", "("]),
    ("(config.lr == 0.1 ", ["and", "or", ")"]),
    ('"best" in ', [*ATTRIBUTES, "config.", "summary.", "run.", *KEYS]),
    ("0.1 < ", [*ATTRIBUTES, "config.", "summary.", "run.", *KEYS]),
    ("0.1 < config.lr ", [*OPERATORS, *AFTER_A_CONDITION]),
    ("0.1 < config.lr <= ", ["0.1", "0.2"]),
    ("group by ", [*ATTRIBUTES, "config.", "summary.", "run.", *KEYS]),
    ("group by config.lr ", ["limit", "order by", ","]),
    ("order by summary.acc ", ["asc", "desc", "limit", ","]),
    ("order by summary.acc d", ["desc"]),
    ("limit ", []),
    ("limit 5 ", []),
    ("config.lr == 0.1) ", []),  # no query starts so
    ("config.lr == == ", []),
])
def test_what_comes_where(text: str, expected: list[str]) -> None:
    assert texts(complete(text, fields=FIELDS)) == expected


def test_kinds_and_details() -> None:
    items = {item.text: item for item in complete("", fields=FIELDS).items}
    assert items["state"] == Completion("state", "field", "run attribute")
    assert items["config."] == Completion("config.", "section", "a key of the run's config")
    assert items["summary.acc"] == Completion("summary.acc", "field", "summary key")
    assert items["group by"].kind == "keyword"
    assert items["("].kind == "punctuation"
    assert {item.kind for item in complete("config.lr ").items} == {"operator", "keyword"}
    seen = {item.text: item for item in complete("config.lr == ", runs=RUNS).items}
    assert seen["0.1"] == Completion("0.1", "value", "seen in 2 runs")
    assert seen["0.2"] == Completion("0.2", "value", "seen in 1 run")
    states = {item.text: item for item in complete("state == ", fields=FIELDS).items}
    assert states['"killed"'] == Completion('"killed"', "value", "a run state")
    assert complete("runtime > 5 ").items[0] == Completion("s", "unit", "a unit of time")


def test_values_are_folded_by_the_fields_case_rule() -> None:
    """States compare without case: runs holding "Finished" and "finished" give one value."""
    runs = [{"state": "Finished"}, {"state": "finished"}, {"state": "FINISHED"}]
    offered = [(item.text, item.detail) for item in complete("state == ", runs=runs).items]
    assert offered[0] == ('"finished"', "seen in 3 runs")
    assert [text for text, _ in offered].count('"finished"') == 1
    assert not any(text.lower() == '"finished"' and text != '"finished"' for text, _ in offered)
    cased = [{"config": {"opt": "Adam"}}, {"config": {"opt": "adam"}}]
    assert {item.text for item in complete("config.opt == ", runs=cased).items} >= {
        '"Adam"', '"adam"'}  # text elsewhere keeps its case


def test_a_section_is_not_offered_once_typed() -> None:
    """``config.`` typed: its keys follow, not ``config.`` itself."""
    items = complete("config.", fields=["config.lr", "summary.acc"]).items
    assert [(item.text, item.kind) for item in items] == [("config.lr", "field")]
    run = next(item for item in complete("ru").items if item.text == "run.")
    assert run.detail == "a run attribute by its W&B key (run.createdAt)"


def test_the_span_is_the_word_before_the_cursor() -> None:
    assert complete("").span == (0, 0)
    assert complete("config.lr == 0.1 an").span == (17, 19)
    assert complete('state == "fin').span == (9, 13)
    assert complete("summary.`val l").span == (0, 14)
    assert complete('name == "a b" and ').span == (18, 18)
    assert complete("name == \"it's\" and na").span == (19, 21)
    assert complete("summary.`it's` > 1 and na").span == (23, 25)
    assert complete("config.lr ==0.").span == (12, 14)


def test_the_cursor_may_stand_anywhere() -> None:
    text = 'config.opt == "adam" and state == "finished"'
    result = complete(text, 10, fields=FIELDS)
    assert result.span == (0, 10)
    assert texts(result) == ["config.optimizer", "config.opt", "config.opt.beta"]
    assert texts(complete(text, 21)) == AFTER_A_CONDITION
    with pytest.raises(ValueError, match="cursor 99 is outside the text"):
        complete(text, 99)
    with pytest.raises(TypeError, match="complete\\(\\) takes query text, not bytes"):
        complete(b"state")  # type: ignore[arg-type]


def test_runs_fields_and_the_text_give_the_vocabulary() -> None:
    assert texts(complete("config.o", runs=RUNS)) == [
        "config.optimizer", "config.opt", "config.opt.beta"]
    assert texts(complete("config.o", fields=["config.other", "summary_metrics.oops"])) == [
        "config.other"]
    assert texts(complete("summary.o", fields=["summary_metrics.oops"])) == ["summary.oops"]
    given = {"config.optimizer": ["adam", "lamb", 3, True]}
    assert texts(complete("config.optimizer == ", fields=given)) == [
        '"adam"', '"lamb"', "3", "true", "false"]
    # keys written elsewhere in the text are offered too
    assert texts(complete("config.my_key == 1 or config.my")) == ["config.my_key"]
    assert texts(complete("config.o")) == []


def test_fields_of_reads_every_shape_of_run() -> None:
    assert FIELDS["config.lr"] == (0.1, 0.2)
    assert FIELDS["config.optimizer"] == ("adam", "sgd")
    assert FIELDS["summary.val_loss"] == (0.05, 0.5, 1)
    assert FIELDS["name"] == ("sweep-1", "other", "gql")
    assert FIELDS["tags"] == ("best", 'say "hi"')
    assert FIELDS["state"] == ("finished", "crashed", "running")
    assert FIELDS["config.opt"] == ()  # a mapping: a key, and its keys below
    assert FIELDS["config.opt.beta"] == (0.9,)
    assert FIELDS["config.layers"] == ()  # a list is no value a query writes
    assert "id" not in FIELDS and "created_at" not in FIELDS  # one per run: too many
    assert fields_of([{"config": {"x": 1, "y": True, "z": float("nan")}}, "no run"]) == {
        "config.x": (1,), "config.y": (True,), "config.z": ()}


def test_values_a_run_attribute_can_never_hold_are_not_offered() -> None:
    assert texts(complete("state == ", fields={"state": ["finished", 3, True]})) == [
        '"finished"', '"running"', '"pending"', '"preempting"', '"crashed"', '"failed"',
        '"killed"', '"preempted"']
    assert texts(complete("created_at > ", fields={"created_at": ["2024-01-01", "soon"]})) == [
        '"2024-01-01"']


def test_the_public_function_is_the_same() -> None:
    assert wsquery.complete("st", fields=FIELDS) == complete("st", fields=FIELDS)


# Every candidate leaves text a query starts with ------------------------------------------

#: A spelling of each terminal, to finish a query with.
SAMPLES = {**keywords(), "FIELD": "config.x", "NAME": "name", "OP": "==", "NUMBER": "1",
           "STRING": '"s"', "DURATION": "1d", "UNIT": "d", "LPAR": "(", "RPAR": ")",
           "LSQB": "[", "RSQB": "]", "COMMA": ","}
#: The terminals that finish a query soonest, first.
CLOSING = ["$END", "RPAR", "RSQB", "NULL", "LAST", "DURATION", "NUMBER", "OP", "IN", "LSQB",
           "AND", "FIELD", "NAME", "COMMA", "STRING", "NOT", "LPAR"]


def finished(text: str) -> str:
    """``text`` and the words that make it a whole query, chosen by the parser's state."""
    state = parser_module.prefix(text)
    assert state is not None, f"no query starts with {text!r}"
    words = []
    for _ in range(12):
        accepted = state.accepts()
        if "$END" in accepted:
            return " ".join([text, *words])
        terminal = next(t for t in CLOSING if t in accepted)
        words.append(SAMPLES[terminal])
        after = state.after(terminal)
        assert after is not None
        state = after
    raise AssertionError(f"{text!r} does not finish")


def assert_every_candidate_fits(text: str, cursor: int) -> int:
    """Put each candidate at ``cursor`` in place of its span: the text up to there must
    parse or start a query that parses (literals that no run matches aside)."""
    result = complete(text, cursor, fields=FIELDS)
    start, end = result.span
    assert 0 <= start <= end == cursor
    for item in result.items:
        inserted = text[:start] + item.text + ("x" if item.kind == "section" else "")
        whole = finished(inserted)
        try:
            wsquery.parse(whole)
        except QueryValidationError:
            pass
        except QuerySyntaxError as error:
            raise AssertionError(f"{item} at {cursor} of {text!r}: {whole!r}\n{error}") from None
    return len(result.items)


def positions(text: str) -> Iterator[int]:
    """The start and end of every word and symbol of ``text``, and the middle of each word."""
    seen = set()
    for found in re.finditer(r"\w[\w.]*|\S", text):
        for cursor in (found.start(), (found.start() + found.end()) // 2, found.end()):
            if cursor not in seen:
                seen.add(cursor)
                yield cursor


@pytest.mark.parametrize("case", CASES, ids=[c["query"] for c in CASES])
def test_every_candidate_fits_at_every_position(case: dict[str, str]) -> None:
    text = case["query"]
    offered = sum(assert_every_candidate_fits(text, cursor) for cursor in positions(text))
    assert offered or "error" in case  # a valid query has something to offer somewhere


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries, data=st.data())
def test_every_candidate_fits_in_generated_queries(query: wsquery.Query, data: Any) -> None:
    text = str(query)
    cursor = data.draw(st.integers(0, len(text)))
    assert_every_candidate_fits(text, cursor)


# Both parsers complete alike ----------------------------------------------------------------

def _unreadable(lark: Any) -> Any:
    raise AttributeError("'Lark' object has no attribute 'parser'")


@pytest.fixture(scope="module")
def fallback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The parser ``_driver`` chooses when reading lark's tables fails: lark's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(parser_module, "_tables", _unreadable)
        parser_module._driver.cache_clear()
        chosen = parser_module._driver()
    parser_module._driver.cache_clear()
    assert isinstance(chosen, parser_module._LarkParser)
    yield chosen


def test_the_driver_completes() -> None:
    assert isinstance(parser_module._driver(), parser_module._Driver)


@pytest.mark.parametrize("case", CASES, ids=[c["query"] for c in CASES])
def test_lark_parser_completes_as_the_driver(case: dict[str, str], fallback: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    text = case["query"]
    expected = [complete(text, cursor, fields=FIELDS) for cursor in positions(text)]
    monkeypatch.setattr(parser_module, "_driver", lambda: fallback)
    assert [complete(text, cursor, fields=FIELDS) for cursor in positions(text)] == expected
    state = parser_module.prefix(text[:len(text) // 2])
    assert state is None or isinstance(state, parser_module._LarkPrefix)
