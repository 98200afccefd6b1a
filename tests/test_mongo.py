"""The runs-API (MongoDB-style) target: exact JSON, the same runs as the evaluator under mongomock
and the server's own matcher, every refusal, order, within last, RE2 regexes with and without
google-re2, run documents."""

from __future__ import annotations

import json
import math
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery import regex
from wsquery.apps.server import FilterError, matches_filter
from wsquery.ast import (
    And,
    Compare,
    Contains,
    Duration,
    Field,
    In,
    IsNull,
    Match,
    Not,
    OrderKey,
    Query,
    Within,
)
from wsquery.compilers import mongo as mongo_target
from wsquery.compilers.mongo import (
    MongoQuery,
    compile_mongo,
    iso_timestamp,
    mongo_document,
    order_key,
)
from wsquery.errors import TargetError, TargetWarning, WsqueryError
from wsquery.semantics.evaluate import matches

from . import strategies
from .conformance import document, mongomock_selects

re2 = regex.re2_module()  # None without google-re2: then no regex is run at all
needs_re2 = pytest.mark.skipif(re2 is None, reason="google-re2 (the re2 extra) is not installed")

NOW = datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mongo(text: str, **options: Any) -> dict[str, Any]:
    return wsquery.compile(text, target="mongo", now=NOW, **options).to_json()


def refusal(query: str | Query, **options: Any) -> str:
    with pytest.raises(TargetError) as caught:
        if isinstance(query, str):
            wsquery.compile(query, target="mongo", now=NOW, **options)
        else:
            compile_mongo(query, now=NOW, **options)
    assert caught.value.target == "mongo"
    return str(caught.value)


# Documents and engines ---------------------------------------------------------------------------

def assert_same_runs(query: Query, runs: list[dict[str, Any]], *, mongomock_too: bool) -> None:
    """The evaluator, the server's matcher and (``mongomock_too``) mongomock select the same
    runs; a refusal only for a filter that can never be true."""
    expected = {index for index, run in enumerate(runs) if matches(query, run, now=NOW)}
    try:
        compiled = compile_mongo(query, now=NOW)
    except TargetError as error:
        assert error.message == "the filter can never be true, so no run would match"
        assert expected == set()
        return
    documents = [document(run) for run in runs]
    matched = {index for index, doc in enumerate(documents)
               if matches_filter(compiled.filters, doc)}
    assert matched == expected, (str(query), compiled.filters)
    if mongomock_too:
        assert mongomock_selects(compiled.filters, documents) == expected, (
            str(query), compiled.filters)


# Generated queries and runs beyond the shared strategies: step, other run keys, nested keys
# three deep, values that are lists of objects or objects with a key "0", regexes that need
# rewriting for RE2.
STEP = Field("run", ("_step",))
MORE_FIELDS = [STEP, Field("run", ("commit",)), Field("summary", ("_step",)),
               Field("config", ("a", "b", "c")), Field("config", ("opt", "beta")),
               Field("config", ("lr",)), Field("config", ("opt",))]
LITERALS = st.sampled_from([0, 1, 1.0, 2, 0.5, "a", "", "x1", True, False])
# The server's matcher speaks RE2, so it judges only the patterns PCRE reads alike (written
# as they are); the rewritten ones are checked as data in test_regex.
PATTERNS = st.sampled_from([pattern for pattern in (
    r"\d", r"^a", r"(?i)A", r"\w+", r"(?s)a.b", r"[^\W]", r"a|b", r"\bx\b", r"[\d]", r"\Ax\z",
    r"a$", r"\s") if regex.to_pcre(pattern, target="mongo") == pattern])
more_leaves = st.one_of(  # regexes need RE2 to run, here and in the server's matcher
    st.builds(Compare, st.sampled_from(MORE_FIELDS),
              st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), LITERALS),
    st.builds(In, st.sampled_from(MORE_FIELDS), st.lists(LITERALS, max_size=3).map(tuple)),
    st.builds(Contains, st.sampled_from(MORE_FIELDS + strategies.STRING_FIELDS), LITERALS),
    st.builds(IsNull, st.sampled_from(MORE_FIELDS)),
    *([st.builds(Match, st.sampled_from(MORE_FIELDS + strategies.STRING_FIELDS), PATTERNS)]
      if re2 is not None else []),
)
VALUES = [0, 1, 2, 0.5, "a", "x1", "", "a\n", "x", "١٢", "a b", "\u2003", None, True, False,
          float("nan"), [1, "a"], [], ["a", None], [{"b": {"c": 1}}], {"0": 1, "b": {"c": 2}},
          {"b": [{"c": 1}]}, {"b": {"c": 1}}, {"b": {"c": None}}, {"b": 5}]
#: Lists holding booleans: mongomock takes ``true`` for ``1`` inside arrays (MongoDB does not),
#: so these go to the server's matcher only.
BOOLEAN_LISTS = [[True], [0, False]]


def more_runs(values: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    value = st.sampled_from(values)

    def section(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.dictionaries(st.sampled_from(keys), value, max_size=len(keys))

    return st.builds(
        lambda base, extra, config, summary: {
            **base, **extra, "config": {**base.get("config", {}), **config},
            "summary": {**base.get("summary", {}), **summary}},
        strategies.runs,
        st.fixed_dictionaries({}, optional={
            "step": value, "commit": value,
            "name": st.sampled_from([1, "a", "x1", "a\n", True, None])}),
        section(["lr", "opt", "a", "m"]), section(["_step", "acc"]))


@PROPERTY
@given(strategies.expressions(strategies.predicates(with_regex=re2 is not None)),
       st.lists(strategies.runs, max_size=8))
def test_compiled_filters_select_what_the_evaluator_selects(expr: Any,
                                                           runs: list[dict[str, Any]]) -> None:
    assert_same_runs(Query(expr), runs, mongomock_too=True)


@PROPERTY
@given(strategies.expressions(st.one_of(strategies.predicates(with_regex=re2 is not None),
                                        more_leaves)),
       st.lists(more_runs(VALUES), max_size=8))
def test_exact_on_nested_keys_lists_objects_and_step(expr: Any,
                                                     runs: list[dict[str, Any]]) -> None:
    assert_same_runs(Query(expr), runs, mongomock_too=True)


@PROPERTY
@given(strategies.expressions(st.one_of(strategies.predicates(with_regex=False), more_leaves
                                        .filter(lambda leaf: not isinstance(leaf, Match)))),
       st.lists(more_runs(VALUES + BOOLEAN_LISTS), max_size=8))
def test_exact_under_mongodb_equality_for_lists_of_booleans(expr: Any,
                                                            runs: list[dict[str, Any]]) -> None:
    assert_same_runs(Query(expr), runs, mongomock_too=False)


def test_mongomock_takes_true_for_one_inside_arrays() -> None:
    """Why lists of booleans are judged by the server's matcher alone."""
    filters = mongo('config.x contains 1')["filters"]
    assert filters == {"config.x": 1, "config.x.0": {"$exists": True}}
    documents = [mongo_document({"config": {"x": [True]}})]
    assert mongomock_selects(filters, documents) == {0}
    assert not matches_filter(filters, documents[0])
    assert not wsquery.matches("config.x contains 1", {"config": {"x": [True]}})


# Exact JSON --------------------------------------------------------------------------------------

CASES: list[tuple[str, dict[str, Any] | None]] = [
    ("", {}),
    ("summary.val_loss < 0.1", {"summary_metrics.val_loss": {"$lt": 0.1},
                                "summary_metrics.val_loss.0": {"$exists": False}}),
    ("config.lr == 1", {"config.lr": {"$gte": 1, "$lte": 1}, "config.lr.0": {"$exists": False}}),
    ("config.lr != 1", {"$or": [{"config.lr": {"$lt": 1}}, {"config.lr": {"$gt": 1}}],
                        "config.lr.0": {"$exists": False}}),
    ('config.opt == "adam"', {"config.opt": "adam", "config.opt.0": {"$exists": False}}),
    ("config.flag == true", {"config.flag": {"$gte": True, "$lte": True},
                             "config.flag.0": {"$exists": False}}),
    ("config.flag != true", {"config.flag": {"$gte": False, "$lte": False},
                             "config.flag.0": {"$exists": False}}),
    ('config.opt in ["adam", "sgd"]', {"config.opt": {"$in": ["adam", "sgd"]},
                                      "config.opt.0": {"$exists": False}}),
    ("config.bs in [32, 64]", {"config.bs": {"$in": [32, 64], "$gte": 32, "$lte": 64},
                               "config.bs.0": {"$exists": False}}),
    ('config.x in [1, "a", true]', {
        "$or": [{"config.x": "a"}, {"config.x": {"$gte": 1, "$lte": 1}},
                {"config.x": {"$gte": True, "$lte": True}}],
        "config.x.0": {"$exists": False}}),
    ('config.opt not in ["adam", "sgd"]', {
        "$or": [{"config.opt": {"$lt": "adam"}}, {"config.opt": {"$gt": "adam", "$lt": "sgd"}},
                {"config.opt": {"$gt": "sgd"}}],
        "config.opt.0": {"$exists": False}}),
    ('config.x not in [1, "a"]', None),
    ('name =~ "^s"', {"displayName": {"$regex": "^s"}}),
    ('name !~ "^s"', {"displayName": {"$gte": ""},
                      "$nor": [{"displayName": {"$regex": "^s"}}]}),
    ('name contains "a.b"', {"displayName": {"$regex": "a\\.b"}}),
    ('not (name contains "a")', {"displayName": {"$gte": ""},
                                 "$nor": [{"displayName": {"$regex": "a"}}]}),
    ('config.model contains "bert"', {"$or": [
        {"config.model": {"$regex": "bert"}, "config.model.0": {"$exists": False}},
        {"config.model": "bert"}]}),
    ('not (config.model contains "bert")', {"$or": [
        {"config.model": {"$gte": ""}, "$nor": [{"config.model": {"$regex": "bert"}}],
         "config.model.0": {"$exists": False}},
        {"config.model": {"$gte": [], "$ne": "bert"}}]}),
    ("config.layers contains 64", {"config.layers": 64, "config.layers.0": {"$exists": True}}),
    ('state == "Finished"', {"state": "finished"}),
    ('state != "running"', {"$or": [{"state": {"$lt": "running"}},
                                    {"state": {"$gt": "running"}}]}),
    ('tags contains "best"', {"tags": "best"}),
    ('"best" in tags', {"tags": "best"}),
    ('tags in ["a", "b"]', {"tags": {"$in": ["a", "b"]}}),
    ('not ("best" in tags)', {"tags": {"$nin": ["best", None]}}),
    ('tags not in ["a", "b"]', {"tags": {"$nin": ["a", "b", None]}}),
    ("tags is null", {"tags": None}),
    ("group is not null", {"group": {"$ne": None}}),
    ("config.lr is null", {"config.lr": None, "config.lr.0": {"$exists": False}}),
    ("config.lr is not null", {"$or": [{"config.lr": {"$ne": None}},
                                       {"config.lr.0": {"$exists": True}}]}),
    ("config.opt.beta < 1", {"config.opt.beta": {"$lt": 1},
                             "config.opt.beta.0": {"$exists": False},
                             "$nor": [{"config.opt": {"$gte": []}}]}),
    ("config.opt.beta is null", {"$or": [
        {"config.opt.beta": None, "config.opt.beta.0": {"$exists": False}},
        {"$nor": [{"config.opt": {"$gte": {}}}]}, {"config.opt": {"$gte": []}}]}),
    ("config.opt.beta is not null", {
        "config.opt": {"$gte": {}},
        "$or": [{"config.opt.beta": {"$ne": None}}, {"config.opt.beta.0": {"$exists": True}}],
        "$nor": [{"config.opt": {"$gte": []}}]}),
    ("runtime > 1h", {"duration": {"$gt": 3600}}),
    ('user == "ada" and host != "gpu1"', {"username": "ada", "$or": [
        {"host": {"$lt": "gpu1"}}, {"host": {"$gt": "gpu1"}}]}),
    ('id in ["a1", "b2"] or sweep == "s"', {"$or": [{"name": {"$in": ["a1", "b2"]}},
                                                    {"sweep": "s"}]}),
    ('run.commit == "abc"', {"commit": "abc", "commit.0": {"$exists": False}}),
    ("step > 3", {"$or": [
        {"_step": {"$gt": 3}, "_step.0": {"$exists": False}},
        {"_step": None, "_step.0": {"$exists": False},
         "summary_metrics._step": {"$gt": 3}, "summary_metrics._step.0": {"$exists": False}}]}),
    ('created_at >= "2024-01-01"', {"createdAt": {"$gte": "2024-01-01T00:00:00.000000Z"}}),
    ('created_at < "2024-01-01T12:00:00+02:00"', {
        "createdAt": {"$lt": "2024-01-01T10:00:00.000000Z"}}),
    ('created_at == "2024-01-01"', {"createdAt": "2024-01-01T00:00:00.000000Z"}),
    ("summary.acc > 0.9 or (config.lr < 0.01 and not (config.opt is null))", {"$or": [
        {"summary_metrics.acc": {"$gt": 0.9}, "summary_metrics.acc.0": {"$exists": False}},
        {"config.lr": {"$lt": 0.01}, "config.lr.0": {"$exists": False},
         "$or": [{"config.opt": {"$ne": None}}, {"config.opt.0": {"$exists": True}}]}]}),
    ("config.lr > 1 and config.lr < 3", {"config.lr": {"$gt": 1, "$lt": 3},
                                         "config.lr.0": {"$exists": False}}),
    ("config.a != 1 and config.b != 2", {
        "$or": [{"config.a": {"$lt": 1}}, {"config.a": {"$gt": 1}}],
        "config.a.0": {"$exists": False},
        "config.b.0": {"$exists": False},
        "$and": [{"$or": [{"config.b": {"$lt": 2}}, {"config.b": {"$gt": 2}}]}]}),
]


@pytest.mark.parametrize(("text", "filters"), [case for case in CASES if case[1] is not None])
def test_exact_filters(text: str, filters: dict[str, Any]) -> None:
    compiled = wsquery.compile(text, target="mongo", now=NOW)
    assert isinstance(compiled, MongoQuery)
    assert compiled.filters == filters
    assert compiled.to_json() == {"filters": filters, "order": "-createdAt",
                                  "sort": [["createdAt", -1], ["name", 1]]}
    assert compiled.warnings == ()
    json.dumps(compiled.to_json(), allow_nan=False)  # plain JSON, no NaN or Infinity


@pytest.mark.parametrize("text", [text for text, filters in CASES if filters is None])
def test_filters_that_can_never_be_true_are_refused(text: str) -> None:
    assert refusal(text) == "\n".join([
        "line 1, column 1: mongo: the filter can never be true, so no run would match",
        f"    {text}",
        "    " + "~" * len(text),
        "hint: some conditions exclude each other, or can never hold (true and false have no "
        "order)"])


def test_config_keys_with_value_when_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongo_target, "RUNS_API_CONFIG_KEYS_WITH_VALUE", True)
    assert mongo("config.opt.beta < 1")["filters"] == {
        "config.opt.value.beta": {"$lt": 1}, "config.opt.value.beta.0": {"$exists": False},
        "$nor": [{"config.opt.value": {"$gte": []}}]}
    assert mongo_document({"config": {"lr": 1}})["config"] == {"lr": {"value": 1}}
    assert order_key("+config.opt.value.beta") == OrderKey(Field("config", ("opt", "beta")))


# Order and warnings ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "order", "sorted_as_the_language"), [
    ("", "-createdAt", True),
    ("order by summary.val_loss", "+summary_metrics.val_loss", False),
    ("order by summary.val_loss desc", "-summary_metrics.val_loss", False),
    ("order by config.opt.beta", "+config.opt.beta", False),
    ("order by created_at", "+createdAt", True),
    ("order by name desc", "-displayName", True),
    ("order by id", "+name", True),
    ("order by state", "+state", True),
    ("order by runtime", "+duration", False),
    ("order by step desc", "-_step", False),
    ("order by run.commit", "+commit", False),
])
def test_order(text: str, order: str, sorted_as_the_language: bool) -> None:
    """``order`` is the first key for ``Api.runs``; ``sort`` the whole order for a cursor,
    with a warning for a key MongoDB sorts otherwise than the language (missing values first
    when ascending, BSON's type order)."""
    compiled = wsquery.compile(text, target="mongo")
    assert compiled.order == order
    assert compiled.sort[:1] == ((order.lstrip("+-"), -1 if order[0] == "-" else 1),)
    assert [warning.message.startswith("order by ") for warning in compiled.warnings] == (
        [] if sorted_as_the_language else [True])
    if text:
        assert order_key(order) == wsquery.parse(text).order_by[0]


def test_order_keeps_the_first_key_and_group_by_is_left_out_with_warnings() -> None:
    text = "config.x == 1 group by config.y order by name desc, state, id"
    compiled = wsquery.compile(text, target="mongo")
    assert compiled.order == "-displayName"
    assert compiled.sort == (("displayName", -1), ("state", 1), ("name", 1), ("createdAt", -1))
    grouped, dropped = text.index("config.y"), text.index("state, id")
    assert [str(warning) for warning in compiled.warnings] == [
        "\n".join([f"line 1, column {grouped + 1}: mongo: the runs API does not group runs: "
                   "group by was left out", f"    {text}", " " * (4 + grouped) + "~" * 8,
                   "hint: group the runs it returns yourself"]),
        "\n".join([f"line 1, column {dropped + 1}: mongo: the runs API orders by one key: "
                   "state, id was left out", f"    {text}",
                   " " * (4 + dropped) + "~" * 9,
                   "hint: sort the runs it returns by the other keys yourself"]),
    ]
    assert all(isinstance(warning, TargetWarning) and warning.target == "mongo"
               for warning in compiled.warnings)
    assert refusal(text, strict=True).startswith(
        "line 1, column 24: mongo: the runs API does not group runs")


def test_warnings_without_text_have_no_caret() -> None:
    query = Query(order_by=(OrderKey(Field("run", ("createdAt",))),
                            OrderKey(Field("run", ("state",)))))
    warning, = compile_mongo(query).warnings
    assert str(warning) == ("mongo: the runs API orders by one key: state was left out\n"
                            "hint: sort the runs it returns by the other keys yourself")


# within last -------------------------------------------------------------------------------------

def test_within_last_is_a_created_at_bound_from_now() -> None:
    assert mongo("created_at within last 1d")["filters"] == {
        "createdAt": {"$gte": "2024-01-01T06:00:00.000000Z"}}
    assert mongo("created_at within last 1.5h")["filters"] == {
        "createdAt": {"$gte": "2024-01-02T04:30:00.000000Z"}}
    assert mongo("not (created_at within last 90s)")["filters"] == {
        "createdAt": {"$lt": "2024-01-02T05:58:30.000000Z"}}
    naive = compile_mongo(wsquery.parse("created_at within last 1d"),
                          now=datetime(2024, 1, 2, 6, 0)).filters
    assert naive == {"createdAt": {"$gte": "2024-01-01T06:00:00.000000Z"}}


def test_within_further_back_than_any_date() -> None:
    query = Query(Within(Field("run", ("createdAt",)), Duration(10**9, "w")))
    assert compile_mongo(query, now=NOW).filters == {
        "createdAt": {"$gte": "0001-01-01T00:00:00.000000Z"}}
    assert refusal(Query(Not(query.filter))).startswith(  # type: ignore[arg-type]
        "mongo: the filter can never be true")


def test_within_defaults_to_the_current_time() -> None:
    second = timedelta(seconds=1)
    before = datetime.now(UTC)
    bound = compile_mongo(wsquery.parse("created_at within last 1s")).filters["createdAt"]
    after = datetime.now(UTC)
    assert iso_timestamp(before - second) <= bound["$gte"] <= iso_timestamp(after - second)


def test_timestamps_sort_as_text_in_time_order() -> None:
    moments = [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 5, 1, tzinfo=UTC),
               datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC),
               datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=UTC),
               datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)]
    texts = [iso_timestamp(moment) for moment in moments]
    assert texts == sorted(texts)
    assert {len(text) for text in texts} == {27}


# Refusals ----------------------------------------------------------------------------------------

CREATED_AT = Field("run", ("createdAt",))


def test_every_refusal() -> None:
    hint = ("hint: the runs API cannot reach such keys (wandb issues #2819, #3087): filter or "
            "sort the fetched runs with wsquery.evaluate")
    assert refusal("config.`a.b` == 1") == "\n".join([
        "line 1, column 1: mongo: config.`a.b` names the key 'a.b', which holds a dot: "
        "MongoDB paths cannot reach it", "    config.`a.b` == 1", "    " + "~" * 17, hint])
    assert refusal("order by config.`a.b`") == "\n".join([
        "line 1, column 10: mongo: config.`a.b` names the key 'a.b', which holds a dot: "
        "MongoDB paths cannot reach it", "    order by config.`a.b`",
        "             " + "~" * 12, hint])
    assert refusal("summary.`$x` == 1").splitlines()[0] == (
        "line 1, column 1: mongo: summary.`$x` names the key '$x', which MongoDB would read as "
        "an operator")
    assert refusal(Query(Compare(Field("config", ("",)), "==", 1))) == (
        f"mongo: config.`` names an empty key, which no MongoDB path can reach\n{hint}")
    assert refusal("run.config.lr == 1") == "\n".join([
        "line 1, column 1: mongo: run.config.lr names a section of the run document, not a "
        "run key", "    run.config.lr == 1", "    " + "~" * 18,
        "hint: write config.lr or summary.lr"])
    assert refusal(Query(Contains(CREATED_AT, "2024"))) == (
        "mongo: 'contains' reads created_at as text, which run documents hold in another form\n"
        "hint: compare created_at with a date, or use 'within last'")
    assert refusal(Query(Not(Match(CREATED_AT, "^2")))) == (
        "mongo: '=~' reads created_at as text, which run documents hold in another form\n"
        "hint: compare created_at with a date, or use 'within last'")
    assert refusal(Query(Within(Field("config", ("t",)), Duration(1, "d")))) == (
        "mongo: 'within last' applies to created_at only")
    assert refusal(Query(Compare(Field("config", ("x",)), "<", math.inf))) == (
        "mongo: inf has no JSON form\nhint: use a finite number")


def test_options_are_checked() -> None:
    assert refusal("", bogus=1, other=2) == (
        "mongo: unknown options 'bogus', 'other'\nhint: options are now and strict")
    assert refusal("", strict="yes") == "mongo: strict must be True or False, not 'yes'"
    with pytest.raises(TargetError) as caught:
        compile_mongo(Query(), now="today")  # type: ignore[arg-type]
    assert str(caught.value) == "mongo: now must be a datetime, not str"


def test_deep_nesting_is_a_target_error() -> None:
    expr: Any = Compare(Field("config", ("x",)), "==", 1)
    for _ in range(3000):
        expr = Not(And((expr, IsNull(Field("config", ("y",))))))
    with pytest.raises(WsqueryError):
        compile_mongo(Query(expr))


# Regexes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "written"), [
    ("^s", "^s"),
    (r"^run-\d+$", r"^run-\d+\z"),
    (r"a\sb", r"a[\t\n\f\r ]b"),
    ("(?m)^b$", r"(?m)(?:^|(?<=\n))b$"),
])
def test_regexes_go_to_pcre_as_written_where_pcre_reads_them_alike(pattern: str,
                                                                   written: str) -> None:
    assert mongo(f"config.x =~ {json.dumps(pattern)}")["filters"]["config.x"]["$regex"] == (
        written)


def test_what_pcre_cannot_say_points_at_the_pattern() -> None:
    text = 'name =~ "a\\Cb"'
    message = refusal(text).splitlines()
    assert message[0].startswith("line 1, column 1: mongo: regex ")
    assert message[2] == "    " + "~" * len(text)


def test_contains_refuses_text_no_utf8_text_holds() -> None:
    assert refusal(Query(Contains(Field("config", ("x",)), "a\ud800"))) == (
        "mongo: the text holds a lone surrogate, which no UTF-8 text (what the server "
        "searches) holds")


@PROPERTY
@given(st.text(max_size=8).filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF
                                                        for c in text)),
       st.text(max_size=8))
def test_escaped_text_is_found_by_both_dialects(needle: str, haystack: str) -> None:
    escaped = regex.escape(needle)
    assert (re.search(escaped, haystack) is not None) == (needle in haystack)
    if re2 is not None:
        assert (re2.search(escaped, haystack) is not None) == (needle in haystack)


# Run documents -----------------------------------------------------------------------------------

def test_documents_from_every_run_shape() -> None:
    plain = {"id": "r1", "name": "bright-sun-1", "state": "finished", "tags": ["best"],
             "created_at": "2024-01-01T12:00:00+02:00", "runtime": 90, "user": "ada"}
    sections = {"config": {"lr": 0.1}, "summary": {"acc": 0.9, "_step": 7}}
    assert mongo_document({**plain, **sections}) == {
        # W&B's names (the plain names stay too: run.<key> reads any key of the run)
        **plain, "name": "r1", "displayName": "bright-sun-1",
        "createdAt": "2024-01-01T10:00:00.000000Z", "duration": 90, "username": "ada",
        "jobType": None, "_step": 7, "sweep": None,
        "config": {"lr": 0.1}, "summary_metrics": {"acc": 0.9, "_step": 7}}
    graphql = {"name": "r2", "displayName": "b", "createdAt": "2024-01-01T00:00:00",
               "user": {"username": "ada"}, "sweepName": "s1",
               "config": json.dumps({"lr": {"value": 0.1, "desc": None}}),
               "summaryMetrics": json.dumps({"acc": 1})}
    built = mongo_document(graphql)
    assert (built["createdAt"], built["username"], built["sweep"]) == (
        "2024-01-01T00:00:00.000000Z", "ada", "s1")
    assert (built["config"], built["summary_metrics"]) == ({"lr": 0.1}, {"acc": 1})
    assert "summaryMetrics" not in built


def test_a_document_needs_a_date_and_a_mapping() -> None:
    with pytest.raises(WsqueryError) as caught:
        mongo_document({"created_at": "soon"})
    assert str(caught.value) == "createdAt 'soon' is not an ISO-8601 date"
    with pytest.raises(WsqueryError) as caught:
        mongo_document(3)
    assert str(caught.value) == "a run document is made from a mapping, not int"
    assert mongo_document({"created_at": datetime(2024, 1, 1)})["createdAt"] == (
        "2024-01-01T00:00:00.000000Z")


# The server's matcher ----------------------------------------------------------------------------

def test_matcher_follows_mongodb() -> None:
    doc = {"a": 1, "b": True, "c": [1, "x", None], "d": {"e": [{"f": 2}, {"f": 3}]},
           "g": float("nan"), "h": [], "i": {"0": "zero"}, "s": "Abc"}
    holds: list[dict[str, Any]] = [
        {"a": 1}, {"a": {"$eq": 1.0}}, {"b": True}, {"c": "x"}, {"c": None}, {"zz": None},
        {"d.e.f": 3}, {"d.e.0.f": 2}, {"c.1": "x"}, {"i.0": "zero"}, {"a": {"$in": [5, 1]}},
        {"c": {"$gte": []}}, {"h": {"$gte": []}}, {"d": {"$gte": {}}}, {"a": {"$gt": 0}},
        {"s": {"$gte": "A", "$lt": "B"}}, {"$nor": [{"a": 2}]}, {"$or": [{"a": 2}, {"a": 1}]},
        {"$and": [{"a": 1}, {"b": True}]}, {"c.0": {"$exists": True}},
        {"h.0": {"$exists": False}}, {"zz": {"$nin": [1]}}, {"a": {"$ne": True}},
        {"s": {"$regex": "b"}} if re2 is not None else {},
    ]
    fails: list[dict[str, Any]] = [
        {"a": True}, {"b": 1}, {"b": {"$gte": 1}}, {"a": {"$in": [True]}}, {"g": {"$gte": 0}},
        {"g": {"$lt": 0}}, {"a": {"$gt": "0"}}, {"s": {"$gt": 0}}, {"i": {"$gte": []}},
        {"a": {"$gte": []}}, {"c": {"$ne": None}}, {"zz": {"$exists": True}},
        {"h": None}, {"d.e.f": 4}, {"$nor": [{"a": 1}]}, {"a": {"$nin": [1, 2]}},
    ]
    assert [f for f in holds if not matches_filter(f, doc)] == []
    assert [f for f in fails if matches_filter(f, doc)] == []


def test_matcher_refuses_what_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    refused: list[tuple[dict[str, Any], str]] = [
        ({"$where": "1"}, "unknown top-level operator $where"),
        ({"a": {"$elemMatch": {}}}, "unknown operator $elemMatch"),
        ({"$or": []}, "$or takes a non-empty list of filters"),
        ({"a": {"$in": 1}}, "$in takes a list"),
        ({"a": {"$regex": 1}}, "$regex takes a string")]
    for bad, message in refused:
        with pytest.raises(FilterError) as caught:
            matches_filter(bad, {"a": 1})
        assert str(caught.value) == message
    with pytest.raises(FilterError) as caught:
        matches_filter({"a": {"$regex": "(?=x)"}}, {"a": "x"})
    assert str(caught.value).startswith("$regex '(?=x)': invalid regular expression")


def test_matcher_searches_regexes_without_google_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "re2", None)
    escaped = regex.escape("b.c (x)")
    assert matches_filter({"a": {"$regex": escaped}}, {"a": "ab.c (x)d"})
    assert not matches_filter({"a": {"$regex": escaped}}, {"a": "abxc (x)d"})
    assert matches_filter({"a": {"$regex": r"^run-\d+$"}}, {"a": "run-12"})


def test_booleans_in_lists_are_matched_type_bracketed() -> None:
    assert mongo("config.x contains true")["filters"] == {
        "config.x": {"$gte": True}, "config.x.0": {"$exists": True}}
    assert mongo("not (config.x contains false)")["filters"] == {
        "config.x": {"$gte": []}, "$nor": [{"config.x": {"$lte": False}}]}
    documents = [mongo_document({"config": {"x": value}}) for value in ([1, "a"], [True], [0])]
    filters = mongo("not (config.x contains true)")["filters"]
    assert mongomock_selects(filters, documents) == {0, 2}
    assert {i for i, doc in enumerate(documents) if matches_filter(filters, doc)} == {0, 2}


def test_integers_beyond_floats_stay_exact() -> None:
    big = 10**400
    assert mongo(f"config.n > {big}")["filters"] == {
        "config.n": {"$gt": big}, "config.n.0": {"$exists": False}}
    assert_same_runs(wsquery.parse(f"config.n != {big}"),
                     [{"config": {"n": big}}, {"config": {"n": big + 1}}, {"config": {"n": 1.5}}],
                     mongomock_too=False)
