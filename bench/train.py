"""Training throughput: images/s of `spacehpo train` (decoded-image cache, uint8 to the device,
normalised there, channels_last, bf16 autocast on CUDA) against a plain float32 NCHW loop over the
same model that decodes and resizes each image with PIL every step (the report's pipeline).

    python -m spacehpo.bench.train [--device cpu|cuda] [--batch 16] [--steps 6] [--size 320] [--compile]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from spacehpo.bench.common import header, table
from spacehpo.data.spark import convert
from spacehpo.data.synth import SynthConfig, generate
from spacehpo.data.yolo import load_split
from spacehpo.model import train as train_module
from spacehpo.model.config import TrainConfig
from spacehpo.model.loss import detector_loss
from spacehpo.model.network import IMAGENET_MEAN, IMAGENET_STD, build_detector
from spacehpo.model.train import EpochReport, load_data, train


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


def spacehpo_loop(root: Path, cfg: TrainConfig, work: Path) -> tuple[float, float]:
    """Steady-state images/s of `train()` and its host syncs per step: the steps of epoch 2 of
    2, from the end of epoch 1 (warm-up, cuDNN autotuning and compilation done) to the start of
    epoch 2's validation, which is timed by wrapping `train`'s own `evaluate` (the original
    runs). Syncs are counted by torch's own sync debug mode (CUDA; 0 on CPU)."""
    data = load_data(root, cfg.image_size, progress=False)
    cuda = torch.device(cfg.device).type == "cuda"
    marks: list[float] = []

    def at(debug_mode: str) -> None:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.set_sync_debug_mode(debug_mode)
        marks.append(time.perf_counter())

    def after_epoch(report: EpochReport) -> None:
        if report.epoch == 1:
            at("warn")

    original = train_module.evaluate

    def evaluate(*args: Any, **kwargs: Any) -> Any:
        if len(marks) == 1:  # epoch 2's steps are done
            at("default")
        return original(*args, **kwargs)

    train_module.evaluate = evaluate
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train(replace(cfg, epochs=2), data, work, on_epoch=after_epoch, progress=False)
    finally:
        train_module.evaluate = original
    steps = len(data.train) // cfg.batch_size
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    return steps * cfg.batch_size / (marks[1] - marks[0]), syncs / steps


@dataclass(frozen=True)
class Loop:
    name: str
    images_s: float
    steps_s: float
    syncs_per_step: float | None  # counted on CUDA only; the CPU test counts host reads instead

    def row(self, plain: float) -> list[str]:
        syncs = "-" if self.syncs_per_step is None else f"{self.syncs_per_step:.2f}"
        shown = (f"{self.images_s:.1f}", f"{self.steps_s:.2f}", f"{self.images_s / plain:.2f}x")
        return [self.name, *shown, syncs]


HEADERS = ["loop", "images/s", "steps/s", "ratio", "host syncs/step (CUDA)"]


def measure(
    device: str, batch: int, steps: int, size: int, source: int = 1024, compile: bool = False
) -> list[Loop]:
    """The plain loop, then spacehpo's steady state (and with torch.compile if asked)."""
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        n = batch * steps
        generate(work / "spark", SynthConfig(n, 2, source, seed=0, format="spark"), progress=False)
        convert(work / "spark", work / "ds", progress=False)
        cfg = TrainConfig(batch_size=batch, image_size=size, device=device, epochs=1)
        load_data(work / "ds", size, progress=False)  # build the cache outside the timing
        plain = plain_loop(work / "ds", cfg, steps)
        loops = [Loop("plain float32 NCHW + PIL per step", plain, plain / batch, None)]
        variants = [("spacehpo train (steady state)", cfg)]
        if compile:
            variants.append(("spacehpo train + compile", replace(cfg, compile=True)))
        cuda = torch.device(device).type == "cuda"
        for i, (name, variant) in enumerate(variants):
            images_s, syncs = spacehpo_loop(work / "ds", variant, work / str(i))
            loops.append(Loop(name, images_s, images_s / batch, syncs if cuda else None))
        return loops
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per loop")
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--source", type=int, default=1024, help="side of the synthetic sources")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args(argv)
    loops = measure(args.device, args.batch, args.steps, args.size, args.source, args.compile)
    plain = loops[0].images_s
    print(header(f"training throughput, {args.size} px, batch {args.batch}, {args.device}"))
    print(table([loop.row(plain) for loop in loops], HEADERS))
    print(f"ratio: spacehpo train {loops[1].images_s / plain:.2f}x the plain loop")


if __name__ == "__main__":
    main()
