"""Facts every layer reads and that read nothing of wsquery: run attributes, W&B formats."""
