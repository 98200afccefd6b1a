"""Your own runs in the local server: `wsquery serve --runs FILE`, and `wsquery add-runs` to a
server that is running, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import wsquery
from wsquery.apps.server import MAX_BODY, ViewServer
from wsquery.errors import PermissionDeniedError
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RUNS = [
    {"id": "r1", "name": "sweep-1", "state": "finished", "created_at": "2024-05-01T00:00:00Z",
     "config": {"lr": 0.1}, "summary": {"acc": 0.91},
     "history": [{"_step": 0, "acc": 0.5}, {"_step": 1, "acc": 0.91}]},
    {"id": "r2", "name": "sweep-2", "state": "crashed", "created_at": "2024-05-02T00:00:00Z",
     "config": {"lr": 0.01}, "summary": {"acc": 0.42}},
    {"id": "r3", "name": "other", "state": "finished", "created_at": "2024-05-03T00:00:00Z",
     "config": {"lr": 0.001}, "summary": {"acc": 0.77}},
]


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("WANDB_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture
def runs_file(tmp_path: Path) -> Path:
    path = tmp_path / "my-sweep.jsonl"
    path.write_text("".join(json.dumps(run) + "\n" for run in RUNS), encoding="utf-8")
    return path


class Served:
    """`wsquery serve` in a process of its own, and what it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wsquery", "serve", *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=_env())
        assert self.process.stdout is not None
        self.lines: list[str] = []
        while not self.lines or self.lines[-1] != "Press Ctrl-C to stop.":
            line = self.process.stdout.readline()
            assert line, f"serve ended early: {self.lines} {self.process.stderr}"
            self.lines.append(line.strip())
        self.url = self.lines[3].removeprefix("export WANDB_BASE_URL=")
        key_file = self.lines[5].split(" it is kept in ")[1].removesuffix(
            " (readable by you alone).")
        self.key = Path(key_file).read_text(encoding="utf-8").strip()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=20) == 0


@pytest.fixture
def served(tmp_path: Path, runs_file: Path) -> Iterator[Served]:
    server = Served("--db", str(tmp_path / "views.sqlite3"), "--runs", str(runs_file))
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def test_serve_runs_a_file_of_your_own_runs(served: Served) -> None:
    assert served.lines[6] == (f"3 runs of {served.lines[6].split(' of ')[1].split(' in ')[0]}"
                               f" in wsquery/my-sweep: {served.url}/wsquery/my-sweep")
    selected = wsquery.runs("wsquery", "my-sweep", 'state == "finished" order by config.lr',
                            base_url=served.url, api_key=served.key)
    assert [run["name"] for run in selected] == ["r3", "r1"]  # W&B's name is the run id
    client = GraphQLClient(Settings(served.url, served.key, served.url))
    answer = client.execute('query { project(name: "my-sweep", entityName: "wsquery") { '
                            'run(name: "r1") { history } } }')
    rows = [json.loads(row) for row in answer["project"]["run"]["history"]]
    assert [row["acc"] for row in rows] == [0.5, 0.91]
    served.stop()


def test_serve_reads_a_run_table(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("id,state,config.lr,summary.`val loss`\n"
                     "t1,finished,0.1,0.5\nt2,running,0.01,\nt3,finished,0.001,0.2\n",
                     encoding="utf-8")
    server = Served("--db", str(tmp_path / "views.sqlite3"), "--runs", str(table),
                    "--project", "tables")
    try:
        assert server.lines[6].startswith("3 runs of ")
        selected = wsquery.runs("wsquery", "tables", "summary.`val loss` <= 0.5 "
                                "order by summary.`val loss`", base_url=server.url,
                                api_key=server.key)
        assert [run["name"] for run in selected] == ["t3", "t1"]  # t2's empty cell: no key
        server.stop()
    finally:
        if server.process.poll() is None:
            server.process.kill()


def test_serve_refuses_a_project_of_another_entity_and_a_project_without_runs(
        tmp_path: Path, runs_file: Path) -> None:
    other = subprocess.run(
        [sys.executable, "-m", "wsquery", "serve", "--db", str(tmp_path / "v.sqlite3"),
         "--runs", str(runs_file), "--project", "someone/else"],
        capture_output=True, text=True, env=_env(), timeout=60)
    assert other.returncode == 2
    assert "the key acts as 'wsquery', so runs go to wsquery/PROJECT" in other.stderr
    lonely = subprocess.run([sys.executable, "-m", "wsquery", "serve", "--project", "x"],
                            capture_output=True, text=True, env=_env(), timeout=60)
    assert lonely.returncode == 2 and "give --runs FILE too" in lonely.stderr


def test_add_runs_to_a_running_server(view_server: ViewServer, runs_file: Path) -> None:
    project = f"added-{uuid.uuid4().hex[:8]}"
    env = _env(WANDB_API_KEY=view_server.api_key)
    added = subprocess.run(
        [sys.executable, "-m", "wsquery", "add-runs", str(runs_file), "--project", project,
         "--base-url", view_server.url], capture_output=True, text=True, env=env, timeout=60)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (f"3 runs added to wsquery/{project}: "
                                    f"{view_server.url}/wsquery/{project}")
    assert [run["name"] for run in wsquery.runs(
        "wsquery", project, "order by config.lr", base_url=view_server.url,
        api_key=view_server.api_key)] == ["r3", "r2", "r1"]
    again = subprocess.run(  # the same ids again: replaced, not doubled
        [sys.executable, "-m", "wsquery", "add-runs", "-", "--project", f"wsquery/{project}",
         "--base-url", view_server.url], input=json.dumps(RUNS[:1]), capture_output=True,
        text=True, env=env, timeout=60)
    assert again.returncode == 0, again.stderr
    assert len(wsquery.runs("wsquery", project, "", base_url=view_server.url,
                            api_key=view_server.api_key)) == 3


def test_add_runs_refusals(view_server: ViewServer, runs_file: Path, tmp_path: Path) -> None:
    env = _env(WANDB_API_KEY=view_server.api_key)
    other = subprocess.run(
        [sys.executable, "-m", "wsquery", "add-runs", str(runs_file), "--project",
         "someone/else", "--base-url", view_server.url],
        capture_output=True, text=True, env=env, timeout=60)
    assert other.returncode == 2
    assert "this API key belongs to 'wsquery', not 'someone'" in other.stderr
    assert view_server.api_key not in other.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a"}\n{"id": \n', encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "wsquery", "add-runs", str(broken), "--project", "p",
         "--base-url", view_server.url], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "broken.jsonl:2: line 1, column 8: invalid JSON" in bad.stderr
    with pytest.raises(PermissionDeniedError):
        GraphQLClient(Settings(view_server.url, view_server.add_key("team-b"),
                               view_server.url)).add_runs("wsquery", "p", RUNS)


def test_the_runs_endpoint_answers_bad_requests_with_4xx(view_server: ViewServer) -> None:
    url = f"{view_server.url}/api/runs/wsquery/endpoint"
    key = ("api", view_server.api_key)
    assert requests.post(url, json=RUNS, timeout=10).status_code == 401
    assert requests.post(url, json=RUNS, auth=("api", "wrong"), timeout=10).status_code == 401
    assert requests.post(url, json={"id": "x"}, auth=key, timeout=10).status_code == 400
    assert requests.post(url, data="[", auth=key, timeout=10,
                         headers={"Content-Type": "application/json"}).status_code == 400
    assert requests.post(url, data="[]", auth=key, timeout=10).status_code == 415
    assert requests.post(f"{view_server.url}/api/runs/wsquery", json=[], auth=key,
                         timeout=10).status_code == 404
    bad_history = [{"id": "h", "history": [{"no_step": 1}]}]
    refused = requests.post(url, json=bad_history, auth=key, timeout=10)
    assert refused.status_code == 400 and "_step" in refused.text
    too_big = requests.post(url, data=b"[" + b" " * (MAX_BODY + 1) + b"]", auth=key,
                            headers={"Content-Type": "application/json"}, timeout=30)
    assert too_big.status_code == 413
    ok = requests.post(url, json=RUNS[:2], auth=key, timeout=10)
    assert ok.status_code == 200 and ok.json() == {"data": {"added": 2, "ids": ["r1", "r2"]}}
