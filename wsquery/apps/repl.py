"""Lines of query text -> canonical text, warnings, compiled JSON and matching runs: the REPL.

On a terminal it is a prompt_toolkit session (highlighting, completion of what the grammar lets
come at the cursor, the input's first problem shown under it as it is typed, history, multi-line
input); without prompt_toolkit it reads plain lines. When input or output is not a terminal it
reads one query per line and writes one JSON object per line, for programs to drive.
prompt_toolkit and Pygments come with the ``repl`` extra; nothing here loads with ``wsquery``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO, assert_never

import attrs

from wsquery.apps.assist import Completion, check, complete, fields_of
from wsquery.apps.display import in_terms_of
from wsquery.ast import (
    Field,
    Query,
    format_value,
    walk,
)
from wsquery.compilers import registry
from wsquery.errors import (
    QuerySyntaxError,
    QueryValidationError,
    TargetError,
    WsqueryError,
    line_column,
)
from wsquery.semantics.evaluate import evaluate
from wsquery.semantics.normalize import normalize
from wsquery.semantics.predicates import field_value
from wsquery.semantics.selected import cell_text
from wsquery.syntax.parser import parse
from wsquery.version import __version__

if TYPE_CHECKING:
    from prompt_toolkit.completion import Completer

HISTORY_ENV = "WSQUERY_HISTORY"
DEFAULT_HISTORY = "~/.wsquery_history"
PROMPT = "wsquery> "
CONTINUATION = "     ... "
EXIT_USAGE = 2
#: Rows of the matches table shown before the rest are only counted.
MAX_ROWS = 50
MAX_CELL = 32

HELP = """\
Type a query to see its canonical text, its warnings, the runs it selects (with :runs) and
the start of what it compiles to for the current target (:json shows all of it).
A line ending in \\ or with open ( or [ continues on the next line; Tab completes, and Enter
takes the completion chosen in the menu.
  :target NAME              compile for this target (Tab lists them: runset, runs-api, ...)
  :set [NAME [VALUE]]       an option of the current target (exact_ops true, format legacy);
                            no VALUE: back to its default; no NAME: list them. `:set json on`
                            shows the whole compiled JSON after every query
  :json                     the whole compiled JSON of the last query
  :runs FILE                load runs (JSON lines or a JSON array); queries then list matches,
                            and a key none of them has is warned of
  :project ENTITY/PROJECT   complete with the keys and values of the project's newest runs,
                            and warn of a key none of them has
  :fields                   the keys (and values seen) that Tab completes
  :explain [QUERY]          the normalized form and compiled shape of QUERY or the last query
  :save ENTITY/PROJECT NAME save the last query as a workspace view and print its URL
  :help                     this text
  :quit                     leave (Ctrl-D too)"""

_COMMANDS = (":target", ":set", ":json", ":runs", ":project", ":fields", ":explain", ":save",
             ":help", ":quit")
#: The REPL's own setting beside the target's options: show the whole JSON after a query.
JSON_SETTING = "json"
_JSON_OPTION = registry.Option(JSON_SETTING, "flag",
                               "show the whole compiled JSON after every query")
#: Characters of compiled JSON a query's result shows on its one line (``:json``: all).
JSON_PREVIEW = 96
#: Values ``:fields`` shows per field.
SHOWN_VALUES = 5
#: Keys by which a run in W&B's GraphQL shape is told from a plain dict.
_ID, _NAME, _STATE = (Field("run", (key,)) for key in ("name", "displayName", "state"))


# What one line gives ---------------------------------------------------------------------------

@attrs.frozen
class _Compiled:
    """A query with the JSON of the target, the warnings, and the matching runs if any."""

    query: Query
    target: str
    result: dict[str, Any]
    warnings: tuple[Any, ...]
    matches: list[Any] | None
    run_count: int


@attrs.frozen
class _Explained:
    compiled: _Compiled
    normalized: Query
    shape: list[str]


@attrs.frozen
class _Failed:
    error: WsqueryError


@attrs.frozen
class _Said:
    """An acknowledgement: its JSON object, and the line a terminal shows instead."""

    data: dict[str, Any]
    text: str


@attrs.frozen
class _Quit:
    pass


_Outcome = _Compiled | _Explained | _Failed | _Said | _Quit


class _Session:
    """The REPL's state (target, runs, last query) and what each line does to it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.runs: list[Any] | None = None
        #: What completion offers and the key check judges by: field text -> values seen,
        #: from ``:runs`` or ``:project``.
        self.fields: dict[str, tuple[Any, ...]] = {}
        self.last: str | None = None
        self.last_result: Any = None
        #: Target name -> the options ``:set`` gave it (each target keeps its own).
        self.options: dict[str, dict[str, Any]] = {}
        self.show_json = False

    @property
    def target_options(self) -> dict[str, Any]:
        """The options the current target compiles with."""
        return self.options.get(self.target, {})

    def handle(self, line: str) -> _Outcome:
        text = line.strip()
        try:
            if text.startswith(":"):
                return self.command(text)
            return self.compile(text)
        except WsqueryError as error:
            return _Failed(error)

    def command(self, text: str) -> _Outcome:
        name, _, argument = text.partition(" ")
        argument = argument.strip()
        match name:
            case ":target":
                return self.set_target(argument)
            case ":set":
                return self.set_option(argument)
            case ":json":
                return self.last_json()
            case ":runs":
                return self.load_runs(argument)
            case ":project":
                return self.load_project(argument)
            case ":fields":
                return self.list_fields()
            case ":explain":
                return self.explain(argument)
            case ":save":
                return self.save(argument)
            case ":help":
                return _Said({"help": HELP}, HELP)
            case ":quit" | ":q" | ":exit":
                return _Quit()
        raise WsqueryError(f"unknown command {name}; commands are " + ", ".join(_COMMANDS))

    def set_target(self, target: str) -> _Said:
        target = registry.ALIASES.get(target, target)
        if target and target not in registry.names():
            raise WsqueryError(f"unknown target {target!r}; targets are "
                               + ", ".join(registry.names()))
        self.target = target or self.target
        return _Said({"target": self.target}, f"target: {self.target}")

    def set_option(self, argument: str) -> _Said:
        """``:set``: list the options; ``:set NAME``: back to its default; ``:set NAME VALUE``."""
        declared = {option.name: option
                    for option in registry.options(registry.get(self.target))}
        name, _, value = argument.partition(" ")
        value = value.strip()
        given = self.options.setdefault(self.target, {})
        if not name:
            listed = {option: given.get(option, "(default)") for option in declared}
            lines = [f"{self.target} options:"] + [
                f"  {option:<18} {_shown(listed[option])}  {declared[option].help}"
                for option in declared]
            lines.append(f"  {JSON_SETTING:<18} {'on' if self.show_json else 'off'}  "
                         + _JSON_OPTION.help)
            return _Said({"target": self.target, "options": listed, JSON_SETTING: self.show_json},
                         "\n".join(lines))
        if name == JSON_SETTING:
            self.show_json = _JSON_OPTION.read(value or "on")
            return _Said({JSON_SETTING: self.show_json},
                         f"{JSON_SETTING}: {'on' if self.show_json else 'off'}")
        option = declared.get(name)
        if option is None:
            raise WsqueryError(f"the {self.target} target has no option {name!r}; its options "
                               "are " + ", ".join([*declared, JSON_SETTING]))
        if not value:
            given.pop(name, None)
            return _Said({"option": name, "value": None}, f"{name}: (default)")
        given[name] = option.read(value)
        return _Said({"option": name, "value": _shown(given[name])},
                     f"{name}: {_shown(given[name])}")

    def last_json(self) -> _Said:
        if self.last_result is None:
            raise WsqueryError("nothing compiled yet: type a query first")
        text = json.dumps(self.last_result, indent=2, ensure_ascii=False, default=str)
        return _Said({"result": self.last_result}, text)

    def load_runs(self, path: str) -> _Said:
        if not path:
            raise WsqueryError("usage: :runs FILE (JSON lines or a JSON array of runs)")
        from wsquery.apps.display import load_runs, read_text

        try:
            source = read_text(str(Path(path).expanduser()))
        except OSError as error:
            raise WsqueryError(f"cannot read {path}: {error.strerror or error}") from None
        self.runs = load_runs(source, path)
        self.fields = fields_of(self.runs)
        count = len(self.runs)
        return _Said({"runs": path, "count": count},
                     f"{count} run{'' if count == 1 else 's'} loaded from {path}")

    def load_project(self, argument: str) -> _Said:
        """The keys and values of the project's newest runs, fetched over GraphQL from W&B
        or the server ``WANDB_BASE_URL`` names, for completion."""
        entity, slash, project = argument.partition("/")
        if not (entity and slash and project) or "/" in project or " " in argument:
            raise WsqueryError("usage: :project ENTITY/PROJECT")
        from wsquery.wandb.runs import NEWEST_RUNS
        from wsquery.wandb.runs import runs as fetch_runs

        runs = fetch_runs(entity, project, f"limit {NEWEST_RUNS}")
        self.fields = fields_of(runs)
        count = len(runs)
        return _Said({"project": argument, "runs": count, "fields": len(self.fields)},
                     f"{len(self.fields)} fields from {count} run{'' if count == 1 else 's'} "
                     f"of {argument}")

    def list_fields(self) -> _Said:
        if not self.fields:
            return _Said({"fields": {}}, "no fields yet: load runs with :runs FILE or "
                                         ":project ENTITY/PROJECT")
        width = max(len(name) for name in self.fields)
        lines = [f"{name:<{width}}  " + ", ".join(format_value(value)
                                                 for value in values[:SHOWN_VALUES])
                 + (", ..." if len(values) > SHOWN_VALUES else "")
                 for name, values in self.fields.items()]
        return _Said({"fields": {name: list(values) for name, values in self.fields.items()}},
                     "\n".join(line.rstrip() for line in lines))

    def compile(self, text: str) -> _Compiled:
        query = parse(text)
        compiled: Any = registry.compile(text, target=self.target, **self.target_options)
        result = compiled.to_json()
        matches = None if self.runs is None else evaluate(query, self.runs)
        self.last, self.last_result = text, result
        return _Compiled(query, self.target, result, tuple(compiled.warnings), matches,
                         len(self.runs or ()))

    def explain(self, text: str) -> _Explained:
        text = text or self.last or ""
        if not text:
            raise WsqueryError("nothing to explain yet: type a query, or :explain QUERY")
        compiled = self.compile(text)
        if compiled.target == "runset":
            from wsquery.apps.display import outline

            shape = outline(compiled.result["filters"])
        else:
            shape = json.dumps(compiled.result, indent=2, ensure_ascii=False).splitlines()
        return _Explained(compiled, normalize(compiled.query), shape)

    def save(self, argument: str) -> _Said:
        place, _, name = argument.partition(" ")
        entity, slash, project = place.partition("/")
        if not (entity and slash and project and name.strip()) or "/" in project:
            raise WsqueryError("usage: :save ENTITY/PROJECT NAME")
        if self.last is None:
            raise WsqueryError("nothing to save yet: type a query first")
        try:
            from wsquery.wandb.views import Workspace
        except ImportError:
            raise WsqueryError("saving views needs wsquery.wandb.views, "
                               "which this installation lacks") from None
        workspace = Workspace(entity, project, name.strip(), query=self.last)
        workspace.save()
        return _Said({"saved": {"entity": entity, "project": project, "name": name.strip(),
                                "query": str(workspace.query), "url": workspace.url}},
                     f"saved {name.strip()!r}: {workspace.url}")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# The local reading of runs for the table ---------------------------------------------------
# Which runs match is wsquery.evaluate's business; these helpers only show values.

def _query_fields(query: Query) -> list[Field]:
    """The fields a query mentions, first mention first."""
    return list(dict.fromkeys(node for node in walk(query) if type(node) is Field))


def _cell(value: Any) -> str:
    text = cell_text(value).replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _table(runs: list[Any], fields: list[Field]) -> list[str]:
    columns = [_ID, _NAME, _STATE, *(f for f in fields if f not in (_ID, _NAME, _STATE))]
    rows = [[str(field) for field in columns]]
    rows += [[_cell(field_value(run, field)) for field in columns] for run in runs[:MAX_ROWS]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if len(runs) > MAX_ROWS:
        lines.append(f"... and {len(runs) - MAX_ROWS} more")
    return lines


# Rendering ------------------------------------------------------------------------------------

def _json_outcome(outcome: _Outcome) -> dict[str, Any] | None:
    """The JSON object one line gives in non-terminal mode (None: leave)."""
    match outcome:
        case _Compiled():
            data: dict[str, Any] = {
                "query": str(outcome.query), "target": outcome.target,
                "result": outcome.result, "warnings": [_warning_json(w) for w in outcome.warnings]}
            if outcome.matches is not None:
                data["matches"] = [_cell_json(field_value(run, _ID)) for run in outcome.matches]
                data["count"] = len(outcome.matches)
            return data
        case _Explained():
            explained = _json_outcome(outcome.compiled) or {}
            return {**explained, "normalized": str(outcome.normalized), "shape": outcome.shape}
        case _Failed():
            return {"error": _error_json(outcome.error)}
        case _Said():
            return outcome.data
        case _Quit():
            return None
        case _:
            assert_never(outcome)


def _cell_json(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float) else str(value)


def _warning_json(warning: Any) -> dict[str, Any]:
    span = warning.span
    return {"message": warning.message, "span": None if span is None else list(span)}


def _error_json(error: WsqueryError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__}
    match error:
        case QuerySyntaxError():
            data.update(message=error.message, line=error.line, column=error.column,
                        span=list(error.span), hint=error.hint)
            if isinstance(error, QueryValidationError) and len(error.problems) > 1:
                data["problems"] = [{"message": p.message, "span": list(p.span), "hint": p.hint}
                                    for p in error.problems]
        case TargetError():
            data.update(message=error.message, target=error.target, hint=error.hint,
                        span=None if error.span is None else list(error.span))
            if error.span is not None and error.text is not None:
                data["line"], data["column"] = line_column(error.text, error.span[0])
        case _:
            data["message"] = str(error)
    return data


class _Screen:
    """Writes outcomes for a person: highlighted when Pygments is there and ``color`` is on."""

    def __init__(self, out: TextIO, *, color: bool) -> None:
        self.out = out
        self.highlight = _highlighter() if color else None
        self.color = color

    def write(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def show(self, outcome: _Outcome, *, whole_json: bool = False) -> None:
        match outcome:
            case _Compiled():
                self.compiled(outcome, whole_json)
            case _Explained():
                compiled = outcome.compiled
                self.write(f"query:      {self.code(str(compiled.query), 'wsquery')}")
                self.write(f"normalized: {self.code(str(outcome.normalized), 'wsquery')}")
                self.write(f"target:     {compiled.target}")
                self.write("shape:")
                for line in outcome.shape:
                    self.write("  " + line)
                self.warnings(compiled.warnings)
            case _Failed():
                self.write(self.paint(in_terms_of(f"error: {outcome.error}", "repl"), "31"))
            case _Said():
                self.write(outcome.text)
            case _Quit():
                pass
            case _:
                assert_never(outcome)

    def compiled(self, outcome: _Compiled, whole_json: bool) -> None:
        """The canonical query, its warnings, its compiled JSON (one line, or all of it with
        ``:set json on``) and the runs it selects: the runs stay on the screen."""
        self.write(self.code(str(outcome.query), "wsquery"))
        self.warnings(outcome.warnings)
        if whole_json:
            self.write(self.code(json.dumps(outcome.result, indent=2, ensure_ascii=False),
                                 "json"))
        else:
            self.write(f"{outcome.target}: {_preview(outcome.result)}")
        if outcome.matches is not None:
            for line in _table(outcome.matches, _query_fields(outcome.query)):
                self.write(line)
            self.write(f"{len(outcome.matches)} of {outcome.run_count} runs match")

    def warnings(self, warnings: Iterable[Any]) -> None:
        for warning in warnings:
            self.write(self.paint(in_terms_of(f"warning: {warning}", "repl"), "33"))

    def code(self, text: str, language: str) -> str:
        return text if self.highlight is None else self.highlight(text, language)


def _preview(result: Any) -> str:
    """Compiled output on one line, cut to ``JSON_PREVIEW`` characters."""
    text = result if isinstance(result, str) else json.dumps(
        result, ensure_ascii=False, separators=(", ", ": "), default=str)
    text = " ".join(text.split())
    if len(text) <= JSON_PREVIEW:
        return text
    return f"{text[:JSON_PREVIEW - 1]}… (:json shows all {len(text)} characters)"


def _highlighter() -> Callable[[str, str], str] | None:
    """Terminal highlighting of query text and JSON, when Pygments is installed."""
    try:
        from pygments import highlight
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import JsonLexer
    except ImportError:
        return None
    from wsquery.syntax.lexer import WsqueryLexer

    lexers = {"wsquery": WsqueryLexer(), "json": JsonLexer()}
    formatter = TerminalFormatter()

    def paint(text: str, language: str) -> str:
        return highlight(text, lexers[language], formatter).rstrip("\n")

    return paint


# Input ----------------------------------------------------------------------------------------

def continues(text: str) -> bool:
    """Whether a query goes on past this line: it ends in a backslash, or a ``(`` or ``[``
    is still open outside strings. Commands never continue."""
    if text.lstrip().startswith(":"):
        return False
    if text.endswith("\\"):
        return True
    depth = 0
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote or char == "\n":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
    return depth > 0


def joined(text: str) -> str:
    """The query typed over several lines, without the backslashes that continued them."""
    return text.replace("\\\n", "\n")


def candidates(text: str, cursor: int, fields: Mapping[str, Iterable[Any]],
               target: str = "runset") -> tuple[int, list[Completion]]:
    """Completions at ``cursor``: how many characters before it they replace, and what they
    are: commands at the start of a line, targets after ``:target``, else what the grammar
    lets come there in a query (also after ``:explain``), with the keys and values of
    ``fields``."""
    before = text[:cursor]
    if before.lstrip().startswith(":"):
        command, space, rest = before.lstrip().partition(" ")
        if not space:
            return len(command), [Completion(c, "keyword") for c in _COMMANDS
                                  if c.startswith(command)]
        if command == ":target":
            return len(rest), [Completion(t, "keyword") for t in registry.names()
                               if t.startswith(rest)]
        if command == ":set" and " " not in rest:
            names = [option.name for option in registry.options(registry.get(target))]
            return len(rest), [Completion(name, "keyword") for name in [*names, JSON_SETTING]
                               if name.startswith(rest)]
        if command != ":explain":
            return 0, []
        offset = len(before) - len(rest)
        text = " " * offset + text[offset:]
    # a backslash that continues a line is no part of the query: blank it, keeping offsets
    result = complete(text.replace("\\\n", " \n"), cursor, fields=fields)
    return cursor - result.span[0], list(result.items)


def _completer(session: _Session) -> Completer:
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document

    class QueryCompleter(Completer):
        def get_completions(self, document: Document,
                            complete_event: CompleteEvent) -> Iterator[Completion]:
            length, items = candidates(document.text, document.cursor_position, session.fields,
                                       session.target)
            for item in items:
                yield Completion(item.text, start_position=-length,
                                 display_meta=item.detail or item.kind)

    return QueryCompleter()


def problem_line(text: str, target: str, fields: Mapping[str, Iterable[Any]] | None = None,
                 options: Mapping[str, Any] | None = None) -> str:
    """The first problem of the query typed so far, as the line under the input shows it:
    the line of the text it is on, then a caret under its place and what it says (empty when
    there is none, and for commands). ``fields`` (those loaded) also judge the keys;
    ``options`` are the target's, as ``:set`` gave them."""
    if not text.strip() or text.lstrip().startswith(":"):
        return ""
    problems = check(text.replace("\\\n", " \n"), target, fields=fields, **(options or {}))
    if not problems:
        return ""
    problem = problems[0]
    start = text.rfind("\n", 0, problem.span[0]) + 1
    end = text.find("\n", problem.span[0])
    line = text[start:len(text) if end == -1 else end]
    hint = f" ({in_terms_of(problem.hint, 'repl')})" if problem.hint else ""
    return (f" {line}\n {' ' * (problem.column - 1)}^ {problem.severity}: {problem.message}"
            f"{hint}")


def history_path(history_file: str | None = None) -> Path:
    """The history file: the argument, else ``$WSQUERY_HISTORY``, else ``~/.wsquery_history``."""
    return Path(history_file or os.environ.get(HISTORY_ENV) or DEFAULT_HISTORY).expanduser()


def _prompt_lines(session: _Session, stdin: TextIO, stdout: TextIO,
                  history_file: str | None) -> Iterator[str] | None:
    """Queries typed at a prompt_toolkit prompt; None when prompt_toolkit is not installed."""
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.input import create_input
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
        from prompt_toolkit.lexers import PygmentsLexer
        from prompt_toolkit.output import create_output
    except ImportError:
        return None
    from wsquery.syntax.lexer import WsqueryLexer

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        chosen = buffer.complete_state and buffer.complete_state.current_completion
        if chosen:  # the menu is open on a choice: take it, as pgcli and ptpython do
            buffer.apply_completion(chosen)
            return
        if continues(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    path = history_path(history_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    prompt: PromptSession[str] = PromptSession(
        PROMPT, multiline=True, key_bindings=bindings, prompt_continuation=CONTINUATION,
        lexer=PygmentsLexer(WsqueryLexer), completer=_completer(session),
        complete_while_typing=False, history=FileHistory(str(path)),
        bottom_toolbar=lambda: problem_line(prompt.default_buffer.text, session.target,
                                            session.fields, session.target_options),
        input=create_input(stdin), output=create_output(stdout))

    def lines() -> Iterator[str]:
        while True:
            try:
                yield joined(prompt.prompt())
            except KeyboardInterrupt:
                continue
            except EOFError:
                return

    return lines()


def _plain_lines(stdin: IO[str], stdout: TextIO) -> Iterator[str]:
    """Queries typed at a plain prompt, continued lines joined."""
    prompt = PROMPT
    text = ""
    while True:
        stdout.write(prompt)
        stdout.flush()
        line = stdin.readline()
        if not line:
            return
        text += line.rstrip("\n")
        if continues(text):
            text += "\n"
            prompt = CONTINUATION
            continue
        yield joined(text)
        text, prompt = "", PROMPT


# Entry point ----------------------------------------------------------------------------------

def run_repl(*, target: str = "runset", runs_file: str | None = None,
             history_file: str | None = None, stdin: TextIO | None = None,
             stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the REPL until end of input or ``:quit``; returns the exit status.

    Interactive when ``stdin`` and ``stdout`` are terminals; else one query per input line
    and one JSON object per output line. ``runs_file`` is loaded as by ``:runs``.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    session = _Session("runset")
    try:
        session.set_target(target)
        if runs_file:
            session.load_runs(runs_file)
    except WsqueryError as error:
        stderr.write(f"error: {error}\n")
        return EXIT_USAGE
    if not (stdin.isatty() and stdout.isatty()):
        return _serve_json(session, stdin, stdout)
    screen = _Screen(stdout, color="NO_COLOR" not in os.environ)
    lines = _prompt_lines(session, stdin, stdout, history_file)
    if lines is None:
        stderr.write("prompt_toolkit is not installed: pip install 'wsquery[repl]' for "
                     "highlighting, completion and history. Reading plain lines.\n")
        lines = _plain_lines(stdin, stdout)
    screen.write(f"wsquery {__version__}, target {session.target}. "
                 ":help for commands, Ctrl-D to leave.")
    for text in lines:
        if not text.strip():
            continue
        outcome = session.handle(text)
        if isinstance(outcome, _Quit):
            break
        screen.show(outcome, whole_json=session.show_json)
    return 0


def _serve_json(session: _Session, stdin: IO[str], stdout: TextIO) -> int:
    for line in stdin:
        if not line.strip():
            continue
        data = _json_outcome(session.handle(line))
        if data is None:
            break
        stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        stdout.flush()
    return 0
