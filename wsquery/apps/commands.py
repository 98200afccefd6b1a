"""argparse arguments -> the workspace commands: serve, add-runs, demo, save, load, list and
delete.

``wsquery.apps.cli`` calls ``add_commands`` with its subparsers; each handler returns the exit
status and lets ``WsqueryError`` through for the CLI to print. Handlers import the workspace
model when they run, so the other commands of the CLI start without it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

import attrs

from wsquery.errors import WsqueryError

if TYPE_CHECKING:
    from wsquery.apps.server import ViewServer
    from wsquery.wandb.graphql import GraphQLClient
    from wsquery.wandb.views import Workspace

#: The project the demo saves its views to.
DEMO_PROJECT = "wsquery-demo"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the workspace commands on the ``wsquery`` command's subparsers."""
    serve = commands.add_parser("serve", help="run a local W&B-compatible view server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on "
                       "(default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument("--db", help="SQLite file holding the views "
                       "(default: ~/.local/share/wsquery/views.sqlite3; its key is kept "
                       "beside it, views.key)")
    serve.add_argument("--runs", metavar="FILE", help="runs to serve: JSON lines or a JSON "
                       "array of runs, or a run table (CSV, Parquet), as `wsquery filter` "
                       "reads them")
    serve.add_argument("--project", metavar="[ENTITY/]PROJECT",
                       help="the project --runs go to (default: the file's name)")
    serve.set_defaults(func=_serve)

    add_runs = commands.add_parser(
        "add-runs", help="add runs from a file to a running `wsquery serve`")
    add_runs.add_argument("file", metavar="FILE", help="JSON lines or a JSON array of runs, "
                          "or a run table (CSV, Parquet); - for stdin (JSON)")
    add_runs.add_argument("--project", metavar="[ENTITY/]PROJECT", required=True,
                          help="where the runs go (ENTITY: the key's own by default)")
    _add_server_option(add_runs)
    add_runs.set_defaults(func=_add_runs)

    demo = commands.add_parser(
        "demo", help="build, save and load back example workspaces (a local server unless "
                     "WANDB_API_KEY is set)")
    demo.add_argument("--serve", action="store_true",
                      help="keep the local server running afterwards, with example runs, to "
                           "open the views' pages in a browser (Ctrl-C stops it)")
    demo.set_defaults(func=_demo)

    save = commands.add_parser("save", help="save a workspace view showing a query's runs")
    save.add_argument("--entity", help="entity (default: the API key's own)")
    save.add_argument("--project", required=True)
    save.add_argument("--name", required=True, help="the view's display name")
    save.add_argument("--query", required=True, help="query text, or - to read it from stdin")
    save.add_argument("--description", default="")
    save.add_argument("--dry-run", action="store_true",
                      help="print the GraphQL request instead of sending it")
    save.add_argument("--check-keys", action="store_true",
                      help="first check the query's keys against the project's newest runs: "
                      "a key none has is an error, and nothing is saved")
    _add_server_option(save)
    save.set_defaults(func=_save)

    load = commands.add_parser("load", help="print a saved view's query (or its whole spec)")
    load.add_argument("url", help="the view's link, https://HOST/ENTITY/PROJECT?nw=ID")
    load.add_argument("--spec", action="store_true", help="print the whole spec as JSON")
    _add_server_option(load)
    load.set_defaults(func=_load)

    list_cmd = commands.add_parser("list", help="list a project's saved views")
    list_cmd.add_argument("project", metavar="ENTITY/PROJECT")
    _add_server_option(list_cmd)
    list_cmd.set_defaults(func=_list)

    delete = commands.add_parser("delete", help="delete a saved view")
    delete.add_argument("url", help="the view's link, https://HOST/ENTITY/PROJECT?nw=ID")
    delete.add_argument("--dry-run", action="store_true",
                        help="print the GraphQL request instead of sending it")
    _add_server_option(delete)
    delete.set_defaults(func=_delete)


def _add_server_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="W&B API URL (default: WANDB_BASE_URL, the wandb "
                        "settings file, else https://api.wandb.ai); the key comes from "
                        "WANDB_API_KEY or .netrc")


def _client(args: argparse.Namespace) -> GraphQLClient:
    from wsquery.wandb.graphql import GraphQLClient
    from wsquery.wandb.settings import resolve_settings

    return GraphQLClient(resolve_settings(base_url=args.base_url))


def _serve(args: argparse.Namespace) -> int:
    from wsquery.apps.display import runs_in_file
    from wsquery.apps.server import run_server

    if args.project and not args.runs:
        raise WsqueryError("--project names where --runs go: give --runs FILE too")
    runs = runs_in_file(args.runs) if args.runs else []
    project = args.project or (_file_stem(args.runs) if args.runs else None)
    return run_server(args.host, args.port, args.db, runs=runs, runs_project=project,
                      runs_source=f" of {args.runs}" if args.runs else "")


#: The most runs one request of ``add-runs`` carries (the server takes 16 MiB a request).
RUNS_PER_REQUEST = 2000


def _add_runs(args: argparse.Namespace) -> int:
    from wsquery.apps.display import runs_in_file

    runs = runs_in_file(args.file)  # - reads JSON from standard input
    client = _client(args)
    entity, _, project = args.project.rpartition("/")
    if not project or "/" in entity:
        raise WsqueryError(f"--project {args.project!r}: name it PROJECT or ENTITY/PROJECT")
    entity = entity or client.default_entity()
    added = 0
    for start in range(0, len(runs), RUNS_PER_REQUEST):
        added += len(client.add_runs(entity, project, runs[start:start + RUNS_PER_REQUEST]))
    print(f"{added} run{'' if added == 1 else 's'} added to {entity}/{project}: "
          f"{client.settings.app_url.rstrip('/')}/{quote(entity)}/{quote(project)}")
    return 0


def _file_stem(path: str) -> str:
    """The project a file's runs go to by default: its name without the suffix."""
    return "runs" if path == "-" else os.path.splitext(os.path.basename(path))[0] or "runs"


def _save(args: argparse.Namespace) -> int:
    from wsquery.wandb.views import Workspace

    query = sys.stdin.read().strip() if args.query == "-" else args.query
    client = _client(args)
    workspace = Workspace(args.entity or client.default_entity(), args.project, args.name,
                          args.description, query=query)
    if args.dry_run:
        _print_json(workspace.save(client=client, dry_run=True, check_keys=args.check_keys))
        return 0
    print(workspace.save(client=client, check_keys=args.check_keys).url)
    return 0


def _load(args: argparse.Namespace) -> int:
    from wsquery.wandb.views import Workspace

    workspace = Workspace.from_url(args.url, client=_client(args))
    if args.spec:
        _print_json(workspace.to_spec())
    else:
        print(workspace.query)
    return 0


def _list(args: argparse.Namespace) -> int:
    from wsquery.wandb.views import WorkspaceValueError, list_views

    entity, slash, project = args.project.partition("/")
    if not slash or not entity or not project or "/" in project:
        raise WorkspaceValueError(f"{args.project!r}: name the project as ENTITY/PROJECT")
    for view in list_views(entity, project, client=_client(args)):
        print(f"{view.url}\t{view.display_name}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from wsquery.wandb.views import Workspace

    client = _client(args)
    workspace = Workspace.from_url(args.url, client=client)
    if args.dry_run:
        _print_json(workspace.delete(client=client, dry_run=True))
        return 0
    url = workspace.url
    workspace.delete(client=client)
    print(f"deleted {url}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    return run_demo(sys.stdout, serve=args.serve)


def _print_json(data: Any, out: TextIO | None = None) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False), file=out or sys.stdout)


# --- the demo ---------------------------------------------------------------------------------

def run_demo(out: TextIO, *, serve: bool = False) -> int:
    """Save the tutorial's workspaces, load each back and print its link and run set. Talks
    to W&B when WANDB_API_KEY is set, else to a local server on a free port, with example runs
    stored beside the views, that is stopped (and its temporary database removed) at the end,
    or with ``serve`` after Ctrl-C, once a sign-in link for its pages is printed."""
    with _demo_client(out, serve=serve) as (client, server):
        entity = client.default_entity()
        print(f"entity {entity!r}, project {DEMO_PROJECT!r}\n", file=out)
        if server is not None:
            server.add_runs(entity, DEMO_PROJECT, demo_runs())
        failures = 0
        for number, workspace in enumerate(demo_workspaces(entity, DEMO_PROJECT), 1):
            failures += _save_and_show(number, workspace, client, out)
        if failures:
            print(f"{failures} workspace(s) did not load back as saved", file=out)
        if server is None:
            return 1 if failures else 0
        if not serve:
            print("The local server stops now; `wsquery demo --serve` keeps it running to open "
                  "these views in a browser.", file=out)
            return 1 if failures else 0
        from wsquery.apps.server import keep_key, key_file, wait_for_ctrl_c

        key_path = key_file(server.db_path)
        keep_key(server, key_path)
        link = server.login_link(f"/{quote(entity, safe='')}/{quote(DEMO_PROJECT, safe='')}")
        print(f"Open the views in a browser (this sign-in link works once): {link}\n"
              f"Once it is used, sign in with the key kept in {key_path} (its entity: "
              f"{entity!r}); WANDB_BASE_URL={server.url} and that key point wsquery or the "
              "wandb SDK at it.\n"
              "The server runs until Ctrl-C, then its temporary folder is removed. "
              "Press Ctrl-C to stop.", file=out, flush=True)
        wait_for_ctrl_c()
    return 1 if failures else 0


@contextmanager
def _demo_client(out: TextIO, *, serve: bool
                 ) -> Iterator[tuple[GraphQLClient, ViewServer | None]]:
    """A client of the server the demo saves to, and that server when it is the demo's own."""
    from wsquery.wandb.graphql import GraphQLClient
    from wsquery.wandb.settings import Settings, resolve_settings

    if os.environ.get("WANDB_API_KEY"):
        settings = resolve_settings()
        print(f"wsquery demo: saving to {settings.base_url} (WANDB_API_KEY is set)", file=out)
        with GraphQLClient(settings) as client:
            yield client, None
        return
    from wsquery.apps.server import ViewServer

    with ViewServer() as server:
        lasting = ("it runs until Ctrl-C, then its temporary folder is removed" if serve else
                   "temporary: it stops when the demo ends; `wsquery demo --serve` keeps it "
                   "running, and `wsquery serve` runs one whose views stay")
        print(f"wsquery demo: WANDB_API_KEY is not set, so the views go to a local view server "
              f"at {server.url}\n({lasting})", file=out)
        settings = Settings(base_url=server.url, api_key=server.api_key, app_url=server.url)
        with GraphQLClient(settings) as client:
            yield client, server


def _save_and_show(number: int, workspace: Workspace, client: GraphQLClient,
                   out: TextIO) -> int:
    """Save, load back by URL, print; 1 when the loaded view differs from the saved one."""
    from wsquery.wandb.views import Workspace, WorkspaceSettings

    saved_spec = workspace.to_spec()
    workspace.save(client=client)
    loaded = Workspace.from_url(workspace.url, client=client)
    panels = sum(len(section.panels) for section in loaded.sections)
    print(f"{number}. {loaded.name}\n"
          f"   url:      {loaded.url}\n"
          f"   query:    {str(loaded.query) or '(every run, newest first)'}\n"
          f"   sections: {', '.join(s.name for s in loaded.sections) or '(none)'} "
          f"({panels} panels)", file=out)
    defaults = attrs.asdict(WorkspaceSettings())
    changed = {k: v for k, v in attrs.asdict(loaded.settings).items() if v != defaults[k]}
    if changed:
        print(f"   settings: {', '.join(f'{k}={v!r}' for k, v in changed.items())}", file=out)
    if loaded.run_settings:
        runs = ", ".join(f"{run_id}={rs.color or '-'}{' (hidden)' if rs.disabled else ''}"
                         for run_id, rs in loaded.run_settings.items())
        print(f"   runs:     {runs}", file=out)
    run_set = loaded.to_spec()["section"]["runSets"][0]
    for key in ("filters", "grouping", "sort", "search"):
        print(f"   {key + ':':9} {json.dumps(run_set[key], ensure_ascii=False)}", file=out)
    print(file=out)
    if loaded.to_spec() != saved_spec:
        print("   error: the loaded view differs from the saved one", file=out)
        return 1
    return 0


def demo_workspaces(entity: str, project: str) -> list[Workspace]:
    """The seed tutorial's workspaces: sections, custom settings, a filtered view with a name
    regex, run colors, grouping, sorting, then all of it together."""
    from wsquery.wandb.views import (
        BarPlot,
        LinePlot,
        RunSettings,
        ScalarChart,
        Section,
        SectionPanelSettings,
        Workspace,
        WorkspaceSettings,
    )

    def sections() -> list[Section]:
        return [
            Section("Validation Metrics", [
                LinePlot(x="Step", y=["val_loss"], title="Validation loss"),
                BarPlot(metrics=["val_accuracy"]),
                ScalarChart(metric="f1_score", groupby_aggfunc="mean"),
            ], is_open=True),
            Section("Training Metrics", [
                LinePlot(x="Step", y=["train_loss"]),
                LinePlot(x="Step", y=["train_accuracy"]),
            ], is_open=True),
        ]

    def workspace(name: str, **parts: Any) -> Workspace:
        return Workspace(entity, project, name, parts.pop("description", ""), **parts)

    colors = {"run-a": RunSettings(color="red"), "run-b": RunSettings(color="#FAC13C"),
              "run-c": RunSettings(disabled=True)}
    settings = WorkspaceSettings(
        x_min=0, x_max=75, smoothing_type="gaussian", smoothing_weight=20,
        ignore_outliers=True, remove_legends_from_panels=True,
        tooltip_number_of_runs="all_runs", tooltip_color_run_names=False, max_runs=20)
    return [
        workspace("Validation and training sections", sections=sections()),
        workspace("Custom settings", settings=settings, sections=[
            Section("Validation Metrics", [
                LinePlot(x="Step", y=["val_loss"], title="Validation Loss Custom Title",
                         title_x="Custom x-axis title"),
                BarPlot(metrics=["val_accuracy"]),
                ScalarChart(metric="f1_score", groupby_aggfunc="mean"),
            ], is_open=True,
                    panel_settings=SectionPanelSettings(x_min=25, x_max=50,
                                                        smoothing_type="none"))]),
        workspace("Filtered runs",
                  query='summary.val_loss <= 0.1 and state == "finished" and name =~ "^s"',
                  sections=sections()),
        workspace("Run colors", run_settings=colors, sections=sections()),
        workspace("Grouped by optimizer", query="group by config.optimizer",
                  sections=sections()),
        workspace("Sorted by validation loss",
                  query="order by summary.val_loss, created_at desc", sections=sections()),
        workspace("End to end",
                  description="sections, settings, a filter, a name regex, colors, grouping "
                              "and sorting together",
                  query='summary.val_loss <= 0.1 and config.learning_rate in [0.001, 0.01] '
                        'and name =~ "^s" group by config.optimizer order by summary.val_loss',
                  sections=sections(), settings=settings, run_settings=colors),
    ]


def demo_runs() -> list[dict[str, Any]]:
    """Example runs for the demo's local server, so its view pages show runs: ids ``run-a`` to
    ``run-h`` (the colored and hidden ones among them), names some of which start with "s",
    two optimizers, three learning rates, finished and other states."""
    rows = [
        ("run-a", "sunny-field-1", "finished", "adam", 0.001, 0.082, 0.91, 0.88),
        ("run-b", "swift-river-2", "finished", "sgd", 0.01, 0.064, 0.93, 0.90),
        ("run-c", "stellar-night-3", "finished", "adam", 0.01, 0.095, 0.89, 0.86),
        ("run-d", "bold-sky-4", "finished", "adam", 0.001, 0.051, 0.95, 0.93),
        ("run-e", "silent-wave-5", "running", "sgd", 0.001, 0.071, 0.92, 0.89),
        ("run-f", "shy-moon-6", "crashed", "sgd", 0.1, 0.412, 0.61, 0.55),
        ("run-g", "solar-wind-7", "finished", "sgd", 0.001, 0.058, 0.94, 0.92),
        ("run-h", "quiet-dune-8", "failed", "adam", 0.1, 0.377, 0.66, 0.60),
    ]
    return [
        {"id": run_id, "name": name, "state": state, "created_at": f"2024-05-0{day}T09:00:00Z",
         "tags": ["demo"], "job_type": "train",
         "config": {"optimizer": optimizer, "learning_rate": learning_rate, "epochs": 75},
         "summary": {"val_loss": val_loss, "val_accuracy": accuracy, "f1_score": f1,
                     "train_loss": round(val_loss * 0.8, 3),
                     "train_accuracy": round(min(accuracy + 0.03, 1.0), 3)},
         "history": _demo_history(day, val_loss, accuracy)}
        for day, (run_id, name, state, optimizer, learning_rate, val_loss, accuracy, f1)
        in enumerate(rows, 1)]


#: The demo runs' logged steps: every 5th of 75 epochs.
DEMO_STEPS = range(0, 76, 5)


def _demo_history(seed: int, val_loss: float, accuracy: float) -> list[dict[str, float]]:
    """Rows a training run logs, nearing its summary: losses falling from about 1 and
    accuracies rising from about 0.3, each with a little wobble of its own."""
    rows = []
    for step in DEMO_STEPS:
        left = math.exp(-step / 15)  # how much of the way is still to go
        wobble = 0.015 * math.sin(step / 4 + seed) * left
        loss = val_loss + (1.0 - val_loss) * left + wobble
        correct = accuracy - (accuracy - 0.3) * left - wobble
        rows.append({"_step": step, "val_loss": round(loss, 4),
                     "train_loss": round(loss * 0.8, 4), "val_accuracy": round(correct, 4),
                     "train_accuracy": round(min(correct + 0.03, 1.0), 4)})
    return rows
