"""Augmented boxes still frame the object, for every flip and rotation an image can draw."""

import pytest
import torch
from spacehpo.model.augment import AUGMENT_LEVELS, augment_batch

SIZE = 32


def _images_with_boxes(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Black images, each with one bright off-centre rectangle; boxes normalised [cx, cy, w, h]."""
    images = torch.zeros((n, SIZE, SIZE, 3), dtype=torch.uint8)
    boxes = []
    for i in range(n):
        x0, y0, w, h = 2 + i % 5, 4 + i % 7, 6 + i % 4, 10 + i % 3
        images[i, y0 : y0 + h, x0 : x0 + w] = 200
        boxes.append([(x0 + w / 2) / SIZE, (y0 + h / 2) / SIZE, w / SIZE, h / SIZE])
    return images, torch.tensor(boxes)


def _framed(images: torch.Tensor) -> torch.Tensor:
    """The box of the bright pixels in each image, as [cx, cy, w, h]."""
    out = []
    for img in images.float().mean(dim=3):
        ys, xs = torch.nonzero(img > (img.max() + img.min()) / 2, as_tuple=True)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        out.append([(x0 + x1) / 2 / SIZE, (y0 + y1) / 2 / SIZE, (x1 - x0) / SIZE, (y1 - y0) / SIZE])
    return torch.tensor(out)


@pytest.mark.parametrize("level", AUGMENT_LEVELS)
def test_boxes_follow_the_object(level: str) -> None:
    images, boxes = _images_with_boxes(64)
    out, moved = augment_batch(images, boxes, level, torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == images.shape
    assert torch.allclose(_framed(out), moved, atol=1e-6)
    if level == "none":
        assert out is images and moved is boxes
    else:
        assert not torch.equal(moved, boxes)  # 64 images cannot all have drawn no change
        assert torch.equal(_images_with_boxes(64)[0], images)  # the input is left alone


def test_the_same_seed_draws_the_same_augmentation() -> None:
    images, boxes = _images_with_boxes(16)
    a = augment_batch(images, boxes, "full", torch.Generator().manual_seed(3))
    b = augment_batch(images, boxes, "full", torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_every_rotation_is_drawn() -> None:
    """Rotations change the box's aspect (w <-> h) on about half the images."""
    images, boxes = _images_with_boxes(200)
    _, moved = augment_batch(images, boxes, "flip_rot", torch.Generator().manual_seed(1))
    swapped = torch.isclose(moved[:, 2], boxes[:, 3]) & ~torch.isclose(boxes[:, 2], boxes[:, 3])
    assert 0.3 < swapped.float().mean() < 0.7
