"""How a compiled query shows in a notebook (Jupyter calls ``_repr_html_``): the query it was
compiled from, highlighted, what compiling it said, and what it compiled to. Pygments, which
Jupyter brings, colours them; without it they show as plain text."""

from __future__ import annotations

import json
from typing import Any

from wsquery.ast import Query
from wsquery.errors import TargetWarning


class ShownInNotebooks:
    """Gives a compiled result with ``query``, ``warnings`` and ``to_json()`` its notebook
    form."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        from html import escape  # here: compiling imports this module, showing is rarer

        query: Query | None = getattr(self, "query", None)
        warnings: tuple[TargetWarning, ...] = getattr(self, "warnings", ())
        output = self.to_json()  # type: ignore[attr-defined]
        parts = ['<div class="wsquery-compiled">']
        if query is not None:
            parts.append(_block(str(query), "wsquery"))
        for warning in warnings:
            parts.append('<div style="color:#8a6d00">warning: '
                         f"{escape(warning.message)}"
                         + (f"<br>hint: {escape(warning.hint)}" if warning.hint else "")
                         + "</div>")
        if isinstance(output, str):
            parts.append(_block(output, "sql" if getattr(self, "dialect", None) else "text"))
        else:
            parts.append(_block(json.dumps(output, indent=2, ensure_ascii=False, default=str),
                                "json"))
        parts.append("</div>")
        return "\n".join(parts)


def _block(text: str, language: str) -> str:
    """``text`` in a ``<pre>``, coloured as ``language`` when Pygments is there."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name
    except ImportError:
        from html import escape

        return f"<pre>{escape(text)}</pre>"
    if language == "wsquery":
        from wsquery.syntax.lexer import WsqueryLexer

        lexer: Any = WsqueryLexer()
    else:
        lexer = get_lexer_by_name(language)
    formatter = HtmlFormatter(noclasses=True, nowrap=True)
    return f"<pre>{highlight(text, lexer, formatter)}</pre>"
