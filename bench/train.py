"""Training throughput: images/s of `spacehpo train` (decoded-image cache, uint8 to the device,
normalised there, channels_last, bf16 autocast on CUDA) against a plain float32 NCHW loop over the
same model that decodes and resizes each image with PIL every step (the report's pipeline).

    python -m bench.train [--device cpu|cuda] [--batch 16] [--steps 6] [--size 320]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from spacehpo.data.spark import convert
from spacehpo.data.synth import SynthConfig, generate
from spacehpo.data.yolo import load_split
from spacehpo.model.config import TrainConfig
from spacehpo.model.loss import detector_loss
from spacehpo.model.network import IMAGENET_MEAN, IMAGENET_STD, build_detector
from spacehpo.model.train import EpochReport, load_data, train

from bench.common import header, table


def plain_loop(root: Path, cfg: TrainConfig, steps: int) -> float:
    """images/s of the report's pipeline: PIL per step, float32, NCHW, no autocast."""
    split = load_split(root, "train")
    device = torch.device(cfg.device)
    torch.manual_seed(0)
    model = build_detector(11).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    mean, std = (
        torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
        torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
    )
    rng = np.random.default_rng(0)
    done, start = 0, 0.0
    for step in range(steps + 1):  # step 0 warms up
        if step == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, done = time.perf_counter(), 0
        idx = rng.choice(len(split), cfg.batch_size, replace=False)
        arrays = [
            np.asarray(
                Image.open(split.images[i]).convert("RGB").resize((cfg.image_size,) * 2),
                dtype=np.float32,
            )
            / 255
            for i in idx
        ]
        x = ((torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) - mean) / std).to(device)
        labels = torch.from_numpy(split.labels[idx]).to(device)
        loss = detector_loss(model(x), labels[:, 0].long(), labels[:, 1:].float(), 0.5, 8, 5)
        opt.zero_grad()
        loss.total.backward()
        opt.step()
        done += len(idx)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def spacehpo_loop(root: Path, cfg: TrainConfig, work: Path) -> tuple[float, float | None]:
    """Steady-state images/s of `train()` and host syncs per step: epoch 2 of 2 is timed, so
    warm-up, cuDNN autotuning and compilation (all in epoch 1) are excluded. On CUDA the syncs
    are counted by torch's own sync debug mode; on CPU there is none to count (the CPU test
    counts host reads instead: tests/model/test_batches.py)."""
    data = load_data(root, cfg.image_size, progress=False)
    two = TrainConfig(**{**cfg.to_dict(), "epochs": 2})
    n = len(data.train) // cfg.batch_size * cfg.batch_size
    marks: list[float] = []
    cuda = torch.device(cfg.device).type == "cuda"

    def mark(report: EpochReport) -> None:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.set_sync_debug_mode("warn" if report.epoch == 1 else "default")
        marks.append(time.perf_counter())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(two, data, work / "run", on_epoch=mark, progress=False)
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    steps = n // cfg.batch_size
    return n / (marks[1] - marks[0]), (len(syncs) / steps if cuda else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per loop")
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument(
        "--source", type=int, default=1024, help="side of the synthetic source images"
    )
    parser.add_argument(
        "--compile", action="store_true", help="also time spacehpo with torch.compile"
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        n = args.batch * (args.steps + 1)
        generate(
            work / "spark", SynthConfig(n, 2, args.source, seed=0, format="spark"), progress=False
        )
        convert(work / "spark", work / "ds", progress=False)
        cfg = TrainConfig(batch_size=args.batch, image_size=args.size, device=args.device, epochs=1)
        load_data(work / "ds", args.size, progress=False)  # build the cache outside the timing
        plain = plain_loop(work / "ds", cfg, args.steps)
        ours, syncs = spacehpo_loop(work / "ds", cfg, work)
        shown = "-" if syncs is None else f"{syncs:.2f}"
        rows = [
            ["plain float32 NCHW + PIL per step", f"{plain:.1f}", "1.00x", "-"],
            ["spacehpo train (steady state)", f"{ours:.1f}", f"{ours / plain:.2f}x", shown],
        ]
        if args.compile:
            compiled, csyncs = spacehpo_loop(
                work / "ds", TrainConfig(**{**cfg.to_dict(), "compile": True}), work / "c"
            )
            cshown = "-" if csyncs is None else f"{csyncs:.2f}"
            rows.append(
                ["spacehpo train + compile", f"{compiled:.1f}", f"{compiled / plain:.2f}x", cshown]
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(header(f"training throughput, {args.size} px, batch {args.batch}, {args.device}"))
    print(table(rows, ["loop", "images/s", "ratio", "host syncs/step (CUDA)"]))
    print(f"ratio: spacehpo train {ours / plain:.2f}x the plain loop")


if __name__ == "__main__":
    main()
