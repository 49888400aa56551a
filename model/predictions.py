"""What a prediction run produces, with numpy and PIL only: the decoded `Predictions`, the list
of images to read and the SPARK submission CSV. Torch-free, so `predict` with an exported .onnx
never imports torch (see `onnx_predict`); `infer` fills the same type from a checkpoint."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from spacehpo.data.spark import yolo_to_bbox
from spacehpo.data.yolo import IMAGE_SUFFIXES
from spacehpo.model.errors import ModelError


@dataclass(frozen=True)
class Predictions:
    """Decoded predictions for N images, as numpy arrays."""

    cells: np.ndarray  # (N, 2)
    classes: np.ndarray  # (N,)
    confidence: np.ndarray  # (N,)
    boxes: np.ndarray  # (N, 4) normalised [cx, cy, w, h]
    heatmaps: np.ndarray  # (N, G, G) centre probabilities


def image_paths(images: Path) -> list[Path]:
    if images.is_file():
        return [images]
    if not images.is_dir():
        raise ModelError(f"{images}: no such image or folder")
    paths = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ModelError(f"{images}: no .png/.jpg images")
    return paths


def write_submission(
    path: Path,
    names: list[str],
    preds: Predictions,
    sizes: list[tuple[int, int]],
    class_names: tuple[str, ...],
) -> None:
    """SPARK submission: `filename,class,bbox` with `[R_min, C_min, R_max, C_max]` in original pixels."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "class", "bbox"])
        for name, cls, box, (w, h) in zip(names, preds.classes, preds.boxes, sizes, strict=True):
            r0, c0, r1, c1 = yolo_to_bbox(box, w, h).tolist()
            writer.writerow([name, class_names[int(cls)], f"[{r0}, {c0}, {r1}, {c1}]"])
