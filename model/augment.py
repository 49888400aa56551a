"""Training-time augmentation against overfitting, on uint8 batches on the training device, with
the boxes transformed to match. Pure functions of a batch and a seeded generator, so a resumed
run draws the same augmentations.

Levels (`augment`): `none` (the report's), `flip` (horizontal and vertical flips), `flip_rot`
(flips and 90-degree rotations: a satellite has no "up" in orbit) and `full` (flip_rot plus
brightness/contrast jitter).
"""

from __future__ import annotations

import torch
from spacehpo.model.config import AUGMENT_LEVELS

__all__ = ["AUGMENT_LEVELS", "augment_batch"]
BRIGHTNESS = 0.2  # up to +-20 % of full scale
CONTRAST = 0.2  # up to x(1 +- 0.2) around the image mean


def augment_batch(
    images: torch.Tensor, boxes: torch.Tensor, level: str, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H, W, 3) uint8 and (B, 4) normalised [cx, cy, w, h] -> the augmented pair.

    Every image draws its own transform; the ops are batched over the images that drew each
    one, so the cost is a few kernel launches per batch, not per image.
    """
    if level == "none":
        return images, boxes
    images, boxes = images.clone(), boxes.clone()
    draw = torch.rand((images.shape[0], 3), generator=generator, device=generator.device)
    draw = draw.to(images.device)
    images, boxes = _flip(images, boxes, draw[:, 0] < 0.5, axis=2)  # left-right
    images, boxes = _flip(images, boxes, draw[:, 1] < 0.5, axis=1)  # up-down
    if level in ("flip_rot", "full"):
        turns = (draw[:, 2] * 4).long().clamp(max=3)
        for k in (1, 2, 3):
            images, boxes = _rotate(images, boxes, turns == k, k)
    if level == "full":
        images = _jitter(images, generator)
    return images, boxes


def _flip(
    images: torch.Tensor, boxes: torch.Tensor, chosen: torch.Tensor, axis: int
) -> tuple[torch.Tensor, torch.Tensor]:
    images[chosen] = images[chosen].flip(axis)
    coord = 0 if axis == 2 else 1  # cx for a left-right flip, cy for an up-down one
    boxes[chosen, coord] = 1 - boxes[chosen, coord]
    return images, boxes


def _rotate(
    images: torch.Tensor, boxes: torch.Tensor, chosen: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """k quarter turns counter-clockwise (square images): a point (x, y) goes to (y, 1 - x)."""
    images[chosen] = torch.rot90(images[chosen], k, dims=(1, 2))
    b = boxes[chosen]
    for _ in range(k):
        b = torch.stack([b[:, 1], 1 - b[:, 0], b[:, 3], b[:, 2]], dim=1)
    boxes[chosen] = b
    return images, boxes


def _jitter(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    draw = torch.rand((images.shape[0], 2), generator=generator, device=generator.device)
    draw = (draw.to(images.device) * 2 - 1).view(-1, 2, 1, 1, 1)  # in [-1, 1)
    x = images.float()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + CONTRAST * draw[:, 0]) + mean + 255 * BRIGHTNESS * draw[:, 1]
    return x.round_().clamp_(0, 255).to(torch.uint8)
