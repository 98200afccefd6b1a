"""Every node type through every pass. The node types are read off the AST's own unions
(``Predicate``, ``Expr``), so a new node type fails here, at the pass that does not know it,
including the places mypy cannot name: the grammar and ``str``, the derived tables of node
types, the walk and the builder's checks, and each built-in target's refusal."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import Any, get_args

import attrs
import pytest

import wsquery
from wsquery import build
from wsquery.ast import (
    LEAF_TYPES,
    And,
    Compare,
    Constant,
    Contains,
    Duration,
    Expr,
    Field,
    In,
    IsNull,
    Match,
    Not,
    Or,
    Predicate,
    Query,
    Within,
    transform,
    walk,
)
from wsquery.compilers import registry
from wsquery.errors import TargetError

NOW = datetime(2024, 6, 1, tzinfo=UTC)
ACC = Field("summary", ("acc",))
LR = Field("config", ("lr",))
STATE = Field("run", ("state",))
NAME = Field("run", ("displayName",))
TAGS = Field("run", ("tags",))
CREATED_AT = Field("run", ("createdAt",))

#: One instance of each node type; each but ``Constant`` holds for some of ``RUNS``, not all.
EXAMPLES: dict[type, Expr] = {
    Compare: Compare(ACC, ">", 0.5),
    In: In(STATE, ("finished", "crashed")),
    Match: Match(NAME, "^tie"),
    Contains: Contains(TAGS, "baseline"),
    IsNull: IsNull(LR),
    Within: Within(CREATED_AT, Duration(7, "d")),
    Constant: Constant(True),
    Not: Not(Compare(ACC, ">", 0.5)),
    And: And((In(STATE, ("finished",)), Compare(ACC, ">=", 0.5))),
    Or: Or((IsNull(LR), Contains(TAGS, "baseline"))),
}

RUNS = [
    {"id": "a", "name": "tie-a", "state": "finished", "created_at": "2024-05-30T00:00:00Z",
     "tags": ["baseline"], "config": {"lr": 0.1}, "summary": {"acc": 0.9}},
    {"id": "b", "name": "tie-b", "state": "crashed", "created_at": "2024-01-01T00:00:00Z",
     "tags": [], "config": {}, "summary": {"acc": 0.2}},
    {"id": "c", "name": "new", "state": "running", "created_at": "2024-05-31T00:00:00Z",
     "tags": ["other"], "config": {"lr": 0.3}, "summary": {"acc": 0.5}},
]

#: Each example, and its negation: negation is a pass of its own (``normalize``) and a form
#: of its own on several targets (``NIN``, a lacking tag, ``$nor``).
CONDITIONS = [*(pytest.param(node, id=kind.__name__) for kind, node in EXAMPLES.items()),
              *(pytest.param(Not(node), id=f"not-{kind.__name__}")
                for kind, node in EXAMPLES.items())]


def _ids(runs: list[Any]) -> list[str]:
    """The ids of ``runs`` in the order of ``RUNS`` (a query with no ``order by`` has its own)."""
    return sorted(run["id"] for run in runs)


def test_every_node_type_has_an_example() -> None:
    """The examples are every ``Expr``: a new node type needs one here, and then meets
    every pass below."""
    assert set(EXAMPLES) == set(get_args(Expr))
    assert all(type(node) is kind for kind, node in EXAMPLES.items())


def test_the_tables_of_node_types_are_read_off_the_unions() -> None:
    """A leaf nests no condition: every ``Predicate`` and ``Constant``, nothing else."""
    nesting = {kind for kind, node in EXAMPLES.items()
               if any(isinstance(part, get_args(Expr)) for part in _parts(node))}
    assert set(LEAF_TYPES) == set(get_args(Expr)) - nesting
    assert set(get_args(Predicate)) == set(LEAF_TYPES) - {Constant}


@pytest.mark.parametrize("node", CONDITIONS)
def test_str_parses_back(node: Expr) -> None:
    """``str`` and the grammar agree on every node type (the parser's builder included)."""
    assert wsquery.parse(str(node)).filter == node


@pytest.mark.parametrize("node", CONDITIONS)
def test_walk_and_transform_reach_every_child(node: Expr) -> None:
    """Each node's fields and conditions are its children, for ``walk`` and ``transform``."""
    walked = [id(n) for n in walk(node)]
    for child in _parts(node):
        assert id(child) in walked, f"walk misses {child!r} under {node!r}"
    assert transform(node, lambda n: n) is node
    copies = transform(node, lambda n: attrs.evolve(n) if isinstance(n, Field) else n)
    assert copies == node
    originals = {id(n) for n in walk(node) if isinstance(n, Field)}
    assert not any(id(n) in originals for n in walk(copies) if isinstance(n, Field))


def _parts(node: Any) -> list[Any]:
    parts = []
    for attribute in attrs.fields(type(node)):
        value = getattr(node, attribute.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, (Field, *get_args(Expr))):
                parts.append(item)
    return parts


@pytest.mark.parametrize("node", CONDITIONS)
def test_the_builder_takes_it(node: Expr) -> None:
    """The builder checks a hand-built node of every type as the parser would have."""
    built = build.query(node)
    assert wsquery.parse(str(built)) == built


@pytest.mark.parametrize("node", CONDITIONS)
def test_evaluate_and_normalize_agree(node: Expr) -> None:
    """Each node has a meaning; ``normalize`` keeps it, and ``matches`` says it run by run."""
    query = Query(node)
    expected = _ids(wsquery.evaluate(query, RUNS, now=NOW))
    assert expected == [run["id"] for run in RUNS if wsquery.matches(query, run, now=NOW)]
    assert _ids(wsquery.evaluate(wsquery.normalize(query), RUNS, now=NOW)) == expected


#: Every built-in target, and the run set's legacy format too; a run set keeps ``>`` (its
#: default widens it to the UI's ``>=``, with a warning) so that it reads back to the same runs.
TARGETS = [pytest.param(name, {"exact_ops": True} if name == "workspace" else {}, id=name)
           for name in registry._BUILTIN]
TARGETS.append(pytest.param("workspace", {"exact_ops": True, "format": "legacy"},
                            id="workspace-legacy"))


@pytest.mark.parametrize(("target", "options"), TARGETS)
@pytest.mark.parametrize("node", CONDITIONS)
def test_every_builtin_target_says_it_or_refuses(node: Expr, target: str,
                                                 options: dict[str, Any]) -> None:
    """Each built-in target compiles every node type or refuses it with a ``TargetError``
    (never another exception, such as a catch-all's ``AssertionError``); a run set it
    writes reads back to the same runs."""
    query = Query(node)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compiled = wsquery.compile(query, target=target, strict=False, **options)
        except TargetError:
            return
    assert compiled is not None
    if target == "workspace":
        expected = _ids(wsquery.evaluate(query, RUNS, now=NOW))
        read = wsquery.decompile(compiled.to_json())
        assert _ids(wsquery.evaluate(read, RUNS, now=NOW)) == expected
