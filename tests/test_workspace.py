"""compile(..., target="workspace"): exact run-set JSON in both filter formats, search, grouping,
sort, warnings, options, every TargetError with its text, the distribution size limit, and
properties: the compiled run set (read back by the decompiler) selects exactly the runs the
query selects, in the shape filterV2 allows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery import TargetError
from wsquery.ast import Compare, Constant, Expr, Field, Or, Query, Within
from wsquery.compilers.runset.write import MAX_DISTRIBUTED_LEAVES, RunsetQuery, compile_runset
from wsquery.facts.formats import default_sort

from . import strategies
from .shared import shared_path

NOW = datetime(2024, 1, 2, 12, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def leaf(name: str, op: str, value: Any, connector: str | None = None,
         section: str = "config") -> dict[str, Any]:
    item = {"key": {"section": section, "name": name}, "op": op, "value": value,
            "disabled": False}
    if connector is not None:
        item["connector"] = connector
    return item


def run_leaf(name: str, op: str, value: Any, connector: str | None = None) -> dict[str, Any]:
    return leaf(name, op, value, connector, section="run")


def v2(*items: dict[str, Any]) -> dict[str, Any]:
    return {"filterFormat": "filterV2", "filters": list(items)}


def group(*items: dict[str, Any], connector: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"filters": list(items)}
    if connector is not None:
        result["connector"] = connector
    return result


def legacy(*conjunctions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"op": "OR", "filters": [{"op": "AND", "filters": c} for c in conjunctions]}


def filters(text: str, **options: Any) -> dict[str, Any]:
    result = wsquery.compile(text, **options)
    assert not result.warnings, [str(w) for w in result.warnings]
    return result.filters


def error_text(query: str | Query, **options: Any) -> str:
    with pytest.raises(TargetError) as caught:
        wsquery.compile(query, **options)
    assert caught.value.target == "runset"
    return str(caught.value)


# The example spec --------------------------------------------------------------------------

def test_example_view_spec_run_set() -> None:
    spec = json.loads(shared_path("spec", "example-view-spec.json").read_text("utf-8"))
    run_set = spec["section"]["runSets"][0]
    result = wsquery.compile(
        'summary.val_loss <= 0.1 and name == "sweep-1" and name =~ "^s" '
        "group by config.optimizer, group order by summary.val_loss")
    assert result.to_json() == {key: run_set[key]
                                for key in ("filters", "grouping", "sort", "search")}
    assert result.warnings == ()


def test_to_json_is_exactly_the_four_run_set_keys() -> None:
    result = wsquery.compile("config.lr == 0.1")
    assert isinstance(result, RunsetQuery)
    assert result.to_json() == {
        "filters": v2(leaf("lr", "=", 0.1)),
        "grouping": [],
        "sort": {"keys": [{"key": {"section": "run", "name": "createdAt"},
                           "ascending": False}]},
        "search": {"query": ""},
    }
    assert json.loads(json.dumps(result.to_json())) == result.to_json()


# filterV2 ----------------------------------------------------------------------------------

FILTER_V2 = [
    ("config.a == 1", v2(leaf("a", "=", 1))),
    # the format notes' own example: a group for the or inside the chain
    ("config.a == 1 and (config.b == 2 or config.c == 3)",
     v2(leaf("a", "=", 1),
        group(leaf("b", "=", 2), leaf("c", "=", 3, "OR"), connector="AND"))),
    # AND binds tighter than OR in a flat list: no group needed
    ("config.a == 1 or config.b == 2 and config.c == 3",
     v2(leaf("a", "=", 1), leaf("b", "=", 2, "OR"), leaf("c", "=", 3, "AND"))),
    ("(config.a == 1 or config.b == 2) and (config.c == 3 or config.d == 4)",
     v2(group(leaf("a", "=", 1), leaf("b", "=", 2, "OR")),
        group(leaf("c", "=", 3), leaf("d", "=", 4, "OR"), connector="AND"))),
    ("config.a == 1 and (config.b == 2 or config.c == 3) or config.d == 4",
     v2(leaf("a", "=", 1),
        group(leaf("b", "=", 2), leaf("c", "=", 3, "OR"), connector="AND"),
        leaf("d", "=", 4, "OR"))),
    # only what nests below a group's chains is distributed
    ("config.a == 1 and (config.b == 2 or config.c == 3 and (config.d == 4 or config.e == 5))",
     v2(leaf("a", "=", 1),
        group(leaf("b", "=", 2),
              leaf("c", "=", 3, "OR"), leaf("d", "=", 4, "AND"),
              leaf("c", "=", 3, "OR"), leaf("e", "=", 5, "AND"),
              connector="AND"))),
    # normalized first: not pushed down, equalities merged
    ("not (config.a == 1 and config.b == 2)",
     v2(leaf("a", "!=", 1), leaf("b", "!=", 2, "OR"))),
    ("config.a == 1 or config.a == 2", v2(leaf("a", "IN", [1, 2]))),
    ("config.a != 1 and config.a != 2 and config.b >= 0",
     v2(leaf("a", "NIN", [1, 2]), leaf("b", ">=", 0, "AND"))),
    ("summary.acc >= 0.9 and summary.acc <= 1",
     v2(leaf("acc", ">=", 0.9, section="summary"), leaf("acc", "<=", 1, "AND", "summary"))),
    ("config.optimizer.lr == 0.1 and run.custom == true",
     v2(leaf("optimizer.lr", "=", 0.1), run_leaf("custom", "=", True, "AND"))),
    # values: durations in seconds, states lower-cased, dates in UTC
    ('runtime in [1m, 90] and runtime >= 1.5m and state in ["RUNNING", "Finished"] '
     'and state != "Crashed" and created_at >= "2024-05-01T12:00:00+02:00"',
     v2(run_leaf("duration", "IN", [60, 90]), run_leaf("duration", ">=", 90, "AND"),
        run_leaf("state", "IN", ["running", "finished"], "AND"),
        run_leaf("state", "!=", "crashed", "AND"),
        run_leaf("createdAt", ">=", "2024-05-01T10:00:00Z", "AND"))),
    ('created_at == "2024-05-01"', v2(run_leaf("createdAt", "=", "2024-05-01T00:00:00Z"))),
    ("created_at within last 2d", v2(run_leaf("createdAt", "WITHINSECONDS", 172800))),
    ("runtime <= 1.5s", v2(run_leaf("duration", "<=", 1.5))),
    # tags
    ('"best" in tags', v2(run_leaf("tags", "=", "best"))),
    ('tags == "best"', v2(run_leaf("tags", "=", "best"))),
    ('"bad" not in tags and tags not in ["a", "b"]',
     v2(run_leaf("tags", "!=", "bad"), run_leaf("tags", "NIN", ["a", "b"], "AND"))),
    ('tags contains "x" or tags in ["y", "z"]',
     v2(run_leaf("tags", "=", "x"), run_leaf("tags", "IN", ["y", "z"], "OR"))),
    ('tags in ["x"] or tags in ["y"]', v2(run_leaf("tags", "IN", ["x", "y"]))),
    # always TRUE: the empty filter
    ("true", v2()),
    ("config.x is null or config.x is not null", v2()),
    ("order by config.lr", v2()),
]


@pytest.mark.parametrize(("text", "expected"), FILTER_V2, ids=[t for t, _ in FILTER_V2])
def test_filter_v2(text: str, expected: dict[str, Any]) -> None:
    assert filters(text) == expected
    assert filters(text, format="filterV2") == expected


LEGACY = [
    ("config.a == 1", legacy([leaf("a", "=", 1)])),
    ("config.a == 1 and (config.b == 2 or config.c == 3)",
     legacy([leaf("a", "=", 1), leaf("b", "=", 2)], [leaf("a", "=", 1), leaf("c", "=", 3)])),
    ("config.a == 1 or config.b == 2 and config.c == 3",
     legacy([leaf("a", "=", 1)], [leaf("b", "=", 2), leaf("c", "=", 3)])),
    # a leaf both sides share is written once per AND
    ("(config.a == 1 or config.b == 2) and (config.a == 1 or config.c == 3)",
     legacy([leaf("a", "=", 1)], [leaf("a", "=", 1), leaf("c", "=", 3)],
            [leaf("b", "=", 2), leaf("a", "=", 1)], [leaf("b", "=", 2), leaf("c", "=", 3)])),
    ('"best" in tags and created_at within last 1w',
     legacy([run_leaf("tags", "=", "best"), run_leaf("createdAt", "WITHINSECONDS", 604800)])),
    ("true", legacy([])),
    ("", legacy([])),
    # an AND that distributing makes, and that can never be true, is left out
    ("(config.a == 1 or config.b == 2) and config.a != 1",
     legacy([leaf("b", "=", 2), leaf("a", "!=", 1)])),
]


@pytest.mark.parametrize(("text", "expected"), LEGACY, ids=[t for t, _ in LEGACY])
def test_legacy(text: str, expected: dict[str, Any]) -> None:
    assert filters(text, format="legacy") == expected


def test_legacy_refuses_a_filter_whose_every_and_can_never_be_true() -> None:
    text = 'not (runtime < 1m and config.opt == "a") and runtime < 1m and config.opt == "a"'
    assert wsquery.compile(text, exact_ops=True).filters["filters"]  # filterV2 keeps a group
    with pytest.raises(TargetError, match="can never be true") as raised:
        wsquery.compile(text, format="legacy", exact_ops=True)
    assert raised.value.span == (0, len(text))


# Search, grouping, sort --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "search", "rest"), [
    ('name =~ "^s"', {"query": "^s", "isRegex": True}, v2()),
    ('name contains "sweep-1.x"', {"query": "sweep\\-1\\.x", "isRegex": True}, v2()),
    ('config.a == 1 and name =~ "^s" and config.b == 2', {"query": "^s", "isRegex": True},
     v2(leaf("a", "=", 1), leaf("b", "=", 2, "AND"))),
    ('not name !~ "x$" and config.a == 1', {"query": "x$", "isRegex": True},
     v2(leaf("a", "=", 1))),
    ("config.a == 1", {"query": ""}, v2(leaf("a", "=", 1))),
    ('name == "x"', {"query": ""}, v2(run_leaf("displayName", "=", "x"))),
])
def test_search(text: str, search: dict[str, Any], rest: dict[str, Any]) -> None:
    result = wsquery.compile(text)
    assert (result.search, result.filters) == (search, rest)


def test_search_with_legacy_filters() -> None:
    result = wsquery.compile('name =~ "^s" and config.a == 1', format="legacy")
    assert result.search == {"query": "^s", "isRegex": True}
    assert result.filters == legacy([leaf("a", "=", 1)])


def test_grouping_and_sort() -> None:
    result = wsquery.compile("group by config.optimizer.lr, config.seed, host, summary.x "
                             "order by created_at desc, config.lr, summary.val_loss asc")
    assert result.grouping == [
        {"section": "config", "name": "optimizer.value.lr"},
        {"section": "config", "name": "seed.value"},
        {"section": "run", "name": "host"},
        {"section": "summary", "name": "x"},
    ]
    assert result.sort == {"keys": [
        {"key": {"section": "run", "name": "createdAt"}, "ascending": False},
        {"key": {"section": "config", "name": "lr"}, "ascending": True},
        {"key": {"section": "summary", "name": "val_loss"}, "ascending": True},
    ]}


def test_default_sort_is_newest_first_and_every_result_has_its_own() -> None:
    newest_first = {"keys": [{"key": {"section": "run", "name": "createdAt"},
                              "ascending": False}]}
    result = wsquery.compile("config.a == 1")
    assert result.sort == newest_first == default_sort()
    result.sort["keys"][0]["key"]["name"] = "changed"
    result.sort["keys"].append({})
    assert default_sort() == newest_first
    assert wsquery.compile("config.a == 1").sort == newest_first


# Warnings and options ----------------------------------------------------------------------

def test_less_than_becomes_at_most_with_a_warning() -> None:
    result = wsquery.compile("config.a == 1 and summary.loss < 0.1")
    assert result.filters == v2(leaf("a", "=", 1), leaf("loss", "<=", 0.1, "AND", "summary"))
    [warning] = result.warnings
    assert warning.message == (
        "summary.loss < 0.1 became summary.loss <= 0.1: the W&B UI shows only <= and >=")
    assert warning.span == (18, 36)
    assert str(warning) == (
        "line 1, column 19: runset: summary.loss < 0.1 became summary.loss <= 0.1: the W&B UI "
        "shows only <= and >=\n"
        "    config.a == 1 and summary.loss < 0.1\n"
        "                      ~~~~~~~~~~~~~~~~~~\n"
        "hint: pass exact_ops=True to keep <")


def test_warning_without_the_text() -> None:
    query = Query(Compare(Field("summary", ("loss",)), ">", 1))
    [warning] = compile_runset(query).warnings
    assert warning.span is None
    assert str(warning) == ("runset: summary.loss > 1 became summary.loss >= 1: the W&B UI "
                            "shows only <= and >=\nhint: pass exact_ops=True to keep >")


def test_a_leaf_repeated_by_distribution_warns_once() -> None:
    result = wsquery.compile("(config.a < 1 or config.b == 2) and (config.c == 3 or config.d == 4)",
                             format="legacy")
    assert len(result.filters["filters"]) == 4
    messages = [w.message.split(":")[0] for w in result.warnings]
    assert messages == ["config.a < 1 became config.a <= 1"]


def test_exact_ops_keeps_less_than() -> None:
    result = wsquery.compile("summary.loss < 0.1 or summary.loss > 5", exact_ops=True)
    assert result.filters == v2(leaf("loss", "<", 0.1, section="summary"),
                                leaf("loss", ">", 5, "OR", "summary"))
    assert result.warnings == ()


def test_within_rounds_to_whole_seconds_with_a_warning() -> None:
    result = wsquery.compile("created_at within last 1.5s")
    assert result.filters == v2(run_leaf("createdAt", "WITHINSECONDS", 2))
    [warning] = result.warnings
    assert warning.message == ("created_at within last 1.5s became 2 seconds: a run set takes "
                               "whole seconds")
    result = wsquery.compile("created_at within last 0.5s")
    assert result.filters == v2(run_leaf("createdAt", "WITHINSECONDS", 1))


def test_strict_turns_warnings_into_errors() -> None:
    assert error_text("config.a == 1 and summary.loss < 0.1", strict=True) == (
        "line 1, column 19: runset: summary.loss < 0.1 became summary.loss <= 0.1: the W&B UI "
        "shows only <= and >=\n"
        "    config.a == 1 and summary.loss < 0.1\n"
        "                      ~~~~~~~~~~~~~~~~~~\n"
        "hint: pass exact_ops=True to keep <")
    assert error_text("created_at within last 2.5s", strict=True, exact_ops=True).startswith(
        "line 1, column 1: runset: created_at within last 2.5s became 3 seconds")
    strict_exact = wsquery.compile("summary.loss < 0.1", strict=True, exact_ops=True)
    assert strict_exact.filters == v2(leaf("loss", "<", 0.1, section="summary"))


@pytest.mark.parametrize(("options", "expected"), [
    ({"fromat": "legacy"}, "runset: unknown option 'fromat'\n"
                           "hint: options are format, exact_ops, strict and "
                           "limit_as_max_runs"),
    ({"b": 1, "a": 2}, "runset: unknown options 'a', 'b'\n"
                       "hint: options are format, exact_ops, strict and limit_as_max_runs"),
    ({"format": "filterv3"}, "runset: unknown format 'filterv3'\n"
                             'hint: format is "filterv2" or "legacy"'),
    ({"format": None}, "runset: unknown format None\n"
                       'hint: format is "filterv2" or "legacy"'),
    ({"exact_ops": "yes"}, "runset: exact_ops must be True or False, not 'yes'"),
    ({"strict": 1}, "runset: strict must be True or False, not 1"),
])
def test_bad_options(options: dict[str, Any], expected: str) -> None:
    assert error_text("config.a == 1", **options) == expected


# What a run set cannot express -------------------------------------------------------------

HINT = 'hint: compile with target="mongo", which can express it'

CANNOT = [
    ("config.x is null",
     "line 1, column 1: runset: a run set cannot express 'is null': config.x is null\n"
     "    config.x is null\n"
     "    ~~~~~~~~~~~~~~~~\n" + HINT),
    ("config.a == 1 and not config.x is null",
     "line 1, column 19: runset: a run set cannot express 'is not null': "
     "config.x is not null\n"
     "    config.a == 1 and not config.x is null\n"
     "                      ~~~~~~~~~~~~~~~~~~~~\n" + HINT),
    ('config.opt =~ "^a"',
     "line 1, column 1: runset: a run set cannot express a regex match except on name as a "
     'top-level condition (the search box): config.opt =~ "^a"\n'
     '    config.opt =~ "^a"\n'
     "    ~~~~~~~~~~~~~~~~~~\n" + HINT),
    ('name =~ "^a" or config.x == 1',
     "line 1, column 1: runset: a run set cannot express a regex match except on name as a "
     'top-level condition (the search box): name =~ "^a"\n'
     '    name =~ "^a" or config.x == 1\n'
     "    ~~~~~~~~~~~~\n" + HINT),
    ('name !~ "^a"',
     "line 1, column 1: runset: a run set cannot express a negated regex match ('!~'): "
     'name !~ "^a"\n'
     '    name !~ "^a"\n'
     "    ~~~~~~~~~~~~\n" + HINT),
    ('config.opt contains "ad"',
     "line 1, column 1: runset: a run set cannot express 'contains' except on tags, or on "
     'name as a top-level condition: config.opt contains "ad"\n'
     '    config.opt contains "ad"\n'
     "    ~~~~~~~~~~~~~~~~~~~~~~~~\n" + HINT),
    ('not name contains "x"',
     "line 1, column 1: runset: a run set cannot express a negated 'contains' except on "
     'tags: not name contains "x"\n'
     '    not name contains "x"\n'
     "    ~~~~~~~~~~~~~~~~~~~~~\n" + HINT),
    ("not created_at within last 1d",
     "line 1, column 1: runset: a run set cannot express a negated 'within last': "
     "not created_at within last 1d\n"
     "    not created_at within last 1d\n"
     "    ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" + HINT),
    ('name =~ "^a" and name contains "b"',
     "line 1, column 18: runset: a run set has one search box, and name contains \"b\" "
     "would be a second search\n"
     '    name =~ "^a" and name contains "b"\n'
     "                     ~~~~~~~~~~~~~~~~~\n"
     "hint: write both as one regular expression on name, or compile with target=\"mongo\", "
     "which can express it"),
    ('name =~ "" and config.x == 1',
     'line 1, column 1: runset: an empty search box is no search: name =~ "" would also show '
     "runs that have no name\n"
     '    name =~ "" and config.x == 1\n'
     "    ~~~~~~~~~~\n"
     "hint: leave the condition out (W&B gives every run a name), or compile with "
     'target="mongo", which can express it'),
    ('name contains ""',
     'line 1, column 1: runset: an empty search box is no search: name contains "" would '
     "also show runs that have no name\n"
     '    name contains ""\n'
     "    ~~~~~~~~~~~~~~~~\n"
     "hint: leave the condition out (W&B gives every run a name), or compile with "
     'target="mongo", which can express it'),
    ("config.x == 1 and config.y == 2 and config.x == 2",
     "line 1, column 1: runset: config.x == 1 and config.y == 2 and config.x == 2 can never "
     "be true, so the run set would show no runs\n"
     "    config.x == 1 and config.y == 2 and config.x == 2\n"
     "    ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
     "hint: remove the conditions that exclude each other"),
    ("config.y == 1 and (state == \"running\" and state == \"failed\")",
     "line 1, column 19: runset: state == \"running\" and state == \"failed\" can never be "
     "true, so the run set would show no runs\n"
     "    config.y == 1 and (state == \"running\" and state == \"failed\")\n"
     "                      " + "~" * 42 + "\n"
     "hint: remove the conditions that exclude each other"),
    ("config.x in [] and config.y == 1",
     "line 1, column 1: runset: config.x in [] can never be true, so the run set would show "
     "no runs\n"
     "    config.x in [] and config.y == 1\n"
     "    ~~~~~~~~~~~~~~\n"
     "hint: remove the conditions that exclude each other"),
]


@pytest.mark.parametrize(("text", "expected"), CANNOT, ids=[t for t, _ in CANNOT])
@pytest.mark.parametrize("filter_format", ["filterv2", "legacy"])
def test_what_a_run_set_cannot_express(text: str, expected: str, filter_format: str) -> None:
    assert error_text(text, format=filter_format) == expected


def test_errors_without_the_text() -> None:
    x = Field("config", ("x",))
    query = Query(Within(x, wsquery.ast.Duration(1, "d")))
    assert error_text(query) == (
        "runset: a run set cannot express 'within last' except on created_at: "
        "config.x within last 1d\n" + HINT)
    contradiction = wsquery.parse("config.x == 1 and config.x == 2")
    assert error_text(contradiction) == (
        "runset: config.x == 1 and config.x == 2 can never be true, so the run set would "
        "show no runs\nhint: remove the conditions that exclude each other")
    assert error_text(Query(Constant(False))) == (
        "runset: the filter can never be true, so the run set would show no runs\n"
        "hint: remove the conditions that exclude each other")
    created = Field("run", ("createdAt",))
    assert error_text(Query(Compare(created, ">=", "yesterday"))) == (
        "runset: created_at is compared with an ISO-8601 date, not 'yesterday'\n"
        'hint: write a date such as "2024-05-01"')


# The distribution size limit ---------------------------------------------------------------

def _pairs(count: int) -> str:
    return " and ".join(f"(config.a{i} == 1 or config.b{i} == 1)" for i in range(count))


def test_filter_v2_keeps_an_and_of_ors_without_distributing() -> None:
    result = wsquery.compile(_pairs(40))
    assert len(result.filters["filters"]) == 40
    assert all(len(item["filters"]) == 2 for item in result.filters["filters"])


def test_distribution_past_the_limit_is_refused_where_it_grows() -> None:
    nested = wsquery.parse(f"config.z == 1 and (config.y == 1 or ({_pairs(8)}))")
    with pytest.raises(TargetError) as caught:
        wsquery.compile(nested)
    error = caught.value
    inner_and = nested.filter.operands[1].operands[1]  # type: ignore[union-attr]
    assert error.span is not None and error.span == inner_and.span
    assert error.message == (
        "(config.a0 == 1 or config.b0 == 1) and (config.a1 == 1 or... grows past "
        f"{MAX_DISTRIBUTED_LEAVES} conditions when written as an OR of ANDs, the only nesting "
        "a run set filter has")
    assert error.hint == ('factor out shared conditions or nest less, or compile with '
                          'target="mongo", which can express it')
    # 2**7 ANDs of 7 leaves: within the limit in neither format
    with pytest.raises(TargetError):
        wsquery.compile(_pairs(7), format="legacy")
    # 2**5 ANDs of 5 leaves = 160 leaves: within it
    assert len(wsquery.compile(_pairs(5), format="legacy").filters["filters"]) == 32


def test_distribution_never_builds_the_whole_product() -> None:
    """2**60 ANDs would never finish; the limit is checked before each product is built."""
    with pytest.raises(TargetError, match="grows past"):
        wsquery.compile(_pairs(60), format="legacy")


# Properties --------------------------------------------------------------------------------

def _assert_filter_v2_shape(items: list[dict[str, Any]], depth: int = 0) -> None:
    """Connectors on every item but the first, groups one level deep, leaves well formed."""
    for index, item in enumerate(items):
        assert ("connector" in item) == (index > 0)
        assert item.get("connector", "AND") in ("AND", "OR")
        if "filters" in item:
            assert depth == 0, "a group inside a group"
            assert item["filters"], "an empty group"
            _assert_filter_v2_shape(item["filters"], depth + 1)
        else:
            assert item["disabled"] is False
            assert item["op"] in ("=", "!=", "<", "<=", ">", ">=", "IN", "NIN", "WITHINSECONDS")


# Refusals a generated filter may meet, each only for its own reason.
_REFUSALS = ("can never be true", "a negated 'within last'", "grows past")
_REGEX_AND_NULL_REFUSALS = ("'is null'", "'is not null'", "regex match", "'contains'",
                            "search box")


@PROPERTY
@given(strategies.expressions(strategies.predicates(with_regex=False, with_null=False)),
       st.sampled_from(["filterv2", "legacy"]), st.lists(strategies.runs, min_size=1, max_size=8))
def test_the_run_set_selects_the_runs_the_query_selects(
        expr: Expr, filter_format: str, runs: list[dict[str, Any]]) -> None:
    _assert_compiles_exactly(Query(expr), filter_format, runs, _REFUSALS)


@PROPERTY
@given(strategies.expressions(strategies.predicates(), max_leaves=6),
       st.sampled_from(["filterv2", "legacy"]), st.lists(strategies.runs, min_size=1, max_size=8))
def test_searches_and_refusals_keep_the_meaning(
        expr: Expr, filter_format: str, runs: list[dict[str, Any]]) -> None:
    _assert_compiles_exactly(Query(expr), filter_format, runs,
                             _REFUSALS + _REGEX_AND_NULL_REFUSALS)


def _assert_compiles_exactly(query: Query, filter_format: str, runs: list[dict[str, Any]],
                             refusals: tuple[str, ...]) -> None:
    """The run set read back selects what ``query`` selects; a refusal gives its reason."""
    try:
        result = compile_runset(query, format=filter_format, exact_ops=True)
    except TargetError as error:
        assert any(reason in error.message for reason in refusals), error.message
        if "can never be true" in error.message:
            assert not any(wsquery.matches(query, run, now=NOW) for run in runs)
        return
    if filter_format == "filterv2":
        _assert_filter_v2_shape(result.filters["filters"])
    back = wsquery.decompile(result.to_json())
    for run in runs:
        assert wsquery.matches(back, run, now=NOW) == wsquery.matches(query, run, now=NOW), (
            f"{query} compiled to {back}, which disagrees on {run}")


@PROPERTY
@given(strategies.queries, st.booleans(), st.booleans())
def test_anything_compiles_or_is_refused_with_a_target_error(
        query: Query, exact_ops: bool, legacy_format: bool) -> None:
    try:
        result = compile_runset(query, format="legacy" if legacy_format else "filterv2",
                                   exact_ops=exact_ops)
    except TargetError as error:
        assert error.message and error.target == "runset"
        return
    json.dumps(result.to_json(), allow_nan=False)
    assert all("<" not in w.message or not exact_ops for w in result.warnings)
    if not legacy_format:
        _assert_filter_v2_shape(result.filters["filters"])


def test_a_search_inside_an_or_is_never_silently_dropped() -> None:
    name = Field("run", ("displayName",))
    query = Query(Or((wsquery.ast.Match(name, "a"), Compare(Field("config", ("x",)), "==", 1))))
    with pytest.raises(TargetError, match="regex match"):
        compile_runset(query)
