"""The decoded-image cache: every image decoded and resized once, then memory-mapped by all.

One cache entry per (dataset content, image size, split) lives under `SPACEHPO_CACHE` (default
`~/.cache/spacehpo`). Trials and worker processes on a host share it: the first one to need an
entry builds it under a file lock into a temporary folder and renames it into place, so a
second process waits and then reads, and a killed build leaves no entry behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock
from PIL import Image
from spacehpo.data.errors import DataError
from spacehpo.data.yolo import fingerprint as dataset_fingerprint
from spacehpo.data.yolo import load_split
from tqdm import tqdm


@dataclass(frozen=True)
class CachedSplit:
    """A split as arrays: `images` is a read-only memmap (N, S, S, 3) uint8, RGB."""

    images: np.ndarray
    labels: np.ndarray  # (N, 5): class, cx, cy, w, h
    stems: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def default_cache_dir() -> Path:
    env = os.environ.get("SPACEHPO_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "spacehpo"


def decode(path: Path, size: int) -> np.ndarray:
    """Decode and resize one image to (size, size, 3) uint8; JPEGs decode at reduced scale."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (size, size))
            return np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))
    except Exception as err:  # PIL raises many types for broken files
        raise DataError(f"{path}: unreadable image ({err.__class__.__name__}: {err})") from None


def _decode_job(job: tuple[Path, int]) -> np.ndarray:
    return decode(*job)


def _leave_with(parent: int) -> None:
    """A decode process whose builder was killed would wait for work forever (it holds its own
    end of the queue's pipe), so it watches the builder and leaves when it is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-builder", daemon=True).start()


def open_split(
    data_root: Path,
    split: str,
    size: int,
    cache_dir: Path | None = None,
    progress: bool = True,
    *,
    fingerprint: str | None = None,
) -> CachedSplit:
    """The cached split, built first if no process on this host has built it yet.

    `fingerprint` is `data_root`'s, if the caller already has it: hashing 88,000 images takes
    seconds to minutes, so a worker computes it once per process rather than per trial.
    """
    cache_dir = cache_dir or default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    entry = cache_dir / f"{fingerprint or dataset_fingerprint(data_root)}-{size}px-{split}"
    if not entry.is_dir():
        with FileLock(str(entry) + ".lock"):
            if not entry.is_dir():
                _build(data_root, split, size, entry, progress)
    meta = json.loads((entry / "meta.json").read_text())
    images = np.memmap(
        entry / "images.u8", dtype=np.uint8, mode="r", shape=(len(meta["stems"]), size, size, 3)
    )
    return CachedSplit(images, np.load(entry / "labels.npy"), tuple(meta["stems"]))


def _build(data_root: Path, split: str, size: int, entry: Path, progress: bool) -> None:
    data = load_split(data_root, split)
    for orphan in entry.parent.glob(
        entry.name + ".tmp-*"
    ):  # left by a killed build; we hold the lock
        shutil.rmtree(orphan, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=entry.name + ".tmp-", dir=entry.parent))
    try:
        images = np.memmap(
            tmp / "images.u8", dtype=np.uint8, mode="w+", shape=(len(data), size, size, 3)
        )
        jobs = [(path, size) for path in data.images]
        workers = min(os.cpu_count() or 1, 16) if len(jobs) >= 256 else 1
        bar = tqdm(
            total=len(jobs), desc=f"cache {split} {size}px", unit="img", disable=not progress
        )
        if workers == 1:
            decoded = map(_decode_job, jobs)
        else:
            pool = ProcessPoolExecutor(workers, initializer=_leave_with, initargs=(os.getpid(),))
            decoded = pool.map(_decode_job, jobs, chunksize=32)
        for i, arr in enumerate(decoded):
            images[i] = arr
            bar.update()
        bar.close()
        if workers > 1:
            pool.shutdown()
        images.flush()
        np.save(tmp / "labels.npy", data.labels)
        stems = [p.stem for p in data.images]
        (tmp / "meta.json").write_text(
            json.dumps({"stems": stems, "size": size, "source": str(data_root)})
        )
        os.replace(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
