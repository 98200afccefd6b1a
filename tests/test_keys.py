"""The key check: a config or summary key that no run holds is a warning naming the closest keys
that exist, judged as ``evaluate`` reads keys; without runs or fields nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsquery
from wsquery.apps.assist import Diagnostic, check, fields_of
from wsquery.ast import Field
from wsquery.semantics.evaluate import adapt, getter
from wsquery.semantics.keys import MAX_DEPTH, known_keys, unknown_keys

RUNS = [
    {"id": "a", "state": "finished", "tags": ["x"],
     "config": {"lr": 0.1, "optimizer": {"beta": 0.9, "name": "adam"}, "layers.depth": 4},
     "summary": {"val_loss": 0.05, "acc": 0.9}},
    {"id": "b", "config": {"lr": 0.01, "batch_size": 32}, "summary": {"val_loss": 0.5}},
]


def keys(text: str, runs: Any = RUNS) -> list[tuple[str, tuple[int, int], str | None]]:
    """The key warnings of ``text`` over ``runs``: message, span, hint."""
    return [(d.message, d.span, d.hint) for d in check(text, target=None, runs=runs)]


def test_a_misspelled_key_is_a_warning_that_names_the_key_meant() -> None:
    assert check("summary.vall_loss <= 0.1", runs=RUNS) == [Diagnostic(
        "no run has summary.vall_loss", (0, 17), "did you mean summary.val_loss?",
        severity="warning", source="keys")]
    assert wsquery.check("summary.vall_loss <= 0.1", runs=RUNS) == check(
        "summary.vall_loss <= 0.1", runs=RUNS)
    assert wsquery.evaluate("summary.vall_loss <= 0.1", RUNS) == []  # what the warning is for


def test_without_runs_or_fields_nothing_changes() -> None:
    for text in ("summary.vall_loss <= 0.1", "config.acc >= 1", "summary.x > 1"):
        assert check(text, runs=None, fields=None) == check(text)
        assert all(d.source != "keys" for d in check(text))
    assert check("summary.vall_loss <= 0.1", runs=[]) == []  # no run tells nothing
    assert check("summary.vall_loss <= 0.1", fields={}) == []


def test_a_key_of_the_other_section_with_the_same_name_is_suggested() -> None:
    assert keys("config.acc >= 0.5") == [
        ("no run has config.acc", (0, 10), "did you mean summary.acc?")]
    assert keys("summary.batch_size == 32") == [
        ("no run has summary.batch_size", (0, 18), "did you mean config.batch_size?")]
    assert keys("summary.lr == 0.1") == [
        ("no run has summary.lr", (0, 10), "did you mean config.lr?")]


def test_without_a_close_key_the_hint_lists_the_section_s_keys() -> None:
    assert keys("summary.throughput > 1") == [
        ("no run has summary.throughput", (0, 18),
         "the runs' summary keys are summary.acc, summary.val_loss")]
    assert keys("summary.x == 1", [{"id": "r", "config": {"lr": 1}}]) == [
        ("no run has summary.x", (0, 9), "no run has any summary key")]
    many = [{"id": "r", "config": {f"key{n}": n for n in range(8)}}]
    assert keys("config.zzz == 1", many)[0][2] == (
        "the runs' config keys are config.key0, config.key1, config.key2, config.key3, "
        "config.key4 and 3 more")


def test_nested_keys_are_held_as_evaluate_reads_them() -> None:
    # a prefix of a nested key is held (evaluate reads the dict), and so is the whole key;
    # a prefix of a flat dotted key is not (evaluate finds nothing there)
    assert keys("config.optimizer.beta > 0.5 and config.optimizer is not null") == []
    assert keys("config.layers.depth == 4 and config.`layers.depth` == 4") == []
    assert keys("config.layers == 4") == [
        ("no run has config.layers", (0, 13), "did you mean config.`layers.depth`?")]
    assert keys("config.`optimizer.beta` == 0.9") == [
        ("no run has config.`optimizer.beta`", (0, 23),
         "did you mean config.optimizer.beta?")]
    for text, held in (("config.optimizer", True), ("config.layers", False),
                       ("config.`optimizer.beta`", False), ("config.layers.depth", True)):
        field = wsquery.field(text).field
        assert any(getter(field)(adapt(run)) is not None for run in RUNS) is held


def test_group_by_and_order_by_keys_are_judged_too() -> None:
    text = 'state == "finished" group by config.optimiser order by summary.val_los desc'
    assert keys(text) == [
        ("no run has config.optimiser", (29, 45), "did you mean config.optimizer?"),
        ("no run has summary.val_los", (55, 70), "did you mean summary.val_loss?")]


def test_run_attributes_are_never_judged() -> None:
    assert keys('state == "finished" and tags contains "x" and user == "ada" '
                'and run.commit == "abc" and created_at within last 1d order by runtime') == []


def test_each_mention_is_warned_at_its_place_among_the_target_s_warnings() -> None:
    text = "config.lr > 0.05 and\n  summary.vall_loss < 1 order by summary.vall_loss"
    found = check(text, runs=RUNS)
    assert [(d.source, d.line, d.column, d.message.split(":")[0]) for d in found] == [
        ("runset", 1, 1, "config.lr > 0.05 became config.lr >= 0.05"),
        ("keys", 2, 3, "no run has summary.vall_loss"),
        ("runset", 2, 3, "summary.vall_loss < 1 became summary.vall_loss <= 1"),
        ("keys", 2, 34, "no run has summary.vall_loss")]
    refused = check('name contains "a" and name contains "b" and config.lrr == 1', runs=RUNS)
    assert [(d.severity, d.source) for d in refused] == [
        ("error", "runset"), ("warning", "keys")]


def test_errors_of_the_query_come_alone() -> None:
    assert [d.source for d in check("summary.vall_loss <", runs=RUNS)] == ["syntax"]
    assert [d.source for d in check('state == "finshed" and config.lrr == 1', runs=RUNS)] == [
        "meaning"]


def test_fields_judge_as_the_runs_they_came_from() -> None:
    texts = ["summary.vall_loss <= 0.1", "config.acc == 1", "config.optimizer == 1",
             "config.layers == 4", "config.`layers.depth` == 4", "config.optimizer.nme == 1"]
    for text in texts:
        by_runs = check(text, runs=RUNS)
        assert check(text, fields=fields_of(RUNS)) == by_runs
        assert check(text, fields=list(fields_of(RUNS))) == by_runs
    assert keys("config.lr == 1", [3, None]) == []  # not runs: skipped, so no vocabulary
    assert keys("config.lr == 1", [3, {"id": "r"}]) == [
        ("no run has config.lr", (0, 9), "no run has any config key")]


def test_w_b_s_own_keys_and_keys_read_one_by_one_are_not_judged() -> None:
    run = {"id": "r", "config": {"_wandb": {"cli_version": "0.17"}, "lr": 1}}
    assert keys("config._wandb.cli_version == 1", [run]) == []

    class Summary:
        """A summary read key by key, as wandb's run object holds it."""

        def keys(self) -> list[str]:
            return ["acc"]

        def get(self, key: str) -> Any:
            return 0.5 if key == "acc" else None

    class Run:
        def __init__(self) -> None:
            self.id = "r"
            self.config = {"lr": 1}
            self.summary = Summary()

    assert keys("summary.anything > 0 and config.lrr == 1", [Run()]) == [
        ("no run has config.lrr", (25, 35), "did you mean config.lr?")]


def test_keys_deeper_than_listed_are_judged_by_their_listed_segments() -> None:
    deep = {"id": "r", "config": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}
    assert MAX_DEPTH == 4
    assert keys("config.a.b.c.d.e.f == 1", [deep]) == []
    assert [m for m, _, _ in keys("config.a.b.x.d.e == 1", [deep])] == [
        "no run has config.a.b.x.d.e"]


def test_a_query_built_without_text_is_judged_too() -> None:
    known = known_keys(RUNS)
    assert known is not None
    query = wsquery.Query(filter=wsquery.field("summary.vall_loss") <= 0.1)
    problems = unknown_keys(query, known)
    assert [(p.message, p.span, p.hint) for p in problems] == [
        ("no run has summary.vall_loss", (0, 0), "did you mean summary.val_loss?")]


# As evaluate reads keys ------------------------------------------------------------------

_SEGMENTS = st.sampled_from(["a", "b", "a.b", "c"])
_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.integers(0, 3), lambda inner: st.dictionaries(_SEGMENTS, inner, max_size=3),
    max_leaves=6)
_RUNS = st.lists(st.fixed_dictionaries(
    {"id": st.just("r"), "state": st.just("finished"),
     "config": st.dictionaries(_SEGMENTS, _VALUES, max_size=3)}),
    min_size=1, max_size=3)
_FIELDS = st.lists(_SEGMENTS, min_size=1, max_size=MAX_DEPTH - 1).map(
    lambda path: Field("config", tuple(path)))


@settings(max_examples=300, deadline=None)
@given(runs=_RUNS, field=_FIELDS)
def test_a_key_is_held_exactly_when_evaluate_reads_a_value_for_it(
        runs: list[dict[str, Any]], field: Field) -> None:
    """Runs without nulls: held is the same as some run giving the getter a value, whether
    the vocabulary comes from the runs or from their fields."""
    read = getter(field)
    reads_a_value = any(read(adapt(run)) is not None for run in runs)
    for known in (known_keys(runs), known_keys(fields=fields_of(runs))):
        assert known is not None
        assert known.holds(field) is reads_a_value
    if not reads_a_value:
        text = f"{field} == 1"
        assert [d.message for d in check(text, target=None, runs=runs)] == [
            f"no run has {field}"]


@pytest.mark.parametrize("text", ["config.lr == 1", "summary.acc > 0", "config.lrr == 1"])
def test_check_never_raises_with_odd_runs(text: str) -> None:
    odd: list[Any] = [None, {"config": "not json"}, {"config": {1: 2, "": 3}}, {"summary": []}]
    assert all(d.source == "keys" for d in check(text, target=None, runs=odd))
