"""The wsquery command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .shared import shared_path

ROOT = Path(__file__).resolve().parent.parent


def wsquery(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wsquery", *args], input=stdin, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_compile_prints_the_run_set_json() -> None:
    result = wsquery("compile",
                     'summary.val_loss <= 0.1 and name =~ "^s" order by summary.val_loss')
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    runset = json.loads(result.stdout)
    assert runset["search"] == {"query": "^s", "isRegex": True}
    assert runset["filters"] == {"filterFormat": "filterV2", "filters": [
        {"key": {"section": "summary", "name": "val_loss"}, "op": "<=", "value": 0.1,
         "disabled": False}]}
    assert runset["sort"] == {"keys": [{"key": {"section": "summary", "name": "val_loss"},
                                        "ascending": True}]}
    assert runset["grouping"] == []


def test_compile_warns_on_stderr_and_honours_options() -> None:
    relaxed = wsquery("compile", "summary.acc > 0.9")
    assert relaxed.returncode == 0
    assert json.loads(relaxed.stdout)["filters"]["filters"][0]["op"] == ">="
    assert relaxed.stderr.startswith("warning: ")
    exact = wsquery("compile", "--exact-ops", "summary.acc > 0.9")
    assert json.loads(exact.stdout)["filters"]["filters"][0]["op"] == ">"
    assert exact.stderr == ""
    strict = wsquery("compile", "--strict", "summary.acc > 0.9")
    assert strict.returncode == 2
    assert strict.stdout == ""
    legacy = wsquery("compile", "--format", "legacy", "--exact-ops", "config.a == 1")
    assert json.loads(legacy.stdout)["filters"]["op"] == "OR"


def test_query_from_stdin() -> None:
    result = wsquery("fmt", "-", stdin="config.a = 1 && name =~ 'x'\n")
    assert result.stdout == 'config.a == 1 and name =~ "x"\n'


def test_errors_go_to_stderr_with_the_caret_and_status_2() -> None:
    result = wsquery("compile", 'state == "finshed"')
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        'error: line 1, column 1: state is never "finshed"\n'
        '    state == "finshed"\n'
        "    ~~~~~~~~~~~~~~~~~~\n"
        'hint: did you mean "finished"? states are running, pending, preempting, crashed, '
        "failed, killed, finished, preempted\n")


def test_target_error_names_the_construct() -> None:
    result = wsquery("compile", "config.a is null")
    assert result.returncode == 2
    assert "config.a is null" in result.stderr
    assert "mongo" in result.stderr


def test_explain_shows_normal_form_shape_and_warnings() -> None:
    result = wsquery("explain", "not (config.a == 1 or config.b < 2) and (config.c == 3 or "
                     "config.d == 4) order by summary.acc desc")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "normalized: config.a != 1 and config.b >= 2 and (config.c == 3 or config.d == 4)" \
        in out
    assert "filters (filterv2):" in out
    assert "sort:       summary.acc desc" in out
    assert "warning:" not in out


def test_decompile_a_saved_view_spec_file() -> None:
    result = wsquery("decompile", str(shared_path("spec", "example-view-spec.json")))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ('summary.val_loss <= 0.1 and name == "sweep-1" and name =~ "^s" '
                             "group by config.optimizer, group order by summary.val_loss\n")


def test_decompile_from_stdin_and_bad_json() -> None:
    compiled = wsquery("compile", "--exact-ops", "config.a < 3 or summary.b >= 1").stdout
    result = wsquery("decompile", "-", stdin=compiled)
    assert result.stdout == "config.a < 3 or summary.b >= 1\n"
    broken = wsquery("decompile", "-", stdin="{nope")
    assert broken.returncode == 2
    assert broken.stderr.startswith("error: -: line 1, column 2: invalid JSON")


def test_filter_prints_matching_runs_in_order(tmp_path: Path) -> None:
    runs = [
        {"id": "a", "name": "sweep-a", "summary": {"acc": 0.7}},
        {"id": "b", "name": "sweep-b", "summary": {"acc": 0.95}},
        {"id": "c", "name": "other", "summary": {"acc": 0.99}},
        {"id": "d", "name": "sweep-d"},
        {"id": "e", "name": "sweep-e", "summary": {"acc": 0.9}},
    ]
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in runs) + "\n")
    result = wsquery("filter", 'name =~ "^sweep" and summary.acc >= 0.8 order by summary.acc desc',
                     str(path))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["b", "e"]


def test_missing_runs_file_is_a_clean_error() -> None:
    result = wsquery("filter", "config.a == 1", "/nonexistent/runs.jsonl")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "/nonexistent/runs.jsonl" in result.stderr


def test_runs_fetches_matching_runs_from_a_server(view_server: Any) -> None:
    view_server.add_runs("wsquery", "cli-runs", [
        {"name": "r1", "displayName": "sweep-1", "state": "finished", "createdAt":
         "2024-01-01T00:00:00", "config": {"lr": 0.01}, "summaryMetrics": {"acc": 0.9}},
        {"name": "r2", "displayName": "sweep-2", "state": "crashed", "createdAt":
         "2024-01-02T00:00:00", "config": {"lr": 0.1}, "summaryMetrics": {"acc": 0.5}},
        {"name": "r3", "displayName": "base", "state": "finished", "createdAt":
         "2024-01-03T00:00:00", "config": {"lr": 0.001}},
    ])
    env = {**os.environ, "WANDB_API_KEY": view_server.api_key}
    result = subprocess.run(
        [sys.executable, "-m", "wsquery", "runs", "wsquery/cli-runs",
         'state == "finished" order by summary.acc desc', "--base-url", view_server.url,
         "--page-size", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["name"] for line in result.stdout.splitlines()] == ["r1", "r3"]
    assert view_server.api_key not in result.stdout + result.stderr
    wrong = subprocess.run(
        [sys.executable, "-m", "wsquery", "runs", "wsquery/cli-runs", "config.lr > 0",
         "--base-url", view_server.url], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "WANDB_API_KEY": "not-a-key"})
    assert wrong.returncode == 2
    assert "Traceback" not in wrong.stderr


def test_query_commands_load_no_workspace_client_repl_or_server() -> None:
    """Only the commands that need them import the workspace model, the GraphQL client,
    requests, the REPL and the server; the query commands start without them."""
    heavy = ("wsquery.wandb.views", "wsquery.wandb.graphql", "requests", "wsquery.apps.repl",
             "prompt_toolkit", "wsquery.apps.server", "graphql")
    code = ("import contextlib, io, sys\nfrom wsquery.apps import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    for command in (['compile', 'config.x == 1'], ['fmt', 'config.x == 1'],\n"
            "                    ['explain', 'config.x == 1']):\n"
            "        assert cli.main(command) == 0\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_compile_offers_each_targets_options_as_flags() -> None:
    """The flags come from the registry's options: a flag its target does not take is refused,
    and a plugin's options go through --option."""
    refused = subprocess.run([sys.executable, "-m", "wsquery", "compile", "--now",
                              "2024-01-01", "summary.a < 1"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 2
    assert "--now: the runset target takes no such option" in refused.stderr
    given = subprocess.run([sys.executable, "-m", "wsquery", "compile", "--target", "runs-api",
                            "--option", "now=2024-01-02", "created_at within last 1d"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["filters"] == {
        "createdAt": {"$gte": "2024-01-01T00:00:00.000000Z"}}


@pytest.mark.parametrize(("target", "option", "refusal"), [
    ("runset", "strict=maybe", "--option strict is true or false (on or off), not 'maybe'"),
    ("runset", "format=v3", "--option format is one of filterv2, legacy, not 'v3'"),
    ("runs-api", "now=soon", "--option now: 'soon' is not an ISO-8601 date or datetime"),
])
def test_option_values_are_read_as_the_repl_reads_them(target: str, option: str,
                                                        refusal: str) -> None:
    """``--option NAME=VALUE`` reads a value as ``:set NAME VALUE`` does (``Option.read``):
    a flag from on or off too, a choice among its choices, a time as ISO-8601."""
    refused = subprocess.run([sys.executable, "-m", "wsquery", "compile", "--target", target,
                              "--option", option, "summary.a < 1"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refusal in refused.stderr
    given = subprocess.run([sys.executable, "-m", "wsquery", "compile", "--option",
                            "exact_ops=on", "summary.a < 1"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["filters"]["filters"][0]["op"] == "<"


KEYED_RUNS = [
    {"id": "a", "config": {"lr": 0.1, "optimizer": {"beta": 0.9}}, "summary": {"val_loss": 0.05}},
    {"id": "b", "config": {"lr": 0.2}, "summary": {"val_loss": 0.5, "acc": 0.7}},
]
UNKNOWN_KEY_WARNING = """\
warning: line 1, column 1: no run has summary.vall_loss
    summary.vall_loss <= 0.1
    ~~~~~~~~~~~~~~~~~
hint: did you mean summary.val_loss?
"""


def test_compile_warns_of_a_key_no_run_of_the_runs_file_has(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in KEYED_RUNS) + "\n")
    plain = wsquery("compile", "summary.vall_loss <= 0.1")
    assert (plain.returncode, plain.stderr) == (0, "")
    warned = wsquery("compile", "--runs", str(path), "summary.vall_loss <= 0.1")
    assert warned.returncode == 0
    assert warned.stdout == plain.stdout
    assert warned.stderr == UNKNOWN_KEY_WARNING
    strict = wsquery("compile", "--strict", "--runs", str(path), "summary.vall_loss <= 0.1")
    assert strict.returncode == 2
    assert strict.stdout == ""
    assert strict.stderr == UNKNOWN_KEY_WARNING.replace("warning:", "error:", 1)
    held = wsquery("compile", "--strict", "--runs", str(path),
                   "summary.val_loss <= 0.1 and config.optimizer.beta >= 0.5 "
                   "group by config.optimizer order by summary.acc")
    assert (held.returncode, held.stderr) == (0, "")
    other = wsquery("compile", "--target", "runs-api", "--runs", str(path),
                    "config.acc >= 0.5 order by summary.lr")
    assert other.returncode == 0
    assert [line for line in other.stderr.splitlines() if line.startswith(("warning", "hint"))
            ] == ["warning: line 1, column 1: no run has config.acc",
                  "hint: did you mean summary.acc?",
                  "warning: line 1, column 28: no run has summary.lr",
                  "hint: did you mean config.lr?"]
    missing = wsquery("compile", "--runs", str(tmp_path / "nothing.jsonl"), "config.a == 1")
    assert missing.returncode == 2
    assert "nothing.jsonl" in missing.stderr and "Traceback" not in missing.stderr


def test_filter_warns_of_a_key_none_of_its_runs_has(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(KEYED_RUNS))
    result = wsquery("filter", "summary.vall_loss <= 0.1", str(path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", UNKNOWN_KEY_WARNING)
    right = wsquery("filter", "summary.val_loss <= 0.1", str(path))
    assert (right.returncode, right.stderr) == (0, "")
    assert [json.loads(line)["id"] for line in right.stdout.splitlines()] == ["a"]
    piped = wsquery("filter", "summary.val_loss <= 0.1 order by config.lrr", "-",
                    stdin=path.read_text())
    assert piped.stdout == right.stdout
    assert "no run has config.lrr" in piped.stderr and "did you mean config.lr?" in piped.stderr


def test_a_run_table_gives_its_columns_as_the_keys(tmp_path: Path) -> None:
    import pyarrow.csv
    import pyarrow.parquet

    from wsquery import to_frame

    table = to_frame(KEYED_RUNS, backend="arrow").drop_columns(["tags"])  # CSV has no lists
    for suffix in (".csv", ".parquet"):
        path = tmp_path / f"runs{suffix}"
        if suffix == ".csv":
            pyarrow.csv.write_csv(table, path)
        else:
            pyarrow.parquet.write_table(table, path)
        warned = wsquery("filter", "summary.vall_loss <= 0.1", str(path))
        assert (warned.returncode, warned.stdout, warned.stderr) == (0, "", UNKNOWN_KEY_WARNING)
        held = wsquery("filter", "summary.val_loss <= 0.1 and config.optimizer.beta > 0 "
                       "order by config.optimizer", str(path))
        assert (held.returncode, held.stderr) == (0, "")
        assert [json.loads(line)["id"] for line in held.stdout.splitlines()] == ["a"]
        strict = wsquery("compile", "--strict", "--runs", str(path), "config.optimiser == 1")
        assert strict.returncode == 2
        assert "did you mean config.optimizer?" in strict.stderr


def test_hints_name_the_flag_not_the_python_option() -> None:
    """A hint says what to type on the command line: ``--exact-ops``, not ``exact_ops=True``."""
    relaxed = wsquery("compile", "summary.acc > 0.5")
    assert "hint: add --exact-ops to keep >" in relaxed.stderr
    assert "exact_ops=True" not in relaxed.stderr
    limited = wsquery("compile", "--strict", "config.a == 1 limit 5")
    assert limited.returncode == 2
    assert "add --limit-as-max-runs" in limited.stderr
    assert "limit_as_max_runs=True" not in limited.stderr


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    """``wsquery ... | head``: the reader leaves early; no 'Broken pipe' error, no traceback."""
    many = " or ".join(f"config.k{index} == {index}" for index in range(3000))
    command = (f"{sys.executable} -m wsquery compile --target mongo - "
               "| head -c 100 >/dev/null; echo \"status ${PIPESTATUS[0]}\"")
    result = subprocess.run(["bash", "-c", command], input=many, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.stderr == ""
    assert result.stdout.strip() in ("status 141", "status 0")  # 0: it all fit in the pipe


@pytest.mark.parametrize(("text", "hint"), [
    ("config.a == 1 oder by config.a", "did you mean 'order by'?"),
    ("config.a == 1 order config.a", "did you mean 'order by'?"),
    ("config.a == 1 grop by config.a", "did you mean 'group by'?"),
    ("config.a == 1 limt 5", "did you mean 'limit'?"),
    ("config.a == 1 adn config.b == 2", "did you mean 'and'?"),
    ("config.a == 1 order by config.a dsc", "did you mean 'desc'?"),
    ("config.a == 1 config.b == 2", "join conditions with 'and' or 'or'"),
])
def test_a_misspelt_keyword_gets_a_did_you_mean(text: str, hint: str) -> None:
    result = wsquery("compile", text)
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith(f"hint: {hint}")
