"""Continuous centre estimates, the report's outlook against its main limitation (the argmax
cell alone places the centre only to within a cell): pure functions on the heads' outputs.

Positions are normalised image coordinates [cx, cy] in (0, 1), as the boxes are.
- `offset`: an extra 2-channel head regresses where in its cell the centre lies; trained at the
  ground-truth cell against `subcell_offsets`.
- `softargmax`: the expected position under a softmax of the centre heatmap's logits divided
  by a temperature (a small temperature approaches the argmax cell's centre).
"""

from __future__ import annotations

import torch
from spacehpo.model.config import CENTRE_HEADS

__all__ = ["CENTRE_HEADS", "cell_centres", "cells_of", "offset_centres", "soft_argmax"]


def cell_centres(cells: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, 2) long (row, col) -> (B, 2) [cx, cy] of those cells' middles."""
    return torch.stack([cells[:, 1], cells[:, 0]], dim=1).float().add(0.5).div(grid)


def subcell_offsets(boxes: torch.Tensor, cells: torch.Tensor, grid: int) -> torch.Tensor:
    """Where in its cell each box centre lies: (B, 2) [dx, dy] in [0, 1]."""
    corner = torch.stack([cells[:, 1], cells[:, 0]], dim=1).float()
    return (boxes[:, :2] * grid - corner).clamp(0, 1)


def offset_centres(cells: torch.Tensor, offsets: torch.Tensor, grid: int) -> torch.Tensor:
    """The chosen cells' corners plus the offsets read there: (B, 2) [cx, cy]."""
    corner = torch.stack([cells[:, 1], cells[:, 0]], dim=1).float()
    return (corner + offsets.float()) / grid


def soft_argmax(centre_logits: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
    """(B, G, G) logits -> (B, 2) [cx, cy]: the heatmap's expected cell middle."""
    batch, grid = centre_logits.shape[0], centre_logits.shape[-1]
    weights = (centre_logits.float().reshape(batch, -1) / temperature).softmax(dim=1)
    middles = (torch.arange(grid, device=centre_logits.device, dtype=torch.float32) + 0.5) / grid
    cy = (weights.view(batch, grid, grid).sum(dim=2) * middles).sum(dim=1)
    cx = (weights.view(batch, grid, grid).sum(dim=1) * middles).sum(dim=1)
    return torch.stack([cx, cy], dim=1)


def cells_of(centres: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, 2) [cx, cy] -> (B, 2) long (row, col) of the cell each falls in."""
    rows = (centres[:, 1] * grid).floor().long().clamp(0, grid - 1)
    cols = (centres[:, 0] * grid).floor().long().clamp(0, grid - 1)
    return torch.stack([rows, cols], dim=1)
