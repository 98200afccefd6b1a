"""How wsquery's objects show in a notebook: ``_repr_html_`` as Jupyter calls it."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

import wsquery

ROOT = Path(__file__).resolve().parent.parent
_TAGS = re.compile(r"<[^>]+>")


def _text(markup: str) -> str:
    return html.unescape(_TAGS.sub("", markup))


@pytest.mark.parametrize("target", ["runset", "runs-api", "mongo", "wandb-workspaces"])
def test_a_compiled_query_shows_its_query_warnings_and_output(target: str) -> None:
    text = 'summary.acc > 0.5 and state == "finished" and config.note == "<b>"'
    if target == "wandb-workspaces":
        text = 'summary.acc >= 0.5 and state == "finished"'
    compiled = wsquery.compile(text, target=target)
    markup = compiled._repr_html_()
    shown = _text(markup)
    assert str(wsquery.parse(text)) in shown  # the query, highlighted: tags between words
    assert re.search(r"<span[^>]*>summary\.acc</span>|<span[^>]*>summary", markup)
    if target == "runset":
        assert "warning: summary.acc > 0.5 became summary.acc >= 0.5" in shown
        assert '"filterFormat": "filterV2"' in shown
    if target != "wandb-workspaces":
        assert "<b>" not in markup  # every value escaped
    output = compiled.to_json()
    assert (output if isinstance(output, str) else '"filters"') in shown


def test_a_run_set_from_the_cache_shows_the_same() -> None:
    text = "config.cached == 12345"
    first, _, third = (wsquery.compile(text) for _ in range(3))  # kept from the second
    assert first._repr_html_() == third._repr_html_()
    assert "config.cached == 12345" in _text(third._repr_html_())


def _without_pygments(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run in a fresh interpreter where importing Pygments fails."""
    blocked = tmp_path / "pygments"
    blocked.mkdir()
    (blocked / "__init__.py").write_text("raise ImportError('not installed')\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60,
                          env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"})


def test_without_pygments_it_is_plain_escaped_text(tmp_path: Path) -> None:
    result = _without_pygments(tmp_path, "import wsquery\n"
                               "print(wsquery.compile('config.a == \"<x>\"')._repr_html_())")
    assert result.returncode == 0, result.stderr
    assert "<pre>config.a == &quot;&lt;x&gt;&quot;</pre>" in result.stdout


def test_the_tutorial_notebook_runs(tmp_path: Path) -> None:
    """examples/programmatic_workspaces.ipynb, executed as Jupyter would, against the embedded
    server it starts: every cell runs, and each step shows what the tutorial promises."""
    import nbformat  # the test extra brings nbformat, nbclient and ipykernel
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "examples" / "programmatic_workspaces.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    def shown(cell: int) -> str:
        outputs = [cell_ for cell_ in notebook.cells if cell_.cell_type == "code"][cell].outputs
        return "".join(output.get("text", "") + output.get("data", {}).get("text/plain", "")
                       + output.get("data", {}).get("text/html", "") for output in outputs)

    assert "8 runs in my-team/programmatic-workspaces at http://127.0.0.1:" in shown(0)
    assert "group by config.optimizer order by summary.val_loss" in shown(1)
    assert "('bold-sky-4', 'adam', 0.051)" in shown(2)
    url = shown(3).strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/my-team/programmatic-workspaces\?nw=\w+", url)
    assert "['Validation', 'Training']" in shown(4)
    assert shown(5).count("config.learning_rate <= 0.001") == 2  # edited, and saved so
    copy = shown(6).splitlines()[0]
    assert copy != url and copy.startswith(url.split("?")[0])
    assert "filterV2" in shown(7)  # the run set, in its notebook form
    assert "'filters'" in shown(8)


def test_a_workspace_shows_its_page_without_a_server() -> None:
    from wsquery.apps.commands import demo_workspaces

    workspace = demo_workspaces("my-team", "my-project")[-1]
    workspace.description = "<b>all</b> together"
    markup = workspace._repr_html_()
    assert markup.startswith("<style>") and ".wsquery-view .query .q-k" in markup
    shown = _text(markup)
    assert "End to end" in shown and "<b>all</b> together" in shown
    assert "<b>" not in markup  # escaped
    assert str(workspace.query) in shown
    assert '<span class="q-k">group by</span>' in markup  # highlighted
    assert re.findall(r"<summary>([^<]*) <", markup) == ["Validation Metrics", "Training Metrics"]
    assert [_text(title) for title in re.findall(r"<h3>(.*?)</h3>", markup)] == [
        "Validation loss", "val_accuracy", "f1_score", "train_loss", "train_accuracy"]
    assert shown.count("No runs are given, so nothing is drawn.") == 5
    assert "No runs are given here" in shown and "<path" not in markup
    assert re.search(r"<dt>smoothing type</dt><dd class=changed>gaussian</dd>", markup)
    assert "<script" not in markup


def test_without_pygments_a_workspace_shows_its_query_as_escaped_text(tmp_path: Path) -> None:
    result = _without_pygments(
        tmp_path, "from wsquery.wandb.views import Workspace\n"
        "print(Workspace('e', 'p', 'v', query='name == \"<x>\"')._repr_html_())")
    assert result.returncode == 0, result.stderr
    assert '<pre class="query" id="query">name == &quot;&lt;x&gt;&quot;</pre>' in result.stdout


def test_evaluates_runs_show_as_a_table_and_stay_a_list() -> None:
    runs = [{"id": f"r{i}", "name": f"<run {i}>", "state": "finished",
             "created_at": f"2024-05-0{i}T00:00:00Z", "config": {"lr": i / 10}}
            for i in range(1, 4)]
    selected = wsquery.evaluate("config.lr >= 0.2 order by config.lr desc limit 5", runs)
    assert selected == [runs[2], runs[1]] and isinstance(selected, list)
    assert selected[0] is runs[2]  # the very objects given
    markup = selected._repr_html_()
    assert "<th>id</th><th>name</th><th>state</th><th>config.lr</th>" in markup
    assert "<td>r3</td><td>&lt;run 3&gt;</td><td>finished</td><td>0.3</td>" in markup
    assert "2 runs selected by config.lr &gt;= 0.2 order by config.lr desc limit 5" in markup
    assert len(wsquery.evaluate("limit 1", runs)) == 1
    many = wsquery.evaluate("", [{"id": str(i)} for i in range(60)])
    assert "... and 10 more" in many._repr_html_()
