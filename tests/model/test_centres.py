"""Sub-cell centres: offsets and the soft-argmax round-trip on constructed heatmaps."""

import torch
from spacehpo.model.centres import (
    cell_centres,
    cells_of,
    offset_centres,
    soft_argmax,
    subcell_offsets,
)
from spacehpo.model.targets import centre_heatmap, gt_cells

GRID = 10


def _boxes() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.cat([torch.rand((32, 2), generator=g) * 0.98 + 0.01, torch.full((32, 2), 0.2)], 1)


def test_offsets_round_trip_to_the_exact_centre() -> None:
    boxes = _boxes()
    cells = gt_cells(boxes, GRID)
    offsets = subcell_offsets(boxes, cells, GRID)
    assert ((offsets >= 0) & (offsets <= 1)).all()
    assert torch.allclose(offset_centres(cells, offsets, GRID), boxes[:, :2], atol=1e-6)
    assert torch.equal(cells_of(boxes[:, :2], GRID), cells)


def test_soft_argmax_finds_a_peak_between_cells() -> None:
    """A symmetric bump spread over two neighbouring cells decodes to their shared edge, which
    the argmax cell (either of the two) cannot express."""
    logits = torch.full((1, GRID, GRID), -20.0)
    logits[0, 4, 6] = logits[0, 4, 7] = 5.0
    centre = soft_argmax(logits, 1.0)[0]
    assert torch.allclose(centre, torch.tensor([0.7, 0.45]), atol=1e-4)


def test_soft_argmax_at_a_low_temperature_is_the_argmax_cell() -> None:
    boxes = _boxes()
    cells = gt_cells(boxes, GRID)
    logits = torch.logit(centre_heatmap(cells, GRID, 0.5).clamp(1e-4, 1 - 1e-4))
    centres = soft_argmax(logits, 0.01)
    assert torch.allclose(centres, cell_centres(cells, GRID), atol=1e-4)
    assert torch.equal(cells_of(centres, GRID), cells)
