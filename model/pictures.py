"""Pictures for people: the confusion matrix and prediction overlays (the report's figure 3.1)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402


def confusion_png(
    matrix: np.ndarray | list, class_names: tuple[str, ...] | list[str], path: Path, title: str = ""
) -> None:
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (r, c), n in np.ndenumerate(matrix):
        if n:
            ax.text(
                c,
                r,
                str(n),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if n > matrix.max() / 2 else "black",
            )
    acc = np.trace(matrix) / max(1, matrix.sum())
    ax.set_title(f"{title} class accuracy {acc:.3f}".strip())
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def overlay(
    image: Image.Image,
    heatmap: np.ndarray,
    cell: tuple[int, int],
    box: np.ndarray,
    label: str,
    gt_box: np.ndarray | None = None,
) -> Image.Image:
    """The grid, the centre heatmap, the chosen cell, the predicted box (green) and the GT box
    (cyan), drawn on the image at its own resolution. Boxes are normalised [cx, cy, w, h]."""
    img = image.convert("RGB")
    w, h = img.size
    grid = heatmap.shape[0]
    heat = Image.fromarray((np.clip(heatmap, 0, 1) * 255).astype(np.uint8)).resize(
        (w, h), Image.NEAREST
    )
    red = Image.new("RGB", (w, h), (255, 40, 40))
    img = Image.composite(red, img, heat.point(lambda v: int(v * 0.45)))
    draw = ImageDraw.Draw(img)
    for i in range(1, grid):
        draw.line([(i * w / grid, 0), (i * w / grid, h)], fill=(90, 90, 90))
        draw.line([(0, i * h / grid), (w, i * h / grid)], fill=(90, 90, 90))
    r, c = cell
    draw.rectangle(
        [c * w / grid, r * h / grid, (c + 1) * w / grid, (r + 1) * h / grid],
        outline=(255, 220, 0),
        width=max(1, w // 256),
    )
    if gt_box is not None:
        draw.rectangle(_corners(gt_box, w, h), outline=(0, 220, 255), width=max(1, w // 256))
    edges = _corners(box, w, h)
    draw.rectangle(edges, outline=(0, 255, 0), width=max(1, w // 200))
    draw.text((edges[0] + 3, max(0, edges[1] - 12)), label, fill=(0, 255, 0))
    return img


def _corners(box: np.ndarray, w: int, h: int) -> list[float]:
    """A normalised [cx, cy, w, h] box as pixel edges [x0, y0, x1, y1]."""
    cx, cy, bw, bh = box[:4]
    return [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]


def overlay_sheet(tiles: list[Image.Image], tile: int = 256, columns: int = 4) -> Image.Image:
    """Several overlays side by side, for one artifact per trial."""
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (tile * min(columns, len(tiles)), tile * rows))
    for i, t in enumerate(tiles):
        sheet.paste(t.resize((tile, tile)), ((i % columns) * tile, (i // columns) * tile))
    return sheet


def curves_png(rows: list[dict[str, float]], titles: dict[str, str]) -> bytes:
    """results.png: one small panel per curve against the epoch, as Ultralytics draws them."""
    shown = [name for name in titles if any(name in r for r in rows)]
    columns = 4
    fig, axes = plt.subplots(
        -(-len(shown) // columns), columns, figsize=(12, 2.6 * -(-len(shown) // columns))
    )
    for ax, name in zip(np.ravel(axes), shown, strict=False):
        points = [(r["epoch"], r[name]) for r in rows if name in r]
        ax.plot(*zip(*points, strict=True), marker=".", linewidth=1.5)
        ax.set_title(titles[name], fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in np.ravel(axes)[len(shown) :]:
        ax.axis("off")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()
