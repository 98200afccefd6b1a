"""What a query means: the run-attribute schema, validation, normal form, the evaluator, RE2
regexes."""
