"""Target plugins that break: one that exits or raises on import, one that is not a target,
one whose compile raises, each installed for real (a module and a dist-info folder whose
entry points name it). Each broken plugin is disabled with a warning naming it, or fails as
one line naming it, and never touches the others: in ``wsquery.targets()``, in ``compile``
and in the CLI."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import wsquery
from wsquery.compilers import registry
from wsquery.errors import TargetError, WsqueryWarning

from .test_targets import PLUGIN

#: A target that works: the one tests/test_targets.py installs.
GOOD = PLUGIN

#: Broken plugins: entry point name -> the module's code (each names its object TARGET).
BROKEN = {
    "exits": "raise SystemExit(3)\n",
    "interrupts": "class Odd(BaseException):\n    pass\n\nraise Odd('on import')\n",
    "raises": "raise RuntimeError('no config\\nfound')\n",
    "nameless": GOOD.replace('name = "upper"', "name = 42"),
    "blank": GOOD.replace('name = "upper"', 'name = "  "'),
    "no-compile": "class T:\n    name = 'no-compile'\n    description = ''\n\nTARGET = T()\n",
    "bad-options": GOOD.replace('name = "upper"', 'name = "bad-options"\n    options = "x"'),
    "taken": GOOD.replace('name = "upper"', 'name = "workspace"'),
    "twice": GOOD,  # a second target called upper
    "missing": None,  # names a module that does not exist
}

#: Plugins that load but whose compile fails: entry point name -> the module's code.
FAILING = {
    "compile-raises": GOOD.replace("return Shouted(str(query).upper())",
                                   "raise ValueError('cannot\\nwrite this')")
                          .replace('name = "upper"', 'name = "compile-raises"'),
    "compile-exits": GOOD.replace("return Shouted(str(query).upper())", "raise SystemExit(4)")
                         .replace('name = "upper"', 'name = "compile-exits"'),
    "not-a-result": GOOD.replace("return Shouted(str(query).upper())", "return 5")
                        .replace('name = "upper"', 'name = "not-a-result"'),
    "json-raises": GOOD.replace('return {"shouted": self.text}', "raise KeyError('x')")
                       .replace('name = "upper"', 'name = "json-raises"'),
    "not-json": GOOD.replace('return {"shouted": self.text}', "return {1, 2}")
                    .replace('name = "upper"', 'name = "not-json"'),
}


def module_name(entry: str) -> str:
    return "wsq_plugin_" + entry.replace("-", "_")


def install(site: Path, plugins: dict[str, str | None]) -> None:
    """One distribution laid out as pip lays one out, whose entry points name every plugin."""
    lines = []
    for entry, code in [("upper", GOOD), *plugins.items()]:
        module = module_name(entry)
        if code is not None:
            (site / f"{module}.py").write_text(code, "utf-8")
        lines.append(f"{entry} = {module}:TARGET")
    info = site / "wsq_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wsq-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[wsquery.targets]\n" + "\n".join(lines) + "\n",
                                           "utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    install(tmp_path, {**BROKEN, **FAILING})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_plugins", None)
    yield tmp_path
    registry._plugins = None


def loaded_names() -> tuple[list[str], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = wsquery.targets()
    said = [str(w.message) for w in caught if issubclass(w.category, WsqueryWarning)]
    return names, said


def test_each_broken_plugin_is_disabled_with_a_warning_naming_it(site: Path) -> None:
    names, said = loaded_names()
    assert names[:7] == ["runset", "runs-api", "mongo", "wandb-workspaces", "sql",
                         "polars", "pandas"]
    assert sorted(names[7:]) == sorted(["upper", *FAILING])
    assert len(said) == len(BROKEN)
    for entry in BROKEN:
        assert sum(f"the target plugin {entry!r}" in text for text in said) == 1, entry
    assert any("'exits'" in text and "SystemExit" in text for text in said)
    assert any("'nameless'" in text and "its name is 42" in text for text in said)
    assert any("'taken'" in text and "'workspace' is taken" in text for text in said)
    assert wsquery.compile("config.lr < 1", target="upper").to_json() == {
        "shouted": "CONFIG.LR < 1"}


def test_the_unknown_target_message_survives_broken_plugins(site: Path) -> None:
    with pytest.raises(TargetError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wsquery.compile("config.lr < 1", target="nowhere")
    assert str(caught.value).startswith("nowhere: unknown target 'nowhere'\nhint: targets are ")
    assert "upper" in str(caught.value)


@pytest.mark.parametrize(("entry", "said"), [
    ("compile-raises", "ValueError: cannot write this"),
    ("compile-exits", "SystemExit: 4"),
    ("not-a-result", "gave int, not a compiled result"),
    ("json-raises", "failed to write its result: KeyError: 'x'"),
])
def test_a_failing_compile_is_a_target_error_naming_the_plugin(site: Path, entry: str,
                                                               said: str) -> None:
    with pytest.raises(TargetError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wsquery.compile("config.lr < 1", target=entry).to_json()
    assert caught.value.target == entry
    assert f"({module_name(entry)}:TARGET)" in str(caught.value)
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)


def cli(site: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run([sys.executable, "-m", "wsquery", *arguments], capture_output=True,
                          text=True, env=environment, timeout=60, check=False)


def test_the_cli_compiles_with_a_good_plugin_beside_broken_ones(site: Path) -> None:
    done = cli(site, "compile", "--target", "upper", "config.lr < 1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"shouted": "CONFIG.LR < 1"}
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warned) == len(BROKEN)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("entry", sorted(FAILING))
def test_the_cli_shows_a_failing_plugin_as_one_line(site: Path, entry: str) -> None:
    done = cli(site, "compile", "--target", entry, "config.lr < 1")
    assert done.returncode == 2
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {entry}: ")
    assert all(line.startswith(("warning: ", "error: ")) for line in done.stderr.splitlines())


# --- any plugin at all -----------------------------------------------------------------------

FUZZED = '''
class Fuzzed:
    pass

TARGET = Fuzzed()
'''

raised = st.sampled_from([ValueError("v"), TypeError("t"), SystemExit(9), GeneratorExit(),
                          RecursionError("deep"), MemoryError(), ImportError("i"),
                          TargetError("said so", target="fuzzed"), Exception()])
values = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just("fuzzed"),
                   st.just(("x",)), st.just((registry.STRICT,)), raised)


class Result:
    def __init__(self, json_value: Any, warned: Any) -> None:
        self.json_value = json_value
        self.warnings = warned

    def to_json(self) -> Any:
        if isinstance(self.json_value, BaseException):
            raise self.json_value
        return self.json_value


@pytest.fixture(scope="module")
def fuzzed_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    site = tmp_path_factory.mktemp("fuzzed-plugin")
    (site / "wsq_fuzzed.py").write_text(FUZZED, "utf-8")
    info = site / "wsq_fuzzed-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wsq-fuzzed\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[wsquery.targets]\nfuzzed = wsq_fuzzed:TARGET\n")
    sys.path.insert(0, str(site))
    try:
        yield importlib.import_module("wsq_fuzzed")
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("wsq_fuzzed", None)
        registry._plugins = None


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@example(name="0", description="", options=(), outcome=TargetError("said so", target="fuzzed"),
         json_value=None, warned=None)  # its own error named another target
@given(name=values, description=values, options=values, outcome=values,
       json_value=st.one_of(values, st.just({"ok": 1})), warned=values)
def test_any_plugin_is_a_target_or_disabled(fuzzed_site: Any, name: Any, description: Any,
                                            options: Any, outcome: Any, json_value: Any,
                                            warned: Any) -> None:
    class Fuzzed:
        def compile(self, query: Any, **given: Any) -> Any:
            if isinstance(outcome, BaseException):
                raise outcome
            return Result(json_value, warned) if outcome is not None else outcome

    target = Fuzzed()
    for attribute, value in (("name", name), ("description", description),
                             ("options", options)):
        if not isinstance(value, BaseException):
            setattr(target, attribute, value)
    fuzzed_site.TARGET = target
    registry._plugins = None
    names, said = loaded_names()
    assert names[:7] == list(registry._BUILTIN)
    if names[7:] == []:
        assert len(said) == 1 and "the target plugin 'fuzzed'" in said[0]
        return
    [plugin] = names[7:]
    assert said == [] and plugin == name
    try:
        compiled = wsquery.compile("config.lr < 1", target=plugin)
        assert isinstance(compiled.warnings, tuple)
        compiled.to_json()
    except TargetError as error:
        assert error.target == plugin
