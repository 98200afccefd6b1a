"""Text to a typed query: grammar loading, the parser and its diagnostics, the leaf check it runs
on every leaf it builds (``validate``), the Pygments lexer."""
