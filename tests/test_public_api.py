"""Every public name of ``wsquery`` resolves, lazily loaded or not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import wsquery

ROOT = Path(__file__).resolve().parent.parent


#: Every name the façade served before ``__all__`` was cut down to the verbs: each must keep
#: working.
EVERY_NAME = sorted(set(wsquery.__all__) | {
    "AuthenticationError", "BarPlot", "DecompileError", "InvalidInputError", "LinePlot",
    "MongoQuery", "NetworkError", "NotFoundError", "PermissionDeniedError", "Problem",
    "QuerySyntaxError", "QueryValidationError", "RateLimitedError", "RunSettings",
    "RunsApiQuery", "RunsetQuery", "ScalarChart", "Section", "SectionPanelSettings",
    "ServerError", "TargetError", "TargetWarning", "Workspace", "WorkspaceError",
    "WorkspaceSettings", "WorkspaceValueError", "WsqueryWarning", "__version__"})


@pytest.mark.parametrize("name", EVERY_NAME)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(wsquery, name) is not None


def test_all_is_the_verbs_the_query_its_builder_and_the_errors_base() -> None:
    assert len(wsquery.__all__) == 23
    assert "WsqueryError" in wsquery.__all__ and "TargetError" not in wsquery.__all__


def test_public_names_resolve_in_a_fresh_interpreter() -> None:
    """Each lazily served name loads on its own, whatever was imported before."""
    code = (f"import wsquery\nfor name in {EVERY_NAME!r}:\n    getattr(wsquery, name)\n"
            "print(callable(wsquery.targets), callable(wsquery.compile))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_dir_lists_every_public_name_lazily_loaded_or_not() -> None:
    """IPython and editors complete from ``dir``: the lazily served names must be there."""
    listed = dir(wsquery)
    assert set(EVERY_NAME) <= set(listed)
    assert {"Workspace", "field", "runs", "Completions", "Diagnostic"} <= set(listed)
