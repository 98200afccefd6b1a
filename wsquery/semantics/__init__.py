"""What a query means: normal form, the evaluator, which keys runs hold."""
