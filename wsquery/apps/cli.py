"""Command line: argv -> one of compile, fmt, explain, decompile, filter, repl and the workspace
commands; errors go to stderr with their caret snippet and exit status 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from wsquery.apps.display import (
    TABLE_SUFFIXES,
    in_terms_of,
    json_line,
    load_json,
    load_runs,
    load_table,
    outline,
    read_text,
    table_rows,
)
from wsquery.errors import TargetError, WsqueryError
from wsquery.version import __version__

if TYPE_CHECKING:
    from wsquery.compilers.registry import Option

EXIT_USAGE = 2
#: What a shell reports for a program that SIGPIPE stopped (128 + 13).
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``wsquery`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    handler = getattr(args, "func", None)
    if handler is None:  # no command: the REPL
        handler = _repl
        args.target, args.runs, args.history = "runset", None, None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status: int = handler(args)
            sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        for warning in caught:
            print(in_terms_of(f"warning: {warning.message}", "cli"), file=sys.stderr)
        return status
    except WsqueryError as error:
        print(in_terms_of(f"error: {error}", "cli"), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (``| head``): stop without a word
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as error:
        print(f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wsquery",
        description="Say which runs a W&B workspace shows. With no command: the query REPL.")
    parser.add_argument("--version", action="version", version=f"wsquery {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    compile_cmd = commands.add_parser(
        "compile", help="print what a query compiles to: run-set JSON, or another target's")
    compile_cmd.add_argument("--target", default="runset",
                             help="runset (run-set JSON, the default; also called "
                             "workspace), runs-api (the arguments of wandb.Api().runs), "
                             "mongo (a MongoDB filter), "
                             "wandb-workspaces (its filter string), or a plugin's target")
    _add_target_options(compile_cmd)
    compile_cmd.add_argument("--runs", metavar="FILE",
                             help="runs, read as filter reads them, whose keys the query's are "
                             "checked against: a key none has is a warning (with --strict, "
                             "an error)")
    compile_cmd.add_argument("query", help="query text, or - to read it from stdin")
    compile_cmd.set_defaults(func=_compile)

    fmt = commands.add_parser("fmt", help="print a query's canonical text")
    fmt.add_argument("query", help="query text, or - to read it from stdin")
    fmt.set_defaults(func=_fmt)

    explain = commands.add_parser(
        "explain", help="show the normalized form, the filter shape and the warnings")
    explain.add_argument("--format", choices=("filterv2", "legacy"), default="filterv2")
    explain.add_argument("query", help="query text, or - to read it from stdin")
    explain.set_defaults(func=_explain)

    decompile = commands.add_parser(
        "decompile", help="print the query of run-set JSON (a run set, its filters or a view)")
    decompile.add_argument("file", nargs="?", default="-", help="JSON file, or - for stdin")
    decompile.set_defaults(func=_decompile)

    filter_cmd = commands.add_parser(
        "filter", help="print the runs of a file that match, in order: JSON lines or a JSON "
        "array, or a run table in CSV or Parquet (by its suffix)")
    filter_cmd.add_argument("query", help="query text, or - to read it from stdin")
    filter_cmd.add_argument("runs", help="runs as JSON lines or a JSON array (- for stdin), "
                            "or a .csv, .parquet or .pq run table")
    filter_cmd.set_defaults(func=_filter)

    runs = commands.add_parser(
        "runs", help="fetch a project's matching runs over GraphQL, one JSON run per line")
    runs.add_argument("project", metavar="ENTITY/PROJECT")
    runs.add_argument("query", help="query text, or - to read it from stdin")
    runs.add_argument("--page-size", type=int, default=50)
    runs.add_argument("--base-url", help="the W&B server (default: as W&B's client finds it)")
    runs.set_defaults(func=_runs)

    repl = commands.add_parser("repl", help="the interactive query REPL")
    repl.add_argument("--target", default="runset")
    repl.add_argument("--runs", help="runs file whose matches every query lists")
    repl.add_argument("--history", help="history file (default ~/.wsquery_history)")
    repl.set_defaults(func=_repl)

    try:
        from wsquery.apps.commands import add_commands
    except ImportError:  # pragma: no cover - the workspace commands ship with the package
        pass
    else:
        add_commands(commands)
    return parser


def _read_query(text: str) -> str:
    return sys.stdin.read().strip() if text == "-" else text


def _add_target_options(command: argparse.ArgumentParser) -> None:
    """A flag for every option of wsquery's own targets (from the registry, importing no
    target), and ``--option NAME=VALUE`` for a plugin target's."""
    from wsquery.compilers.registry import builtin_options

    for option, targets in builtin_options().values():
        flag = "--" + option.name.replace("_", "-")
        shown = f"{', '.join(targets)}: {option.help}"
        if option.kind == "flag":
            command.add_argument(flag, action="store_true", default=None, help=shown)
        elif option.kind == "choice":
            command.add_argument(flag, choices=option.choices, help=shown)
        else:
            command.add_argument(flag, metavar="ISO" if option.kind == "time" else "TEXT",
                                 help=shown)
    command.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                         help="an option of a plugin's target (repeatable)")


def _target_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options given for ``args.target``, read as its ``Option``s say."""
    from wsquery.compilers.registry import builtin_options, get, options

    declared = {option.name: option for option in options(get(args.target))}
    for name in builtin_options().keys() - declared.keys():
        if getattr(args, name, None) is not None:
            raise WsqueryError(f"--{name.replace('_', '-')}: the {args.target} target takes "
                               "no such option")
    given: dict[str, Any] = {}
    for name, option in declared.items():
        value = getattr(args, name, None)
        if value is not None:  # argparse took a flag or a choice; a time is still text
            given[name] = _read(option, value, "--") if option.kind == "time" else value
    for item in args.option:
        name, equals, value = item.partition("=")
        if not equals:
            raise WsqueryError(f"--option {item!r}: expected NAME=VALUE")
        known = declared.get(name)
        given[name] = value if known is None else _read(known, value, "--option ")
    return given


def _read(option: Option, value: str, flag: str) -> Any:
    """``value`` read as ``option`` says, its refusal naming the option as typed (``flag``)."""
    try:
        return option.read(value)
    except WsqueryError as error:
        raise WsqueryError(flag + str(error)) from None


def _compile(args: argparse.Namespace) -> int:
    from wsquery.compilers.registry import compile

    text = _read_query(args.query)
    options = _target_options(args)
    result = compile(text, target=args.target, **options)
    if args.runs:
        _check_keys(text, _runs_file(args.runs), strict=bool(options.get("strict")))
    _print_warnings(result.warnings)
    output = result.to_json()
    if not isinstance(output, str):
        try:
            output = json.dumps(output, indent=2, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError) as error:
            raise TargetError(f"its result cannot be written as JSON: {error}",
                              target=args.target) from None
    print(output)
    return 0


def _fmt(args: argparse.Namespace) -> int:
    from wsquery.syntax.parser import parse

    print(parse(_read_query(args.query)))
    return 0


def _explain(args: argparse.Namespace) -> int:
    from wsquery.compilers.registry import compile
    from wsquery.semantics.normalize import normalize
    from wsquery.syntax.parser import parse

    text = _read_query(args.query)
    query = parse(text)
    result = compile(query, format=args.format, exact_ops=True)
    relaxed = compile(text, format=args.format)
    runset = result.to_json()
    print(f"canonical:  {query}")
    print(f"normalized: {normalize(query)}")
    search = runset["search"]
    if search.get("query"):
        kind = "regex" if search.get("isRegex") else "text"
        print(f"search:     {kind} {json.dumps(search['query'], ensure_ascii=False)}")
    print(f"filters ({args.format}):")
    for line in outline(runset["filters"]):
        print("  " + line)
    grouping = ", ".join(f"{k['section']}.{k['name']}" for k in runset["grouping"])
    print(f"grouping:   {grouping or '(none)'}")
    sort = ", ".join(f"{k['key']['section']}.{k['key']['name']} "
                     f"{'asc' if k['ascending'] else 'desc'}" for k in runset["sort"]["keys"])
    print(f"sort:       {sort}")
    _print_warnings(relaxed.warnings)
    return 0


def _decompile(args: argparse.Namespace) -> int:
    from wsquery.compilers.runset.read import decompile

    source = read_text(args.file)
    print(decompile(_runset_of(load_json(source, args.file))))
    return 0


def _runset_of(data: Any) -> Any:
    """The run set inside a saved view (its node or its spec), or the data itself."""
    if isinstance(data, dict) and isinstance(data.get("spec"), str):
        data = load_json(data["spec"], "spec")
    if isinstance(data, dict) and isinstance(data.get("section"), dict):
        run_sets = data["section"].get("runSets") or [{}]
        return run_sets[0]
    return data


def _filter(args: argparse.Namespace) -> int:
    from wsquery.compilers.registry import compile
    from wsquery.semantics.evaluate import evaluate
    from wsquery.syntax.parser import parse

    query = _read_query(args.query)
    runs = _runs_file(args.runs)
    _check_keys(query, runs, strict=False)
    if isinstance(runs, list):
        selected = evaluate(parse(query), runs)
    else:
        compiled = compile(query, target="pandas")
        selected = table_rows(compiled(runs))
    for run in selected:
        print(json_line(run))
    return 0


def _runs_file(path: str) -> Any:
    """The runs of a file (- for stdin): a pandas frame for a run table (CSV or Parquet, by
    its suffix), else a list of runs from JSON lines or a JSON array."""
    if path.lower().endswith(TABLE_SUFFIXES):
        return load_table(path)
    return load_runs(read_text(path), path)


def _check_keys(text: str, runs: Any, *, strict: bool) -> None:
    """Warn on stderr of each config or summary key of the query that none of ``runs`` (as
    ``_runs_file`` reads them) holds, naming the closest keys; with ``strict``, fail."""
    from wsquery.errors import QueryValidationError, render_problem
    from wsquery.semantics.keys import known_keys, unknown_keys
    from wsquery.syntax.parser import parse

    if isinstance(runs, list):
        known = known_keys(runs)
    else:
        from wsquery.compilers.run_table import shape_of

        known = known_keys(fields=shape_of(runs).parts)
    problems = [] if known is None else unknown_keys(parse(text), known)
    if problems and strict:
        raise QueryValidationError(text, problems)
    for problem in problems:
        print(f"warning: {render_problem(text, problem)}", file=sys.stderr)


def _runs(args: argparse.Namespace) -> int:
    from wsquery.wandb.runs import runs

    entity, slash, project = args.project.partition("/")
    if not (entity and slash and project):
        raise WsqueryError(f"expected ENTITY/PROJECT, not {args.project!r}")
    for run in runs(entity, project, _read_query(args.query), base_url=args.base_url,
                    page_size=args.page_size):
        print(json_line(run))
    return 0


def _repl(args: argparse.Namespace) -> int:
    from wsquery.apps.repl import run_repl

    return run_repl(target=args.target, runs_file=args.runs, history_file=args.history)


def _print_warnings(items: Sequence[object], stream: TextIO | None = None) -> None:
    for item in items:
        print(in_terms_of(f"warning: {item}", "cli"), file=stream or sys.stderr)
