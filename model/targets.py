"""Target encoding: pure, batched functions from labels to what each head should output."""

from __future__ import annotations

import torch


def gt_cells(boxes: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, 4) normalised [cx, cy, w, h] -> (B, 2) long (row, col) = floor(cy*G), floor(cx*G), clamped."""
    rows = torch.clamp((boxes[:, 1] * grid).floor().long(), 0, grid - 1)
    cols = torch.clamp((boxes[:, 0] * grid).floor().long(), 0, grid - 1)
    return torch.stack([rows, cols], dim=1)


def centre_heatmap(cells: torch.Tensor, grid: int, sigma: float) -> torch.Tensor:
    """(B, G, G) Gaussian of width `sigma` (cell units) around each GT cell; 1 at the cell itself."""
    idx = torch.arange(grid, device=cells.device, dtype=torch.float32)
    dr = idx.view(1, grid, 1) - cells[:, 0].view(-1, 1, 1).float()
    dc = idx.view(1, 1, grid) - cells[:, 1].view(-1, 1, 1).float()
    return torch.exp(-(dr**2 + dc**2) / (2 * sigma**2))


def at_cells(per_cell: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """Read a (B, K, G, G) map at one (row, col) per image -> (B, K)."""
    batch = torch.arange(per_cell.shape[0], device=per_cell.device)
    return per_cell[batch, :, cells[:, 0], cells[:, 1]]
