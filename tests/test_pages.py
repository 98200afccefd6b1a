"""The view server's HTML pages, loaded by a real headless Chromium and over real HTTP: a saved
view's page holds its query, panels and the runs its run set selects, in order and groups; only
a holder of the entity's key sees it; no key reaches a page or the log."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import uuid
from html import unescape
from pathlib import Path

import pytest
import requests

from tests.conftest import Chromium
from wsquery.apps.commands import DEMO_STEPS, demo_runs, demo_workspaces
from wsquery.apps.server import DEFAULT_ENTITY, ViewServer, limits
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings
from wsquery.wandb.views import LinePlot, RunSettings, Section, Workspace
from wsquery.wandb.views.page import PALETTE

END_TO_END = ('summary.val_loss <= 0.1 and config.learning_rate in [0.001, 0.01] and '
              'name =~ "^s" group by config.optimizer order by summary.val_loss')


def project_name() -> str:
    return f"pages-{uuid.uuid4().hex[:10]}"


def saved_demo(view_server: ViewServer, client: GraphQLClient) -> tuple[str, list[Workspace]]:
    """The demo's views and runs, saved as ``wsquery demo`` saves them, in a project of its own."""
    project = project_name()
    view_server.add_runs(DEFAULT_ENTITY, project, demo_runs())
    return project, [workspace.save(client=client)
                     for workspace in demo_workspaces(DEFAULT_ENTITY, project)]


def path_of(view_server: ViewServer, workspace: Workspace) -> str:
    return workspace.url.removeprefix(view_server.url)


def text(html: str) -> str:
    return unescape(re.sub(r"<[^>]*>", "", html))


def run_names(dom: str) -> list[str]:
    return [text(cell).strip()
            for cell in re.findall(r'<td class="name"><span class="swatch"[^>]*></span>([^<]*)',
                                   dom)]


def group_names(dom: str) -> list[str]:
    return [text(group).strip()
            for group in re.findall(r'<tr class="group"><th[^>]*><span class="label">([^<]*)',
                                    dom)]


def test_a_saved_view_page_in_chromium(view_server: ViewServer, client: GraphQLClient,
                                       chromium: Chromium, artifacts: Path) -> None:
    _, workspaces = saved_demo(view_server, client)
    end_to_end = workspaces[-1]
    assert str(end_to_end.query) == END_TO_END
    link = view_server.login_link(path_of(view_server, end_to_end))
    dom = chromium.dom(link)

    [name] = re.findall(r'<h1 id="view-name">(.*?)</h1>', dom)
    assert text(name) == "End to end"
    [query] = re.findall(r'<pre class="query" id="query">(.*?)</pre>', dom, re.DOTALL)
    assert text(query) == END_TO_END
    assert '<span class="q-k">group by</span>' in query  # highlighted
    assert [text(title) for title in re.findall(r"<h3>(.*?)</h3>", dom)] == [
        "Validation loss", "val_accuracy", "f1_score", "train_loss", "train_accuracy"]
    assert re.findall(r'<summary>([^<]*) <', dom) == ["Validation Metrics", "Training Metrics"]
    # val_loss <= 0.1, learning rate 0.001 or 0.01, a name starting with s; grouped by
    # optimizer, groups in the order of their first run, runs by val_loss within and across.
    assert group_names(dom) == ["config.optimizer: sgd", "config.optimizer: adam"]
    assert run_names(dom) == ["solar-wind-7", "swift-river-2", "silent-wave-5",
                              "sunny-field-1", "stellar-night-3"]
    assert ('data-run-id="run-c"><td class="name"><span class="swatch" title="hidden"></span>'
            'stellar-night-3 <span class="tag">hidden</span>') in dom
    assert ('data-run-id="run-a"><td class="name"><span class="swatch" style="background: red" '
            'title="red">') in dom
    assert re.search(r"<dt>smoothing type</dt><dd class=\"?changed\"?>gaussian</dd>", dom)
    assert view_server.api_key not in dom

    screenshot = chromium.screenshot(view_server.login_link(path_of(view_server, end_to_end)),
                                     artifacts / "view-page-end-to-end.png")
    assert screenshot.read_bytes().startswith(b"\x89PNG")


LINE_PLOT = re.compile(r'<article class="panel" data-kind="Line plot"[^>]*>(.*?)</article>',
                       re.DOTALL)


def line_plots(dom: str) -> list[tuple[str, list[dict[str, str]]]]:
    """Each line plot's title and the attributes of its ``<path>`` elements."""
    plots = []
    for body in LINE_PLOT.findall(dom):
        [title] = re.findall(r"<h3>(.*?)</h3>", body)
        paths = [dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
                 for tag in re.findall(r"<path\b[^>]*>", body)]
        plots.append((text(title), paths))
    return plots


def table_runs(dom: str) -> tuple[list[str], list[str]]:
    """The run ids of the runs table's rows, shown and hidden."""
    rows = re.findall(r'<tr class="run( hidden)?" data-run-id="([^"]*)"', dom)
    return ([run_id for hidden, run_id in rows if not hidden],
            [run_id for hidden, run_id in rows if hidden])


def test_each_line_plot_draws_a_path_per_visible_run_and_key_in_its_color(
        view_server: ViewServer, client: GraphQLClient, chromium: Chromium,
        artifacts: Path) -> None:
    _, workspaces = saved_demo(view_server, client)
    for workspace in workspaces:
        dom = chromium.dom(view_server.login_link(path_of(view_server, workspace)))
        shown, hidden = table_runs(dom)
        drawn = shown[:workspace.settings.max_runs]
        panels = [panel for section in workspace.sections for panel in section.panels
                  if isinstance(panel, LinePlot)]
        plots = line_plots(dom)
        assert [title for title, _ in plots] == [panel.title or ", ".join(panel.y)
                                                for panel in panels], workspace.name
        for panel, (title, paths) in zip(panels, plots, strict=True):
            if workspace.query.group_by:
                continue  # the next test
            assert sorted((path["data-run-id"], path["data-key"]) for path in paths) == sorted(
                (run_id, key) for run_id in drawn for key in panel.y), (workspace.name, title)
            for path in paths:
                assert path["class"] == "line" and path["fill"] == "none"
                color = workspace.run_settings.get(path["data-run-id"], RunSettings()).color
                assert path["stroke"] == (color or path["stroke"])
                assert color or path["stroke"] in PALETTE
                assert path["d"].startswith("M") and path["d"].count(" L") == len(DEMO_STEPS) - 1
            assert not {path["data-run-id"] for path in paths} & set(hidden)

    colored = workspaces[3]
    assert colored.name == "Run colors"
    dom = chromium.dom(view_server.login_link(path_of(view_server, colored)))
    for _, paths in line_plots(dom):
        strokes = {path["data-run-id"]: path["stroke"] for path in paths}
        assert sorted(strokes) == ["run-a", "run-b", "run-d", "run-e", "run-f", "run-g",
                                   "run-h"]  # run-c is hidden
        assert strokes["run-a"] == "red" and strokes["run-b"] == "#FAC13C"
        assert len(set(strokes.values())) == len(strokes)
    legend = re.findall(r'<ul class="legend">(.*?)</ul>', dom)
    assert len(legend) == 3 and "sunny-field-1" in text(legend[0])
    assert "stellar-night-3" not in text(legend[0])
    chromium.screenshot(view_server.login_link(path_of(view_server, colored)),
                        artifacts / "view-page-run-colors.png")


def test_a_grouped_view_draws_a_line_and_a_band_per_group(
        view_server: ViewServer, client: GraphQLClient, chromium: Chromium,
        artifacts: Path) -> None:
    _, workspaces = saved_demo(view_server, client)
    for workspace, groups in ((workspaces[4], ["config.optimizer: adam", "config.optimizer: sgd"]),
                              (workspaces[6], ["config.optimizer: sgd", "config.optimizer: adam"])):
        link = view_server.login_link(path_of(view_server, workspace))
        dom = chromium.dom(link)
        assert group_names(dom) == groups
        plots = line_plots(dom)
        assert len(plots) == 3
        for _, paths in plots:
            lines = [path for path in paths if path["class"] == "line"]
            bands = [path for path in paths if path["class"] == "band"]
            assert len(lines) + len(bands) == len(paths)
            assert [path["data-group"] for path in lines] == groups
            assert [path["data-group"] for path in bands] == groups
            assert not any("data-run-id" in path for path in paths)
            for line, band in zip(lines, bands, strict=True):
                assert band["fill"] == line["stroke"] and band["stroke"] == "none"
                assert band["d"].endswith("Z")
    chromium.screenshot(view_server.login_link(path_of(view_server, workspaces[4])),
                        artifacts / "view-page-grouped.png")


def test_line_plots_take_the_sections_x_range_and_the_workspaces_smoothing(
        view_server: ViewServer, client: GraphQLClient, chromium: Chromium) -> None:
    _, workspaces = saved_demo(view_server, client)
    custom = workspaces[1]
    assert custom.name == "Custom settings"
    dom = chromium.dom(view_server.login_link(path_of(view_server, custom)))
    [(title, paths)] = line_plots(dom)
    assert title == "Validation Loss Custom Title"
    [body] = LINE_PLOT.findall(dom)
    # the section's x range (25 to 50); its smoothing is the default, so the workspace's holds
    assert re.findall(r'<text class="tick"[^>]*text-anchor="middle">([^<]*)</text>', body) == [
        "25", "30", "35", "40", "45", "50"]
    assert "smoothing: gaussian 20 · Step 25 to 50" in text(body)
    assert ">Custom x-axis title</text>" in body
    assert "<ul" not in body  # the workspace removes legends from panels
    assert len(paths) == 8


def test_the_runs_table_at_1280_pixels(view_server: ViewServer, client: GraphQLClient,
                                       chromium: Chromium, artifacts: Path) -> None:
    _, workspaces = saved_demo(view_server, client)
    end_to_end = workspaces[-1]
    position, page_scrolls, table_scrolls, name_offset = chromium.evaluate(
        view_server.login_link(path_of(view_server, end_to_end)), [
            "getComputedStyle(document.querySelector('#runs-table td.name')).position",
            "document.documentElement.scrollWidth > document.documentElement.clientWidth",
            "(s => s.scrollWidth > s.clientWidth)(document.querySelector('.table-scroll'))",
            "(s => { s.scrollLeft = 150; return document.querySelector('#runs-table td.name')"
            ".getBoundingClientRect().left - s.getBoundingClientRect().left; })"
            "(document.querySelector('.table-scroll'))"], size=(1280, 900))
    assert position == "sticky"
    assert not page_scrolls  # the body does not scroll sideways
    assert table_scrolls  # the table does, inside its card
    assert abs(name_offset) < 1  # and its name column stays in view
    chromium.screenshot(view_server.login_link(path_of(view_server, end_to_end)),
                        artifacts / "view-page-1280.png", size=(1280, 900))

    by_loss = workspaces[5]
    dom = chromium.dom(view_server.login_link(path_of(view_server, by_loss)))
    [row] = re.findall(r'<tr class="run" data-run-id="run-d">(.*?)</tr>', dom)
    cells = [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[:3] == ["bold-sky-4", "finished", "0.051"]  # summary.val_loss


def test_a_page_reads_at_most_max_plot_points_rows_of_a_run(view_server: ViewServer,
                                                              client: GraphQLClient) -> None:
    project = project_name()
    steps = 3 * limits.MAX_PLOT_POINTS + 7
    view_server.add_runs(DEFAULT_ENTITY, project, [
        {"id": "long", "name": "long-run", "state": "finished", "summary": {"loss": 0.5},
         "history": [{"_step": step, "loss": 1 / (step + 1)} for step in range(steps)]}])
    workspace = Workspace(DEFAULT_ENTITY, project, "Long",
                          sections=[Section("S", [LinePlot(y=["loss"])], is_open=True)])
    workspace.save(client=client)
    page = requests.get(workspace.url, auth=("api", view_server.api_key), timeout=30)
    assert page.status_code == 200
    [(_, [path])] = line_plots(page.text)
    points = path["d"].split(" L")
    assert len(points) == limits.MAX_PLOT_POINTS  # evenly spaced, the first and last kept
    assert points[0] == "M0.00,6.45" and points[-1].startswith("248.00,")


def test_each_view_url_form_and_the_project_and_entity_pages(
        view_server: ViewServer, client: GraphQLClient, chromium: Chromium) -> None:
    project, workspaces = saved_demo(view_server, client)
    filtered = workspaces[2]
    assert filtered.name == "Filtered runs"
    with requests.Session() as browser:
        assert browser.get(view_server.login_link(), timeout=30).status_code == 200
        for path in (path_of(view_server, filtered),
                     path_of(view_server, filtered).replace("?nw=", "/workspace?nw=")):
            page = browser.get(view_server.url + path, timeout=30)
            assert page.status_code == 200
            # finished, val_loss <= 0.1, a name starting with s; newest first
            assert run_names(page.text) == ["solar-wind-7", "stellar-night-3", "swift-river-2",
                                             "sunny-field-1"]
        listing = browser.get(f"{view_server.url}/{DEFAULT_ENTITY}/{project}", timeout=30)
        assert listing.status_code == 200
        links = re.findall(r'<li><a href="([^"]*)">([^<]*)</a>', listing.text)
        assert links == [(path_of(view_server, w), w.name) for w in workspaces]
        assert "8 stored runs" in listing.text
        home = browser.get(f"{view_server.url}/", timeout=30)
        assert f'<a href="/{DEFAULT_ENTITY}/{project}">{project}</a>' in home.text
        missing = browser.get(f"{view_server.url}/{DEFAULT_ENTITY}/{project}?nw=nothere",
                              timeout=30)
        assert missing.status_code == 404
        assert "no saved view 'nw-nothere-v'" in unescape(missing.text)
        personal = browser.get(f"{view_server.url}/{DEFAULT_ENTITY}/{project}?nw=nwuserme",
                               timeout=30)
        assert personal.status_code == 404
        assert "personal workspace" in personal.text
    grouped = workspaces[4]
    dom = chromium.dom(view_server.login_link(path_of(view_server, grouped)))
    # every run, newest first: the newest (quiet-dune-8) uses adam, so adam's group leads
    assert group_names(dom) == ["config.optimizer: adam", "config.optimizer: sgd"]
    assert run_names(dom) == ["quiet-dune-8", "bold-sky-4", "stellar-night-3", "sunny-field-1",
                              "solar-wind-7", "shy-moon-6", "silent-wave-5", "swift-river-2"]


def test_pages_need_the_entitys_key(view_server: ViewServer, client: GraphQLClient,
                                    chromium: Chromium, caplog: pytest.LogCaptureFixture
                                    ) -> None:
    caplog.set_level(logging.DEBUG, logger="wsquery.server")
    _, workspaces = saved_demo(view_server, client)
    path = path_of(view_server, workspaces[-1])
    url = view_server.url + path

    dom = chromium.dom(url)
    assert "Sign in" in dom and 'name="key"' in dom
    assert "End to end" not in dom and "sunny-field-1" not in dom

    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, auth=("api", view_server.api_key), timeout=30).status_code == 200
    other_key = view_server.add_key("pages-someone-else")
    refused = requests.get(url, auth=("api", other_key), timeout=30)
    assert refused.status_code == 403
    assert "End to end" not in refused.text

    link = view_server.login_link(path)
    token = re.findall(r"token=([^&]+)", link)[0]
    with requests.Session() as browser:
        first = browser.get(link, timeout=30, allow_redirects=False)
        assert first.status_code == 303 and first.headers["Location"] == path
        assert "HttpOnly" in first.headers["Set-Cookie"]
        assert "SameSite=Strict" in first.headers["Set-Cookie"]
        assert browser.get(url, timeout=30).status_code == 200
    with requests.Session() as browser:
        again = browser.get(link, timeout=30)
        assert again.status_code == 401
        assert "used already or has expired" in again.text
        assert browser.get(url, timeout=30).status_code == 401
    expired = view_server.login_link(path, seconds=0)
    assert requests.get(expired, timeout=30).status_code == 401
    elsewhere = view_server.login_link("//evil.example/x")
    assert requests.get(elsewhere, timeout=30, allow_redirects=False).headers["Location"] == "/"

    with requests.Session() as browser:
        browser.headers["Origin"] = view_server.url  # as the sign-in page's own form sends it
        wrong = browser.post(f"{view_server.url}/login", data={"key": "nope", "next": path},
                             timeout=30)
        assert wrong.status_code == 401 and "not accepted" in wrong.text
        signed_in = browser.post(f"{view_server.url}/login",
                                 data={"key": view_server.api_key, "next": path}, timeout=30)
        assert signed_in.status_code == 200 and signed_in.url == url
        assert view_server.api_key not in signed_in.text
        assert "End to end" in signed_in.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/login" in logged
    assert token not in logged and view_server.api_key not in logged and other_key not in logged


def test_values_are_escaped_and_scripts_forbidden(view_server: ViewServer,
                                                  client: GraphQLClient) -> None:
    project = project_name()
    view_server.add_runs(DEFAULT_ENTITY, project, [
        {"id": "x1", "name": "<img src=x onerror=alert(1)>", "state": "finished",
         "summary": {"acc": 1}}])
    workspace = Workspace(DEFAULT_ENTITY, project, "<script>alert(1)</script>",
                          description="a & b", query='name =~ "<" and summary.acc >= 0')
    workspace.save(client=client)
    page = requests.get(workspace.url, auth=("api", view_server.api_key), timeout=30)
    assert page.status_code == 200
    assert "<script" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "a &amp; b" in page.text
    assert run_names(page.text) == ["<img src=x onerror=alert(1)>"]
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_grid_sections_place_panels_by_their_layout(view_server: ViewServer,
                                                    client: GraphQLClient) -> None:
    project = project_name()
    spec = demo_workspaces(DEFAULT_ENTITY, project)[0].to_spec()
    grid = spec["section"]["panelBankConfig"]["sections"][0]
    grid["type"] = "grid"
    grid["panels"][1]["layout"] = {"x": 8, "y": 6, "w": 16, "h": 4}
    flow = spec["section"]["panelBankConfig"]["sections"][1]
    flow["flowConfig"]["columnsPerPage"] = 2
    saved = client.upsert_view(entity=DEFAULT_ENTITY, project=project, name="nw-gridlayout1-v",
                               display_name="Grid", description="", spec=json.dumps(spec))
    assert saved["inserted"]
    page = requests.get(f"{view_server.url}/{DEFAULT_ENTITY}/{project}?nw=gridlayout1",
                        auth=("api", view_server.api_key), timeout=30)
    assert page.status_code == 200
    assert 'style="grid-column: 9 / span 16; grid-row: 7 / span 4"' in page.text
    assert ('<div class="panels flow" style="grid-template-columns: repeat(2, minmax(0, 1fr))">'
            in page.text)


def test_demo_serve_prints_a_sign_in_link_to_its_pages(chromium: Chromium) -> None:
    code = "import sys; from wsquery.apps.cli import main; sys.exit(main(['demo', '--serve']))"
    env = {key: value for key, value in os.environ.items()
           if key not in ("WANDB_API_KEY", "WANDB_BASE_URL")}
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**env, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Open the views in a browser"):
            line = process.stdout.readline()
            assert line, f"the demo ended early: {''.join(lines)}"
            lines.append(line)
        link = lines[-1].strip().rpartition(" ")[2]
        kept = process.stdout.readline()
        assert kept.startswith("Once it is used, sign in with the key kept in ")
        key_path = Path(kept.split(" kept in ")[1].split(" (its entity")[0])
        assert process.stdout.readline().strip().endswith("Press Ctrl-C to stop.")
        key = key_path.read_text(encoding="utf-8").strip()
        assert key_path.stat().st_mode & 0o777 == 0o600
        assert key not in link and key not in "".join(lines)  # the key is never printed
        assert "it runs until Ctrl-C" in "".join(lines)
        base_url = link.partition("/login")[0]
        assert GraphQLClient(Settings(base_url, key, base_url)).default_entity() == "wsquery"
        dom = chromium.dom(link)
        assert len(re.findall(r'<li><a href="/wsquery/wsquery-demo\?nw=', dom)) == 7
        assert "7 saved views" in dom and "8 stored runs" in dom
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
