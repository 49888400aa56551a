"""The synthetic dataset on disk: frames from `render`, written in the YOLO or the SPARK layout.

Every image has its own random stream (seed, split, index), so the images are the same whatever
the order or the number of processes that draw them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from spacehpo.data.classes import CLASS_NAMES
from spacehpo.data.errors import DataError
from spacehpo.data.files import staged_dir
from spacehpo.data.render import load_label_statistics, render
from spacehpo.data.yolo import write_data_yaml
from tqdm import tqdm

__all__ = ["SynthConfig", "generate", "load_label_statistics"]
CHUNK = 64  # images per job handed to a drawing process


@dataclass(frozen=True)
class SynthConfig:
    n_train: int = 660
    n_val: int = 220
    size: int = 128
    seed: int = 0
    format: str = "yolo"  # or "spark": the release CSV + images, for the converter


@dataclass(frozen=True)
class _Chunk:
    """Consecutive images of one split, drawn and saved by one process."""

    seed: int
    split_index: int
    size: int
    items: tuple[tuple[int, int, Path], ...]  # (index in split, class, image path)


def _draw_chunk(chunk: _Chunk) -> list[np.ndarray]:
    """Render and save each image; return the visible boxes (the labels are written in order
    by the parent, which owns the one CSV of a split)."""
    stats = load_label_statistics()
    boxes = []
    for i, cls, path in chunk.items:
        rng = np.random.default_rng([chunk.seed, chunk.split_index, i])
        img, box = render(cls, rng, chunk.size, stats)
        img.save(path, quality=90)
        boxes.append(box)
    return boxes


def _draw_all(chunks: list[_Chunk], workers: int) -> Iterator[list[np.ndarray]]:
    if workers <= 1:
        yield from map(_draw_chunk, chunks)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(_draw_chunk, chunks)


def generate(
    out: Path, config: SynthConfig, progress: bool = True, workers: int = 1
) -> dict[str, int]:
    """Write the dataset to `out` atomically, drawing in `workers` processes (same bytes for any
    count: at 88,000 images one core takes ten minutes)."""
    if config.size < 32 or config.n_train < 1 or config.n_val < 1:
        raise DataError("synth: --size must be >= 32 and --n-train, --n-val >= 1")
    if config.format not in ("yolo", "spark"):
        raise DataError(f"synth: --format must be yolo or spark, not {config.format!r}")
    counts = {"train": config.n_train, "val": config.n_val}
    with staged_dir(out) as tmp:
        serial = 0
        for split_index, (split, n) in enumerate(counts.items()):
            classes = np.random.default_rng([config.seed, split_index]).permutation(
                np.resize(np.arange(len(CLASS_NAMES)), n)
            )
            writer = (
                _SparkWriter(tmp, split) if config.format == "spark" else _YoloWriter(tmp, split)
            )
            stems = [f"img{serial + i + 1:06d}" for i in range(n)]
            serial += n
            items = [(i, int(classes[i]), writer.image_path(stems[i])) for i in range(n)]
            chunks = [
                _Chunk(config.seed, split_index, config.size, tuple(items[a : a + CHUNK]))
                for a in range(0, n, CHUNK)
            ]
            with tqdm(total=n, desc=f"synth {split}", disable=not progress) as bar:
                for chunk, boxes in zip(chunks, _draw_all(chunks, workers), strict=True):
                    for (i, cls, _), box in zip(chunk.items, boxes, strict=True):
                        writer.add_label(stems[i], cls, box, config.size)
                    bar.update(len(boxes))
            writer.close()
        if config.format == "yolo":
            write_data_yaml(tmp, CLASS_NAMES)
    return counts


class _YoloWriter:
    def __init__(self, root: Path, split: str) -> None:
        self.images, self.labels = root / "images" / split, root / "labels" / split
        self.images.mkdir(parents=True)
        self.labels.mkdir(parents=True)

    def image_path(self, stem: str) -> Path:
        return self.images / f"{stem}.jpg"

    def add_label(self, stem: str, cls: int, box: np.ndarray, size: int) -> None:
        x0, y0, x1, y1 = box / size
        (self.labels / f"{stem}.txt").write_text(
            f"{cls} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} {x1 - x0:.6f} {y1 - y0:.6f}\n"
        )

    def close(self) -> None:
        pass


class _SparkWriter:
    """The release layout: `{split}.csv` with `[R_min, C_min, R_max, C_max]` and `{split}/` images."""

    def __init__(self, root: Path, split: str) -> None:
        self.images = root / split
        self.images.mkdir(parents=True)
        self.file = (root / f"{split}.csv").open("w", newline="")
        self.csv = csv.writer(self.file)
        self.csv.writerow(["filename", "class", "bbox"])

    def image_path(self, stem: str) -> Path:
        return self.images / f"{stem}.jpg"

    def add_label(self, stem: str, cls: int, box: np.ndarray, size: int) -> None:
        x0, y0, x1, y1 = (int(v) for v in box)
        self.csv.writerow([f"{stem}.jpg", CLASS_NAMES[cls], f"[{y0}, {x0}, {y1}, {x1}]"])

    def close(self) -> None:
        self.file.close()
