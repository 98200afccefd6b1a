"""The local evaluator: three-valued truth of every predicate and connective over every run
shape, the 3VL laws as properties, ``order by`` and ``within last``."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsquery
from wsquery.ast import (
    Compare,
    Contains,
    Duration,
    Field,
    In,
    Match,
    Not,
    Query,
    Within,
    format_value,
)
from wsquery.errors import WsqueryError
from wsquery.semantics.evaluate import adapt, compile_predicate, evaluate, matches

NOW = datetime(2024, 5, 2, 0, 0, tzinfo=UTC)
NAN = float("nan")

PLAIN = {
    "id": "abc123", "name": "sweep-1", "state": "Finished", "tags": ["best", "baseline"],
    "created_at": "2024-05-01T12:00:00Z", "runtime": 3600, "user": "ada", "sweep": "sw1",
    "group": "g", "job_type": "train", "host": "node1", "step": 100, "notes": "hello",
    "config": {"lr": 0.1, "optimizer": {"name": "adam", "lr": 0.01}, "opt.beta": 0.9,
               "opt": {"beta": 0.5}, "layers": [64, 128], "flag": True, "label": "5",
               "nothing": None, "nan": NAN, "count": 3, "bits": [1, 0, NAN]},
    "summary": {"val_loss": 0.25, "acc": NAN, "note": "good run", "bad": None},
}

GRAPHQL = {
    "name": "abc123", "displayName": "sweep-1", "state": "finished", "tags": ["best"],
    "createdAt": "2024-05-01T12:00:00", "duration": 3600, "user": {"username": "ada"},
    "sweep": {"name": "sw1"}, "group": "g", "jobType": "train", "host": "node1", "notes": "n",
    "config": json.dumps({"lr": {"value": 0.1, "desc": None},
                          "optimizer": {"value": {"name": "adam"}, "desc": "the optimizer"},
                          "_wandb": {"value": {"cli_version": "0.16.0"}}}),
    "summaryMetrics": json.dumps({"val_loss": 0.25, "_step": 99}),
}


class Summary:
    """Like wandb's summary object: keys() and get(), nested dicts as more such objects, not a
    Mapping; reading the key "tensor" would download a file, so it must not happen."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def keys(self) -> list[str]:
        return list(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        assert key != "tensor", "read a summary key the query does not ask for"
        value = self._values.get(key, default)
        return Summary(value) if isinstance(value, dict) else value


class User:
    username = "ada"


class Sweep:
    id = "sw1"
    name = "my sweep"


class RunObject:
    """Like ``wandb.apis.public.Run``: the plain names as attributes."""

    id = "abc123"
    name = "sweep-1"
    state = "running"
    tags = ("best",)
    created_at = datetime(2024, 5, 1, 12, 0)
    user = User()
    sweep = Sweep()
    group = None
    notes = "obj"
    config = {"lr": 0.1, "optimizer": {"lr": 0.01}}  # noqa: RUF012
    summary = Summary({"val_loss": 0.25, "_step": 7, "tensor": [], "eval": {"acc": 0.5}})


def truth(text: str, run: Any, now: datetime = NOW) -> bool | None:
    """TRUE, FALSE or UNKNOWN (None) of the query's filter for one run."""
    query = _parse(text)
    assert query.filter is not None
    return compile_predicate(query.filter, now)(adapt(run))


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Query:
    """Parsing is the slow part of the properties, and generated texts repeat."""
    return wsquery.parse(text)


T, F, U = True, False, None

PLAIN_CASES: list[tuple[str, bool | None]] = [
    # numbers; missing, null and NaN are unknown
    ("summary.val_loss < 0.3", T), ("summary.val_loss >= 0.3", F), ("summary.val_loss == 0.25", T),
    ("summary.val_loss != 0.25", F), ("summary.missing < 1", U), ("summary.missing != 1", U),
    ("summary.bad < 1", U), ("summary.acc < 1", U), ("summary.acc != 1", U),
    ("config.count == 3.0", T), ("0 < config.count <= 3", T),
    # mixed types are unknown
    ('config.label == 5', U), ('config.label == "5"', T), ('config.lr == "0.1"', U),
    ("config.flag == true", T), ("config.flag != false", T), ("config.flag == 1", U),
    ("config.lr == true", U), ("config.flag < true", U), ("config.flag >= false", U),
    ("config.layers == 64", U), ('config.optimizer == "adam"', U),
    # strings order lexicographically
    ('summary.note > "a"', T), ('summary.note < "a"', F), ('summary.note == "good run"', T),
    # flat and nested keys
    ("config.optimizer.lr < 0.05", T), ('config.optimizer.name == "adam"', T),
    ("config.opt.beta == 0.9", T), ("config.optimizer.name.first == 1", U),
    ("config.lr.deeper == 1", U),
    # run attributes under their plain names
    ("runtime > 30m", T), ("runtime == 1h", T), ("runtime < 3600", F), ("runtime >= 3600s", T),
    ('state == "finished"', T), ('state != "FINISHED"', F), ('state < "running"', T),
    ('name == "sweep-1"', T), ('id == "abc123"', T), ('user == "ada"', T), ('sweep == "sw1"', T),
    ('group == "g"', T), ('job_type == "train"', T), ('host == "node1"', T), ("step == 100", T),
    ('run.notes == "hello"', T), ("summary_metrics.val_loss < 1", T),
    # created_at compares as datetimes
    ('created_at > "2024-05-01"', T), ('created_at < "2024-05-01T12:00:00+01:00"', F),
    ('created_at == "2024-05-01T14:00:00+02:00"', T), ('created_at >= "2024-05-01T12:00:00"', T),
    # is null: never unknown; NaN is a value
    ("config.nothing is null", T), ("config.missing is null", T), ("config.lr is null", F),
    ("summary.acc is null", F), ("config.nothing is not null", F), ("config.lr is not null", T),
    ("config.optimizer.lr is null", F), ("config.optimizer.beta is null", T),
    # in: the OR of ==; tags: has any
    ("config.lr in [0.1, 0.2]", T), ("config.lr in [0.2]", F), ("config.missing in [1]", U),
    ("config.missing in []", F), ('config.lr in ["0.1", 0.1]', T), ('config.lr in ["a"]', U),
    ('config.lr in ["a", 0.2]', U), ("config.lr not in [0.2]", T),
    ("config.missing not in []", T), ('state in ["running", "FINISHED"]', T),
    ('tags in ["best", "x"]', T), ('tags in ["x"]', F), ("tags in []", F),
    ('tags not in ["x"]', T),
    # contains: substring or list member
    ('"best" in tags', T), ('"x" in tags', F), ('tags contains "baseline"', T),
    ('"x" not in tags', T), ('summary.note contains "good"', T), ('summary.note contains "bad"', F),
    ('name contains "-"', T), ("config.layers contains 64", T), ("config.layers contains 65", F),
    ('config.layers contains "64"', F), ("config.bits contains true", F),
    ("config.bits contains 1.0", T), ("config.bits contains 2", F), ('config.lr contains "1"', U),
    ('config.missing contains "x"', U), ("summary.note contains 1", U),
    # regex match: strings only
    ('name =~ "^sweep-\\d$"', T), ('name =~ "^x"', F), ('name =~ "WEEP"', F),
    ('config.lr =~ "0"', U), ('config.missing =~ "x"', U), ('name !~ "^x"', T),
    ('config.missing !~ "x"', U), ('config.label =~ "^5$"', T),
    # within last, with now = 2024-05-02T00:00Z and the run 12 hours old
    ("created_at within last 1d", T), ("created_at within last 12h", T),
    ("created_at within last 11h", F), ("created_at within last 1h", F),
    ("not created_at within last 1h", T), ("created_at within last 0s", F),
    # connectives: SQL three-valued logic
    ("true", T), ("false", F), ("not true", F), ("not summary.missing < 1", U),
    ("true and summary.missing < 1", U), ("false and summary.missing < 1", F),
    ("summary.missing < 1 and false", F), ("true or summary.missing < 1", T),
    ("summary.missing < 1 or true", T), ("false or summary.missing < 1", U),
    ("summary.missing < 1 or summary.bad < 1", U), ("not (false or summary.missing < 1)", U),
    ("summary.val_loss < 1 and config.lr == 0.1 and state == \"finished\"", T),
    ("not not summary.val_loss < 1", T),
]


@pytest.mark.parametrize(("text", "expected"), PLAIN_CASES, ids=[c[0] for c in PLAIN_CASES])
def test_plain_dict(text: str, expected: bool | None) -> None:
    assert truth(text, PLAIN) is expected
    assert wsquery.matches(text, PLAIN, now=NOW) is (expected is True)


GRAPHQL_CASES: list[tuple[str, dict[str, Any], bool | None]] = [
    ('id == "abc123"', GRAPHQL, T), ('name == "sweep-1"', GRAPHQL, T),
    ('user == "ada"', GRAPHQL, T), ('sweep == "sw1"', GRAPHQL, T), ('group == "g"', GRAPHQL, T),
    ('job_type == "train"', GRAPHQL, T), ('host == "node1"', GRAPHQL, T),
    ("step == 99", GRAPHQL, T), ("runtime == 1h", GRAPHQL, T), ("config.lr == 0.1", GRAPHQL, T),
    ('config.optimizer.name == "adam"', GRAPHQL, T), ("config.optimizer.desc is null", GRAPHQL, T),
    ('config._wandb.cli_version == "0.16.0"', GRAPHQL, T),
    ("summary.val_loss < 0.3", GRAPHQL, T), ('run.notes == "n"', GRAPHQL, T),
    ('run.displayName == "sweep-1"', GRAPHQL, T),
    ('created_at == "2024-05-01T12:00:00Z"', GRAPHQL, T),  # naive means UTC
    ("created_at within last 1d", GRAPHQL, T),
    ('"best" in tags', GRAPHQL, T),
    # other spellings of the same facts
    ('user == "bob"', {"displayName": "r", "username": "bob"}, T),
    ('sweep == "s9"', {"displayName": "r", "sweepName": "s9"}, T),
    ('sweep == "s9"', {"displayName": "r", "sweep": "s9"}, T),
    ("step == 5", {"displayName": "r", "_step": 5, "summaryMetrics": {"_step": 9}}, T),
    ("config.lr == 1", {"displayName": "r", "config": {"lr": {"value": 1}}}, T),
    ("config.lr == 1", {"displayName": "r", "config": {"lr": 1}}, T),
    ("summary.x == 2", {"displayName": "r", "summaryMetrics": {"x": 2}}, T),
    # malformed sections are empty, never a crash
    ("config.lr is null", {"displayName": "r", "config": "{not json"}, T),
    ("summary.x is null", {"displayName": "r", "summaryMetrics": "[1, 2]"}, T),
    ("summary.x is null", {"displayName": "r", "summaryMetrics": 17}, T),
    ("summary.x < 1", {"displayName": "r", "summaryMetrics": "{"}, U),
    ('tags in ["a"]', {"displayName": "r"}, U), ('"a" in tags', {"displayName": "r"}, U),
    ('"a" in tags', {"displayName": "r", "tags": None}, U),
    ("created_at within last 1d", {"displayName": "r"}, U),
    ("created_at within last 1d", {"displayName": "r", "createdAt": "yesterday"}, U),
    ('created_at > "2020-01-01"', {"displayName": "r", "createdAt": "yesterday"}, U),
    ('created_at > "2020-01-01"', {"displayName": "r", "createdAt": 1714564800}, U),
]


@pytest.mark.parametrize(("text", "run", "expected"), GRAPHQL_CASES,
                         ids=[f"{i}:{c[0]}" for i, c in enumerate(GRAPHQL_CASES)])
def test_graphql_json(text: str, run: dict[str, Any], expected: bool | None) -> None:
    assert truth(text, run) is expected


OBJECT_CASES: list[tuple[str, bool | None]] = [
    ('id == "abc123"', T), ('name == "sweep-1"', T), ('state == "RUNNING"', T),
    ('"best" in tags', T), ('tags in ["best"]', T), ('user == "ada"', T), ('sweep == "sw1"', T),
    ('created_at == "2024-05-01T12:00:00Z"', T), ("created_at within last 1d", T),
    ("config.lr == 0.1", T), ("config.optimizer.lr == 0.01", T), ("summary.val_loss < 1", T),
    ("summary.eval.acc == 0.5", T), ("summary.eval.loss is null", T), ("summary.eval == 1", U),
    ("step == 7", T), ('run.notes == "obj"', T), ("group is null", T), ("runtime is null", T),
    ("run.nonexistent is null", T), ("run.__class__ is null", T), ("run.notes.deeper is null", T),
]


@pytest.mark.parametrize(("text", "expected"), OBJECT_CASES, ids=[c[0] for c in OBJECT_CASES])
def test_object_with_attributes(text: str, expected: bool | None) -> None:
    assert truth(text, RunObject()) is expected


def test_a_run_key_is_found_in_a_plain_dict_through_its_plain_name() -> None:
    run = {"id": "the-id", "name": "display"}
    assert wsquery.matches('run.name == "the-id" and run.displayName == "display"', run)
    assert matches(Query(Compare(Field("run", ("duration",)), "==", 1)), {"runtime": 1})
    assert not matches(Query(Compare(Field("run", ("duration",)), "==", 1)), {"duration": 1})


def test_flat_key_wins_over_nested_and_null_flat_key_falls_through() -> None:
    run = {"config": {"a.b": 1, "a": {"b": 2}}}
    assert wsquery.matches("config.a.b == 1", run)
    run = {"config": {"a.b": None, "a": {"b": 2}}}
    assert wsquery.matches("config.a.b == 2", run)


def test_backticked_segment_with_a_dot_is_one_key() -> None:
    run = {"summary": {"val.loss": 1, "val": {"loss": 2}}}
    assert wsquery.matches("summary.`val.loss` == 1", run)
    assert truth("summary.`val.loss`.x == 1", {"summary": {"val.loss": {"x": 1}}}) is T


def test_summary_metrics_key_and_json_string_sections_in_plain_dicts() -> None:
    run = {"summary_metrics": '{"x": 1}', "config": '{"lr": 0.5}'}
    assert wsquery.matches("summary.x == 1 and config.lr == 0.5", run)


def test_codebuilt_literals_without_spelling() -> None:
    """Nodes the parser refuses still have a meaning: comparing with null is unknown."""
    lr = Field("config", ("lr",))
    for node, expected in [
        (Compare(lr, "==", None), U), (Compare(lr, "!=", None), U),
        (In(lr, (None,)), U), (In(lr, (None, 0.1)), T), (Compare(lr, "==", NAN), U),
        (Contains(Field("config", ("layers",)), None), F),
        (Compare(Field("run", ("tags",)), "==", "best"), U),
        (Compare(Field("run", ("createdAt",)), "<", "not a date"), U),
        (Compare(Field("run", ("createdAt",)), "<", 5), U),
        (Within(Field("run", ("createdAt",)), Duration(10**12, "w")), T),
        (Within(Field("run", ("createdAt",)), Duration(-(10**12), "w")), F),
        (Within(Field("run", ("createdAt",)), Duration(float("inf"), "d")), T),
    ]:
        assert compile_predicate(node, NOW)(adapt(PLAIN)) is expected, node


@pytest.mark.parametrize(("node", "message"), [
    (Match(Field("run", ("displayName",)), "("), "invalid regular expression '('"),
    (Compare(Field("params", ("x",)), "==", 1), "unknown section 'params' in field 'x'"),
    (Compare(Field("config", ("x",)), "=~", 1), "unknown comparison operator '=~'"),
])
def test_codebuilt_nodes_that_mean_nothing_raise(node: Any, message: str) -> None:
    with pytest.raises(WsqueryError, match="^" + re.escape(message)):
        compile_predicate(node, NOW)


def test_deep_nesting() -> None:
    text = "not " * 100 + "config.lr == 0.1"
    assert wsquery.matches(text, PLAIN)
    text = "(" * 99 + "config.lr == 0.1" + " or false)" * 99
    assert wsquery.matches(text, PLAIN)
    node: Any = Compare(Field("config", ("lr",)), "==", 0.1)
    for _ in range(5000):
        node = Not(node)
    with pytest.raises(WsqueryError, match="nests too deeply"):
        compile_predicate(node, NOW)


@pytest.mark.parametrize("not_a_run", [5, "run-1", None, 2.5, [1, 2], object()])
def test_anything_that_is_not_a_run_is_refused(not_a_run: Any) -> None:
    with pytest.raises(WsqueryError, match=r"^not a run: "):
        adapt(not_a_run)
    with pytest.raises(WsqueryError, match=r"^not a run: "):
        evaluate(Query(), [PLAIN, not_a_run])
    with pytest.raises(WsqueryError, match=r"^not a run: "):
        matches(Query(), not_a_run)


def test_runs_must_be_an_iterable_of_runs() -> None:
    for runs in (PLAIN, 5):
        with pytest.raises(WsqueryError, match="takes an iterable of runs"):
            evaluate(Query(), runs)  # type: ignore[arg-type]


def test_now_must_be_a_datetime() -> None:
    with pytest.raises(WsqueryError, match="now must be a datetime, not str"):
        wsquery.matches("created_at within last 1d", PLAIN, now="2024-05-02")  # type: ignore[arg-type]


# within last --------------------------------------------------------------------------------

def test_within_last_is_anchored_at_now() -> None:
    query = wsquery.parse("created_at within last 2h")
    run = {"created_at": "2024-05-01T22:00:00Z"}
    assert matches(query, run, now=NOW)  # exactly two hours: the boundary is inside
    assert not matches(query, run, now=NOW + timedelta(seconds=1))
    assert matches(query, run, now=datetime(2024, 5, 2, 0, 0))  # naive now means UTC
    assert not matches(query, run, now=datetime(2024, 5, 2, 2, 0, tzinfo=UTC))


def test_within_last_defaults_to_the_current_time() -> None:
    recent = {"created_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    old = {"created_at": "2001-01-01"}
    assert wsquery.evaluate("created_at within last 1h", [old, recent]) == [recent]


def test_created_at_accepts_datetimes_naive_meaning_utc_and_dates() -> None:
    run = {"created_at": datetime(2024, 5, 1, 23, 30)}
    assert wsquery.matches("created_at within last 1h", run, now=NOW)
    assert wsquery.matches('created_at == "2024-05-01T23:30:00+00:00"', run)
    run = {"created_at": date(2024, 5, 1)}  # midnight UTC
    assert wsquery.matches("created_at within last 1d", run, now=NOW)
    assert not wsquery.matches("created_at within last 23h", run, now=NOW)


def test_user_and_sweep_in_their_other_spellings_in_plain_dicts() -> None:
    run = {"user": {"username": "ada"}, "sweep": Sweep()}
    assert wsquery.matches('user == "ada" and sweep == "sw1"', run)
    assert wsquery.matches('user == "ada" and sweep == "sw1"', {"user": User(), "sweep": "sw1"})


# evaluate and order by ----------------------------------------------------------------------

def test_evaluate_returns_the_given_objects_in_input_order() -> None:
    runs = [{"summary": {"x": i}} for i in (3, 1, 2)]
    selected = wsquery.evaluate("summary.x >= 2", runs)
    assert selected == [runs[0], runs[2]]
    assert selected[0] is runs[0] and selected[1] is runs[2]
    assert wsquery.evaluate(Query(), runs) == runs


def test_evaluate_takes_any_iterable_and_mixed_shapes() -> None:
    def generate() -> Iterator[Any]:
        yield PLAIN
        yield GRAPHQL
        yield RunObject()

    selected = wsquery.evaluate('name == "sweep-1" order by step', generate())
    assert isinstance(selected[0], RunObject)  # step 7, from its summary
    assert selected[1:] == [GRAPHQL, PLAIN]  # steps 99 (from the summary) and 100
    assert selected[1] is GRAPHQL and selected[2] is PLAIN


def _xs(*values: Any) -> list[dict[str, Any]]:
    """Runs named by position whose summary.x is each value (``...`` leaves the key out)."""
    return [{"id": str(i), "summary": {} if v is ... else {"x": v}} for i, v in enumerate(values)]


def _ids(text: str, runs: list[dict[str, Any]]) -> list[str]:
    return [run["id"] for run in wsquery.evaluate(text, runs)]


def test_order_by_types_rank_and_missing_sort_last_in_both_directions() -> None:
    runs = _xs(3, None, 1, "a", True, NAN, ..., 2.5, [1], "B", False)
    assert _ids("order by summary.x", runs) == ["10", "4", "2", "7", "0", "9", "3", "8",
                                                 "1", "5", "6"]
    assert _ids("order by summary.x desc", runs) == ["8", "3", "9", "0", "7", "2", "4", "10",
                                                      "1", "5", "6"]


def test_order_by_sorts_a_value_python_will_not_print() -> None:
    runs = _xs([10 ** 5000], "a", [1], 2)  # repr of the first raises ValueError
    assert _ids("order by summary.x", runs) == ["3", "1", "0", "2"]


def test_order_by_is_stable_and_keys_apply_in_turn() -> None:
    runs = [{"id": str(i), "config": {"g": g}, "summary": {"x": x}}
            for i, (g, x) in enumerate([("b", 1), ("a", 2), ("b", 2), ("a", 1), ("a", 2),
                                        (None, 5), ("b", None)])]
    assert _ids("order by config.g, summary.x desc", runs) == ["1", "4", "3", "2", "0", "6", "5"]
    assert _ids("order by config.g desc, summary.x", runs) == ["0", "2", "6", "3", "1", "4", "5"]
    assert _ids("summary.x >= 2 order by config.g", runs) == ["1", "4", "2", "5"]


def test_order_by_state_ignores_case_and_created_at_sorts_as_datetimes() -> None:
    runs = [{"id": "b", "state": "running"}, {"id": "a", "state": "Finished"},
            {"id": "c", "state": "crashed"}]
    assert _ids("order by state", runs) == ["c", "a", "b"]
    runs = [{"id": "utc", "created_at": "2023-12-31T20:00:00Z"},
            {"id": "bad", "created_at": "soon"},
            {"id": "plus5", "created_at": "2024-01-01T00:00:00+05:00"},
            {"id": "naive", "created_at": "2023-12-31T19:30:00"}]
    assert _ids("order by created_at", runs) == ["plus5", "naive", "utc", "bad"]
    assert _ids("order by created_at desc", runs) == ["utc", "naive", "plus5", "bad"]


def test_group_by_changes_nothing_locally() -> None:
    runs = _xs(2, 1, 3)
    assert _ids("group by summary.x", runs) == ["0", "1", "2"]


# Properties ---------------------------------------------------------------------------------

FIELDS = ["config.x", "summary.y", "config.n.x"]
NUMBERS = st.sampled_from([0, 1, 2, -1, 0.5, 2.5])
LITERALS = st.one_of(NUMBERS, st.sampled_from(["", "a", "b", "ab"]), st.booleans())
VALUES = st.one_of(NUMBERS, st.sampled_from(["a", "b", "ab", "", "B"]), st.booleans(),
                   st.none(), st.just(NAN), st.just([1, "a"]), st.just({"x": 1}))
OPS = ["==", "!=", "<", "<=", ">", ">="]
NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _section_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(["x", "y"]), VALUES, max_size=2)


RUNS = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["r1", "r2"]),
    "name": st.one_of(st.sampled_from(["a", "ab", "b"]), st.none(), NUMBERS),
    "state": st.one_of(st.sampled_from(["running", "Finished", "crashed"]), st.none()),
    "tags": st.one_of(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3), st.none()),
    "config": st.one_of(
        _section_values(),
        st.fixed_dictionaries({"n": st.one_of(_section_values(), VALUES)}),
        st.fixed_dictionaries({"n.x": VALUES, "n": _section_values()})),
    "summary": _section_values(),
})
LEAVES = st.one_of(
    st.builds(lambda f, op, v: f"{f} {op} {format_value(v)}", st.sampled_from(FIELDS),
              st.sampled_from(OPS), LITERALS),
    st.builds(lambda f, vs: f"{f} in {format_value(tuple(vs))}", st.sampled_from(FIELDS),
              st.lists(LITERALS, max_size=3)),
    st.builds(lambda f: f"{f} is null", st.sampled_from(FIELDS)),
    st.builds(lambda f, p: f"{f} =~ {format_value(p)}", st.sampled_from([*FIELDS, "name"]),
              st.sampled_from(["^a", "b", ""])),
    st.builds(lambda v: f"{format_value(v)} in tags", st.sampled_from(["a", "b"])),
    st.builds(lambda vs: f"tags in {format_value(tuple(vs))}",
              st.lists(st.sampled_from(["a", "c"]), max_size=2)),
    st.builds(lambda v: f"state == {format_value(v)}", st.sampled_from(["running", "FINISHED"])),
)
EXPRESSIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        inner.map(lambda e: f"not ({e})"),
        st.lists(inner, min_size=2, max_size=3).map(lambda es: " and ".join(f"({e})" for e in es)),
        st.lists(inner, min_size=2, max_size=3).map(lambda es: " or ".join(f"({e})" for e in es)),
    ),
    max_leaves=8,
)
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(st.sampled_from(FIELDS), st.sampled_from(OPS), LITERALS, RUNS)
def test_not_of_a_comparison_is_its_negated_operator(field: str, op: str, literal: Any,
                                                     run: dict[str, Any]) -> None:
    value = format_value(literal)
    negated = f"{field} {NEGATED[op]} {value}"
    assert truth(f"not {field} {op} {value}", run) is truth(negated, run)
    assert wsquery.matches(f"not ({field} {op} {value})", run) == wsquery.matches(negated, run)


@PROPERTY
@given(EXPRESSIONS, EXPRESSIONS, RUNS)
def test_de_morgan_and_double_negation(a: str, b: str, run: dict[str, Any]) -> None:
    assert truth(f"not (({a}) and ({b}))", run) is truth(f"not ({a}) or not ({b})", run)
    assert truth(f"not (({a}) or ({b}))", run) is truth(f"not ({a}) and not ({b})", run)
    assert truth(f"not not ({a})", run) is truth(a, run)
    assert truth(f"({a}) and ({b})", run) is truth(f"({b}) and ({a})", run)
    assert truth(f"({a}) or ({b})", run) is truth(f"({b}) or ({a})", run)


@PROPERTY
@given(EXPRESSIONS, RUNS)
def test_truth_is_three_valued_and_excluded_middle_fails_only_when_unknown(
        a: str, run: dict[str, Any]) -> None:
    value = truth(a, run)
    assert value in (True, False, None)
    assert truth(f"({a}) or not ({a})", run) is (None if value is None else True)
    assert truth(f"({a}) and not ({a})", run) is (None if value is None else False)


@PROPERTY
@given(st.sampled_from(FIELDS), st.lists(LITERALS, max_size=3), RUNS)
def test_in_is_the_or_of_equalities(field: str, literals: list[Any],
                                    run: dict[str, Any]) -> None:
    expected = False if not literals else truth(
        " or ".join(f"{field} == {format_value(v)}" for v in literals), run)
    assert truth(f"{field} in {format_value(tuple(literals))}", run) is expected


@PROPERTY
@given(st.sampled_from(FIELDS), RUNS)
def test_is_null_is_never_unknown(field: str, run: dict[str, Any]) -> None:
    assert truth(f"{field} is null", run) is not None
    assert truth(f"{field} is null", run) is not truth(f"{field} is not null", run)


def _as_graphql(run: dict[str, Any]) -> dict[str, Any]:
    """The same run as W&B GraphQL JSON: wrapped config and summary as JSON strings."""
    wrapped = {key: {"value": value, "desc": None} for key, value in run.get("config", {}).items()}
    graphql: dict[str, Any] = {"config": json.dumps(wrapped),
                               "summaryMetrics": json.dumps(run.get("summary", {}))}
    for plain, key in (("id", "name"), ("name", "displayName"), ("state", "state"),
                       ("tags", "tags")):
        if plain in run:
            graphql[key] = run[plain]
    return graphql


class _Attributes:
    id = None

    def __init__(self, run: dict[str, Any]) -> None:
        for key, value in run.items():
            setattr(self, key, value)


@PROPERTY
@given(EXPRESSIONS, RUNS)
def test_every_run_shape_means_the_same(text: str, run: dict[str, Any]) -> None:
    expected = truth(text, run)
    assert truth(text, _as_graphql(run)) is expected
    assert truth(text, _Attributes(run)) is expected


@settings(max_examples=100, deadline=None)  # each example is a batch of runs
@given(EXPRESSIONS, st.lists(RUNS, max_size=6), st.sampled_from(FIELDS), st.booleans())
def test_evaluate_keeps_the_matching_runs_sorted_with_missing_last(
        text: str, runs: list[dict[str, Any]], field: str, ascending: bool) -> None:
    query = wsquery.parse(f"{text} order by {field}{'' if ascending else ' desc'}")
    selected = evaluate(query, runs)
    assert sorted(map(id, selected)) == sorted(id(run) for run in runs if matches(query, run))
    values = [_value(run, field) for run in selected]
    missing = [value is None or value != value for value in values]
    assert missing == sorted(missing)  # every missing value after every present one
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)
               and v == v]
    assert numbers == sorted(numbers, reverse=not ascending)


def _value(run: dict[str, Any], field: str) -> Any:
    """A field's value by the documented rule: the flat key, else the nested dicts."""
    section, *path = field.split(".")
    values = run.get(section, {})
    value = values.get(".".join(path))
    for segment in path if value is None else ():
        values = values.get(segment) if isinstance(values, dict) else None
        value = values
    return value
