"""Data pipeline: images/s of an epoch read from the decoded-image cache against decoding and
resizing every image with PIL each epoch (the report's pipeline), on 1024 x 1024 SPARK-sized
images (synthetic, and real samples given with --samples), resized to 320 px.

    python -m spacehpo.bench.data [--n 48] [--size 320] [--samples ../shared/spark-sample]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from spacehpo.bench.common import header, rate, table
from spacehpo.data.cache import open_split
from spacehpo.data.spark import convert
from spacehpo.data.synth import SynthConfig, generate


def pil_epoch(paths: list[Path], size: int) -> int:
    """The report's pipeline: full decode, convert, resize, to a float tensor, per image per epoch."""
    for path in paths:
        with Image.open(path) as im:
            arr = (
                np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32)
                / 255
            )
        torch.from_numpy(arr).permute(2, 0, 1)
    return len(paths)


def cache_epoch(images: np.ndarray, batch: int, rng: np.random.Generator) -> int:
    order = rng.permutation(len(images))
    for i in range(0, len(order), batch):
        torch.from_numpy(images[np.sort(order[i : i + batch])]).permute(0, 3, 1, 2)
    return len(order)


def measure(name: str, yolo_root: Path, size: int, cache_dir: Path) -> list:
    paths = sorted((yolo_root / "images" / "train").iterdir())
    pil_rate, _ = rate(lambda: pil_epoch(paths, size), min_seconds=3)
    start = time.perf_counter()
    split = open_split(yolo_root, "train", size, cache_dir, progress=False)
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    cache_rate, _ = rate(lambda: cache_epoch(split.images, 16, rng), min_seconds=2)
    return [
        name,
        len(paths),
        f"{pil_rate:.1f}",
        f"{len(paths) / build_s:.1f}",
        f"{cache_rate:,.0f}",
        f"{cache_rate / pil_rate:,.0f}x",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48, help="synthetic 1024 px images")
    parser.add_argument("--size", type=int, default=320, help="training image size")
    parser.add_argument(
        "--samples", type=Path, help="real SPARK images with train.csv (../shared/spark-sample)"
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-data-"))
    try:
        generate(
            work / "spark", SynthConfig(args.n, 2, 1024, seed=0, format="spark"), progress=False
        )
        convert(work / "spark", work / "synth", progress=False)
        rows = [measure("synthetic 1024 px JPEG", work / "synth", args.size, work / "cache")]
        if args.samples is not None:
            convert(args.samples, work / "real", progress=False)
            rows.append(measure("real SPARK 1024 px PNG", work / "real", args.size, work / "cache"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(header(f"data pipeline, 1024 px -> {args.size} px"))
    print(
        table(
            rows,
            ["images", "n", "PIL decode img/s", "cache build img/s", "cache epoch img/s", "ratio"],
        )
    )
    print(f"ratio: cache {rows[0][5]} the per-epoch PIL decode (synthetic); target >= 10x")


if __name__ == "__main__":
    main()
