"""The run-set target: what a saved W&B view's run set stores. ``write`` compiles a query
into run-set JSON; ``read`` reads run-set JSON back into a query, side by side so that each
is written against the other. The package imports neither: compiling needs no reader."""
