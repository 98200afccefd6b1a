"""wandb-workspaces filter strings <-> ``Query``: the reader (``read``) and the writer
(``write``, the ``wandb-workspaces`` target) side by side, over one ``vocabulary``. The package
imports neither: compiling needs no reader."""
