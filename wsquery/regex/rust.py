"""RE2's reading -> a pattern for Rust's ``regex`` crate: a flavour of ``flavor.write``.

Rust's regex has no lookaround, so ``\\B`` is not written and ``\\b`` is its ASCII one
(``(?-u:\\b)``); nor can it say that ``\\B`` alone matches inside a character beyond ASCII.
"""

from __future__ import annotations

from wsquery.regex.flavor import Flavor, write

_RUST = Flavor(
    asserts={"\\A": "\\A", "\\z": "\\z", "^m": "(?m:^)", "$m": "(?m:$)", "\\b": "(?-u:\\b)"},
    code="\\x{{{:x}}}", nothing="[^\\x{0}-\\x{10ffff}]")


def to_rust(pattern: str) -> str:
    """``pattern`` for Rust's regex (see ``flavor.write``)."""
    return write(pattern, _RUST)
