"""The ONE decoding used by metrics, inference and every picture: argmax centre cell, then the
class and box read at that cell."""

from __future__ import annotations

from typing import NamedTuple

import torch
from spacehpo.model.network import DetectorOutput
from spacehpo.model.targets import at_cells


class Decoded(NamedTuple):
    cells: torch.Tensor  # (B, 2) long (row, col) of the most likely centre cell
    classes: torch.Tensor  # (B,) long
    confidence: torch.Tensor  # (B,) softmax probability of that class at that cell
    centre_prob: torch.Tensor  # (B,) sigmoid of the chosen cell's centre logit
    boxes: torch.Tensor  # (B, 4) normalised [cx, cy, w, h]


def decode(out: DetectorOutput) -> Decoded:
    batch, grid = out.centre.shape[0], out.centre.shape[-1]
    flat = out.centre.reshape(batch, -1).float().argmax(dim=1)
    cells = torch.stack([flat // grid, flat % grid], dim=1)
    probs = at_cells(out.classes, cells).float().softmax(dim=1)
    confidence, classes = probs.max(dim=1)
    centre_prob = torch.sigmoid(
        out.centre.reshape(batch, -1).float().gather(1, flat[:, None]).squeeze(1)
    )
    return Decoded(cells, classes, confidence, centre_prob, at_cells(out.box, cells).float())
