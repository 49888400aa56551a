import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from spacehpo.model.decode import decode
from spacehpo.model.loss import detector_loss
from spacehpo.model.metrics import box_iou, detection_metrics
from spacehpo.model.network import DetectorOutput
from spacehpo.model.targets import centre_heatmap, gt_cells


def test_gt_cell_is_floor_of_centre_clamped_at_borders() -> None:
    boxes = torch.tensor(
        [
            [0.55, 0.25, 0.1, 0.1],
            [1.0, 1.0, 0.1, 0.1],
            [0.0, 0.0, 0.1, 0.1],
            [0.099, 0.999, 0.1, 0.1],
        ]
    )
    assert gt_cells(boxes, 10).tolist() == [[2, 5], [9, 9], [0, 0], [9, 0]]


@pytest.mark.parametrize(
    ("sigma", "side", "diagonal"),
    [(0.5, math.exp(-2), math.exp(-4)), (0.7, math.exp(-1 / 0.98), math.exp(-2 / 0.98))],
)
def test_gaussian_values(sigma: float, side: float, diagonal: float) -> None:
    hm = centre_heatmap(torch.tensor([[4, 6]]), 10, sigma)[0]
    assert hm[4, 6] == 1.0
    assert hm[4, 7].item() == pytest.approx(side, rel=1e-6) and hm[3, 6].item() == pytest.approx(
        side, rel=1e-6
    )
    assert hm[5, 7].item() == pytest.approx(diagonal, rel=1e-6)
    assert hm.max() == 1.0 and (hm >= 0).all() and (hm < 1).sum() == 99


def test_gaussian_at_corner_keeps_peak() -> None:
    hm = centre_heatmap(torch.tensor([[0, 9]]), 10, 0.5)[0]
    assert hm[0, 9] == 1.0 and hm[0, 8].item() == pytest.approx(math.exp(-2))


def _output(grid: int = 2, classes: int = 3) -> DetectorOutput:
    centre = torch.tensor([[[2.0, -1.0], [0.0, -2.0]]])
    cls = torch.zeros(1, classes, grid, grid)
    cls[0, :, 0, 0] = torch.tensor([1.0, 2.0, 0.5])
    box = torch.full((1, 4, grid, grid), 0.5)
    box[0, :, 0, 0] = torch.tensor([0.3, 0.2, 0.4, 0.4])
    return DetectorOutput(centre, cls, box)


def test_loss_on_a_hand_computed_case() -> None:
    out = _output()
    boxes = torch.tensor([[0.25, 0.25, 0.5, 0.5]])  # GT cell (0, 0) of a 2x2 grid
    loss = detector_loss(
        out, torch.tensor([1]), boxes, sigma=0.5, k=8, box_weight=5, centre_weight=3
    )
    t = torch.tensor([[1, math.exp(-2)], [math.exp(-2), math.exp(-4)]])
    w = 8 * t + (1 - t)
    logits = out.centre[0]
    bce = -(t * F.logsigmoid(logits) + (1 - t) * F.logsigmoid(-logits))
    centre = (w * bce).sum() / w.sum()
    cls = -torch.log_softmax(torch.tensor([1.0, 2.0, 0.5]), 0)[1]
    diffs = torch.tensor([0.05, 0.05, 0.1, 0.1])
    box = (0.5 * diffs**2).mean()  # all |d| < 1: SmoothL1 = 0.5 d^2
    assert loss.centre.item() == pytest.approx(centre.item(), rel=1e-5)
    assert loss.classes.item() == pytest.approx(cls.item(), rel=1e-5)
    assert loss.box.item() == pytest.approx(box.item(), rel=1e-5)
    assert loss.total.item() == pytest.approx(
        3 * centre.item() + 5 * box.item() + cls.item(), rel=1e-5
    )


def test_decode_reads_class_and_box_at_the_argmax_cell() -> None:
    d = decode(_output())
    assert d.cells.tolist() == [[0, 0]] and d.classes.tolist() == [1]
    assert d.boxes[0].tolist() == pytest.approx([0.3, 0.2, 0.4, 0.4])
    assert d.confidence.item() == pytest.approx(
        torch.softmax(torch.tensor([1.0, 2.0, 0.5]), 0)[1].item()
    )


def test_decode_of_encoded_targets_round_trips() -> None:
    g, n = 10, 64
    rng = np.random.default_rng(0)
    boxes = torch.tensor(
        np.column_stack([rng.uniform(0, 1, (n, 2)), rng.uniform(0.05, 0.5, (n, 2))]),
        dtype=torch.float32,
    )
    classes = torch.tensor(rng.integers(0, 11, n))
    cells = gt_cells(boxes, g)
    logit = lambda p: torch.log(p / (1 - p))  # noqa: E731
    centre = logit(centre_heatmap(cells, g, 0.5).clamp(1e-4, 1 - 1e-4))
    cls = (
        F.one_hot(classes, 11)
        .float()
        .permute(1, 0)[:, :, None, None]
        .expand(11, n, g, g)
        .permute(1, 0, 2, 3)
        * 10
    )
    box = boxes[:, :, None, None].expand(n, 4, g, g)
    d = decode(DetectorOutput(centre, cls, box))
    assert torch.equal(d.cells, cells) and torch.equal(d.classes, classes)
    assert torch.allclose(d.boxes, boxes)


def test_metrics_on_constructed_predictions() -> None:
    gt_boxes = np.array([[0.5, 0.5, 0.2, 0.2]] * 4)
    pred_boxes = np.array(
        [[0.5, 0.5, 0.2, 0.2], [0.55, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2], [0.9, 0.9, 0.1, 0.1]]
    )
    gt_cells_ = np.array([[5, 5]] * 4)
    pred_cells = np.array([[5, 5], [5, 5], [4, 5], [9, 9]])
    m = detection_metrics(
        pred_cells,
        np.array([1, 1, 2, 1]),
        pred_boxes,
        gt_cells_,
        np.array([1, 1, 1, 1]),
        gt_boxes,
        3,
    )
    iou2 = 0.15 * 0.2 / (2 * 0.04 - 0.15 * 0.2)
    assert m["class_acc"] == 0.75 and m["centre_acc"] == 0.5
    assert m["iou"] == pytest.approx((1 + iou2 + 1 + 0) / 4)
    # right class and IoU > t: image 0 at every t, image 1 (IoU 0.6) at t = 0.50, 0.55
    assert m["spark_score"] == pytest.approx((10 + 2) / 10 / 4)
    assert m["confusion"] == [[0, 0, 0], [0, 3, 1], [0, 0, 0]]


def test_iou_of_disjoint_and_identical_boxes() -> None:
    a = np.array([[0.2, 0.2, 0.1, 0.1], [0.5, 0.5, 0.3, 0.2]])
    b = np.array([[0.8, 0.8, 0.1, 0.1], [0.5, 0.5, 0.3, 0.2]])
    assert box_iou(a, b).tolist() == [0.0, 1.0]
