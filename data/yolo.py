"""The YOLO dataset layout: `data.yaml`, `images/{split}/`, `labels/{split}/`, one object per image.

Reading and checking share one scanner, so `spacehpo data check` reports exactly the defects
that would stop training, and training never meets a defect the check did not name.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from spacehpo.data.errors import DataError

SPLITS = ("train", "val")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_EDGE = 65536  # bytes hashed at each end of an image
_CHUNK = 32  # files per read task of the fingerprint: 16 tasks ahead hold at most 64 MiB
_SLOW_READ_S = 1e-4  # per file: warm reads take 20-50 us here, cold ones 150 us and more


@dataclass(frozen=True)
class Problem:
    path: Path
    what: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else f"{self.path}"
        return f"{where}: {self.what}"


@dataclass(frozen=True)
class Split:
    """One split: image paths in a fixed order and their labels as rows `class, cx, cy, w, h`."""

    name: str
    images: tuple[Path, ...]
    labels: np.ndarray  # (N, 5) float64, coordinates normalised to [0, 1]

    def __len__(self) -> int:
        return len(self.images)


def write_data_yaml(root: Path, names: tuple[str, ...] | list[str]) -> None:
    spec = {
        "path": ".",
        "train": "images/train",
        "val": "images/val",
        "nc": len(names),
        "names": list(names),
    }
    (root / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def _read_names(root: Path) -> tuple[tuple[str, ...], Problem | None]:
    """The class names, or what is wrong with data.yaml (a Problem, so the scan can list it)."""
    path = root / "data.yaml"
    if not path.is_file():
        return (), Problem(path, "missing (a YOLO dataset needs data.yaml with the class names)")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        return (), Problem(path, "not valid YAML", (line or 0) + 1)
    names = spec.get("names") if isinstance(spec, dict) else None
    if isinstance(names, dict):  # ultralytics also writes {0: name, 1: name}
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return (), Problem(path, "field 'names' must be a non-empty list of class names")
    return tuple(names), None


def read_names(root: Path) -> tuple[str, ...]:
    names, problem = _read_names(root)
    if problem is not None:
        raise DataError(str(problem))
    return names


def parse_label_line(text: str, num_classes: int) -> tuple[np.ndarray | None, str | None]:
    """Parse `class cx cy w h`; return the row, or None and what is wrong with it."""
    fields = text.split()
    if len(fields) != 5:
        return None, f"expected 5 fields 'class cx cy w h', found {len(fields)}"
    try:
        cls = int(fields[0])
    except ValueError:
        return None, f"class id {fields[0]!r} is not an integer"
    if not 0 <= cls < num_classes:
        return None, f"class id {cls} out of range 0..{num_classes - 1}"
    try:
        cx, cy, w, h = (float(f) for f in fields[1:])
    except ValueError:
        return None, "coordinates must be numbers"
    coords = (cx, cy, w, h)
    if not all(math.isfinite(v) for v in coords):
        return None, "coordinates must be finite numbers"
    if not all(0.0 <= v <= 1.0 for v in coords):
        return None, "coordinates outside [0, 1]"
    if w <= 0 or h <= 0:
        return None, "zero-area box"
    if cx - w / 2 < -1e-6 or cx + w / 2 > 1 + 1e-6 or cy - h / 2 < -1e-6 or cy + h / 2 > 1 + 1e-6:
        return None, "box extends outside the image"
    return np.array([cls, cx, cy, w, h], dtype=np.float64), None


def _read_label_file(path: Path, num_classes: int) -> tuple[np.ndarray | None, list[Problem]]:
    try:
        lines = [(n, t) for n, t in enumerate(path.read_text().splitlines(), 1) if t.strip()]
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem(path, f"unreadable label file ({err.__class__.__name__})")]
    if not lines:
        return None, [Problem(path, "no object (one expected)")]
    if len(lines) > 1:
        return None, [Problem(path, f"{len(lines)} objects, one expected", lines[1][0])]
    row, what = parse_label_line(lines[0][1], num_classes)
    return row, [] if what is None else [Problem(path, what, lines[0][0])]


def verify_image(path: Path) -> str | None:
    """Decode the image (at reduced scale where the codec allows); return what is wrong, if anything."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (64, 64))
            im.load()
    except Exception as err:  # PIL raises many types for broken files; all mean "unreadable"
        return f"unreadable image ({err.__class__.__name__}: {err})"
    return None


def files_in(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The folder's files with one of `suffixes` (any case), sorted by name; [] if no folder.

    One `scandir` pass: at 88,000 files a `Path` per entry and a `stat` each cost seconds.
    """
    try:
        with os.scandir(folder) as entries:
            names = sorted(
                e.name
                for e in entries
                if os.path.splitext(e.name)[1].lower() in suffixes and e.is_file()
            )
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder / name for name in names]


def scan_split(
    root: Path, split: str, num_classes: int, verify_images: bool = False
) -> tuple[Split, list[Problem]]:
    """Pair images with labels and parse every label; collect every defect instead of stopping.

    The one set of rules: `load_split`, `check_labels` and `check_dataset` all come here, and
    only `verify_images` (decoding every image) tells the full check from the label scan.
    """
    image_dir, label_dir = root / "images" / split, root / "labels" / split
    problems: list[Problem] = []
    if not image_dir.is_dir():
        return Split(split, (), np.zeros((0, 5))), [Problem(image_dir, "missing folder")]
    images: dict[str, Path] = {}
    for path in files_in(image_dir, IMAGE_SUFFIXES):
        if path.stem in images:
            problems.append(Problem(path, f"duplicate image stem (also {images[path.stem].name})"))
            continue
        images[path.stem] = path
    label_paths = {p.stem: p for p in files_in(label_dir, (".txt",))}
    for stem in sorted(set(label_paths) - set(images)):
        problems.append(Problem(label_paths[stem], "label without an image"))
    kept_images, rows = [], []
    for stem, image in images.items():
        if stem not in label_paths:
            problems.append(Problem(image, f"missing label {label_dir / (stem + '.txt')}"))
            continue
        row, label_problems = _read_label_file(label_paths[stem], num_classes)
        problems += label_problems
        if verify_images and (what := verify_image(image)):
            problems.append(Problem(image, what))
            continue
        if row is not None:
            kept_images.append(image)
            rows.append(row)
    if not images:
        problems.append(Problem(image_dir, "empty split: no images"))
    labels = np.stack(rows) if rows else np.zeros((0, 5))
    return Split(split, tuple(kept_images), labels), problems


def load_split(root: Path, split: str) -> Split:
    """The split ready for training, or DataError naming the first defect."""
    names = read_names(root)
    data, problems = scan_split(root, split, len(names))
    if problems:
        more = (
            f" (and {len(problems) - 1} more; run `spacehpo data check`)"
            if len(problems) > 1
            else ""
        )
        raise DataError(f"{problems[0]}{more}")
    return data


def check_dataset(root: Path) -> tuple[dict[str, Split], list[Problem]]:
    """Every split scanned with every image decoded: what `spacehpo data check` reports."""
    names = read_names(root)
    splits, problems = {}, []
    for split in SPLITS:
        splits[split], found = scan_split(root, split, len(names), verify_images=True)
        problems += found
    return splits, problems


def check_labels(root: Path) -> list[Problem]:
    """`check_dataset`'s rules without opening an image: seconds at SPARK size, where decoding
    88,000 images takes half an hour, so `study create` can afford it."""
    names, problem = _read_names(root)
    if problem is not None:
        return [problem]
    return [p for split in SPLITS for p in scan_split(root, split, len(names))[1]]


def _fingerprint_part(job: tuple[str, Path, bool]) -> tuple[bytes, ...]:
    """What one file adds to the fingerprint: its name and size, then all of it (`whole`) or its
    first and last 64 KiB (a file under 64 KiB counts twice, as it always has)."""
    name, path, whole = job
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if whole:
            return f"{name}:{size}".encode(), f.read()
        head = f.read(_EDGE)
        if size > _EDGE:
            f.seek(size - _EDGE)
            return f"{name}:{size}".encode(), head, f.read()
    return f"{name}:{size}".encode(), head, head


def _read_chunk(jobs: list[tuple[str, Path, bool]]) -> list[tuple[bytes, ...]]:
    return [_fingerprint_part(job) for job in jobs]


def _read_all(chunks: list[list], threads: int) -> Iterator[list[tuple[bytes, ...]]]:
    """The chunks' parts in order; with threads, a bounded number of chunks read ahead."""
    if threads <= 1:
        yield from map(_read_chunk, chunks)
        return
    with ThreadPoolExecutor(threads) as pool:
        ahead: deque[Future] = deque()
        for chunk in chunks:
            ahead.append(pool.submit(_read_chunk, chunk))
            if len(ahead) >= 2 * threads:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def fingerprint(root: Path, threads: int = 8, slow_file_s: float = _SLOW_READ_S) -> str:
    """A content hash of the dataset, cheap enough to compute once per worker process.

    Labels and data.yaml are hashed whole; each image by name, size and its first and last
    64 KiB, which changes whenever an image is re-encoded, cropped or replaced. Files are hashed
    in name order, so the value does not depend on how they were read: the first chunk is read
    serially, and if the disk made it slow (over `slow_file_s` a file: a cold page cache, a
    network file system) the rest
    is read by `threads` threads, which wait on the disk in parallel. A warm cache stays serial:
    there the threads would only fight over the GIL (measured: 1.6x slower on 2 cores).
    """
    jobs = [
        (f"{folder}/{split}/{path.name}", path, folder == "labels")
        for split in SPLITS
        for folder, suffixes in (("images", IMAGE_SUFFIXES), ("labels", (".txt",)))
        for path in files_in(root / folder / split, suffixes)
    ]
    digest = hashlib.sha256((root / "data.yaml").read_bytes())
    chunks = [jobs[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK)]
    start = time.perf_counter()
    first = _read_chunk(chunks[0]) if chunks else []
    slow = time.perf_counter() - start > slow_file_s * _CHUNK
    for parts in itertools.chain([first], _read_all(chunks[1:], threads if slow else 1)):
        for part in parts:
            for piece in part:
                digest.update(piece)
    return digest.hexdigest()[:16]
