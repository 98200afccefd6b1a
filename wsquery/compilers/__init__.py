"""Where a query goes: the target registry, one module per target, and the run-set reader."""
