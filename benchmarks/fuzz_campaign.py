"""A long fuzz campaign over every entry point; prints the slowest inputs and any failure.

    python benchmarks/fuzz_campaign.py --minutes 10 [--seed N] [--no-re2] [--only text,regex]
                                       [--top 10] [--out worst.json]

The properties are those of ``tests/test_fuzz.py``, run with far more examples: query text
(random text, token soup, mutated language cases, deep nesting, long literals, odd Unicode)
through parse, normalize, compile for every target, decompile and evaluate; random and mutated
run-set JSON through decompile; odd runs through evaluate; generated regexes against
google-re2 as the oracle (run by RE2, or by Python's engine with ``--no-re2``, which hides
google-re2 from wsquery as if it were not installed). Each round runs every chosen property
for ``--examples`` examples with its own seed, until the time is up. Every outcome must be a
result or a ``WsqueryError``; known bugs listed in the test module are stepped over and counted.

Time per input is reported as milliseconds per KB of input (inputs under 1 KB count as 1 KB):
the issue's bound is 50 ms per KB. A failure prints its seed, the shrunk input and where it
was raised; ``--out`` writes the slowest inputs in full, and the failures, as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import test_fuzz as fuzz  # noqa: E402
from wsquery import regex  # noqa: E402

PROPERTIES: dict[str, Callable[[], Any]] = {}


def _property(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(build: Callable[..., None]) -> Callable[..., None]:
        PROPERTIES[name] = build
        return build

    return register


@_property("text")
def text_property(text: str) -> None:
    fuzz.pipeline(text)


@_property("decompile")
def decompile_property(data: Any) -> None:
    fuzz.decompile_pipeline(data)


@_property("runs")
def runs_property(runs: list[Any], query: Any) -> None:
    fuzz.test_evaluate_odd_runs.hypothesis.inner_test(runs, query)  # type: ignore[attr-defined]


@_property("regex")
def regex_property(pattern: str, subjects: list[str]) -> None:
    engine = "re2" if regex.re2_available() else "python"
    fuzz.test_regex_matches_as_re2.hypothesis.inner_test(  # type: ignore[attr-defined]
        engine, pattern, subjects)


STRATEGIES: dict[str, tuple[st.SearchStrategy[Any], ...]] = {
    "text": (fuzz.any_text,),
    "decompile": (st.one_of(fuzz.json_values, fuzz.mutated_json()),),
    "runs": (st.lists(fuzz.odd_runs, max_size=6), st.sampled_from(fuzz.EVALUATED_QUERIES)),
    "regex": (fuzz.regexes, st.lists(fuzz.regex_subjects, min_size=1, max_size=8)),
}


def run_round(name: str, examples: int, round_seed: int, counts: dict[str, int]) -> None:
    """One property, ``examples`` examples, one seed; raises what the property raises."""
    body = PROPERTIES[name]

    def counted(args: tuple[Any, ...]) -> None:
        counts[name] = counts.get(name, 0) + 1
        body(*args)

    test = seed(round_seed)(settings(
        max_examples=examples, deadline=None, database=None,
        suppress_health_check=list(HealthCheck))(given(st.tuples(*STRATEGIES[name]))(counted)))
    test()


def where(error: BaseException) -> str:
    """The last frame inside wsquery (else the last one) an exception passed through."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if f"{Path('wsquery')}" in frame.filename
            and "tests" not in frame.filename]
    chosen = ours or list(frames)
    return f"{Path(chosen[-1].filename).name}:{chosen[-1].lineno}" if chosen else "?"


def _as_json(raw: fuzz.Timing, again: fuzz.Timing) -> dict[str, Any]:
    return {"stage": raw.stage, "ms_per_kb": raw.ms_per_kb, "ms": raw.ms,
            "again_ms_per_kb": again.ms_per_kb, "again_ms": again.ms, "input": raw.shown}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=None, help="first round's seed")
    parser.add_argument("--examples", type=int, default=500, help="examples per round")
    parser.add_argument("--only", default=",".join(PROPERTIES),
                        help="properties to run: " + ", ".join(PROPERTIES))
    parser.add_argument("--no-re2", action="store_true",
                        help="run as if google-re2 were not installed")
    parser.add_argument("--top", type=int, default=10, help="slowest inputs to show")
    parser.add_argument("--out", type=Path, help="write the slowest inputs and failures here")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in PROPERTIES]
    if unknown:
        parser.error(f"unknown properties {unknown}; choose from {list(PROPERTIES)}")
    if "regex" in chosen and fuzz.ORACLE is None:
        parser.error("the regex property needs google-re2 as its oracle: "
                     "pip install 'wsquery[re2]' (and --no-re2 to fuzz Python's engine)")
    if args.no_re2:
        sys.modules["re2"] = None  # type: ignore[assignment]  # import re2 now fails
    engine = "RE2" if regex.re2_available() else "Python's re (no RE2)"
    first_seed = args.seed if args.seed is not None else time.time_ns() % 2**32

    fuzz.WORST.keep = args.top
    fuzz.warm_up()
    counts: dict[str, int] = {}
    failures: dict[tuple[str, str], dict[str, Any]] = {}
    deadline = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    round_number = 0
    print(f"fuzzing {', '.join(chosen)} for {args.minutes:g} min, regexes on {engine}, "
          f"seeds from {first_seed}", flush=True)
    while time.monotonic() < deadline:
        for name in chosen:
            if time.monotonic() >= deadline:
                break
            round_seed = first_seed + round_number
            round_number += 1
            try:
                run_round(name, args.examples, round_seed, counts)
            except Exception as error:  # a property failed: keep the first of each kind
                key = (type(error).__name__, where(error))
                if key not in failures:
                    notes = "\n".join(getattr(error, "__notes__", []))
                    failures[key] = {"property": name, "seed": round_seed,
                                     "error": f"{type(error).__name__}: {error}"[:2000],
                                     "where": key[1], "example": notes[:4000]}
                    print(f"\nFAILURE in {name} (seed {round_seed}) at {key[1]}:\n"
                          f"  {failures[key]['error'][:500]}\n{notes[:2000]}", flush=True)
        print(f"  {time.monotonic() - started:7.0f} s: "
              + ", ".join(f"{name} {counts.get(name, 0)}" for name in chosen), flush=True)

    print()
    print(f"inputs run: {sum(counts.values())} "
          f"({', '.join(f'{name} {count}' for name, count in counts.items())})")
    print(fuzz.WORST.report())
    print(f"slowest input per stage: its {args.top} slowest first runs timed again "
          "(best of 5, no GC), the slowest of those:")
    confirmed = {}
    for stage, timings in fuzz.WORST.by_stage.items():
        pairs = [(fuzz.confirmed(timing), timing) for timing in timings]
        confirmed[stage] = max(pairs, key=lambda pair: pair[0])
    for again, raw in sorted(confirmed.values(), key=lambda pair: pair[0], reverse=True):
        print(f"{again.line()}  (first run {raw.ms_per_kb:.2f} ms/KB)")
    if fuzz.WORST.known:
        print("known bugs stepped over: " + ", ".join(
            f"{bug} ({count}x)" for bug, count in fuzz.WORST.known.most_common()))
    print(f"failures: {len(failures)}" + "".join(
        f"\n  {item['property']} seed {item['seed']}: {item['error'][:200]} at {item['where']}"
        for item in failures.values()))
    if args.out is not None:
        args.out.write_text(json.dumps({
            "engine": engine, "minutes": args.minutes, "first_seed": first_seed,
            "inputs": counts,
            "slowest": [_as_json(timing, fuzz.confirmed(timing)) for timing in fuzz.WORST.cases],
            "slowest_per_stage": [_as_json(raw, again) for again, raw in confirmed.values()],
            "known_bugs": dict(fuzz.WORST.known),
            "failures": list(failures.values()),
        }, indent=2, ensure_ascii=True), encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
