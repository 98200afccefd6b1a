"""Work grows linearly with the size of a query: counted in function calls, never timed.

Each case compiles (or decompiles) a query of n and of ten times n leaves with a profile hook
that counts every call, Python's and C's; linear work makes the second count at most ten times
the first (plus a little), while anything quadratic in the leaves shows up many times over.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

import wsquery

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
