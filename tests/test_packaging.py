"""The built wheel carries the grammar and parses a query in a fresh virtual environment."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True)
    (built,) = out.glob("wsquery-*.whl")
    return built


def test_wheel_holds_the_grammar_and_typing_marker(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "wsquery/grammar/wsquery.lark" in names
    assert "wsquery/py.typed" in names
    grammar = zipfile.ZipFile(wheel).read("wsquery/grammar/wsquery.lark").decode()
    assert grammar == (ROOT / "grammar" / "wsquery.lark").read_text()


def test_installed_wheel_parses_in_a_fresh_environment(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    code = ("import wsquery, pathlib; q = wsquery.parse('summary.acc > 0.9 order by name');"
            "print(q); print(pathlib.Path(wsquery.__file__).parent)")
    result = subprocess.run([str(python), "-c", code], cwd=tmp_path, check=True,
                            capture_output=True, text=True)
    printed, location = result.stdout.splitlines()
    assert printed == "summary.acc > 0.9 order by name"
    assert Path(location).is_relative_to(env_dir)
    fmt = subprocess.run([str(env_dir / "bin" / "wsquery"), "fmt", "config.a = 1"], cwd=tmp_path,
                         check=True, capture_output=True, text=True)
    assert fmt.stdout == "config.a == 1\n"
