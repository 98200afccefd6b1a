"""Fuzzing every entry point: whatever text, JSON or run comes in, the outcome is a result or a
``WsqueryError``, and user regexes cannot hang the evaluator.

Inputs: random text, mutations of the language cases, nesting near and past the parser's limit,
long literals, odd Unicode, random run-set JSON and odd runs. Each text goes through parse,
normalize, compile (workspace in both formats with and without exact_ops, runs-api, and mongo
when that target exists), decompile and evaluate. Time per input is recorded as milliseconds
per KB and shown at the end of the module, never asserted; ``benchmarks/fuzz_campaign.py`` runs
the same properties far longer and reports the worst inputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
import traceback
import types
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery import regex
from wsquery.ast import (
    RUN_ATTRIBUTES,
    And,
    Field,
    Not,
    Or,
    Query,
)
from wsquery.errors import TargetError, WsqueryError, WsqueryWarning

ROOT = Path(__file__).resolve().parent.parent
QUERIES: list[str] = [case["query"] for case in
                      json.loads((ROOT / "tests" / "cases" / "language.json").read_text("utf-8"))]
NOW = datetime(2024, 6, 1, tzinfo=UTC)
#: A few hundred examples per property keep the module well under 30 s on two cores.
EXAMPLES = 200
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
T = TypeVar("T")


# Timing --------------------------------------------------------------------------------------

@dataclasses.dataclass(order=True)
class Timing:
    """One input's time at one stage, and how to run it again."""

    ms_per_kb: float
    ms: float
    stage: str = dataclasses.field(compare=False)
    shown: str = dataclasses.field(compare=False)
    size: int = dataclasses.field(compare=False)
    replay: Callable[[], object] = dataclasses.field(compare=False, repr=False)

    def line(self) -> str:
        return (f"{self.ms_per_kb:9.2f} ms/KB {self.ms:9.2f} ms  {self.stage:10} "
                f"{_brief(self.shown)}")


def per_kb(ms: float, size: int) -> float:
    return ms / max(size / 1024, 1.0)


def _keep_slowest(timings: list[Timing], timing: Timing, keep: int) -> None:
    if len(timings) < keep or timing > timings[-1]:
        timings.append(timing)
        timings.sort(reverse=True)
        del timings[keep:]


class Worst:
    """The slowest inputs seen, as milliseconds per KB of input (inputs under 1 KB count as
    1 KB, so fixed costs do not swamp the ratio), overall and per stage. Recorded, never
    asserted; ``known`` counts the hits of each known bug stepped over."""

    def __init__(self, keep: int = 5) -> None:
        self.keep = keep
        self.cases: list[Timing] = []
        self.by_stage: dict[str, list[Timing]] = {}
        self.known: Counter[str] = Counter()

    def record(self, stage: str, shown: str, size: int, seconds: float,
               replay: Callable[[], object]) -> None:
        timing = Timing(per_kb(seconds * 1000, size), seconds * 1000, stage, shown, size, replay)
        _keep_slowest(self.cases, timing, self.keep)
        _keep_slowest(self.by_stage.setdefault(stage, []), timing, self.keep)

    def clear(self) -> None:
        self.cases.clear()
        self.by_stage.clear()

    def report(self) -> str:
        return "\n".join(["slowest fuzz inputs (ms per KB of input, at least 1 KB):",
                          *(case.line() for case in self.cases)])


def confirmed(timing: Timing, runs: int = 5) -> Timing:
    """``timing`` measured again: the best of ``runs`` runs with the garbage collector paused,
    so a collection or another process on the machine does not count as the input's cost.
    Caches are warm by then: first-use costs are left out."""
    best = math.inf
    for _ in range(runs):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        try:
            with contextlib.suppress(Exception), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                timing.replay()
        finally:
            best = min(best, time.perf_counter() - start)
            gc.enable()
    return dataclasses.replace(timing, ms=best * 1000, ms_per_kb=per_kb(best * 1000, timing.size))


WORST = Worst()


def _shown(value: Any) -> str:
    """A short repr of a fuzz input, even one nested past Python's recursion limit."""
    try:
        return _brief(repr(value), 400)
    except (RecursionError, ValueError):  # deep nesting, ints too long to print
        return f"<{type(value).__name__} too deep or too long to show>"


def _brief(text: str, limit: int = 100) -> str:
    shown = ascii(text)
    return shown if len(shown) <= limit else f"{shown[:limit - 20]}...({len(text)} chars)"


@pytest.fixture(scope="module", autouse=True)
def _report_timings(request: pytest.FixtureRequest) -> Iterator[None]:
    warm_up()
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin(
        "capturemanager")
    if reporter is None or capture is None or not WORST.cases:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in WORST.report().splitlines():
            reporter.write_line(line)


def timed(stage: str, shown: str, size: int, call: Callable[[], T]) -> T | None:
    """``call()``'s result, or None when it raised a ``WsqueryError`` (or hit a known bug);
    any other exception escapes and fails the test."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WsqueryWarning)
            return call()
    except WsqueryError:
        return None
    except Exception as error:
        bug = known_bug(error)
        if bug is None:
            raise
        WORST.known[bug] += 1
        return None
    finally:
        WORST.record(stage, shown, size, time.perf_counter() - start, call)


#: Bugs fuzzing found in modules this file does not own: (exception, module it escapes from,
#: words of its message). The properties step over them; the ``test_bug_*`` cases below pin
#: one input each and are strict xfails, so they fail once a bug is fixed, and then its entry
#: goes from here.
KNOWN_BUGS: list[tuple[type[BaseException], str, str]] = []  # none open


def known_bug(error: BaseException) -> str | None:
    """Which known bug ``error`` is (as ``module: exception``), or None."""
    frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(error.__traceback__)]
    ours = [name for name in frames if f"{os.sep}wsquery{os.sep}" in name]
    where = Path(ours[-1]).name if ours else ""
    for kind, module, words in KNOWN_BUGS:
        if isinstance(error, kind) and where == module and words in str(error):
            return f"{module}: {kind.__name__}"
    return None


def warm_up() -> None:
    """Build what is built once (the parser and its error path, the Unicode tables behind
    regex classes) before anything is timed."""
    pipeline('summary.val_loss < 0.1 and name =~ "(?i)^r\\w+\\d$" order by summary.val_loss')
    pipeline("config.x <> 1")
    classes = "[\\w\\W\\d\\D\\s\\S]"
    for flags in ("", "(?i)"):  # (?i) builds RE2's case folding once
        regex.compile_user_regex(flags + classes)("\u00e9")
    WORST.clear()


# The pipeline ----------------------------------------------------------------------------------

#: Values runs hold for the fields a query names: every type, odd text, extremes.
ODD_VALUES: list[Any] = [
    None, 0, 1, -1.5, 1e308, -0.0, float("nan"), float("inf"), 10**30, True, False, "", "a",
    "run-1", "finished", "e\u0301", "\ud800", "\U0001f600", "\uff11\uff12", "x" * 5000,
    "a" * 3000 + "b", "2024-01-01", "2024-05-31T12:00:00Z", "not a date", [1, "a"], [],
    ["best", "a"], {"k": 1}, {"x": {"y": 2}},
]
_PLAIN_NAMES = {key: attribute for attribute, key in RUN_ATTRIBUTES.items()}


def fields_of(query: Query) -> list[Field]:
    """Every field a query names, without recursion (queries nest up to the parser's limit)."""
    found = [*query.group_by, *(key.field for key in query.order_by)]
    pending = [] if query.filter is None else [query.filter]
    while pending:
        node = pending.pop()
        if isinstance(node, And | Or):
            pending.extend(node.operands)
        elif isinstance(node, Not):
            pending.append(node.operand)
        elif hasattr(node, "field"):
            found.append(node.field)
    return list(dict.fromkeys(found))[:40]


def runs_for(queries: list[Query]) -> list[dict[str, Any]]:
    """Six plain runs giving every field the queries name a value from ``ODD_VALUES``, or
    leaving it missing, in a different mix for each run."""
    fields = list(dict.fromkeys(field for query in queries for field in fields_of(query)))
    runs = []
    for index in range(6):
        run: dict[str, Any] = {"config": {}, "summary": {}}
        for position, field in enumerate(fields):
            if (index + position) % 5 == 4:
                continue
            value = ODD_VALUES[(index * 7 + position * 3) % len(ODD_VALUES)]
            if field.section == "run":
                run[_PLAIN_NAMES.get(field.key, field.key)] = value
            else:
                run[field.section][field.key] = value
        runs.append(run)
    return runs


def pipeline(text: str) -> None:
    """Run ``text`` through every entry point; each ends in a result or a ``WsqueryError``."""
    size = len(text.encode("utf-8", "surrogatepass"))
    query = timed("parse", text, size, lambda: wsquery.parse(text))
    if query is None:
        return
    canonical = str(query)
    assert timed("reparse", canonical, size, lambda: wsquery.parse(canonical)) == query
    queries = [query]
    normal = timed("normalize", text, size, lambda: wsquery.normalize(query))
    if normal is not None:
        queries.append(normal)
    for format in ("filterv2", "legacy"):
        for exact_ops in (False, True):
            runset = timed("workspace", text, size,
                           partial(wsquery.compile, text, format=format, exact_ops=exact_ops))
            if runset is None:
                continue
            data = runset.to_json()
            json.dumps(data, allow_nan=False)  # what a saved view stores must be plain JSON
            back = timed("decompile", text, size, partial(wsquery.decompile, data))
            if back is not None:
                queries.append(back)
    mongo = timed("mongo", text, size, lambda: wsquery.compile(query, target="mongo", now=NOW))
    if mongo is not None:
        json.dumps(mongo.to_json())
    runs_api = timed("runs-api", text, size, lambda: wsquery.compile(query, target="runs-api",
                                                                    now=NOW))
    if runs_api is not None:
        json.dumps(runs_api.to_json(), allow_nan=False)
    runs = runs_for(queries)
    for each in queries:
        timed("evaluate", text, size, partial(wsquery.evaluate, each, runs, now=NOW))


# Strategies ------------------------------------------------------------------------------------

ODD_CHARS = [
    "\x00", "\t", "\n", "\r", "\x0b", "\x1c", "\x7f", "\u0301", "\u0308", "\u202e", "\u200f",
    "\u200b", "\ufeff", "\ud800", "\udfff", "\U0001f600", "\U0001f469\u200d\U0001f467",
    "\uff11", "\uff19", "\uff1d", "\uff1c", "\uff1e", "\uff01", "\uff08", "\uff09", "\uff3b",
    "\uff02", "\uff41", "\u0130", "\u00df", "\u01c5", "\u00a0", "\u2028", "\u3000", "\u0663",
    "\U0001d7d8", "\U0010ffff", "\\", "`", '"', "'", "\u05d0", "\u0627",
]
TOKENS = [
    "and", "or", "not", "in", "between", "contains", "is", "null", "true", "false", "within",
    "last", "group by", "order by", "asc", "desc", "(", ")", "[", "]", ",", "==", "!=", "<",
    "<=", ">", ">=", "=~", "!~", "=", "&&", "||", "!", "config.lr", "summary.val_loss",
    "summary_metrics.acc", "run.commit", "config.`a b`", "config.a.b.c", "name", "state", "tags",
    "created_at", "runtime", "user", "id", "group", "step", "sweep", "host", "job_type",
    '"x"', "'y'", '"^run-\\d+$"', '"(a+)+$"', '"\\u00e9"', '"finished"', "1", "-2.5", "1e308",
    "1e999", ".5", "5m", "3d", "90s", "2 hours", "1.5w", '"2024-01-01"', "0x10", "1_000",
]
odd_char = st.one_of(st.sampled_from(ODD_CHARS), st.characters())


def odd_text(max_size: int) -> st.SearchStrategy[str]:
    """Text of odd characters, some of them several code points long (emoji sequences)."""
    return st.lists(odd_char, max_size=max_size).map("".join)


piece = st.one_of(st.sampled_from(TOKENS), odd_char, odd_text(3))

random_text = odd_text(120)
token_soup = st.builds(lambda parts, glue: glue.join(parts), st.lists(piece, max_size=25),
                       st.sampled_from([" ", "", "  ", "\n", "\u3000"]))


@st.composite
def mutated_queries(draw: st.DrawFn) -> str:
    """A language case with a few character or token edits."""
    text = draw(st.sampled_from(QUERIES))
    for _ in range(draw(st.integers(1, 4))):
        tokens = text.split(" ")
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "swap", "token swap", "token drop",
                                     "token repeat", "replace"]))
        if kind == "insert":
            text = text[:at] + draw(piece) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)):]
        elif kind == "swap" and len(text) > 1:
            other = draw(st.integers(0, len(text) - 1))
            chars = list(text)
            chars[min(at, len(text) - 1)], chars[other] = chars[other], chars[
                min(at, len(text) - 1)]
            text = "".join(chars)
        elif kind == "replace" and text:
            spot = min(at, len(text) - 1)
            text = text[:spot] + draw(odd_char) + text[spot + 1:]
        elif len(tokens) > 1:
            i, j = draw(st.integers(0, len(tokens) - 1)), draw(st.integers(0, len(tokens) - 1))
            if kind == "token swap":
                tokens[i], tokens[j] = tokens[j], tokens[i]
            elif kind == "token drop":
                del tokens[i]
            else:
                tokens.insert(i, tokens[j])
            text = " ".join(tokens)
    return text


DEPTHS = [1, 2, 50, 98, 99, 100, 101, 102, 150, 500, 2000]


@st.composite
def nested_queries(draw: st.DrawFn) -> str:
    """Parentheses, not-chains, and/or chains and mixtures, near and past the parser's limit,
    balanced or not."""
    depth = draw(st.sampled_from(DEPTHS))
    leaf = draw(st.sampled_from(["config.a == 1", "x", "true", "name =~ \"a\"", ""]))
    kind = draw(st.sampled_from(["parens", "nots", "bangs", "and", "or", "mixed", "lists"]))
    if kind == "parens":
        opened, closed = depth, depth + draw(st.sampled_from([0, 0, -1, 1]))
        return "(" * opened + leaf + ")" * max(closed, 0)
    if kind == "nots":
        return "not " * depth + leaf
    if kind == "bangs":
        return "!" * depth + leaf
    if kind in ("and", "or"):
        return f" {kind} ".join([leaf] * depth)
    if kind == "lists":
        return "config.a in [" + "[" * depth + "1" + "]" * depth + "]"
    text = leaf
    for level in range(depth):
        text = f"(config.k{level % 7} < {level} {'and' if level % 2 else 'or'} not {text})"
    return text


@st.composite
def long_literals(draw: st.DrawFn) -> str:
    size = draw(st.sampled_from([100, 1000, 4300, 4301, 5000, 20000]))
    kind = draw(st.sampled_from(["string", "integer", "float", "exponent", "key", "backticks",
                                 "list", "regex", "date", "duration", "order"]))
    if kind == "string":
        body = draw(st.sampled_from(["a", "\\\\", "\\u00e9", "\U0001f600", "\\n", "\u0301"]))
        return f'config.s == "{body * (size // len(body))}"'
    if kind == "integer":
        return "config.n > " + "9" * size
    if kind == "float":
        return "config.n > 0." + "1" * size
    if kind == "exponent":
        return "config.n > 1e" + "9" * min(size, 400)
    if kind == "key":
        return "config." + "k" * size + " == 1"
    if kind == "backticks":
        return "config.`" + "a b." * (size // 4) + "` is null"
    if kind == "list":
        return "config.n in [" + ", ".join(str(i) for i in range(size // 10)) + "]"
    if kind == "regex":
        return 'name =~ "' + "(a|b)" * (size // 50) + "$\""
    if kind == "date":
        return 'created_at > "2024-01-01' + "0" * size + '"'
    if kind == "duration":
        return "runtime > " + "9" * size + "s"
    return "order by " + ", ".join(f"config.k{i} desc" for i in range(size // 100))


@st.composite
def unicode_queries(draw: st.DrawFn) -> str:
    """Valid-looking queries with odd Unicode in keys, strings, patterns and between tokens."""
    word = draw(st.lists(st.sampled_from(["a", "\u00e9", "e\u0301", "\u05d0", "\uff41", "_",
                                          "\u0663", "\U0001d7d8", "\u00df", "\u0130", "k"]),
                         min_size=1, max_size=8).map("".join))
    value = draw(st.lists(st.sampled_from([*ODD_CHARS[:-5], "a", " "]), max_size=12).map(
        "".join))
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    gap = draw(st.sampled_from([" ", "\u3000", "\u00a0", "\t", "\u2028", "\ufeff"]))
    template = draw(st.sampled_from([
        "config.{w} == \"{v}\"", "summary.`{w}` != \"{v}\"", "{w} == 1", "name =~ \"{v}\"",
        "tags contains \"{v}\"", "\"{v}\" in tags", "config.{w} in [\"{v}\", 1]",
        "config.{w}{g}=={g}\"{v}\"", "state == \"{v}\"", "order by config.{w}",
        "group by summary.{w}", "created_at < \"{v}\"",
    ]))
    return template.format(w=word, v=value, g=gap)


any_text = st.one_of(random_text, token_soup, mutated_queries(), nested_queries(),
                     long_literals(), unicode_queries())


# Properties over query text ----------------------------------------------------------------

@FUZZ
@given(random_text)
def test_random_text(text: str) -> None:
    pipeline(text)


@FUZZ
@given(token_soup)
def test_token_soup(text: str) -> None:
    pipeline(text)


@FUZZ
@given(mutated_queries())
def test_mutated_language_cases(text: str) -> None:
    pipeline(text)


@settings(FUZZ, max_examples=100)
@given(nested_queries())
def test_deep_nesting(text: str) -> None:
    pipeline(text)


@settings(FUZZ, max_examples=100)
@given(long_literals())
def test_long_literals(text: str) -> None:
    pipeline(text)


@FUZZ
@given(unicode_queries())
def test_odd_unicode(text: str) -> None:
    pipeline(text)


@pytest.mark.parametrize("text", QUERIES)
def test_language_cases_pass_every_entry_point(text: str) -> None:
    pipeline(text)


# Inputs fuzzing once broke, each held to its answer -----------------------------------------

def test_a_regex_repeat_count_past_re2s_range_is_read_as_text() -> None:
    """RE2 reads a ``{`` that starts no count it can hold as the character itself."""
    query = wsquery.parse('name =~ "a{99999999999999999999}"')
    runs = [{"id": "x", "name": "a{99999999999999999999}"}, {"id": "y", "name": "a"}]
    assert [run["id"] for run in wsquery.evaluate(query, runs)] == ["x"]


def test_regex_groups_nested_a_thousand_deep_are_read() -> None:
    pattern = "(" * 1000 + ")" * 1000
    query = wsquery.parse(f'name =~ "{pattern}"')
    assert wsquery.evaluate(query, [{"id": "x", "name": "anything"}]) == [
        {"id": "x", "name": "anything"}]
    assert regex.refusal(pattern, with_re2=False) is None


def test_a_huge_integer_literal_reaches_the_mongo_filter_whole() -> None:
    """Once an OverflowError from math.isfinite in the mongo compiler."""
    compiled = wsquery.compile("config.n > 1" + "0" * 400, target="mongo", now=NOW)
    assert compiled.filters == {"config.n": {"$gt": 10**400}, "config.n.0": {"$exists": False}}


def test_a_non_run_too_long_to_show_is_a_clean_error() -> None:
    with pytest.raises(WsqueryError, match=r"^not a run: int \(too large to show\)"):
        wsquery.evaluate("config.lr < 0.1", [10**5000])


# Decompile -----------------------------------------------------------------------------------

JSON_KEYS = ["filters", "filterFormat", "op", "key", "section", "name", "value", "disabled",
             "connector", "grouping", "sort", "keys", "ascending", "search", "query", "isRegex"]
JSON_WORDS = ["filterV2", "AND", "OR", "config", "summary", "run", "tags", "=", "!=", "<", "<=",
              ">", ">=", "IN", "NIN", "WITHINSECONDS", "createdAt", "displayName", "state",
              "lr.value", "a..b", "a`b", "", "\ud800", "finished", "2024-01-01"]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                         st.sampled_from(JSON_WORDS), odd_text(6),
                         st.sampled_from([10**400, -(2**63), 1e308, float("nan")]))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(JSON_KEYS), st.text(max_size=4)), children,
                        max_size=6)),
    max_leaves=40)


def _compiled_cases() -> list[dict[str, Any]]:
    cases = []
    for text in QUERIES:
        for format in ("filterv2", "legacy"):
            with contextlib.suppress(WsqueryError):
                cases.append(wsquery.compile(text, format=format).to_json())
    return cases


COMPILED = _compiled_cases()


@st.composite
def mutated_json(draw: st.DrawFn) -> Any:
    """Compiled run-set JSON with a few values replaced, keys dropped or items duplicated."""
    data = json.loads(json.dumps(draw(st.sampled_from(COMPILED))))
    for _ in range(draw(st.integers(1, 4))):
        parent, key = _random_slot(draw, data)
        if parent is None:
            data = draw(json_values)
            continue
        action = draw(st.sampled_from(["replace", "drop", "duplicate", "wrap"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "drop" and isinstance(parent, dict):
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, parent[key])
        else:
            parent[key] = [parent[key]]
    return data


def _random_slot(draw: st.DrawFn, data: Any) -> tuple[Any, Any]:
    slots: list[tuple[Any, Any]] = [(None, None)]
    pending = [data]
    while pending:
        node = pending.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(
            node, list) else []
        for key in keys:
            slots.append((node, key))
            pending.append(node[key])
    slot: tuple[Any, Any] = draw(st.sampled_from(slots))
    return slot


def nested_json(depth: int, legacy: bool) -> dict[str, Any]:
    leaf: dict[str, Any] = {"key": {"section": "config", "name": "a"}, "op": "=", "value": 1}
    node = leaf
    for _ in range(depth):
        node = {"op": "AND", "filters": [node]} if legacy else {"filters": [node]}
    return node if legacy else {"filterFormat": "filterV2", "filters": [node]}


def decompile_pipeline(data: Any) -> None:
    shown = _shown(data)
    size = len(shown)
    query = timed("decompile", shown, size, lambda: wsquery.decompile(data))
    if query is not None:
        text = str(query)
        assert wsquery.parse(text) == query  # what decompile reads always prints as a query
        pipeline(text)


@FUZZ
@given(json_values)
def test_decompile_random_json(data: Any) -> None:
    decompile_pipeline(data)


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "filterv2"])
@pytest.mark.parametrize("depth", [1, 99, 100, 101, 150, 5000])
def test_decompile_deep_nesting(depth: int, legacy: bool) -> None:
    decompile_pipeline(nested_json(depth, legacy))


@FUZZ
@given(mutated_json())
def test_decompile_mutated_run_sets(data: Any) -> None:
    decompile_pipeline(data)


# Evaluate with odd runs ------------------------------------------------------------------------

RUN_KEYS = ["id", "name", "displayName", "state", "tags", "createdAt", "created_at", "config",
            "summary", "summaryMetrics", "summary_metrics", "duration", "runtime", "user",
            "username", "sweep", "sweepName", "group", "jobType", "job_type", "host", "_step",
            "step", "commit"]
EVALUATED = [
    "config.lr < 0.1", "config.lr == 1", "config.opt.beta >= 2", "summary.acc != 0.5",
    'name =~ "^run"', 'name !~ "(a+)+$"', "name contains \"a\"", '"best" in tags',
    'tags in ["a", "best"]', 'state == "finished"', 'created_at > "2024-01-01"',
    "created_at within last 3d", "runtime > 2h", "user is null", "sweep is not null",
    'group == "g"', "step between 1 and 10", "run.commit == \"abc\"", "config.lr in [1, \"a\"]",
    "summary.acc contains 1",
    "true order by config.lr, summary.acc desc, name, created_at, tags, run.commit",
]
EVALUATED_QUERIES = [wsquery.parse(text) for text in EVALUATED]


class DictLike:
    """A config or summary read through keys() and get(), like wandb's summary object."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def keys(self) -> Any:
        return self.values.keys()

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


odd_scalars = st.one_of(
    json_scalars, st.sampled_from(ODD_VALUES),
    st.sampled_from([datetime(2024, 5, 31), datetime(2024, 5, 31, tzinfo=UTC),
                     date(2024, 5, 30), b"bytes", (1, 2), frozenset({1}),
                     "{not json", '{"lr": 1}', "[1, 2]", math.pi]),
    st.builds(pow, st.just(10), st.just(5000)))  # an int too long to print
odd_values = st.recursive(
    odd_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["lr", "opt", "beta", "acc", "value", "username",
                                         "name", "_step", "desc"]), children, max_size=4),
        st.builds(DictLike, st.dictionaries(st.sampled_from(["lr", "acc", "opt"]), children,
                                            max_size=3))),
    max_leaves=12)
odd_runs = st.one_of(
    st.dictionaries(st.sampled_from(RUN_KEYS), odd_values, max_size=8),
    st.dictionaries(st.sampled_from(RUN_KEYS), odd_values, max_size=8).map(
        lambda fields: types.SimpleNamespace(**fields)),
    odd_scalars,
)


@FUZZ
@given(st.lists(odd_runs, max_size=6), st.sampled_from(EVALUATED_QUERIES))
def test_evaluate_odd_runs(runs: list[Any], query: Query) -> None:
    shown = _shown(runs)
    timed("evaluate", shown, len(shown), lambda: wsquery.evaluate(query, runs, now=NOW))
    for run in runs:
        timed("matches", shown, len(shown), partial(wsquery.matches, query, run, now=NOW))


@pytest.mark.parametrize("runs", [None, 1, "runs", {"id": "a"}, b"x", [None], [1, 2], [[]]])
def test_evaluate_refuses_what_is_not_runs(runs: Any) -> None:
    with pytest.raises(WsqueryError):
        wsquery.evaluate(EVALUATED_QUERIES[0], runs)


# Regexes -------------------------------------------------------------------------------------

@pytest.fixture(params=["re2", "python"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each regex test on both engines: without RE2 is simulated by making ``import re2``
    fail, as it does when google-re2 is not installed. Either way google-re2 is the oracle."""
    if ORACLE is None:
        pytest.skip("google-re2 is not installed (pip install 'wsquery[re2]')")
    if request.param == "python":
        monkeypatch.setitem(sys.modules, "re2", None)
    assert regex.re2_available() == (request.param == "re2")
    return str(request.param)


ORACLE: Any = regex.re2_module()
REGEX_CHARS = ["a", "b", "A", "k", "K", "\u212a", "s", "S", "\u017f", "\u00df", "i", "I",
               "\u0130", "\u0131", "0", "7", "\u0661", "\uff11", "_", " ", "\n", "\t", "\x0b",
               "\x1c", "\u00e9", "\u00c9", "\u01c5", "\ud800", "\U0001f600", "-", ".", "\x00",
               "\u2028", "\u00a0", "\ufffd"]
regex_subjects = st.text(st.sampled_from(REGEX_CHARS), max_size=12)


def searched(pattern: str, text: str) -> bool:
    """What RE2 finds, a lone surrogate read as U+FFFD (``wsquery.regex``'s rule)."""
    return ORACLE.search(pattern, re.sub("[\ud800-\udfff]", "\ufffd", text)) is not None


regex_atoms = st.one_of(
    st.sampled_from(REGEX_CHARS).map(regex.escape),
    st.sampled_from([".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "[a-z]", "[^a-z]",
                     "[\\w-]", "[^\\W\\d]", "[\\s\\S]", "[k\\x{212a}]", "[\\x{e0}-\\x{ff}]",
                     "[^\\n]", "[.]", "[[:alpha:]]", "[[:^punct:]]", "\\b", "\\B", "^", "$",
                     "\\A", "\\z", "\\x00", "\\x{e9}", "\\n", "\\v", "\\Q.*\\E", "\\101",
                     "\\pL", "\\p{Greek}", "\\PN", "\\C"]))
regex_quantifiers = st.sampled_from(["*", "+", "?", "*?", "+?", "??", "{2}", "{1,3}", "{0,2}?",
                                     "{2,}", "{,2}"])


def _regex_combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map("".join),
        st.lists(children, min_size=2, max_size=3).map("|".join),
        st.builds(lambda body, kind: kind.format(body), children,
                  st.sampled_from(["({})", "(?:{})", "(?i:{})", "(?s:{})", "(?U:{})",
                                   "(?-i:{})", "(?m:{})", "(?P<n>{})", "((?i){})"])),
        st.builds(lambda body, quantifier: f"(?:{body}){quantifier}", children,
                  regex_quantifiers),
    )


regex_bodies = st.recursive(
    st.one_of(regex_atoms, st.builds(lambda a, q: a + q, regex_atoms, regex_quantifiers)),
    _regex_combine, max_leaves=8)
regexes = st.builds(lambda flags, body: flags + body,
                    st.sampled_from(["", "", "(?i)", "(?m)", "(?s)", "(?U)", "(?im)", "(?is)"]),
                    regex_bodies)


@settings(FUZZ, max_examples=300)
@given(regexes, st.lists(regex_subjects, min_size=1, max_size=8))
def test_regex_matches_as_re2(engine: str, pattern: str, subjects: list[str]) -> None:
    """Whenever a pattern is accepted, the engine finds a match exactly where RE2 does; without
    RE2 only what Python's engine cannot run exactly or safely is refused."""
    try:
        search = regex.compile_user_regex(pattern)
    except TargetError:
        assert engine == "python" and regex.refusal(pattern) is not None
        return
    for subject in subjects:
        start = time.perf_counter()
        try:
            found = search(subject)
        except TargetError as error:  # a text over the limit without RE2
            assert engine == "python" and "characters" in str(error)
            continue
        WORST.record("regex", f"{pattern!r} on {subject!r}", len(pattern) + len(subject),
                     time.perf_counter() - start, partial(search, subject))
        assert found == searched(pattern, subject), (pattern, subject)


@FUZZ
@given(regexes)
def test_accepted_without_re2_is_accepted_with_re2(pattern: str) -> None:
    """Installing RE2 never turns a query away."""
    if regex.refusal(pattern, with_re2=False) is None and regex.re2_available():
        assert regex.refusal(pattern, with_re2=True) is None


ORDINARY = ["^run-\\d+$", "adam|sgd", "[a-z]+_v\\d", ".*loss", "", "\\bval\\b", "(?i)^ADAM",
            "^(?:resnet|vit)-(?:18|50)$", "(\\d+\\.){3}\\d+", "^exp-\\d+-\\w+$", "lr=0\\.0*1",
            "x{0,1000}"]
#: Patterns Python's re can take exponential (or high polynomial) time on -> whether they are
#: found in "a" * 50_000 + "!".
EXPONENTIAL = {"(a+)+$": False, "(a*)*": True, "(a|a)*": True, "(.*a){20}": True,
               "(a|ab)*c": False, "(\\w+\\s?)+$": False, "(x+x+)+y": False,
               "x+x+x+x+z": False, ".*a.*b.*c.*d": False}
#: Syntax of other dialects RE2 lacks -> the start of the message.
NOT_RE2 = {"(\\w)\\1": "RE2 has no backreferences", "(?P<x>a)(?P=x)": "RE2 has no backreferences",
           "a(?=b)": "RE2 has no lookahead", "a(?!b)": "RE2 has no negative lookahead",
           "(?<=a)b": "RE2 has no lookbehind", "(?<!a)b": "RE2 has no negative lookbehind",
           "(a)?(?(1)b|c)": "RE2 has no conditional groups", "(?>a+)b": "RE2 has no atomic",
           "a*+b": "RE2 has no possessive quantifiers", "a\\Z": "RE2 has no \\Z"}


@pytest.mark.parametrize("pattern", ORDINARY)
def test_ordinary_patterns_run_on_both_engines(engine: str, pattern: str) -> None:
    search = regex.compile_user_regex(pattern)
    for subject in ["run-12", "adam", "resnet-50", "10.0.0.1", "exp-3-abc", "lr=0.001",
                    "val loss", "x" * 200]:
        assert search(subject) == searched(pattern, subject)


@pytest.mark.parametrize(("pattern", "found"), EXPONENTIAL.items())
def test_backtracking_patterns_are_refused_without_re2(engine: str, pattern: str,
                                                       found: bool) -> None:
    if engine == "re2":
        assert regex.compile_user_regex(pattern)("a" * 50_000 + "!") is found
        return
    with pytest.raises(TargetError) as caught:
        regex.compile_user_regex(pattern)
    assert str(caught.value).startswith(f"evaluate: regex {regex._show(pattern)}: ")
    assert "pip install 'wsquery[re2]'" in str(caught.value)


@pytest.mark.parametrize(("pattern", "what"), NOT_RE2.items())
def test_what_re2_lacks_is_invalid_everywhere(engine: str, pattern: str, what: str) -> None:
    refused = regex.re2_refusal(pattern)
    assert refused is not None and refused.invalid and refused.message.startswith(what)
    with pytest.raises(WsqueryError) as caught:
        regex.compile_user_regex(pattern)
    assert not isinstance(caught.value, TargetError)
    assert str(caught.value).startswith(f"invalid regular expression {pattern!r}: {what}")


def test_refusal_messages_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "re2", None)
    with pytest.raises(TargetError) as caught:
        wsquery.evaluate('name =~ "(a+)+$"', [{"name": "aaa"}])
    assert str(caught.value) == (
        'evaluate: regex "(a+)+$": a repeated group holds a repeat (like (a+)+ or (\\d+\\.)+), '
        "which a backtracking engine can take exponential time on, so it runs only with RE2\n"
        "hint: install RE2, which runs any pattern in linear time: pip install 'wsquery[re2]'; "
        "or write the group once without the inner repeat")
    with pytest.raises(TargetError) as caught:
        wsquery.evaluate('name =~ "a.*b"', [{"name": "a" * 5000}])
    assert str(caught.value) == (
        'evaluate: regex "a.*b" runs on text of at most 4472 characters without RE2, and this '
        "text has 5000\n"
        "hint: install RE2, which runs any pattern in linear time: pip install 'wsquery[re2]'")
    assert wsquery.evaluate('name =~ "a.*b"', [{"name": "a" * 4472}]) == []


def test_invalid_patterns_are_wsquery_errors(engine: str) -> None:
    for pattern in ["(", "a{1001}", "(a{2}){501}", "[z-a]", "\\p", "a**", "\\8"]:
        refused = regex.refusal(pattern)
        assert refused is not None and refused.invalid
        with pytest.raises(WsqueryError, match=r"^invalid regular expression "):
            regex.compile_user_regex(pattern)


def test_the_empty_text_and_non_boundary(engine: str) -> None:
    for pattern in ["\\B", "\\B|a", "^\\B$", "\\b", "(?m)^$"]:
        search = regex.compile_user_regex(pattern)
        for subject in ["", "a", " ", "\u00e9", "a\u00e9b", "\n"]:
            assert search(subject) == searched(pattern, subject), (pattern, subject)


HANG_CHECK = textwrap.dedent("""
    import sys, time
    if sys.argv[1] == "python":
        sys.modules["re2"] = None
    import wsquery
    runs = [{"name": "a" * 100_000 + "!"}, {"name": "\\u00e9" * 50_000 + "!"}]
    start = time.perf_counter()
    try:
        print(wsquery.evaluate('name =~ "(a+)+$" or name =~ "^(\\\\w|\\\\w)*$"', runs))
    except wsquery.WsqueryError as error:
        print(type(error).__name__)
""")


@pytest.mark.parametrize("which", ["re2", "python"])
def test_backtracking_pattern_cannot_hang_evaluate(which: str) -> None:
    """Run in a child process with a timeout, so a hang fails the test instead of the suite."""
    if which == "re2" and not regex.re2_available():
        pytest.skip("google-re2 is not installed (pip install 'wsquery[re2]')")
    done = subprocess.run([sys.executable, "-c", HANG_CHECK, which], capture_output=True,
                          text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)},
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("[]" if which == "re2" else "TargetError")


# Mongo ---------------------------------------------------------------------------------------

def test_mongo_target_is_fuzzed() -> None:
    assert wsquery.compile("config.lr < 1", target="mongo", now=NOW).filters
