"""Run-set JSON -> Query: formats, every op and section, disabled items, errors, round trips."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

import wsquery
from wsquery import DecompileError, TargetError
from wsquery.ast import Query
from wsquery.compilers.mongo import mongo_document
from wsquery.compilers.runset.read import WsqueryWarning, decompile
from wsquery.facts.formats import WORKSPACE_OPS, default_sort

from . import strategies
from .shared import shared_path
from .test_mongo import mongomock_selects

NOW = datetime(2024, 1, 3, tzinfo=UTC)


def leaf(section: str = "config", name: Any = "lr", op: str = "=", value: Any = 1,
         **extra: Any) -> dict[str, Any]:
    return {"key": {"section": section, "name": name}, "op": op, "value": value,
            "disabled": False, **extra}


def v2(*items: dict[str, Any]) -> dict[str, Any]:
    return {"filterFormat": "filterV2", "filters": list(items)}


def group(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"filters": list(items), **extra}


def legacy(op: str, *children: dict[str, Any]) -> dict[str, Any]:
    return {"op": op, "filters": list(children)}


def read(data: Any) -> str:
    """The canonical text of ``data``, which must parse back to the same query, warning-free."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        query = decompile(data)
    assert wsquery.parse(str(query)) == query
    return str(query)


A, B, C, D = (leaf(name=n, value=i) for i, n in enumerate("abcd", 1))


def joined(item: dict[str, Any], connector: str) -> dict[str, Any]:
    return {**item, "connector": connector}


# The example specs ---------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "text"), [
    ("example-view-spec.json", 'summary.val_loss <= 0.1 and name == "sweep-1" and name =~ "^s" '
                               "group by config.optimizer, group order by summary.val_loss"),
    ("example-view-spec-seed.json", 'summary.val_loss <= 0.1 and name == "sample_run" and '
                                    'name =~ "^s" group by name order by summary._step'),
])
def test_example_spec_run_sets(spec: str, text: str) -> None:
    path = shared_path("spec", spec)
    run_set = json.loads(path.read_text("utf-8"))["section"]["runSets"][0]
    assert read(run_set) == text
    assert wsquery.decompile(run_set) == wsquery.parse(text)


# Leaves: every section and op -----------------------------------------------------------------

LEAVES = [
    (leaf(), "config.lr == 1"),
    (leaf(name="lr.value"), "config.lr == 1"),
    (leaf(name="optimizer.value.beta"), "config.optimizer.beta == 1"),
    (leaf(name="optimizer.beta"), "config.optimizer.beta == 1"),
    (leaf(name="val loss", value="x"), 'config.`val loss` == "x"'),
    (leaf("summary", "val_loss", "!=", 0.5), "summary.val_loss != 0.5"),
    (leaf("summary", "val_loss", "<", 0.1), "summary.val_loss < 0.1"),
    (leaf("summary", "val_loss", "<=", 1e-05), "summary.val_loss <= 1e-05"),
    (leaf("summary", "acc", ">", -1), "summary.acc > -1"),
    (leaf("summary", "acc", ">=", 2.0), "summary.acc >= 2.0"),
    (leaf("summary", "eval.acc", ">=", 1), "summary.eval.acc >= 1"),
    (leaf("summary", "done", "=", True), "summary.done == true"),
    (leaf("summary", "note", "=", 'say "hi"\n'), r'summary.note == "say \"hi\"\n"'),
    (leaf("run", "displayName", "=", "sweep-1"), 'name == "sweep-1"'),
    (leaf("run", "name", "=", "abc123"), 'id == "abc123"'),
    (leaf("run", "state", "=", "finished"), 'state == "finished"'),
    (leaf("run", "state", "IN", ["crashed", "failed"]), 'state in ["crashed", "failed"]'),
    (leaf("run", "createdAt", ">=", "2024-05-01T00:00:00Z"),
     'created_at >= "2024-05-01T00:00:00Z"'),
    (leaf("run", "duration", ">", 3600), "runtime > 3600"),
    (leaf("run", "username", "=", "ada"), 'user == "ada"'),
    (leaf("run", "sweep", "=", "s1"), 'sweep == "s1"'),
    (leaf("run", "group", "!=", "g"), 'group != "g"'),
    (leaf("run", "jobType", "=", "train"), 'job_type == "train"'),
    (leaf("run", "host", "=", "gpu-1"), 'host == "gpu-1"'),
    (leaf("run", "_step", "<=", 100), "step <= 100"),
    (leaf("run", "inputArtifacts", "=", "data:v1"), 'run.inputArtifacts == "data:v1"'),
    (leaf("run", "_runtime", ">", 5), "run._runtime > 5"),
    (leaf("run", "tags", "IN", ["best", "baseline"]), 'tags in ["best", "baseline"]'),
    (leaf("run", "tags", "NIN", ["bad"]), 'tags not in ["bad"]'),
    (leaf("tags", "best", "=", True), 'tags == "best"'),
    (leaf("tags", "best", "=", False), 'tags != "best"'),
    (leaf("tags", "best", "!=", False), 'tags == "best"'),
    (leaf("tags", "best", "!=", True), 'tags != "best"'),
    (leaf("run", "tags", "=", "best"), 'tags == "best"'),
    (leaf("run", "tags", "!=", "best"), 'tags != "best"'),
    (leaf(op="IN", value=[1, None]), "config.lr in [1] or config.lr is null"),
    (leaf(op="NIN", value=[None]), "config.lr is not null"),
    (leaf(op="IN", value=[1, 2.5, "x", True]), 'config.lr in [1, 2.5, "x", true]'),
    (leaf(op="IN", value=[]), "config.lr in []"),
    (leaf(op="NIN", value=[0.1]), "config.lr not in [0.1]"),
    (leaf(op="=", value=None), "config.lr is null"),
    (leaf(op="!=", value=None), "config.lr is not null"),
    (leaf("run", "createdAt", "WITHINSECONDS", 86400), "created_at within last 1d"),
    (leaf("run", "createdAt", "WITHINSECONDS", 90), "created_at within last 90s"),
    (leaf("run", "createdAt", "WITHINSECONDS", 7200), "created_at within last 2h"),
    (leaf("run", "createdAt", "WITHINSECONDS", 120), "created_at within last 2m"),
    (leaf("run", "createdAt", "WITHINSECONDS", 1209600), "created_at within last 2w"),
    (leaf("run", "createdAt", "WITHINSECONDS", 90000), "created_at within last 25h"),
    (leaf("run", "createdAt", "WITHINSECONDS", 3600.0), "created_at within last 1h"),
    (leaf("run", "createdAt", "WITHINSECONDS", 0), "created_at within last 0s"),
]


@pytest.mark.parametrize(("item", "text"), LEAVES, ids=[t for _, t in LEAVES])
def test_leaf(item: dict[str, Any], text: str) -> None:
    assert read(v2(item)) == text


def test_every_op_is_covered() -> None:
    covered = {item["op"] for item, _ in LEAVES}
    assert covered == set(WORKSPACE_OPS)


def test_leaf_extras_are_ignored() -> None:
    assert read(v2(leaf(current={"op": "="}, id="x"))) == "config.lr == 1"
    assert read(v2({"key": {"section": "config", "name": "lr"}, "op": "=", "value": 1,
                    "filters": None, "disabled": None, "connector": None})) == "config.lr == 1"


# Structure: connectors, groups, legacy trees --------------------------------------------------

STRUCTURES = [
    (v2(), ""),
    (v2(A), "config.a == 1"),
    (v2(A, joined(B, "AND"), joined(C, "AND")),
     "config.a == 1 and config.b == 2 and config.c == 3"),
    (v2(A, joined(B, "OR"), joined(C, "OR")), "config.a == 1 or config.b == 2 or config.c == 3"),
    (v2(A, joined(B, "OR"), joined(C, "AND")), "config.a == 1 or config.b == 2 and config.c == 3"),
    (v2(A, joined(B, "AND"), joined(C, "OR"), joined(D, "AND")),
     "config.a == 1 and config.b == 2 or config.c == 3 and config.d == 4"),
    (v2(joined(A, "OR"), joined(B, "AND")), "config.a == 1 and config.b == 2"),
    # The format notes' example: a one-level group.
    (v2(A, group(B, joined(C, "OR"), connector="AND")),
     "config.a == 1 and (config.b == 2 or config.c == 3)"),
    (v2(group(A, joined(B, "OR")), group(C, joined(D, "OR"), connector="OR")),
     "(config.a == 1 or config.b == 2) or (config.c == 3 or config.d == 4)"),
    (v2(group(A, joined(B, "AND")), joined(C, "OR")),
     "config.a == 1 and config.b == 2 or config.c == 3"),
    (v2(group(A), joined(B, "AND")), "config.a == 1 and config.b == 2"),
    # Deeper than the UI writes, read all the same.
    (v2(A, group(B, group(C, joined(D, "AND"), connector="OR"), connector="AND")),
     "config.a == 1 and (config.b == 2 or config.c == 3 and config.d == 4)"),
    (v2(group(), joined(A, "AND")), "config.a == 1"),
    (v2(A, group(group(), connector="OR")), "config.a == 1"),
    (legacy("OR", legacy("AND")), ""),
    (legacy("OR"), ""),
    (legacy("OR", legacy("AND", A, B)), "config.a == 1 and config.b == 2"),
    (legacy("OR", legacy("AND", A, B), legacy("AND", C)),
     "config.a == 1 and config.b == 2 or config.c == 3"),
    (legacy("OR", legacy("AND", A, legacy("OR", B, legacy("AND", C, D)))),
     "config.a == 1 and (config.b == 2 or config.c == 3 and config.d == 4)"),
    (legacy("AND", A, legacy("AND", B, C)), "config.a == 1 and (config.b == 2 and config.c == 3)"),
    (legacy("OR", legacy("AND"), legacy("AND", A)), "config.a == 1"),
    (legacy("OR", {**A, "current": {"op": "="}}), "config.a == 1"),
    (A, "config.a == 1"),
    ({"op": "OR", "key": None, "value": None, "disabled": None,
      "filters": [{"op": "AND", "key": None, "filters": [A]}]}, "config.a == 1"),
]


@pytest.mark.parametrize(("data", "text"), STRUCTURES, ids=[t or "empty" for _, t in STRUCTURES])
def test_structure(data: dict[str, Any], text: str) -> None:
    assert read(data) == text
    assert read({"filters": data}) == text


def test_empty_filters_mean_no_filter() -> None:
    assert decompile(v2()) == Query()
    assert decompile(legacy("OR", legacy("AND"))) == Query()
    assert decompile({}) == Query()


# Whole run sets: search, grouping, sort ------------------------------------------------------

RUN_SETS = [
    ({"search": {"query": "^s", "isRegex": True}}, 'name =~ "^s"'),
    ({"search": {"query": "sweep"}}, 'name contains "sweep"'),
    ({"search": {"query": "a.b", "isRegex": False}}, 'name contains "a.b"'),
    ({"search": {"query": ""}}, ""),
    ({"search": {"query": "", "isRegex": True}}, ""),
    ({"search": {"query": r"^run-\d+$", "isRegex": True}, "filters": v2(A, joined(B, "AND"))},
     r'config.a == 1 and config.b == 2 and name =~ "^run-\\d+$"'),
    ({"search": {"query": "x", "isRegex": True}, "filters": v2(A, joined(B, "OR"))},
     '(config.a == 1 or config.b == 2) and name =~ "x"'),
    ({"grouping": [{"section": "config", "name": "optimizer.value"},
                   {"section": "config", "name": "model.value.depth"},
                   {"section": "summary", "name": "best"},
                   {"section": "run", "name": "jobType"},
                   {"section": "run", "name": "custom"}]},
     "group by config.optimizer, config.model.depth, summary.best, job_type, run.custom"),
    ({"grouping": []}, ""),
    ({"sort": default_sort()}, ""),
    ({"sort": {"keys": []}}, ""),
    ({"sort": {"keys": [{"key": {"section": "run", "name": "createdAt"}, "ascending": True}]}},
     "order by created_at"),
    ({"sort": {"keys": [{"key": {"section": "summary", "name": "val_loss"}, "ascending": True},
                        {"key": {"section": "config", "name": "lr.value"}, "ascending": False},
                        {"key": {"section": "run", "name": "createdAt"}, "ascending": False}]}},
     "order by summary.val_loss, config.lr desc, created_at desc"),
    ({"id": "x", "name": "Run set", "enabled": True, "selections": {"root": 1, "tree": ["a"]},
      "runFeed": {}, "expandedRowAddresses": [], "filters": v2(A),
      "grouping": [{"section": "run", "name": "group"}],
      "sort": {"keys": [{"key": {"section": "summary", "name": "x"}, "ascending": False}]},
      "search": {"query": "^s", "isRegex": True}},
     'config.a == 1 and name =~ "^s" group by group order by summary.x desc'),
    ({"filters": None, "grouping": None, "sort": None, "search": None}, ""),
]


@pytest.mark.parametrize(("run_set", "text"), RUN_SETS, ids=[t or "empty" for _, t in RUN_SETS])
def test_run_set(run_set: dict[str, Any], text: str) -> None:
    assert read(run_set) == text


def test_plain_search_honours_the_substring_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wsquery.compilers.runset.read.PLAIN_SEARCH_IS_SUBSTRING", False)
    assert read({"search": {"query": "sweep"}}) == 'name =~ "sweep"'


# Disabled items ------------------------------------------------------------------------------

DISABLED = [
    (v2(A, joined({**B, "disabled": True}, "OR"), joined(C, "AND")),
     "config.a == 1 and config.c == 3",
     ["filters[1] is disabled and left out: config.b == 2"]),
    (v2({**A, "disabled": True}, joined(B, "OR"), joined(C, "AND")),
     "config.b == 2 and config.c == 3",
     ["filters[0] is disabled and left out: config.a == 1"]),
    (v2(A, group(B, joined({**C, "disabled": True}, "OR"), connector="AND")),
     "config.a == 1 and config.b == 2",
     ["filters[1].filters[1] is disabled and left out: config.c == 3"]),
    (v2(A, group(B, joined({**C, "disabled": True}, "OR"), connector="OR", disabled=True)),
     "config.a == 1",
     ["filters[1] is disabled and left out: config.b == 2"]),
    (v2(A, group(B, joined(C, "OR"), connector="AND", disabled=True)),
     "config.a == 1",
     ["filters[1] is disabled and left out: config.b == 2 or config.c == 3"]),
    (v2(A, group(connector="AND", disabled=True)), "config.a == 1",
     ["filters[1] is disabled and left out: an empty group"]),
    (v2({**A, "disabled": True}, joined({**B, "disabled": True}, "AND")), "",
     ["filters[0] is disabled and left out: config.a == 1",
      "filters[1] is disabled and left out: config.b == 2"]),
    (v2(A, leaf(op="LIKE", value=1, disabled=True, connector="XOR")), "config.a == 1",
     ['filters[1] is disabled and left out: {"key": {"section": "config", "name": "lr"}, '
      '"op": "LIKE", "value": 1, "disabled": true, "connector": "XOR"}']),
    (v2(leaf("tags", "wip", "=", False, disabled=True)), "",
     ['filters[0] is disabled and left out: tags != "wip"']),
    (legacy("OR", legacy("AND", A, {**B, "disabled": True}), legacy("AND", C)),
     "config.a == 1 or config.c == 3",
     ["filters[0].filters[1] is disabled and left out: config.b == 2"]),
    (legacy("OR", legacy("AND", A), {**legacy("AND", B, C), "disabled": True}), "config.a == 1",
     ["filters[1] is disabled and left out: config.b == 2 and config.c == 3"]),
    ({"filters": v2(A, joined({**B, "disabled": True}, "AND"))}, "config.a == 1",
     ["filters.filters[1] is disabled and left out: config.b == 2"]),
]


@pytest.mark.parametrize(("data", "text", "messages"), DISABLED,
                         ids=[m[0] for _, _, m in DISABLED])
def test_disabled_items_are_left_out_with_a_warning(data: dict[str, Any], text: str,
                                                    messages: list[str]) -> None:
    with pytest.warns(WsqueryWarning) as record:
        query = wsquery.decompile(data)
    assert str(query) == text
    assert [str(w.message) for w in record] == messages
    assert all(w.filename == __file__ for w in record)


def test_the_warning_class() -> None:
    assert issubclass(WsqueryWarning, UserWarning)


# Errors --------------------------------------------------------------------------------------

ERRORS = [
    ([1, 2], "", "expected a run set, a filterV2 filter or a legacy filter tree (a JSON object), "
                 "found a list [1, 2]"),
    ({"filters": [A]}, "filters",
     'expected a filterV2 filter {"filterFormat": "filterV2", "filters": [...]} or a legacy '
     'filter tree {"op": "OR", "filters": [...]}, found a list [{"key": {"section": "config", '
     '"name": "a"}, "op": "=", "...'),
    ({"filters": {"filters": []}}, "filters",
     'expected a filterV2 filter {"filterFormat": "filterV2", "filters": [...]} or a legacy '
     'filter tree {"op": "OR", "filters": [...]}, found an object {"filters": []}'),
    ({"filterFormat": "filterV3", "filters": []}, "filterFormat",
     'unknown filterFormat "filterV3"; expected "filterV2"'),
    ({"filters": {"filterFormat": "filterV3", "filters": []}}, "filters.filterFormat",
     'unknown filterFormat "filterV3"; expected "filterV2"'),
    ({"filterFormat": "filterV2"}, "", 'missing "filters"'),
    ({"filterFormat": "filterV2", "filters": {}}, "filters",
     "expected a list of filter items, found an object {}"),
    (v2(A, "x"), "filters[1]",  # type: ignore[arg-type]
     'expected a filter leaf or group (a JSON object), found "x"'),
    (v2(A, {"value": 1}), "filters[1]",
     'expected a leaf with "key" or a group with "filters", found an object {"value": 1}'),
    (v2(A, B), "filters[1]",
     'missing "connector" ("AND" or "OR") joining this item to the one before it'),
    (v2(A, joined(B, "XOR")), "filters[1].connector",
     'unknown connector "XOR"; expected "AND" or "OR"'),
    (v2(A, joined(B, "and")), "filters[1].connector",
     'unknown connector "and"; expected "AND" or "OR"'),
    (v2(leaf(disabled="yes")), "filters[0].disabled", 'expected true or false, found "yes"'),
    (v2({"key": "lr", "op": "=", "value": 1}), "filters[0].key",
     'expected a key {"section": ..., "name": ...}, found "lr"'),
    (v2(leaf(section="keys_info")), "filters[0].key.section",
     'unknown section "keys_info"; expected "config", "summary", "run" or "tags"'),
    (v2({"key": {"section": "config"}, "op": "=", "value": 1}), "filters[0].key",
     'missing "name"'),
    (v2(leaf(name=5)), "filters[0].key.name", "expected a key name (a string), found 5"),
    (v2(leaf(name="a..b")), "filters[0].key.name", 'key name "a..b" has an empty segment'),
    (v2(leaf(name="")), "filters[0].key.name", 'key name "" has an empty segment'),
    (v2(leaf(name="a`b")), "filters[0].key.name",
     'key name "a`b" holds a backtick, which a query cannot spell'),
    (v2(leaf(op="LIKE")), "filters[0].op",
     'unknown op "LIKE"; expected one of "=", "!=", "<=", ">=", "<", ">", "IN", "NIN" or '
     '"WITHINSECONDS"'),
    (v2(leaf(op="==")), "filters[0].op",
     'unknown op "=="; expected one of "=", "!=", "<=", ">=", "<", ">", "IN", "NIN" or '
     '"WITHINSECONDS"'),
    (v2({"key": {"section": "config", "name": "lr"}, "value": 1}), "filters[0]",
     'missing "op"'),
    (v2({"key": {"section": "config", "name": "lr"}, "op": "="}), "filters[0]",
     'missing "value"'),
    (v2(leaf(op="IN", value=3)), "filters[0].value", '"IN" needs a list of values, found 3'),
    (v2(leaf(op="NIN", value="a")), "filters[0].value",
     '"NIN" needs a list of values, found "a"'),
    (v2(leaf(op="IN", value=[1, [2]])), "filters[0].value[1]",
     "expected a string, number or boolean, found a list [2]"),
    (v2(leaf(op="=", value=[1, 2])), "filters[0].value",
     '"=" compares with one value, found a list [1, 2]; "IN" matches any of several values'),
    (v2(leaf(op="<", value=None)), "filters[0].value",
     '"<" needs a value to compare with, found null'),
    (v2(leaf(op="=", value={"a": 1})), "filters[0].value",
     'expected a string, number or boolean, found an object {"a": 1}'),
    (v2(leaf(op="=", value=float("nan"))), "filters[0].value",
     "NaN has no literal in the query language"),
    (v2(leaf(op=">", value=float("-inf"))), "filters[0].value",
     "-Infinity has no literal in the query language"),
    (v2(leaf(op="IN", value=[float("inf")])), "filters[0].value[0]",
     "Infinity has no literal in the query language"),
    (v2(leaf(op="WITHINSECONDS", value=60)), "filters[0].op",
     '"WITHINSECONDS" applies only to run "createdAt", not config "lr"'),
    (v2(leaf("run", "createdAt", "WITHINSECONDS", -5)), "filters[0].value",
     '"WITHINSECONDS" needs a whole number of seconds (0 or more), found -5'),
    (v2(leaf("run", "createdAt", "WITHINSECONDS", 1.5)), "filters[0].value",
     '"WITHINSECONDS" needs a whole number of seconds (0 or more), found 1.5'),
    (v2(leaf("run", "createdAt", "WITHINSECONDS", True)), "filters[0].value",
     '"WITHINSECONDS" needs a whole number of seconds (0 or more), found true'),
    (v2(leaf("run", "createdAt", "WITHINSECONDS", "1d")), "filters[0].value",
     '"WITHINSECONDS" needs a whole number of seconds (0 or more), found "1d"'),
    (v2(leaf("tags", "best", "IN", ["x"])), "filters[0].op",
     'a "tags" leaf takes "=" or "!=", found "IN"'),
    (v2(leaf("tags", "best", "=", "yes")), "filters[0].value",
     'a "tags" leaf has the value true (the run has the tag) or false (it has not), found "yes"'),
    (v2(leaf("tags", 7, "=", True)), "filters[0].key.name",
     "expected a key name (a string), found 7"),
    (v2(leaf("run", "state", "=", "bogus")), "filters[0]",
     'state is never "bogus"; states are running, pending, preempting, crashed, failed, killed, '
     "finished, preempted"),
    (v2(leaf("run", "tags", "<", "best")), "filters[0]",
     "tags is a list: '<' cannot match it; write tags == \"best\", tags != \"best\" or "
     'tags in ["a", "b"]'),
    (v2(leaf("run", "duration", ">", "long")), "filters[0]",
     'runtime is a number, not "long"; write a number of seconds or a duration such as 2h'),
    (v2(leaf("run", "createdAt", ">", "yesterday")), "filters[0]",
     'created_at is compared with a date or datetime, not "yesterday"; write an ISO-8601 date '
     'such as "2024-05-01" or "2024-05-01T12:00:00Z"'),
    (legacy("XOR"), "op", 'expected "AND" or "OR" as the op of a filter node, found "XOR"'),
    ({"op": "OR"}, "", 'missing "filters"'),
    ({"op": "OR", "filters": "x"}, "filters", 'expected a list of filter items, found "x"'),
    (legacy("OR", 3), "filters[0]",  # type: ignore[arg-type]
     "expected a filter leaf or node (a JSON object), found 3"),
    (legacy("OR", {}), "filters[0]",
     'expected a leaf with "key" or a node with "op" and "filters", found an object {}'),
    ({"filters": legacy("OR", legacy("AND", leaf(op="!")))}, "filters.filters[0].filters[0].op",
     'unknown op "!"; expected one of "=", "!=", "<=", ">=", "<", ">", "IN", "NIN" or '
     '"WITHINSECONDS"'),
    ({"search": "x"}, "search", 'expected {"query": ..., "isRegex": ...}, found "x"'),
    ({"search": {"query": 5}}, "search.query",
     "expected the search text (a string), found 5"),
    ({"search": {"query": "x", "isRegex": "yes"}}, "search.isRegex",
     'expected true or false, found "yes"'),
    ({"search": {"query": "(", "isRegex": True}}, "search.query",
     "not an RE2 regular expression: missing ')' to close this group; close it, or write \\( "
     "for a literal parenthesis"),
    ({"grouping": {}}, "grouping", "expected a list of keys, found an object {}"),
    ({"grouping": [{"section": "tags", "name": "x"}]}, "grouping[0].section",
     'unknown section "tags"; expected "config", "summary" or "run"'),
    ({"grouping": ["lr"]}, "grouping[0]",
     'expected a key {"section": ..., "name": ...}, found "lr"'),
    ({"grouping": [{"section": "config", "name": "a..value"}]}, "grouping[0].name",
     'key name "a..value" has an empty segment'),
    ({"sort": []}, "sort", 'expected {"keys": [...]}, found a list []'),
    ({"sort": {}}, "sort", 'missing "keys"'),
    ({"sort": {"keys": {}}}, "sort.keys", "expected a list of sort keys, found an object {}"),
    ({"sort": {"keys": [3]}}, "sort.keys[0]",
     'expected a sort key {"key": ..., "ascending": ...}, found 3'),
    ({"sort": {"keys": [{"key": {"section": "summary", "name": "x"}}]}}, "sort.keys[0]",
     'missing "ascending"'),
    ({"sort": {"keys": [{"key": {"section": "summary", "name": "x"}, "ascending": "up"}]}},
     "sort.keys[0].ascending", 'expected true or false, found "up"'),
    ({"sort": {"keys": [{"ascending": True}]}}, "sort.keys[0]", 'missing "key"'),
    ({"sort": {"keys": [{"key": {"section": "keys_info", "name": "x"}, "ascending": True}]}},
     "sort.keys[0].key.section", 'unknown section "keys_info"; expected "config", "summary" '
                                 'or "run"'),
    (v2(leaf(value="x" * 100)), None, None),  # long values are fine; only their display is cut
    (v2(leaf(op="IN", value=list(range(40)), section="zzz")), "filters[0].key.section",
     'unknown section "zzz"; expected "config", "summary", "run" or "tags"'),
    (v2(leaf(op="=", value=list(range(40)))), "filters[0].value",
     '"=" compares with one value, found a list [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, '
     '14, 15, 16...; "IN" matches any of several values'),
    (v2(leaf(value={1, 2})), "filters[0].value",
     "expected a string, number or boolean, found set {1, 2}"),
]


@pytest.mark.parametrize(("data", "path", "message"), ERRORS,
                         ids=[f"{p}: {m}" for _, p, m in ERRORS])
def test_error(data: Any, path: str | None, message: str | None) -> None:
    if message is None:
        read(data)
        return
    with pytest.raises(DecompileError) as caught:
        wsquery.decompile(data)
    assert caught.value.message == message
    assert caught.value.path == path
    assert str(caught.value) == (f"{path}: {message}" if path else message)


def _nested_groups(depth: int, *, with_or: bool = False) -> dict[str, Any]:
    """``depth`` groups inside each other; each adds one ``and`` level to the query, or an
    ``or`` and an ``and`` level ``with_or``."""
    items: list[dict[str, Any]] = [A, joined(B, "OR")]
    for _ in range(depth):
        inner = group(*items, connector="AND")
        items = [A, joined(B, "OR"), inner] if with_or else [A, inner]
    return v2(*items)


def test_nesting_that_text_can_hold_is_read() -> None:
    assert read(_nested_groups(2)) == (
        "config.a == 1 and (config.a == 1 and (config.a == 1 or config.b == 2))")
    assert read(_nested_groups(99)).count("(") == 99  # a level for each group
    assert read(_nested_groups(49, with_or=True)).count("(") == 49
    searched = read({"filters": _nested_groups(99), "search": {"query": "x", "isRegex": True}})
    assert searched.count("(") == 99 and searched.endswith(' and name =~ "x"')


def test_nesting_deeper_than_text_can_hold_is_an_error() -> None:
    with pytest.raises(DecompileError) as caught:
        decompile(_nested_groups(50, with_or=True))
    assert str(caught.value) == "conditions nest deeper than 100 levels, more than a query can hold"
    with pytest.raises(DecompileError) as caught:
        decompile({"filters": v2(A, joined(group(*_nested_groups(49, with_or=True)["filters"]),
                                           "OR")),
                   "search": {"query": "x", "isRegex": True}})
    assert str(caught.value) == (
        "filters: conditions nest deeper than 100 levels, more than a query can hold")
    with pytest.raises(DecompileError) as caught:
        decompile({"filters": _nested_groups(5000)})
    assert str(caught.value) == (
        "filters.filters" + "[1].filters" * 100 + ": filter groups nest deeper than 100 levels")
    deep: dict[str, Any] = legacy("AND", A)
    for _ in range(5000):
        deep = legacy("OR", deep, B)
    with pytest.raises(DecompileError) as caught:
        decompile(deep)
    assert str(caught.value) == (
        ".".join(["filters[0]"] * 100) + ": filter nodes nest deeper than 100 levels")


# Properties ----------------------------------------------------------------------------------

_names = st.sampled_from(["lr", "a.value", "a.value.b", "opt.beta", "val loss", "x-y", "1st",
                          "état", "displayName", "name", "state", "tags", "createdAt",
                          "duration", "_step", "value", "in", "a/b", 'a"b', "a\\b", "a\nb",
                          "a`b", "", "a..b"]) | st.text(max_size=4)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(),
                     st.text(max_size=5), st.sampled_from(["finished", "2024-01-01", "Running",
                                                           "2024-01-01T00:00:00Z", "\\d", "("]))
_values = st.one_of(_scalars, st.lists(_scalars, max_size=3),
                    st.dictionaries(st.text(max_size=2), _scalars, max_size=2))
_keys = st.fixed_dictionaries({"section": st.sampled_from(["config", "summary", "run", "tags",
                                                           "keys_info"]), "name": _names})
_leaves = st.fixed_dictionaries(
    {"key": _keys, "op": st.sampled_from([*WORKSPACE_OPS, "=="]), "value": _values},
    optional={"disabled": st.booleans(), "connector": st.sampled_from(["AND", "OR", "XOR"])})
_items = st.recursive(_leaves, lambda children: st.fixed_dictionaries(
    {"filters": st.lists(children, max_size=4)},
    optional={"connector": st.sampled_from(["AND", "OR"]), "disabled": st.booleans()}),
    max_leaves=10)
_sort_keys = st.fixed_dictionaries({"key": _keys, "ascending": st.booleans()})
_run_sets = st.fixed_dictionaries({}, optional={
    "filters": st.lists(_items, max_size=5).map(lambda items: v2(*items)),
    "search": st.fixed_dictionaries({"query": st.text(max_size=4) | st.sampled_from(["^s", "("])},
                                    optional={"isRegex": st.booleans()}),
    "grouping": st.lists(_keys, max_size=2),
    "sort": st.fixed_dictionaries({"keys": st.lists(_sort_keys, max_size=2)}),
})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_run_sets)
def test_any_run_set_reads_back_as_parseable_text_or_fails_cleanly(run_set: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WsqueryWarning)
        try:
            query = decompile(run_set)
        except DecompileError as error:
            assert error.message
            return
    assert wsquery.parse(str(query)) == query


# Round trips through the compiler, judged by the evaluator -----------------------------------

ROUND_TRIPS = [
    "summary.val_loss < 0.1",
    "summary.val_loss <= 0.1 and config.lr > 0.001",
    'config.optimizer == "adam" or config.optimizer == "sgd"',
    "not (config.lr < 0.01 or summary.acc >= 0.9)",
    '(config.a == 1 or config.b == 2) and (config.c == 3 or summary.d != 4)',
    'config.a == 1 and (config.b == 2 or config.c == 3 and (summary.x > 1 or summary.y < 2))',
    '"best" in tags and not "wip" in tags and tags contains "a"',
    'tags in ["a", "b"] or tags not in ["c"]',
    'state in ["finished", "crashed"] and state != "failed"',
    'state == "FINISHED"',
    'created_at >= "2024-01-01" and created_at within last 3d',
    "runtime > 1h or runtime <= 90",
    'name =~ "^run-\\d" and config.lr in [0.1, 0.01]',
    'name contains "sweep" and summary.acc > 0.5',
    "config.lr not in [1, 2] and summary.x between 0 and 1",
    "step >= 100 group by config.optimizer, group order by summary.val_loss desc, created_at",
    "order by created_at desc",
    "",
]

RUNS: list[dict[str, Any]] = [
    {},
    {"name": "run-1", "state": "finished", "tags": ["best", "a"], "created_at": "2024-01-02",
     "runtime": 7200, "step": 150, "config": {"lr": 0.1, "optimizer": "adam", "a": 1, "b": 2},
     "summary": {"val_loss": 0.05, "acc": 0.95, "x": 0.5, "y": 3, "d": 4}},
    {"name": "sweep-7", "state": "crashed", "tags": ["wip", "c"], "created_at": "2023-12-01",
     "runtime": 60, "config": {"lr": 0.001, "optimizer": "sgd", "c": 3},
     "summary": {"val_loss": 0.5, "acc": 0.3, "x": 2, "d": None}},
    {"name": None, "state": None, "tags": None, "config": {"lr": "high", "a": None},
     "summary": {"val_loss": float("nan"), "acc": "n/a"}},
    {"name": "run-9", "state": "failed", "tags": [], "created_at": "2024-01-02T23:00:00Z",
     "runtime": 90, "config": {"lr": 2, "b": 2, "c": 3}, "summary": {"x": 1.5, "y": 1}},
]


def _same_runs(query: Query, other: Query, runs: list[Any]) -> None:
    for run in runs:
        assert wsquery.matches(query, run, now=NOW) == wsquery.matches(other, run, now=NOW), run


def _compiled(query: Query, fmt: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return wsquery.compile(query, exact_ops=True, format=fmt).to_json()


@pytest.mark.parametrize("fmt", ["filterv2", "legacy"])
@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_round_trip_through_the_compiler(text: str, fmt: str) -> None:
    query = wsquery.parse(text)
    back = decompile(_compiled(query, fmt))
    assert wsquery.parse(str(back)) == back
    assert back.group_by == query.group_by
    default = wsquery.parse("order by created_at desc").order_by
    assert back.order_by == (() if query.order_by == default else query.order_by)
    _same_runs(query, back, RUNS)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(strategies.expressions(strategies.predicates(with_null=False), constants=False,
                              max_leaves=8),
       st.sampled_from(["filterv2", "legacy"]), st.lists(strategies.runs, min_size=1, max_size=5))
def test_compiled_queries_read_back_select_the_same_runs(condition: Any, fmt: str,
                                                         runs: list[Any]) -> None:
    # An empty name search is the run set's "no search": see the test below.
    assume(not any(f'name {op} ""' in str(condition) for op in ("contains", "=~")))
    query = Query(condition)
    try:
        data = _compiled(query, fmt)
    except TargetError:
        reject()
    back = decompile(data)
    assert wsquery.parse(str(back)) == back
    _same_runs(query, back, runs)


@pytest.mark.parametrize("text", ['name contains ""', 'name =~ ""'])
def test_an_empty_name_search_keeps_its_meaning(text: str) -> None:
    """An empty search box shows every run, also those without a name, which the condition
    does not select: the run set refuses it, and the mongo target, which the hint names, says
    it as the language does."""
    query = wsquery.parse(text)
    for fmt in ("filterv2", "legacy"):
        with pytest.raises(TargetError, match="an empty search box is no search") as refused:
            _compiled(query, fmt)
        assert refused.value.hint is not None and 'target="mongo"' in refused.value.hint
    runs = [{"id": "a"}, {"id": "b", "name": None}, {"id": "c", "name": 7},
            {"id": "d", "name": "x"}]
    mongo = wsquery.compile(query, target="mongo", now=NOW)
    documents = [mongo_document(run) for run in runs]
    assert sorted(runs[index]["id"] for index in mongomock_selects(mongo.filters, documents)
                  ) == [run["id"] for run in wsquery.evaluate(query, runs, now=NOW)] == ["d"]
