"""The target registry: wsquery's own targets, and a target another package adds through the
``wsquery.targets`` entry-point group, working in ``compile``, the CLI and the REPL unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import wsquery
from wsquery.compilers import registry
from wsquery.errors import TargetError, WsqueryWarning

PLUGIN = '''
"""A compile target from another package: the canonical text in capitals."""
import attrs


@attrs.frozen
class Shouted:
    text: str
    warnings: tuple = ()

    def to_json(self):
        return {"shouted": self.text}


class UpperTarget:
    name = "upper"
    description = "the canonical text in capitals"

    def compile(self, query, *, text=None, **options):
        return Shouted(str(query).upper())


TARGET = UpperTarget()
'''


def install_plugin(site: Path, entry: str = "upper = wsquery_upper:TARGET") -> None:
    """A distribution installed into ``site`` as pip lays one out: its module and a
    dist-info folder whose entry points name the target."""
    (site / "wsquery_upper.py").write_text(PLUGIN, "utf-8")
    info = site / "wsquery_upper-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wsquery-upper\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[wsquery.targets]\n{entry}\n", "utf-8")


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    install_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_plugins", None)  # entry points are read again
    yield tmp_path
    registry._plugins = None


def test_wsquerys_own_targets_are_listed_first() -> None:
    assert wsquery.targets()[:4] == ["runset", "runs-api", "mongo", "wandb-workspaces"]


def test_an_unknown_target_lists_the_known_ones() -> None:
    with pytest.raises(TargetError) as caught:
        wsquery.compile("config.x == 1", target="nowhere")
    assert str(caught.value) == (
        "nowhere: unknown target 'nowhere'\nhint: targets are " + ", ".join(wsquery.targets()))


def test_the_wandb_workspaces_strings_are_a_target() -> None:
    compiled = wsquery.compile('config.lr == 0.1 and tags == "a"', target="wandb-workspaces")
    assert compiled.to_json() == "Config('lr') == 0.1 and Tags() in ['a']"
    assert compiled.to_json() == wsquery.to_wandb_workspaces('config.lr == 0.1 and tags == "a"')
    with pytest.raises(TargetError, match="'limit' has no place"):
        wsquery.compile("config.lr == 0.1 limit 3", target="wandb-workspaces")


def test_a_plugin_target_compiles(plugin_site: Path) -> None:
    assert "upper" in wsquery.targets()
    assert wsquery.compile('name == "a"', target="upper").to_json() == {
        "shouted": 'NAME == "A"'}


def test_no_target_takes_a_name_of_wsquerys_own() -> None:
    class Impostor:
        name = "workspace"
        description = "not the workspace"

        def compile(self, query: object, **options: object) -> object:
            raise AssertionError

    with pytest.raises(TargetError, match="a target of wsquery's own"):
        registry.register(Impostor())  # type: ignore[arg-type]


def test_a_broken_plugin_warns_and_the_rest_still_work(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, "broken = wsquery_no_such_module:TARGET")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_plugins", None)
    with pytest.warns(WsqueryWarning, match="the target plugin 'broken'"):
        names = wsquery.targets()
    assert "broken" not in names and "runset" in names
    registry._plugins = None


def _environment(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}


def test_a_plugin_target_in_the_cli(plugin_site: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wsquery", "compile", "--target", "upper",
                           "config.lr < 1"], capture_output=True, text=True,
                          env=_environment(plugin_site), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"shouted": "CONFIG.LR < 1"}


def test_a_plugin_target_in_the_repl(plugin_site: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wsquery", "repl"],
                          input=":target upper\nconfig.lr < 1\n", capture_output=True,
                          text=True, env=_environment(plugin_site), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    said = [json.loads(line) for line in done.stdout.splitlines()]
    assert said[0] == {"target": "upper"}
    assert said[1]["target"] == "upper"
    assert said[1]["result"] == {"shouted": "CONFIG.LR < 1"}
