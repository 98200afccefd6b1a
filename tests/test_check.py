"""``wsquery.check``: every problem of a query as data, without raising (every error case of
the language, literals no run matches, what a target refuses or warns about); and the first
contact: warnings at the user's line, hints that say how to write what was meant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsquery
from wsquery import TargetError, WsqueryWarning
from wsquery.apps.assist import Diagnostic, check
from wsquery.errors import Problem, render_problem

from .test_fuzz import token_soup

CASES = json.loads((Path(__file__).parent / "cases" / "language.json").read_text("utf-8"))
VALID = [c for c in CASES if "canonical" in c]
ERRORS = [c for c in CASES if "error" in c]


@pytest.mark.parametrize("case", ERRORS, ids=[c["query"] for c in ERRORS])
def test_every_error_case_is_reported_as_parse_reports_it(case: dict[str, str]) -> None:
    text = case["query"]
    problems = check(text)
    assert problems
    assert all(p.severity == "error" and p.source in ("syntax", "meaning") for p in problems)
    rendered = "\n".join(render_problem(text, Problem(p.message, p.span, p.hint))
                         for p in problems)
    assert rendered == case["error"]
    with pytest.raises(wsquery.QuerySyntaxError) as caught:
        wsquery.parse(text)
    assert [(p.message, p.span, p.hint, p.expected) for p in problems] == [
        (p.message, p.span, p.hint, p.expected) for p in caught.value.problems]
    assert (problems[0].line, problems[0].column) == (caught.value.line, caught.value.column)


@pytest.mark.parametrize("case", VALID, ids=[c["query"] for c in VALID])
def test_valid_cases_have_no_problem_of_their_own(case: dict[str, str]) -> None:
    assert check(case["query"], target=None) == []


def test_syntax_meaning_and_target_problems() -> None:
    syntax = check("summary.acc > 0.5 and state == finished")
    assert syntax == [Diagnostic(
        "expected a value, found 'finished'", (31, 39), 'text is written in quotes: "finished"',
        ("a value",), severity="error", source="syntax")]
    assert (syntax[0].line, syntax[0].column) == (1, 32)
    meaning = check('config.a == 1 and\n  state == "finshed" and tags < "a"')
    assert [(p.message, p.span, p.line, p.column, p.source) for p in meaning] == [
        ('state is never "finshed"', (20, 38), 2, 3, "meaning"),
        ("tags is a list: '<' cannot match it", (43, 53), 2, 26, "meaning")]
    assert check("summary.acc > 0.5") == [Diagnostic(
        "summary.acc > 0.5 became summary.acc >= 0.5: the W&B UI shows only <= and >=",
        (0, 17), "pass exact_ops=True to keep >", severity="warning", source="runset")]
    assert check("summary.acc > 0.5", exact_ops=True) == []
    assert check("summary.acc > 0.5", target="mongo") == []
    refused = check('name contains "a" and name contains "b"')
    assert [(p.severity, p.source, p.span) for p in refused] == [("error", "runset", (22, 39))]
    assert check('name contains "a" and name contains "b"', target="mongo") == []
    warned = check("config.a == 1 group by config.b order by summary.x, name", target="runs-api")
    assert [(p.message, p.span, p.severity) for p in warned] == [
        ("the runs API does not group runs: group by was left out", (23, 31), "warning"),
        ("the runs API orders by one key: name was left out", (52, 56), "warning")]
    assert check("") == []


def test_the_caller_s_mistakes_still_raise() -> None:
    with pytest.raises(TargetError, match="unknown target 'nowhere'"):
        check("config.a == 1", target="nowhere")
    with pytest.raises(TypeError, match="parse\\(\\) takes query text, not int"):
        check(3)  # type: ignore[arg-type]


def test_the_public_function_is_the_same() -> None:
    assert wsquery.check("summary.acc > 0.5", target="workspace") == check("summary.acc > 0.5")


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(token_soup, st.text(max_size=40)))
def test_check_never_raises_on_any_text(text: str) -> None:
    for problem in check(text):
        start, end = problem.span
        assert 0 <= start <= end <= len(text)
        assert problem.severity in ("error", "warning")


# First contact ------------------------------------------------------------------------------

def _warned_at(action: Any) -> list[tuple[str, int]]:
    with pytest.warns(WsqueryWarning) as caught:
        action()
    return [(Path(w.filename).name, w.lineno) for w in caught]


def test_workspace_warnings_point_at_the_user_s_line() -> None:
    from wsquery.wandb.views import Workspace

    here = Path(__file__).name

    def build() -> Workspace:
        return Workspace("e", "p", "n", query="summary.acc > 0.5")

    assert _warned_at(build) == [(here, build.__code__.co_firstlineno + 1)]
    workspace = Workspace("e", "p", "n")

    def assign() -> None:
        workspace.query = "summary.acc < 0.5"

    assert _warned_at(assign) == [(here, assign.__code__.co_firstlineno + 1)]

    def load() -> None:
        Workspace.from_spec({"version": 3}, entity="e", project="p", name="n")

    assert _warned_at(load) == [(here, load.__code__.co_firstlineno + 1)]


@pytest.mark.parametrize(("text", "hint"), [
    ("state == finished", 'text is written in quotes: "finished"'),
    ('state in ["running", finished]', 'text is written in quotes: "finished"'),
    ("createdAt > \"2024-01-01\"", "did you mean created_at?"),
    ('displayName == "a"', "did you mean name?"),
    ("duration > 5", "did you mean runtime?"),
    ('username == "ada"', "did you mean user?"),
    ('Stat == "x"', "did you mean state, summary.Stat or config.Stat?"),
    ('nmae == "x"', "did you mean name, summary.nmae or config.nmae?"),
    ('usernme == "x"', "did you mean user, summary.usernme or config.usernme?"),
    ("val_loss < 1", "did you mean summary.val_loss or config.val_loss?"),
])
def test_hints_say_how_to_write_it(text: str, hint: str) -> None:
    (problem,) = check(text)
    assert problem.hint is not None
    assert problem.hint.split("? ")[0] + ("?" if "?" in problem.hint else "") == hint
