"""wandb-workspaces filter strings <-> ``Query``: the reader (``read``) and the writer
(``write``, the ``wandb-workspaces`` target) side by side, over one ``vocabulary``."""

from wsquery.compilers.wandb_workspaces.read import from_wandb_workspaces
from wsquery.compilers.wandb_workspaces.vocabulary import TARGET
from wsquery.compilers.wandb_workspaces.write import (
    WandbWorkspacesFilter,
    compile_wandb_workspaces,
    to_wandb_workspaces,
)

__all__ = ["TARGET", "WandbWorkspacesFilter", "compile_wandb_workspaces",
           "from_wandb_workspaces", "to_wandb_workspaces"]
