"""The run-set target: what a saved W&B view's run set stores. ``write`` compiles a query
into run-set JSON; ``read`` reads run-set JSON back into a query, side by side so that each
is written against the other."""

from wsquery.compilers.runset.read import decompile
from wsquery.compilers.runset.write import RunsetQuery, compile_runset, compile_text

__all__ = ["RunsetQuery", "compile_runset", "compile_text", "decompile"]
