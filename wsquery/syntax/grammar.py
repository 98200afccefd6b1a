"""grammar/wsquery.lark -> its path, its text and its keywords: the one list of the words.

The parser builds from the grammar's text; the Pygments lexer, the REPL and completion take the
keywords from here, read off the grammar's keyword terminals (``AND.2: /\\band\\b|&&/i``), so a
keyword added to the grammar reaches them all.
"""

from __future__ import annotations

import os
import re
from functools import cache

#: A keyword terminal of the grammar: its name and its words (``GROUP_BY`` -> ``group by``).
_KEYWORD_TERMINAL = re.compile(r"^([A-Z_]+)(?:\.\d+)?: /\\b(\w+(?:\\s\+\w+)*)\\b[^/]*/i$", re.M)


def grammar_path() -> str:
    """The grammar file: inside the installed package, or at the top of a source checkout.
    (Paths here are ``os.path`` strings: ``pathlib`` would add to the first parse's imports.)"""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for candidate in (os.path.join(package, "grammar", "wsquery.lark"),
                      os.path.join(os.path.dirname(package), "grammar", "wsquery.lark")):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("grammar/wsquery.lark is missing from the wsquery installation")


def read_text(path: str | os.PathLike[str]) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


@cache
def keywords() -> dict[str, str]:
    """The grammar's keyword terminals -> their words as written in queries, in grammar order:
    ``{"GROUP_BY": "group by", "OR": "or", ..., "LIMIT": "limit"}``."""
    return {name: words.replace("\\s+", " ") for name, words
            in _KEYWORD_TERMINAL.findall(read_text(grammar_path()))}
