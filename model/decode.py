"""The ONE decoding used by metrics, inference, export and every picture: where the centre is,
then the class and box read at its cell.

- argmax (the report's): the most likely centre cell; the box is the box head's at that cell.
- offset: the argmax cell plus the offset head's sub-cell position there.
- softargmax: the heatmap's expected position; its cell is where class and box are read.
With a continuous centre the box keeps the box head's size and takes the decoded centre.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from spacehpo.model.centres import cells_of, offset_centres, soft_argmax
from spacehpo.model.network import DetectorOutput
from spacehpo.model.targets import at_cells


class Decoded(NamedTuple):
    cells: torch.Tensor  # (B, 2) long (row, col) of the centre cell
    classes: torch.Tensor  # (B,) long
    confidence: torch.Tensor  # (B,) softmax probability of that class at that cell
    centre_prob: torch.Tensor  # (B,) sigmoid of the chosen cell's centre logit
    boxes: torch.Tensor  # (B, 4) normalised [cx, cy, w, h]


def decode(out: DetectorOutput) -> Decoded:
    batch, grid = out.centre.shape[0], out.centre.shape[-1]
    logits = out.centre.reshape(batch, -1).float()
    centres = None  # a continuous centre, where the head gives one
    if out.temperature is not None:
        centres = soft_argmax(out.centre, out.temperature)
        cells = cells_of(centres, grid)
        flat = cells[:, 0] * grid + cells[:, 1]
    else:
        flat = logits.argmax(dim=1)
        cells = torch.stack([flat // grid, flat % grid], dim=1)
        if out.offset is not None:
            centres = offset_centres(cells, at_cells(out.offset, cells), grid)
    boxes = at_cells(out.box, cells).float()
    if centres is not None:
        boxes = torch.cat([centres, boxes[:, 2:]], dim=1)
    probs = at_cells(out.classes, cells).float().softmax(dim=1)
    confidence, classes = probs.max(dim=1)
    centre_prob = torch.sigmoid(logits.gather(1, flat[:, None]).squeeze(1))
    return Decoded(cells, classes, confidence, centre_prob, boxes)
