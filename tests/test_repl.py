"""The REPL: in a real pseudo-terminal (pexpect), and as a JSON-lines filter (subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

import wsquery
from wsquery.apps.repl import candidates, continues, history_path, joined, problem_line
from wsquery.apps.server import DEFAULT_ENTITY, ViewServer

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30
RUNS = [
    {"id": "r1", "name": "sweep-1", "state": "finished", "tags": ["best"],
     "config": {"lr": 0.1, "optimizer": {"name": "adam"}}, "summary": {"val_loss": 0.05}},
    {"id": "r2", "name": "sweep-2", "state": "crashed", "tags": [],
     "config": {"lr": 0.01}, "summary": {"val_loss": 0.5}},
    {"id": "r3", "name": "other", "state": "finished", "tags": ["best", "x"],
     "config": {"lr": 0.2}, "summary": {"val_loss": 0.07}},
]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>]|\r")


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


@pytest.fixture
def runs_file(tmp_path: Path) -> Path:
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(run) for run in RUNS) + "\n", encoding="utf-8")
    return path


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("WANDB_", "WSQUERY_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep), HOME=str(home), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1",
        PYTHONIOENCODING="utf-8", **extra)
    return env


# In a terminal -------------------------------------------------------------------------------

class Terminal:
    """A REPL started through the CLI in a pseudo-terminal."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.child = pexpect.spawn(
            sys.executable, ["-m", "wsquery", "repl", *args], env=env or _env(home),
            cwd=str(home), encoding="utf-8", timeout=TIMEOUT, dimensions=(50, 200))
        self.expect("Ctrl-D to leave")
        self.prompt()

    def expect(self, pattern: str) -> str:
        """Everything written up to and including ``pattern`` (a regex)."""
        self.child.expect(pattern)
        return str(self.child.before) + str(self.child.after)

    def prompt(self) -> None:
        self.child.expect_exact("wsquery>")

    def enter(self, text: str, until: str, *, prompt: bool = True) -> str:
        """Type ``text`` and Enter; the output up to ``until``, escape sequences and all,
        after which the next prompt is awaited (keys sent before it could be lost)."""
        self.child.send(text + "\r")
        shown = self.expect(until)
        if prompt:
            self.child.expect_exact("wsquery>")
            shown += str(self.child.before)
        return shown

    def close(self) -> int:
        self.child.sendcontrol("d")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus or 0)


@pytest.fixture
def terminal(tmp_path: Path, runs_file: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path, "--history", str(tmp_path / "history"), "--runs", str(runs_file))
    yield term
    if term.child.isalive():
        term.child.terminate(force=True)


def test_query_shows_canonical_text_a_compact_result_and_the_runs(terminal: Terminal) -> None:
    """The runs table stays on the screen: the compiled JSON is one line; ``:json`` or
    ``:set json on`` shows all of it."""
    raw = terminal.enter("summary.val_loss<0.1 AND name=~'^s'", r"runs match")
    shown = _plain(raw)
    assert 'summary.val_loss < 0.1 and name =~ "^s"\n' in shown
    assert re.search(r"\x1b\[[0-9;]*m\s*summary", raw)  # the canonical text is colored
    [preview] = [line for line in shown.splitlines() if line.startswith("runset: ")]
    assert '"filterFormat": "filterV2"' in preview and "(:json shows all" in preview
    assert "warning: " in shown
    assert "type :set exact_ops true to keep <" in shown  # the hint in the REPL's words
    assert "exact_ops=True" not in shown
    assert "1 of 3 runs match" in shown
    assert len(shown.strip().splitlines()) <= 12
    whole = _plain(terminal.enter(":json", r'"isRegex": true'))
    assert '"filterFormat": "filterV2"' in whole
    terminal.enter(":set json on", "json: on")
    always = _plain(terminal.enter("config.lr == 0.1", r"runs match"))
    assert '"filterFormat": "filterV2",' in always  # indented, whole
    assert terminal.close() == 0


def test_enter_takes_the_completion_chosen_in_the_menu(terminal: Terminal) -> None:
    """Tab, Tab to a choice, Enter: the choice is taken and nothing runs yet."""
    terminal.child.send("config.\t")
    terminal.child.expect("config key")  # the menu is open
    terminal.child.send("\t")  # the first key chosen
    terminal.child.expect("config key")
    terminal.child.send("\r")  # takes it; a half query would run and fail here
    terminal.child.send(" == 0.1")
    shown = _plain(terminal.enter("", r"runs match"))
    assert "error" not in shown
    assert "config.lr == 0.1\n" in shown
    assert "1 of 3 runs match" in shown
    assert terminal.close() == 0


def test_set_gives_the_target_its_options(terminal: Terminal) -> None:
    listed = _plain(terminal.enter(":set", r"whole compiled JSON after every query"))
    for option in ("format", "exact_ops", "strict", "limit_as_max_runs", "json"):
        assert re.search(rf"\n  {option} +", listed)
    terminal.enter(":set exact_ops true", "exact_ops: true")
    exact = _plain(terminal.enter("summary.val_loss < 0.1", r"runs match"))
    assert "warning" not in exact
    terminal.enter(":json", '"op": "<"')
    refused = _plain(terminal.enter(":set format filterv3", r"not 'filterv3'"))
    assert "format is one of filterv2, legacy" in refused
    unknown = _plain(terminal.enter(":set dialect sqlite", r"its options are[^\n]*"))
    assert "the runset target has no option 'dialect'" in unknown
    terminal.enter(":target sql", "target: sql")
    terminal.enter(":set dialect sqlite", "dialect: sqlite")
    sql = _plain(terminal.enter("config.lr == 0.1", r"runs match"))
    assert '"config.lr"' in sql or "config.lr" in sql
    terminal.enter(":target runset", "target: runset")
    again = _plain(terminal.enter("summary.val_loss < 0.1", r"runs match"))
    assert "warning" not in again  # each target keeps its own options
    terminal.enter(":set exact_ops", r"exact_ops: \(default\)")
    relaxed = _plain(terminal.enter("summary.val_loss < 0.1", r"runs match"))
    assert "warning" in relaxed
    assert terminal.close() == 0


def test_tab_completes_a_field_from_the_runs(terminal: Terminal) -> None:
    terminal.child.send("summary.val_l\t")
    terminal.child.expect("oss")  # the rest of the key, drawn after what was typed
    shown = _plain(terminal.enter(" <= 0.06", r"runs match"))
    assert "summary.val_loss <= 0.06\n" in shown
    assert "1 of 3 runs match" in shown
    assert terminal.close() == 0


def test_tab_offers_what_the_grammar_lets_come_there(terminal: Terminal) -> None:
    terminal.child.send("config.lr \t")
    menu = _plain(terminal.expect("=~.*?operator"))  # the menu of what may follow a field
    for offered in ("==", "!=", "<=", ">="):
        assert re.search(f"{offered} +operator", menu)
    assert "sweep-1" not in menu and "summary.val_loss" not in menu
    terminal.child.send("\x1b")  # close the menu
    terminal.child.sendcontrol("u")
    terminal.child.send("state == fin\t")
    terminal.child.expect('"finished"')  # the bare word became the quoted value
    shown = _plain(terminal.enter(" order by summary.val_loss", r"runs match"))
    assert 'state == "finished" order by summary.val_loss\n' in shown
    assert "2 of 3 runs match" in shown
    assert terminal.close() == 0


class ToolbarTerminal:
    """A REPL in a pseudo-terminal whose prompts draw the bottom toolbar: prompt_toolkit draws
    it once the terminal has told where the cursor is, so each prompt's cursor position
    request is answered as a terminal would; each text is typed at once into a fresh prompt,
    so the toolbar is drawn whole."""

    def __init__(self, home: Path, *args: str, **env: str) -> None:
        environment = _env(home, **env)
        del environment["PROMPT_TOOLKIT_NO_CPR"]
        self.child = pexpect.spawn(sys.executable, ["-m", "wsquery", "repl", *args],
                                   env=environment, cwd=str(home), encoding="utf-8",
                                   timeout=TIMEOUT, dimensions=(50, 200))

    def prompt(self) -> None:
        self.child.expect_exact("\x1b[6n")
        self.child.send("\x1b[1;1R")
        self.child.expect_exact("wsquery>")

    def toolbar(self, text: str, says: str) -> list[str]:
        """The toolbar's two lines (the input, and the caret) once typing ``text`` at a new
        prompt makes it say ``says``; then Enter."""
        self.prompt()
        self.child.send(text)
        self.child.expect(re.escape(says))
        lines = _plain(str(self.child.before) + str(self.child.after)).splitlines()
        self.child.send("\r")
        return [line.rstrip() for line in lines[-2:]]

    def enter(self, text: str, until: str) -> str:
        """Type ``text`` at a new prompt and Enter; the output up to ``until``."""
        self.prompt()
        self.child.send(text + "\r")
        self.child.expect(until)
        return _plain(str(self.child.before) + str(self.child.after))

    def close(self) -> None:
        self.prompt()
        self.child.sendcontrol("d")
        self.child.expect(pexpect.EOF)


def test_the_problem_is_shown_under_the_input_as_it_is_typed(tmp_path: Path,
                                                            runs_file: Path) -> None:
    term = ToolbarTerminal(tmp_path, "--runs", str(runs_file))
    assert term.toolbar("summary.val_loss <", "^ error: expected a value, found end of input"
                        ) == [" summary.val_loss <",
                              "                   ^ error: expected a value, found end of input"]
    source, caret = term.toolbar("summary.val_loss < 0.1 and state == finished",
                                 """^ error: expected a value, found 'finished' """
                                 """(text is written in quotes: "finished")""")
    assert source == " summary.val_loss < 0.1 and state == finished"
    assert caret.index("^") == source.index("finished")
    source, caret = term.toolbar("config.lr >= 0.1 and summary.val_loss < 0.1",
                                 "^ warning: summary.val_loss < 0.1 became summary.val_loss "
                                 "<= 0.1")
    assert caret.index("^") == source.index("summary")
    term.child.expect("runs match")
    assert "config.lr >= 0.1 and summary.val_loss < 0.1\n" in _plain(str(term.child.before))
    term.close()


def test_a_key_no_loaded_run_has_is_warned_of_under_the_input(tmp_path: Path, runs_file: Path,
                                                              view_server: ViewServer) -> None:
    """Runs from --runs, from :runs and from :project each give the keys the toolbar judges
    by; before any are loaded a misspelled key is no problem it can know of."""
    view_server.add_runs(DEFAULT_ENTITY, "repl-keys", [
        {"id": "k1", "name": "one", "state": "finished", "config": {"momentum": 0.9},
         "summary": {"f1": 0.7}}])
    term = ToolbarTerminal(tmp_path, "--runs", str(runs_file),
                           WANDB_BASE_URL=view_server.url, WANDB_API_KEY=view_server.api_key)
    source, caret = term.toolbar(
        "config.lr >= 0.1 and summary.vall_loss <= 0.1",
        "^ warning: no run has summary.vall_loss (did you mean summary.val_loss?)")
    assert caret.index("^") == source.index("summary.vall_loss")
    term.child.expect("0 of 3 runs match")
    source, caret = term.toolbar(
        'state == "finished" group by config.optimizer order by summary.acc',
        "^ warning: no run has summary.acc (the runs' summary keys are summary.val_loss)")
    assert caret.index("^") == source.index("summary.acc")  # config.optimizer is held
    assert "fields from 1 run of" in term.enter(f":project {DEFAULT_ENTITY}/repl-keys",
                                                "run of")
    source, caret = term.toolbar(
        "config.momentun >= 0.5",
        "^ warning: no run has config.momentun (did you mean config.momentum?)")
    assert caret.index("^") == source.index("config.momentun")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "o", "summary": {"recall": 0.5}}) + "\n",
                     encoding="utf-8")
    assert "1 run loaded" in term.enter(f":runs {other}", "loaded from")
    source, caret = term.toolbar(
        "config.momentum >= 0.5",
        "^ warning: no run has config.momentum (no run has any config key)")
    term.close()


def test_fields_lists_the_keys_tab_completes(terminal: Terminal) -> None:
    shown = _plain(terminal.enter(":fields", r"summary\.val_loss.*\n"))
    assert re.search(r"\nname +\"sweep-1\", \"sweep-2\", \"other\"\n", shown)
    assert re.search(r"\nconfig\.optimizer\.name +\"adam\"\n", shown)
    assert re.search(r"\nsummary\.val_loss +0\.05, 0\.5, 0\.07", shown)
    assert terminal.close() == 0


def test_project_loads_the_keys_and_values_of_a_project(tmp_path: Path,
                                                         view_server: ViewServer) -> None:
    view_server.add_runs(DEFAULT_ENTITY, "repl-vocabulary", [
        {"id": "p1", "name": "far", "state": "running", "config": {"momentum": 0.9}},
        {"id": "p2", "name": "away", "state": "failed", "config": {"momentum": 0.5},
         "summary": {"f1": 0.7}}])
    term = Terminal(tmp_path, "--history", str(tmp_path / "history"), env=_env(
        tmp_path, WANDB_BASE_URL=view_server.url, WANDB_API_KEY=view_server.api_key))
    shown = _plain(term.enter(f":project {DEFAULT_ENTITY}/repl-vocabulary", "runs of"))
    assert f"fields from 2 runs of {DEFAULT_ENTITY}/repl-vocabulary" in shown
    term.child.send("config.mom\t")
    term.child.expect("entum")
    term.child.send(" == \t")  # the values seen: Tab puts in what they share, and lists them
    term.expect(r"(?s)0\.9.*?0\.5|0\.5.*?0\.9")
    term.child.send("\x1b")
    term.child.sendcontrol("u")
    shown = _plain(term.enter(f":project {DEFAULT_ENTITY}/no-such-project", "not found"))
    assert f"error: project {DEFAULT_ENTITY}/no-such-project not found" in shown
    assert term.close() == 0


def test_error_shows_a_caret_under_the_input_and_carries_on(terminal: Terminal) -> None:
    shown = _plain(terminal.enter("summary.val_loss < ", r"\^"))
    assert "error: line 1, column 19: expected a value, found end of input" in shown
    assert "    summary.val_loss <\n                      ^" in shown
    shown = _plain(terminal.enter("config.lr = 0.1", r"runs match"))
    assert "config.lr == 0.1\n" in shown
    assert terminal.close() == 0


def test_runs_table_lists_matches_with_the_fields_mentioned(terminal: Terminal) -> None:
    shown = _plain(terminal.enter('state == "finished" order by config.lr desc', r"runs match"))
    table = shown[shown.index("id "):]
    lines = table.splitlines()
    assert lines[0].split() == ["id", "name", "state", "config.lr"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["r3", "other", "finished", "0.2"]
    assert lines[3].split() == ["r1", "sweep-1", "finished", "0.1"]
    assert lines[4] == "2 of 3 runs match"
    assert terminal.close() == 0


def test_commands_and_multi_line_input(terminal: Terminal, tmp_path: Path) -> None:
    more = tmp_path / "more.json"
    more.write_text(json.dumps(RUNS[:1]), encoding="utf-8")
    assert "1 run loaded from" in _plain(terminal.enter(f":runs {more}", "loaded from"))
    shown = _plain(terminal.enter("(config.lr == 0.1 or", r"\.\.\.", prompt=False))
    assert "runs match" not in shown
    shown = _plain(terminal.enter("config.lr == 0.2)", r"runs match"))
    assert "config.lr == 0.1 or config.lr == 0.2\n" in shown
    assert "1 of 1 runs match" in shown
    terminal.enter("summary.val_loss \\", r"\.\.\.", prompt=False)
    shown = _plain(terminal.enter(">= 1", r"runs match"))
    assert "summary.val_loss >= 1\n" in shown
    shown = _plain(terminal.enter(":explain config.lr in [1, 2] or config.lr == 3", "shape:"))
    assert "normalized: config.lr in [1, 2, 3]" in shown
    assert "\n  config.lr IN [1, 2, 3]\n" in shown
    terminal.enter(":target mongo", "target: mongo")
    terminal.enter(":target foo", "targets are runset, runs-api, mongo, wandb-workspaces")
    terminal.child.send(":quit\r")
    terminal.child.expect(pexpect.EOF)


def test_history_is_recalled_in_the_next_session(tmp_path: Path) -> None:
    history = str(tmp_path / "shared-history")
    first = Terminal(tmp_path, "--history", history)
    assert "config.lr == 0.5\n" in _plain(first.enter("config.lr==0.5", r"\(:json shows"))
    assert first.close() == 0
    second = Terminal(tmp_path, "--history", history)
    second.child.send("\x1b[A")
    second.child.expect("==0.5")  # the recalled query, drawn highlighted
    shown = _plain(second.enter("", r"\(:json shows"))
    assert "config.lr == 0.5\n" in shown
    assert second.close() == 0


def test_history_file_comes_from_the_environment(tmp_path: Path) -> None:
    history = tmp_path / "from-env"
    term = Terminal(tmp_path, env=_env(tmp_path, WSQUERY_HISTORY=str(history)))
    term.enter("config.a == 1", r"\(:json shows")
    assert term.close() == 0
    assert "config.a == 1" in history.read_text(encoding="utf-8")


def test_without_prompt_toolkit_it_names_the_extra_and_reads_lines(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked" / "prompt_toolkit"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = _env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "blocked"), env["PYTHONPATH"]])
    child = pexpect.spawn(sys.executable, ["-m", "wsquery", "repl"], env=env,
                          encoding="utf-8", timeout=TIMEOUT)
    child.expect_exact("pip install 'wsquery[repl]'")
    child.expect_exact("wsquery> ")
    child.send("(config.a == 1 or\r")
    child.expect_exact("... ")
    child.send("config.b == 2)\r")
    child.expect_exact("(:json shows")
    assert "config.a == 1 or config.b == 2" in _plain(str(child.before))
    child.sendeof()
    child.expect(pexpect.EOF)


# As a JSON-lines filter ----------------------------------------------------------------------

def _serve(home: Path, lines: list[str], *args: str, **env: str) -> tuple[int, list[Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "wsquery", "repl", *args], input="\n".join(lines) + "\n",
        capture_output=True, text=True, env=_env(home, **env), cwd=str(home), timeout=60,
        check=False)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_json_mode_one_object_per_line(tmp_path: Path, runs_file: Path) -> None:
    status, out, _ = _serve(tmp_path, [
        "summary.val_loss < 0.1",
        "",
        "summary.val_loss <",
        f":runs {runs_file}",
        '"best" in tags order by summary.val_loss',
        ":target mongo",
        ":target workspace",
        ":explain",
        ":help",
        ":fields",
    ])
    assert status == 0
    first = out[0]
    assert first["query"] == "summary.val_loss < 0.1"
    assert first["target"] == "runset"
    assert first["result"]["filters"]["filters"][0]["op"] == "<="
    assert set(first["result"]) == {"filters", "grouping", "sort", "search"}
    assert first["warnings"][0]["span"] == [0, 22]
    assert "matches" not in first
    assert out[1] == {"error": {"type": "QuerySyntaxError",
                                "message": "expected a value, found end of input",
                                "line": 1, "column": 19, "span": [18, 18], "hint": None}}
    assert out[2] == {"runs": str(runs_file), "count": 3}
    assert out[3]["query"] == 'tags == "best" order by summary.val_loss'
    assert out[3]["matches"] == ["r1", "r3"]
    assert out[3]["count"] == 2
    assert out[4] == {"target": "mongo"}
    assert out[5] == {"target": "runset"}
    assert out[6]["normalized"] == 'tags == "best" order by summary.val_loss'
    assert out[6]["shape"]
    assert ":save ENTITY/PROJECT NAME" in out[7]["help"]
    assert out[8]["fields"]["config.lr"] == [0.1, 0.01, 0.2]
    assert out[8]["fields"]["tags"] == ["best", "x"]
    assert len(out) == 9


def test_json_mode_errors_name_their_type(tmp_path: Path) -> None:
    _, out, _ = _serve(tmp_path, [
        "summary.x == 1 and state == \"finishd\" and tags < \"a\"",
        "name contains \"a\" and name contains \"b\"",
        ":target nowhere",
        ":runs /no/such/file",
        ":explain",
        ":save ent/proj view",
        ":frobnicate",
        ":fields",
        ":project nothing",
    ])
    validation = out[0]["error"]
    assert validation["type"] == "QueryValidationError"
    assert validation["message"] == 'state is never "finishd"'
    assert [p["message"] for p in validation["problems"]] == [
        'state is never "finishd"', "tags is a list: '<' cannot match it"]
    target = out[1]["error"]
    assert target["type"] == "TargetError"
    assert target["target"] == "runset"
    assert target["line"] == 1 and target["span"] is not None
    assert out[7]["fields"] == {}
    assert out[8]["error"]["message"] == "usage: :project ENTITY/PROJECT"
    assert out[2]["error"] == {"type": "WsqueryError", "message":
                               "unknown target 'nowhere'; targets are "
                               + ", ".join(wsquery.targets())}
    assert out[3]["error"]["message"].startswith("cannot read /no/such/file")
    assert out[4]["error"]["message"].startswith("nothing to explain yet")
    assert out[5]["error"]["message"] == "nothing to save yet: type a query first"
    assert out[6]["error"]["message"].startswith("unknown command :frobnicate")


def test_json_mode_quits_on_quit(tmp_path: Path) -> None:
    status, out, _ = _serve(tmp_path, ["config.a == 1", ":quit", "config.b == 2"])
    assert status == 0
    assert [line["query"] for line in out] == ["config.a == 1"]


def test_a_runs_file_that_cannot_load_stops_the_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "r1"}\n{oops\n', encoding="utf-8")
    status, out, err = _serve(tmp_path, ["config.a == 1"], "--runs", str(bad))
    assert status == 2
    assert out == []
    assert err.startswith(f"error: {bad}:2: line 1, column 2: invalid JSON")


def test_save_stores_the_last_query_as_a_view(tmp_path: Path, view_server: ViewServer) -> None:
    from wsquery.wandb.views import Workspace

    _, out, _ = _serve(tmp_path, ['summary.val_loss <= 0.1 and name =~ "^s"',
                                  ":save wsquery/repl-tests my view", ":save nothing"],
                       WANDB_BASE_URL=view_server.url, WANDB_API_KEY=view_server.api_key)
    saved = out[1]["saved"]
    assert saved["entity"] == DEFAULT_ENTITY
    assert saved["name"] == "my view"
    assert saved["url"].startswith(f"{view_server.url}/wsquery/repl-tests?nw=")
    loaded = Workspace.from_url(saved["url"], base_url=view_server.url,
                                api_key=view_server.api_key)
    assert str(loaded.query) == 'summary.val_loss <= 0.1 and name =~ "^s"'
    assert loaded.name == "my view"
    assert out[2]["error"]["message"] == "usage: :save ENTITY/PROJECT NAME"


# Pieces --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "more"), [
    ("config.a == 1", False),
    ("(config.a == 1 or", True),
    ("config.a in [1,", True),
    ("config.a == 1 \\", True),
    ('name == "(" and config.a == 1', False),
    ('name == "\\"(" and (', True),
    ("(config.a == 1)\n)", False),
    (":explain (", False),
])
def test_continues(text: str, more: bool) -> None:
    assert continues(text) is more


def test_joined_drops_the_continuing_backslashes() -> None:
    assert joined("config.a == 1 \\\nand config.b == 2") == "config.a == 1 \nand config.b == 2"


def test_candidates() -> None:
    fields = {"summary.val_loss": (0.05,), "state": ("finished",)}

    def texts(text: str, cursor: int | None = None) -> tuple[int, list[str]]:
        length, items = candidates(text, len(text) if cursor is None else cursor, fields)
        return length, [item.text for item in items]

    assert texts("summary.val_l") == (13, ["summary.val_loss"])
    assert texts('state == "fin') == (4, ['"finished"'])
    assert texts("state == fin") == (3, ['"finished"'])
    assert texts("config.a == 1 and st") == (2, ["state", "step"])
    assert texts("config.a == 1 gro") == (3, ["group by"])
    assert texts("config.a == 1 \\\nand st") == (2, ["state", "step"])
    assert texts("summary.val_loss == 1 and st", 13) == (13, ["summary.val_loss"])
    assert texts(":ta") == (3, [":target"])
    assert texts(":") == (1, [":target", ":set", ":json", ":runs", ":project", ":fields",
                              ":explain", ":save", ":help", ":quit"])
    assert texts(":set ex") == (2, ["exact_ops"])
    assert texts(":set j") == (1, ["json"])
    assert texts(":target m") == (1, ["mongo"])
    assert texts(":explain summary.v") == (9, ["summary.val_loss"])
    assert texts(":runs fi") == (0, [])


def test_problem_line() -> None:
    assert problem_line("", "runset") == ""
    assert problem_line(":explain (", "runset") == ""
    assert problem_line("config.a == 1", "runset") == ""
    assert problem_line("config.a <", "runset") == (
        " config.a <\n           ^ error: expected a value, found end of input")
    assert problem_line("config.a == 1 and \\\n  state == x", "runset") == (
        "   state == x\n            ^ error: expected a value, found 'x' "
        '(text is written in quotes: "x")')
    assert problem_line("config.a > 1", "mongo") == ""
    assert problem_line("config.a > 1", "runset").startswith(
        " config.a > 1\n ^ warning: config.a > 1 became config.a >= 1")
    assert problem_line("config.lrr == 1", "runset") == ""
    assert problem_line("config.lrr == 1", "runset", {}) == ""
    assert problem_line("state == 'finished' and\\\n  config.lrr == 1", "runset",
                        {"config.lr": (0.1,)}) == (
        "   config.lrr == 1\n   ^ warning: no run has config.lrr (did you mean config.lr?)")


def test_history_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("WSQUERY_HISTORY", raising=False)
    assert history_path() == tmp_path / ".wsquery_history"
    monkeypatch.setenv("WSQUERY_HISTORY", str(tmp_path / "env"))
    assert history_path() == tmp_path / "env"
    assert history_path(str(tmp_path / "arg")) == tmp_path / "arg"


def test_set_and_json_as_a_json_lines_filter(tmp_path: Path) -> None:
    status, out, _ = _serve(tmp_path, [":set exact_ops true", "summary.a < 1", ":json",
                                       ":set exact_ops", "summary.a < 1", ":set nope 1"])
    assert status == 0
    assert out[0] == {"option": "exact_ops", "value": "true"}
    assert out[1]["warnings"] == [] and out[1]["result"]["filters"]["filters"][0]["op"] == "<"
    assert out[2] == {"result": out[1]["result"]}
    assert out[3] == {"option": "exact_ops", "value": None}
    assert out[4]["warnings"] and out[4]["result"]["filters"]["filters"][0]["op"] == "<="
    assert "has no option 'nope'" in out[5]["error"]["message"]


def test_tab_offers_only_what_the_fields_kind_allows(tmp_path: Path) -> None:
    """In a terminal: `within last` after created_at only, and a state seen in two cases
    offered once, as W&B stores it."""
    runs = tmp_path / "cased.jsonl"
    runs.write_text("".join(json.dumps({"id": f"c{i}", "state": state}) + "\n"
                            for i, state in enumerate(["Finished", "finished", "FINISHED"])),
                    encoding="utf-8")
    term = Terminal(tmp_path, "--history", str(tmp_path / "history"), "--runs", str(runs))
    try:
        # `wi` after created_at completes alone to `within last`; after config.lr nothing does
        term.child.send("created_at wi\t")
        term.expect("last")  # the rest of the keyword, drawn after what was typed
        shown = _plain(term.enter(" 1d", r"runs match"))
        assert "created_at within last 1d\n" in shown
        term.child.send("config.lr wi\t")
        shown = _plain(term.enter(" 1d", r"found 'wi'[^\n]*"))
        assert "config.lr within" not in shown  # Tab left `wi` as typed
        # the three spellings of one state are one completion, so Tab completes it at once
        term.child.send("state == fin\t")
        term.expect("value")  # the menu of the one completion, chosen
        term.child.send("\r")  # takes it
        shown = _plain(term.enter("", r"runs match"))
        assert 'state == "finished"\n' in shown and "3 of 3 runs match" in shown
        assert term.close() == 0
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
