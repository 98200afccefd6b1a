"""Every public name of ``wsquery`` resolves, lazily loaded or not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import wsquery

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", wsquery.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(wsquery, name) is not None


def test_public_names_resolve_in_a_fresh_interpreter() -> None:
    """Each lazily served name loads on its own, whatever was imported before."""
    code = ("import wsquery\nfor name in wsquery.__all__:\n    getattr(wsquery, name)\n"
            "print(callable(wsquery.targets), callable(wsquery.compile))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_dir_lists_every_public_name_lazily_loaded_or_not() -> None:
    """IPython and editors complete from ``dir``: the lazily served names must be there."""
    listed = dir(wsquery)
    assert set(wsquery.__all__) <= set(listed)
    assert {"Workspace", "field", "runs", "Completions", "Diagnostic"} <= set(listed)
