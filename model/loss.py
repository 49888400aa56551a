"""The detector's loss: weighted BCE on the centre heatmap + CE and SmoothL1 at the GT cell."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from spacehpo.model.network import DetectorOutput
from spacehpo.model.targets import at_cells, centre_heatmap, gt_cells


class LossParts(NamedTuple):
    total: torch.Tensor
    centre: torch.Tensor
    classes: torch.Tensor
    box: torch.Tensor


def detector_loss(
    out: DetectorOutput,
    classes: torch.Tensor,
    boxes: torch.Tensor,
    sigma: float,
    k: float,
    box_weight: float,
    centre_weight: float = 3.0,
) -> LossParts:
    """`centre_weight*centre + box_weight*box + 1*class`, each term as the report defines it.

    Centre cells are weighted `w = k*t + (1 - t)` so the few positive cells are not drowned by
    the ~100 background ones; dividing by the weight sum keeps the scale independent of sigma.
    """
    grid = out.centre.shape[-1]
    cells = gt_cells(boxes, grid)
    target = centre_heatmap(cells, grid, sigma)
    weight = k * target + (1 - target)
    bce = F.binary_cross_entropy_with_logits(out.centre.float(), target, reduction="none")
    centre = (weight * bce).sum() / weight.sum()
    cls = F.cross_entropy(at_cells(out.classes, cells).float(), classes)
    box = F.smooth_l1_loss(at_cells(out.box, cells).float(), boxes)
    return LossParts(centre_weight * centre + box_weight * box + cls, centre, cls, box)
