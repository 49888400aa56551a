"""The detector's loss: weighted BCE on the centre heatmap + CE and SmoothL1 at the GT cell."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from spacehpo.model.centres import soft_argmax, subcell_offsets
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
    The outlook's continuous centres add to the terms they refine: an offset head's sub-cell
    error to the box term, a soft-argmax's position error (in cells) to the centre term.
    """
    grid = out.centre.shape[-1]
    cells = gt_cells(boxes, grid)
    target = centre_heatmap(cells, grid, sigma)
    weight = k * target + (1 - target)
    bce = F.binary_cross_entropy_with_logits(out.centre.float(), target, reduction="none")
    centre = (weight * bce).sum() / weight.sum()
    cls = F.cross_entropy(at_cells(out.classes, cells).float(), classes)
    box = F.smooth_l1_loss(at_cells(out.box, cells).float(), boxes)
    if out.offset is not None:
        offsets = at_cells(out.offset, cells).float()
        box = box + F.smooth_l1_loss(offsets, subcell_offsets(boxes, cells, grid))
    if out.temperature is not None:
        position = soft_argmax(out.centre, out.temperature) * grid
        centre = centre + F.smooth_l1_loss(position, boxes[:, :2].float() * grid)
    return LossParts(centre_weight * centre + box_weight * box + cls, centre, cls, box)
