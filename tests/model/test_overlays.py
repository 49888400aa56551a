"""Overlays a person can read: scaled up, captioned in full, wrong ones framed in red."""

from __future__ import annotations

import numpy as np
from PIL import Image
from spacehpo.model.overlays import (
    MIN_SIDE,
    WRONG,
    Shown,
    caption,
    fitting_font,
    legend,
    overlay_sheet,
    tile,
    true_cell,
)

LONG_NAME = "earth_observation_sat1"


def shown(side: int = 96, predicted: str = LONG_NAME, truth: str = LONG_NAME, cell=(1, 1)) -> Shown:
    grid = side // 32
    heat = np.zeros((grid, grid))
    heat[cell] = 0.9
    return Shown(
        Image.new("RGB", (side, side), (30, 30, 30)),
        "img000001",
        heat,
        cell,
        np.array([0.5, 0.5, 0.3, 0.3]),
        predicted,
        0.87,
        np.array([0.5, 0.5, 0.3, 0.3]),  # centre in cell (1, 1) of a 3 x 3 grid
        truth,
    )


def test_the_true_cell_holds_the_box_centre() -> None:
    assert true_cell(np.array([0.5, 0.5, 0.1, 0.1]), 3) == (1, 1)
    assert true_cell(np.array([0.99, 0.01, 0.1, 0.1]), 10) == (0, 9)
    assert true_cell(np.array([1.0, 1.0, 0.1, 0.1]), 10) == (9, 9)  # the edge stays on the grid


def test_mistakes_name_a_wrong_class_and_a_centre_outside_the_true_cell() -> None:
    assert shown().mistakes() == []
    assert shown(predicted="smart_1").mistakes() == ["class"]
    assert shown(cell=(0, 2)).mistakes() == ["centre outside the true cell"]
    unknown = Shown(**{**shown().__dict__, "truth_box": None, "truth_class": None})
    assert unknown.mistakes() == []


def test_the_caption_names_the_image_the_prediction_the_truth_and_the_mistake() -> None:
    texts = [text for text, _ in caption(shown(predicted="smart_1", cell=(0, 0)))]
    assert texts == [
        "img000001",
        "predicted: smart_1 0.87",
        f"true: {LONG_NAME}",
        "wrong: class",
        "wrong: centre outside the true cell",
    ]
    assert caption(shown(predicted="smart_1"))[-1][1] == WRONG


def test_a_small_image_is_scaled_up_and_every_caption_line_fits() -> None:
    for side in (96, 128, 320):
        t = tile(shown(side, predicted="smart_1"))
        assert t.width == max(side, MIN_SIDE) and t.height > t.width  # the caption below
        lines = [text for text, _ in caption(shown(side, predicted="smart_1"))]
        face = fitting_font(lines, t.width - 2 * max(4, t.width // 64), max(12, t.width // 20))
        assert max(face.getlength(line) for line in lines) <= t.width


def test_a_wrong_tile_is_framed_in_red_and_a_right_one_is_not() -> None:
    wrong, right = tile(shown(predicted="smart_1")), tile(shown())
    assert wrong.getpixel((1, wrong.height // 2)) == WRONG
    assert right.getpixel((1, right.height // 2)) != WRONG


def test_the_sheet_has_a_legend_above_its_tiles() -> None:
    sheet = overlay_sheet([shown(), shown(predicted="smart_1"), shown(), shown(), shown()])
    one = tile(shown())
    band = legend(sheet.width)
    assert sheet.width >= 4 * one.width and sheet.height >= band.height + 2 * one.height
    assert np.array_equal(np.asarray(sheet)[: band.height], np.asarray(band))
