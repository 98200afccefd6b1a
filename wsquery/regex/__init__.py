"""User regex text (RE2 syntax) -> a reading of it, a search predicate that cannot hang, how long
a backtracking engine may take on it, and the same pattern for other engines.

``name =~ "pattern"`` means what Google's RE2 means: a match somewhere in the text, with RE2's
syntax and classes. The package, one idea a module, from the bottom up:

- ``folding``: sets of code points, and case folding as RE2 does it;
- ``nodes``: the reading as data (node types, RE2's named classes) and ``RegexRefusal``;
- ``reader``: pattern text -> its reading, or why it is not RE2 (``re2_refusal``); ``escape``;
- the spellings, one a flavour: ``python`` (Python's ``re``), ``pcre`` (``to_pcre``), and over
  the walk they share (``flavor``), ``java``, ``postgres`` and ``rust``;
- ``backtracking``: how long a backtracking engine may take (``backtracking_limit``);
- ``search``: the predicate, RE2's or Python's (``compile_user_regex``), and Python's ``re``
  search a caller may run in line on short ASCII text (``quick_search``).

It imports only ``wsquery.errors``: targets name themselves through parameters. Importers take
the names below from ``wsquery.regex``.
"""

from wsquery.regex.backtracking import backtracking_limit
from wsquery.regex.flavor import RegexNotWritten
from wsquery.regex.java import to_java
from wsquery.regex.nodes import (
    Alternate,
    AnyByte,
    Assertion,
    CharSet,
    Concat,
    RegexRefusal,
    Repeat,
    matches_nothing,
)
from wsquery.regex.nodes import _show as _show
from wsquery.regex.pcre import to_pcre
from wsquery.regex.postgres import to_postgres
from wsquery.regex.reader import escape, re2_refusal, read_pattern
from wsquery.regex.rust import to_rust
from wsquery.regex.search import _compile as _compile
from wsquery.regex.search import _searchable as _searchable
from wsquery.regex.search import (
    compile_user_regex,
    quick_search,
    re2_available,
    re2_module,
    refusal,
)

__all__ = [
    "Alternate",
    "AnyByte",
    "Assertion",
    "CharSet",
    "Concat",
    "RegexNotWritten",
    "RegexRefusal",
    "Repeat",
    "backtracking_limit",
    "compile_user_regex",
    "escape",
    "matches_nothing",
    "quick_search",
    "re2_available",
    "re2_module",
    "re2_refusal",
    "read_pattern",
    "refusal",
    "to_java",
    "to_pcre",
    "to_postgres",
    "to_rust",
]
