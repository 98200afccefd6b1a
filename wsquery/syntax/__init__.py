"""Text to a typed query: grammar loading, the parser and its diagnostics, the Pygments lexer."""
