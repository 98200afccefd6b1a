"""The version of wsquery, which the package, the CLI and the GraphQL client's User-Agent give."""

__version__ = "0.1.0"
