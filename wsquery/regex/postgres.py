"""RE2's reading -> a pattern for PostgreSQL's advanced regular expressions (AREs): a flavour
of ``flavor.write``.

PostgreSQL's text holds no NUL, so classes start at U+0001; code points are written ``\\U``
and eight hex digits; counts stop at 255; ``\\z`` is written ``\\Z``.
"""

from __future__ import annotations

from wsquery.regex.flavor import _LOOKAROUND_ASSERTS, Flavor, write

_POSTGRES = Flavor(
    asserts={"\\A": "\\A", "\\z": "\\Z", "^m": "(?:\\A|(?<=\\n))", "$m": "(?:(?=\\n)|\\Z)",
             **_LOOKAROUND_ASSERTS},
    code="\\U{:08x}", nothing="(?!)", max_count=255, first_code=1,
    beyond_ascii="[^\\U00000001-\\U0000007f]")


def to_postgres(pattern: str) -> str:
    """``pattern`` for PostgreSQL's AREs (see ``flavor.write``)."""
    return write(pattern, _POSTGRES)
