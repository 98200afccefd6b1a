"""Time the stages that fast paths serve, each beside the same stage without (or with) them; print
medians of rounds.

    python benchmarks/stages.py [--rounds N] [--against REV] [--quick]

Normalize: ``normalize`` (what ``_plain`` serves: queries already in normal form), ``_normal``
(what its inlined first case serves), ``literal_key`` on comparisons (what its repeated case
serves) and ``value_key`` on the literals of comparisons (what a shortcut for plain literals on
config and summary keys serves), on the benchmark's queries of 1, 4, 10 and 40 leaves, each timed
with the current ``wsquery/semantics/normalize.py`` and with that file as it is at git revision
``REV`` (default ``HEAD``), in turn in every round. So a fast path is measured by removing it from
the working tree (or by naming the revision before the commit that removed it) and comparing: a
ratio ``REV / now`` above 1 is what the working tree gains. Each stage's share of a whole compile
(``compile_runset(parse(text))``) says what it can weigh (``literal_key`` is timed on every
comparison, more than a compile asks of it; ``value_key`` on every comparison's literal).

Compile cache: ``compile_text`` (``wsquery.compile`` of text) serving a text again from its
marshalled copy, beside compiling it afresh, and a text's first and second compiles beside a
compile without the cache (what keeping it costs).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import batch_seconds, expressions  # noqa: E402

import wsquery  # noqa: E402
from wsquery.ast import Compare, walk  # noqa: E402
from wsquery.compilers.runset import write as runset  # noqa: E402

SIZES = (1, 4, 10, 40)
NORMALIZE = "wsquery/semantics/normalize.py"


def normalize_at(revision: str | None) -> types.ModuleType:
    """``normalize.py`` as it is at ``revision`` (None: in the working tree), as a module of
    its own: both are loaded alike, so that only their code differs."""
    if revision is None:
        source = (ROOT / NORMALIZE).read_text(encoding="utf-8")
    else:
        source = subprocess.run(["git", "show", f"{revision}:{NORMALIZE}"], cwd=ROOT,
                                check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"normalize_at_{revision or 'now'}")
    exec(compile(source, f"{revision or 'now'}:{NORMALIZE}", "exec"), module.__dict__)
    return module


def stages(module: types.ModuleType) -> dict[str, Callable[[Any], Any]]:
    """Each normalize stage of one query (with its comparisons), through ``module``."""
    return {
        "normalize": lambda item: module.normalize(item[0]),
        "_normal": lambda item: module._normal(item[0].filter, False, None),
        "literal_key": lambda item: [module.literal_key(node) for node in item[1]],
        "value_key": lambda item: [module.value_key(node.field, node.value)
                                   for node in item[1]],
    }


def compare_normalize(revision: str, rounds: int) -> None:
    """Per stage and size: µs per query now and at ``revision``, their ratio, and the stage's
    share of a compile."""
    now, then = stages(normalize_at(None)), stages(normalize_at(revision))
    print(f"{'stage':>12} {'leaves':>6} {'now µs':>8} {revision + ' µs':>12} "
          f"{revision + ' / now':>12} {'share of compile':>17}")
    for name in now:
        for leaves in SIZES:
            queries = [wsquery.parse(expressions(leaves, 500 + i)[0])
                       for i in range(max(5, 400 // leaves))]
            texts = [str(query) for query in queries]
            items = [(query, [node for node in walk(query) if type(node) is Compare])
                     for query in queries]
            times: dict[str, list[float]] = {"now": [], "then": [], "compile": []}
            for round_number in range(rounds + 1):  # round 0 warms up and is not counted
                contenders = [("now", now[name]), ("then", then[name])]
                if round_number % 2:
                    contenders.reverse()
                for label, stage in contenders:
                    seconds = batch_seconds(stage, items)  # type: ignore[arg-type]
                    if round_number:
                        times[label].append(seconds)
                if round_number:
                    times["compile"].append(batch_seconds(_compile, texts))
            ratio = statistics.median(b / a for a, b in zip(times["now"], times["then"],
                                                            strict=True))
            share = statistics.median(times["now"]) / statistics.median(times["compile"])
            print(f"{name:>12} {leaves:>6} {statistics.median(times['now']) * 1e6:>8.2f} "
                  f"{statistics.median(times['then']) * 1e6:>12.2f} {ratio:>12.2f} "
                  f"{share:>16.1%}")


def _compile(text: str) -> Any:
    return runset.compile_runset(wsquery.parse(text), text=text).to_json()


def compare_cache(rounds: int) -> None:
    """Per size: a text served again from the cache beside a fresh compile of it; and texts
    compiled once and twice through ``compile_text`` beside compiles without the cache."""
    print(f"{'leaves':>6} {'again µs':>9} {'fresh µs':>9} {'fresh / again':>14} "
          f"{'1st: cached / not':>18} {'2nd: cached / not':>18}")
    serial = 900_000
    for leaves in SIZES:
        again: list[float] = []
        fresh: list[float] = []
        first: list[float] = []
        second: list[float] = []
        for _ in range(rounds):
            text = expressions(leaves, serial)[0]
            texts = [expressions(leaves, serial + 1 + i)[0] for i in range(max(5, 400 // leaves))]
            serial += 1 + len(texts)
            runset.compile_text(text)
            runset.compile_text(text)  # kept from its second time on
            again.append(batch_seconds(runset.compile_text, [text] * 50))
            fresh.append(batch_seconds(_fresh, [text] * 10))
            first.append(batch_seconds(runset.compile_text, texts)
                         / batch_seconds(_fresh, texts))
            second.append(batch_seconds(runset.compile_text, texts)
                          / batch_seconds(_fresh, texts))
        ratio = statistics.median(b / a for a, b in zip(again, fresh, strict=True))
        print(f"{leaves:>6} {statistics.median(again) * 1e6:>9.2f} "
              f"{statistics.median(fresh) * 1e6:>9.1f} {ratio:>14.1f} "
              f"{statistics.median(first):>18.2f} {statistics.median(second):>18.2f}")


def _fresh(text: str) -> Any:
    return runset.compile_runset(wsquery.parse(text), text=text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per figure")
    parser.add_argument("--against", default="HEAD", help="the git revision of normalize.py "
                        "timed beside the working tree's (default: HEAD)")
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    print(f"command: python {' '.join(sys.argv)}\n")
    print(f"Normalize stages, now and at {args.against}:")
    compare_normalize(args.against, rounds)
    print("\nCompile cache (compilers.runset.compile_text):")
    compare_cache(rounds)


if __name__ == "__main__":
    main()
