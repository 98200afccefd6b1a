"""RE2's reading -> a pattern for Java's ``java.util.regex``: a flavour of ``flavor.write``.

Both word tests are written as lookarounds over ASCII word characters, and ``(?m)^`` and
``(?m)$`` as lookarounds on ``\\n`` alone (Java's own also see other line terminators).
"""

from __future__ import annotations

from wsquery.regex.flavor import _LOOKAROUND_ASSERTS, Flavor, write

_JAVA = Flavor(
    asserts={"\\A": "\\A", "\\z": "\\z", "^m": "(?:\\A|(?<=\\n))", "$m": "(?=\\n|\\z)",
             **_LOOKAROUND_ASSERTS},
    code="\\x{{{:x}}}", nothing="(?!)", beyond_ascii="[^\\x{0}-\\x{7f}]")


def to_java(pattern: str) -> str:
    """``pattern`` for Java's regex engine (see ``flavor.write``)."""
    return write(pattern, _JAVA)
