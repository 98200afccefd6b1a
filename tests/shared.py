"""The project's shared files (W&B's specs and schema subset), which sit beside the checkout:
a test that needs one skips where it is absent, and fails in CI, where it must be there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """``shared/<parts>``; a skip where it is absent, a failure with ``CI`` set."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent (shared/ sits beside the checkout)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
