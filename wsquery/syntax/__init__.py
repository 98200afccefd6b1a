"""Text to a typed query: grammar loading, the parser (its entry point ``parser``, the AST
builder ``tree``, the LALR driver ``lalr`` and its ``fast_lexer``, lark's own parser as the
fallback ``lark_parser``) and its ``diagnostics``, the leaf check it runs on every leaf it builds
(``validate``), the Pygments lexer."""
