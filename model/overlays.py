"""Overlay pictures a person can read (the report's figure 3.1): each image with the centre
heatmap, the grid, the chosen cell and both boxes, a caption that names the image, the predicted
and the true class, and a red frame where the detector is wrong.

Study images are small (96 px in the demo), so tiles are scaled up to at least `MIN_SIDE` before
anything is drawn, and captions sit in a band below the image, in a font that shrinks until the
longest class name fits: nothing is cut off at a tile's edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from spacehpo.data.cache import CachedSplit
    from spacehpo.model.predictions import Predictions

MIN_SIDE = 320
TRUTH = (0, 220, 255)
PREDICTION = (0, 230, 0)
CELL = (255, 220, 0)
HEAT = (255, 40, 40)
WRONG = (235, 40, 40)
GRID = (90, 90, 90)
GAP = 8  # pixels between tiles, so two red frames never merge
INK, PAPER = (235, 235, 235), (24, 24, 24)
LEGEND = (
    (TRUTH, "true box"),
    (PREDICTION, "predicted box"),
    (CELL, "chosen cell"),
    (HEAT, "centre heatmap"),
    (WRONG, "frame: wrong class or centre"),
)


@dataclass(frozen=True)
class Shown:
    """One image and what the detector said about it; the truth where it is known."""

    image: Image.Image
    name: str
    heatmap: np.ndarray  # (G, G) centre probabilities
    cell: tuple[int, int]  # (row, column) the centre decoder chose
    box: np.ndarray  # normalised [cx, cy, w, h]
    predicted: str
    confidence: float
    truth_box: np.ndarray | None = None
    truth_class: str | None = None

    def mistakes(self) -> list[str]:
        found = []
        if self.truth_class is not None and self.truth_class != self.predicted:
            found.append("class")
        if self.truth_box is not None and true_cell(self.truth_box, len(self.heatmap)) != tuple(
            self.cell
        ):
            found.append("centre outside the true cell")
        return found


def shown_of(
    split: CachedSplit, preds: Predictions, class_names: tuple[str, ...], count: int = 8
) -> list[Shown]:
    """The first `count` images of a split, with their predictions (the first ones of `preds`)
    and their labels."""
    return [
        Shown(
            Image.fromarray(split.images[i]),
            split.stems[i],
            preds.heatmaps[i],
            (int(preds.cells[i][0]), int(preds.cells[i][1])),
            preds.boxes[i],
            class_names[int(preds.classes[i])],
            float(preds.confidence[i]),
            split.labels[i, 1:],
            class_names[int(split.labels[i, 0])],
        )
        for i in range(min(count, len(split), len(preds.classes)))
    ]


def true_cell(box: np.ndarray, grid: int) -> tuple[int, int]:
    """The (row, column) of the grid cell that holds the box's centre."""
    return (min(grid - 1, int(box[1] * grid)), min(grid - 1, int(box[0] * grid)))


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def fitting_font(lines: list[str], width: int, size: int) -> ImageFont.FreeTypeFont:
    """The largest font up to `size` in which every line fits `width` pixels."""
    while size > 8 and max(font(size).getlength(line) for line in lines) > width:
        size -= 1
    return font(size)


def picture(shown: Shown) -> Image.Image:
    """The image scaled up to at least MIN_SIDE, with the heatmap, grid, cell and boxes."""
    img = shown.image.convert("RGB")
    scale = max(1.0, MIN_SIDE / min(img.size))
    w, h = round(img.width * scale), round(img.height * scale)
    img = img.resize((w, h), Image.BICUBIC)
    heat = Image.fromarray((np.clip(shown.heatmap, 0, 1) * 255).astype(np.uint8))
    alpha = heat.resize((w, h), Image.NEAREST).point(lambda v: int(v * 0.45))
    img = Image.composite(Image.new("RGB", (w, h), HEAT), img, alpha)
    draw, grid, line = ImageDraw.Draw(img), len(shown.heatmap), max(2, w // 160)
    for i in range(1, grid):
        draw.line([(i * w / grid, 0), (i * w / grid, h)], fill=GRID)
        draw.line([(0, i * h / grid), (w, i * h / grid)], fill=GRID)
    r, c = shown.cell
    cell = [c * w / grid, r * h / grid, (c + 1) * w / grid, (r + 1) * h / grid]
    draw.rectangle(cell, outline=CELL, width=line)
    if shown.truth_box is not None:
        draw.rectangle(_corners(shown.truth_box, w, h), outline=TRUTH, width=line)
    draw.rectangle(_corners(shown.box, w, h), outline=PREDICTION, width=line)
    return img


def caption(shown: Shown) -> list[tuple[str, tuple[int, int, int]]]:
    """The lines under a tile, each in the colour of what it names."""
    lines = [
        (shown.name, INK),
        (f"predicted: {shown.predicted} {shown.confidence:.2f}", PREDICTION),
    ]
    if shown.truth_class is not None:
        lines.append((f"true: {shown.truth_class}", TRUTH))
    return lines + [(f"wrong: {m}", WRONG) for m in shown.mistakes()]


def tile(shown: Shown) -> Image.Image:
    """The picture above its caption; framed in red when the detector is wrong."""
    img, lines = picture(shown), caption(shown)
    pad = max(4, img.width // 64)
    face = fitting_font([text for text, _ in lines], img.width - 2 * pad, max(12, img.width // 20))
    step = round(face.size * 1.25)
    out = Image.new("RGB", (img.width, img.height + len(lines) * step + 2 * pad), PAPER)
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    for i, (text, colour) in enumerate(lines):
        draw.text((pad, img.height + pad + i * step), text, fill=colour, font=face)
    if shown.mistakes():
        draw.rectangle([0, 0, out.width - 1, out.height - 1], outline=WRONG, width=max(3, pad))
    return out


def legend(width: int) -> Image.Image:
    """One band that says which colour is what, above a sheet or a single overlay."""
    face = fitting_font(["  ".join(text for _, text in LEGEND) + " " * 12], width - 16, 16)
    step = round(face.size * 1.6)
    band = Image.new("RGB", (width, step + 8), PAPER)
    draw, x = ImageDraw.Draw(band), 8
    for colour, text in LEGEND:
        fill = _blend(colour, PAPER, 0.45) if colour == HEAT else None  # as the heatmap is drawn
        draw.rectangle([x, 6, x + face.size, 6 + face.size], fill=fill, outline=colour, width=3)
        x += face.size + 6
        draw.text((x, 4), text, fill=INK, font=face)
        x += round(face.getlength(text)) + 18
    return band


def with_legend(image: Image.Image) -> Image.Image:
    band = legend(image.width)
    out = Image.new("RGB", (image.width, band.height + image.height), PAPER)
    out.paste(band, (0, 0))
    out.paste(image, (0, band.height))
    return out


def overlay_sheet(shown: list[Shown], columns: int = 4) -> Image.Image:
    """Tiles side by side under one legend: the overlays artifact of a trial or an export."""
    tiles = [tile(s) for s in shown]
    w, h = max(t.width for t in tiles) + GAP, max(t.height for t in tiles) + GAP
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (w * min(columns, len(tiles)) - GAP, h * rows - GAP), PAPER)
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % columns) * w, (i // columns) * h))
    return with_legend(sheet)


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], share: float) -> tuple[int, ...]:
    return tuple(round(x * share + y * (1 - share)) for x, y in zip(a, b, strict=True))


def _corners(box: np.ndarray, w: int, h: int) -> list[float]:
    """A normalised [cx, cy, w, h] box as pixel edges [x0, y0, x1, y1]."""
    cx, cy, bw, bh = box[:4]
    return [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
