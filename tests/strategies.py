"""Hypothesis strategies: valid query ASTs over a small key space, and runs that exercise them.

Keys are few on purpose, so generated filters and generated runs meet often: runs miss keys,
hold nulls and values of the wrong type, and filters repeat fields (contradictions, merges).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from wsquery.ast import (
    And,
    Compare,
    Constant,
    Contains,
    Duration,
    Field,
    In,
    IsNull,
    Match,
    Not,
    Or,
    OrderKey,
    Query,
    Within,
)

NUMERIC_FIELDS = [Field("config", ("lr",)), Field("summary", ("acc",)),
                  Field("config", ("opt", "beta"))]
STRING_FIELDS = [Field("config", ("opt",)), Field("run", ("displayName",))]
TAGS = Field("run", ("tags",))
STATE = Field("run", ("state",))
CREATED_AT = Field("run", ("createdAt",))
RUNTIME = Field("run", ("duration",))
RUN_ID = Field("run", ("name",))
ALL_FIELDS = [*NUMERIC_FIELDS, *STRING_FIELDS, TAGS, STATE]

numbers = st.sampled_from([0, 1, 2, 0.5, -1, 1.5, 10])
strings = st.sampled_from(["a", "b", "adam", "sgd", "run-1", ""])
states = st.sampled_from(["running", "finished", "crashed"])
patterns = st.sampled_from(["^a", "b$", "run-\\d", "d"])
dates = st.sampled_from(["2024-01-01", "2024-01-02T12:00:00Z", "2023-12-31T23:00:00+02:00"])


def _compare(field: Field, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Compare]:
    return st.builds(Compare, st.just(field), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                     values)


def predicates(*, with_regex: bool = True, with_null: bool = True) -> st.SearchStrategy[Any]:
    """Leaves whose literals type-check (the parser would accept them)."""
    options: list[st.SearchStrategy[Any]] = [
        st.sampled_from(NUMERIC_FIELDS).flatmap(lambda f: _compare(f, numbers)),
        st.sampled_from(STRING_FIELDS).flatmap(lambda f: _compare(f, strings)),
        st.builds(Compare, st.just(STATE), st.sampled_from(["==", "!="]), states),
        st.builds(Compare, st.just(CREATED_AT), st.sampled_from(["<", ">=", "=="]), dates),
        st.builds(Compare, st.just(Field("run", ("duration",))), st.sampled_from(["<", ">"]),
                  st.sampled_from([Duration(1, "m"), Duration(90, "s"), 30])),
        st.builds(In, st.sampled_from(NUMERIC_FIELDS),
                  st.lists(numbers, max_size=3).map(tuple)),
        st.builds(In, st.sampled_from(STRING_FIELDS), st.lists(strings, max_size=3).map(tuple)),
        st.builds(In, st.just(TAGS), st.lists(strings, min_size=1, max_size=2).map(tuple)),
        st.builds(Contains, st.just(TAGS), strings),
        st.builds(Within, st.just(CREATED_AT),
                  st.sampled_from([Duration(1, "d"), Duration(2, "w"), Duration(1.5, "h")])),
    ]
    if with_regex:
        options += [st.builds(Match, st.sampled_from(STRING_FIELDS), patterns),
                    st.builds(Contains, st.sampled_from(STRING_FIELDS), strings)]
    if with_null:
        options.append(st.builds(IsNull, st.sampled_from(ALL_FIELDS)))
    return st.one_of(options)


def expressions(leaves: st.SearchStrategy[Any] | None = None, *, max_leaves: int = 12,
                constants: bool = True) -> st.SearchStrategy[Any]:
    """Filters of nested and/or/not over ``leaves``, as the parser builds them (no nested
    And directly inside And or Or inside Or unless parenthesized: both print that way)."""
    base = leaves if leaves is not None else predicates()
    if constants:
        base = st.one_of(base, st.builds(Constant, st.booleans()))

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.builds(Not, children),
            st.lists(children, min_size=2, max_size=4).map(lambda ops: And(tuple(ops))),
            st.lists(children, min_size=2, max_size=4).map(lambda ops: Or(tuple(ops))),
        )

    return st.recursive(base, extend, max_leaves=max_leaves)


order_keys = st.builds(OrderKey, st.sampled_from([*ALL_FIELDS, CREATED_AT]), st.booleans())
queries = st.builds(
    Query,
    st.none() | expressions(),
    st.lists(st.sampled_from(ALL_FIELDS), max_size=2).map(tuple),
    st.lists(order_keys, max_size=2).map(tuple),
)

_values = st.one_of(numbers, strings, st.none(), st.booleans(), st.just(float("nan")),
                    st.just([1, "a"]))


def _section(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), _values, max_size=len(keys))


_RUN_PARTS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(strings, st.none(), numbers),
    "state": st.one_of(states, st.none()),
    "tags": st.one_of(st.lists(strings, max_size=3), st.none()),
    "created_at": st.one_of(dates, st.sampled_from(["2024-01-01T06:00:00", "not a date"])),
    "runtime": st.one_of(numbers, st.sampled_from([30, 60, 90, 120]), st.none()),
    "config": st.fixed_dictionaries(
        {}, optional={"lr": _values, "opt": st.one_of(_values, _section(["beta"]))}),
    "summary": _section(["acc"]),
}
runs = st.fixed_dictionaries({}, optional={"id": strings, **_RUN_PARTS})


# Whole queries and run lists with unique ids (the conformance harness) -----------------------

#: Run ids whose orders as text and as numbers differ, with cases and a non-ASCII letter, so
#: that a target ordering ties by id in another collation than code points shows.
RUN_IDS = ["a", "b", "B", "Z", "_x", "a1", "a10", "a9", "9", "10", "é", "run-1"]
#: Order keys: every field, created_at, runtime and id (ties are frequent: values are few).
ORDER_FIELDS = [*ALL_FIELDS, CREATED_AT, RUNTIME, RUN_ID]
_INFINITIES = st.sampled_from([float("inf"), float("-inf"), 1e308])
_wide_values = st.one_of(_values, _INFINITIES)
_odd_leaves = st.one_of(
    st.builds(Compare, st.just(STATE), st.sampled_from(["==", "!="]),
              st.sampled_from(["FINISHED", "Running", "crashed"])),
    st.builds(In, st.just(STATE), st.lists(st.sampled_from(["Finished", "RUNNING", "failed"]),
                                           min_size=1, max_size=2).map(tuple)),
    st.builds(Compare, st.sampled_from(NUMERIC_FIELDS), st.sampled_from(["<", ">=", "=="]),
              st.sampled_from([1e308, -1e308, True, False])),
    st.builds(In, st.sampled_from([*NUMERIC_FIELDS, STRING_FIELDS[0]]),
              st.lists(st.one_of(numbers, strings, st.booleans()), max_size=3).map(tuple)),
    st.builds(Compare, st.just(RUN_ID), st.sampled_from(["==", "<", ">="]),
              st.sampled_from(RUN_IDS)),
    st.builds(Match, st.just(RUN_ID), st.sampled_from(["^a\\d", "(?i)^b", "0$"])),
)
#: Whole queries: a filter (every kind of leaf), group by in about one query of three, up to
#: three order keys in either direction, a limit in about half.
whole_queries = st.builds(
    Query,
    st.none() | expressions(st.one_of(predicates(), _odd_leaves), max_leaves=8),
    st.sampled_from([0, 0, 0, 0, 1, 2]).flatmap(
        lambda size: st.lists(st.sampled_from(ALL_FIELDS), min_size=size, max_size=size)
    ).map(tuple),
    st.lists(st.builds(OrderKey, st.sampled_from(ORDER_FIELDS), st.booleans()),
             max_size=3).map(tuple),
    st.none() | st.integers(1, 5),
)


def identified_runs(*, wandb_shaped: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Runs holding everything a whole query reads (infinities, cases of ``state``, mixed
    types, lists), each with an id (``run_lists`` makes them unique). ``wandb_shaped``: as
    W&B's runs always are, with a real ``created_at``, ``state`` in lower case and ``tags`` a
    list, empty when a run has none (what the runs-API documents are assumed to hold)."""
    parts = {
        **_RUN_PARTS,
        "state": st.one_of(states, st.none()) if wandb_shaped else st.one_of(
            states, st.sampled_from(["Finished", "RUNNING", "failed"]), st.none()),
        "runtime": st.one_of(_RUN_PARTS["runtime"], _INFINITIES),
        "config": st.fixed_dictionaries({}, optional={
            "lr": _wide_values, "opt": st.one_of(_wide_values, _section(["beta"]))}),
        "summary": st.dictionaries(st.just("acc"), _wide_values, max_size=1),
    }
    required = {"id": st.sampled_from(RUN_IDS)}
    if wandb_shaped:
        required["created_at"] = st.one_of(dates, st.just("2024-01-01T06:00:00"))
        required["tags"] = st.lists(strings, max_size=3)
        del parts["created_at"], parts["tags"]
    return st.fixed_dictionaries(required, optional=parts)


def run_lists(*, wandb_shaped: bool = False, max_size: int = 8
              ) -> st.SearchStrategy[list[dict[str, Any]]]:
    """One to ``max_size`` runs with unique ids (W&B's are), in no particular order."""
    return st.lists(identified_runs(wandb_shaped=wandb_shaped), min_size=1,
                    max_size=max_size, unique_by=lambda run: run["id"])
