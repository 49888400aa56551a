"""The SPARK 2022 Stream 1 release format and its conversion to YOLO.

A release split is `{split}.csv` (columns `filename,class,bbox`) beside a folder of images.
`bbox` is `"[R_min, C_min, R_max, C_max]"` in pixels: ROW (y) FIRST, inclusive, up to the width.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from spacehpo.data.classes import CLASS_IDS, CLASS_NAMES
from spacehpo.data.errors import DataError
from spacehpo.data.files import link_or_copy, staged_dir
from spacehpo.data.yolo import IMAGE_SUFFIXES, write_data_yaml
from tqdm import tqdm

HEADER = ["filename", "class", "bbox"]
RELEASE_SPLITS = {"train": "train", "val": "val", "validation": "val"}
_BBOX = re.compile(
    r"^\[\s*(-?\d+(?:\.\d*)?)\s*,\s*(-?\d+(?:\.\d*)?)\s*,"
    r"\s*(-?\d+(?:\.\d*)?)\s*,\s*(-?\d+(?:\.\d*)?)\s*\]$"
)


@dataclass(frozen=True)
class SparkLabels:
    """One release CSV: file names, class ids and boxes as `[R_min, C_min, R_max, C_max]` rows."""

    path: Path
    filenames: list[str]
    classes: np.ndarray  # (N,) int64
    bboxes: np.ndarray  # (N, 4) float64


def read_labels(path: Path) -> SparkLabels:
    """Parse a release CSV; any defect is a DataError naming the line and field."""
    filenames, classes, boxes = [], [], []
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != HEADER:
            raise DataError(f"{path}:1: header must be {','.join(HEADER)}, found {header}")
        for line, row in enumerate(reader, start=2):
            if len(row) != 3:
                raise DataError(f"{path}:{line}: expected 3 fields, found {len(row)}")
            name, cls, bbox = row
            if cls not in CLASS_IDS:
                raise DataError(f"{path}:{line}: field 'class': unknown class name {cls!r}")
            match = _BBOX.match(bbox.strip())
            if not match:
                raise DataError(
                    f"{path}:{line}: field 'bbox': {bbox!r} is not [R_min, C_min, R_max, C_max]"
                )
            filenames.append(name)
            classes.append(CLASS_IDS[cls])
            boxes.append([float(v) for v in match.groups()])
    if not filenames:
        raise DataError(f"{path}: no labels")
    return SparkLabels(path, filenames, np.array(classes, dtype=np.int64), np.array(boxes))


def bbox_to_yolo(bboxes: np.ndarray, width: np.ndarray, height: np.ndarray) -> np.ndarray:
    """`[R_min, C_min, R_max, C_max]` pixels -> normalised `[cx, cy, w, h]`, clamped to the image."""
    r0, c0, r1, c1 = (bboxes[:, i] for i in range(4))
    x0, x1 = np.clip(c0, 0, width) / width, np.clip(c1, 0, width) / width
    y0, y1 = np.clip(r0, 0, height) / height, np.clip(r1, 0, height) / height
    return np.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], axis=1)


def yolo_to_bbox(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Normalised `[cx, cy, w, h]` -> `[R_min, C_min, R_max, C_max]` integer pixels (submission format)."""
    cx, cy, w, h = (boxes[..., i] for i in range(4))
    out = np.stack(
        [(cy - h / 2) * height, (cx - w / 2) * width, (cy + h / 2) * height, (cx + w / 2) * width],
        axis=-1,
    )
    limits = np.array([height, width, height, width])
    return np.clip(np.rint(out), 0, limits).astype(np.int64)


def find_release_splits(root: Path) -> dict[str, tuple[Path, Path]]:
    """Map YOLO split -> (csv, image folder); accepts `split.csv` + `split/` or `labels/` + `images/`."""
    found = {}
    for release, split in RELEASE_SPLITS.items():
        for csv_path, images in (
            (root / f"{release}.csv", root / release),
            (root / "labels" / f"{release}.csv", root / "images" / release),
        ):
            if csv_path.is_file():
                if not images.is_dir():
                    raise DataError(f"{images}: missing image folder for {csv_path}")
                found[split] = (csv_path, images)
    if not found:
        raise DataError(
            f"{root}: no SPARK split found (expected train.csv and train/, val.csv ...)"
        )
    return found


def image_sizes(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Width and height from each file's header (no pixel decode)."""
    sizes = []
    for path in paths:
        try:
            with Image.open(path) as im:
                sizes.append(im.size)
        except Exception as err:  # PIL raises many types for broken files
            raise DataError(f"{path}: unreadable image ({err.__class__.__name__})") from None
    arr = np.array(sizes, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def convert(spark_root: Path, out: Path, progress: bool = True) -> dict[str, int]:
    """Convert a SPARK release to a YOLO dataset at `out`; returns images per split."""
    splits = find_release_splits(spark_root)
    counts = {}
    with staged_dir(out) as tmp:
        for split, (csv_path, image_dir) in splits.items():
            labels = read_labels(csv_path)
            by_stem = {p.stem: p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
            seen: dict[str, int] = {}
            paths = []
            for line, name in enumerate(labels.filenames, start=2):
                stem = Path(name).stem
                if stem in seen:
                    raise DataError(
                        f"{csv_path}:{line}: duplicate file stem {stem!r} (line {seen[stem]})"
                    )
                seen[stem] = line
                if stem not in by_stem:
                    raise DataError(
                        f"{csv_path}:{line}: field 'filename': no image {stem}.* in {image_dir}"
                    )
                paths.append(by_stem[stem])
            width, height = image_sizes(paths)
            boxes = bbox_to_yolo(labels.bboxes, width, height)
            degenerate = np.flatnonzero((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))
            if degenerate.size:
                line = int(degenerate[0]) + 2
                raise DataError(f"{csv_path}:{line}: field 'bbox': zero area inside the image")
            (tmp / "images" / split).mkdir(parents=True)
            (tmp / "labels" / split).mkdir(parents=True)
            rows = zip(paths, labels.classes, boxes, strict=True)
            for path, cls, box in tqdm(
                rows, total=len(paths), desc=f"convert {split}", disable=not progress
            ):
                link_or_copy(path, tmp / "images" / split / path.name)
                (tmp / "labels" / split / f"{path.stem}.txt").write_text(
                    f"{cls} {box[0]:.6f} {box[1]:.6f} {box[2]:.6f} {box[3]:.6f}\n"
                )
            counts[split] = len(paths)
        write_data_yaml(tmp, CLASS_NAMES)
    return counts


def summarise_label_statistics(csv_path: Path, per_class: int = 64, seed: int = 0) -> np.ndarray:
    """A small, fixed sample of real `class, cx, cy, w, h` rows (1024 px images): the synthetic
    generator draws object placement and size from it, keeping the joint distribution
    (large objects cut by the border, small debris) that marginal histograms would lose."""
    labels = read_labels(csv_path)
    side = np.full(len(labels.classes), 1024.0)
    boxes = bbox_to_yolo(labels.bboxes, side, side)
    rng = np.random.default_rng(seed)
    rows = []
    for cls in range(len(CLASS_NAMES)):
        idx = np.flatnonzero(labels.classes == cls)
        pick = rng.choice(idx, size=min(per_class, idx.size), replace=False)
        rows.append(np.column_stack([np.full(pick.size, cls), boxes[np.sort(pick)]]))
    return np.concatenate(rows)
