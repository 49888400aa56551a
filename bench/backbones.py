"""Training images/s per backbone: the step `spacehpo train` runs (uint8 batch normalised on the
device, channels_last, bf16 autocast on CUDA, fused AdamW), on random images already on the
device, so the figure is the network's and not the data pipeline's (see bench.train for that).

    python -m spacehpo.bench.backbones [--device cpu|cuda] [--batch 8] [--steps 5] [--size 320]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from spacehpo.bench.common import header, table
from spacehpo.model.backbones import BACKBONE_NAMES
from spacehpo.model.config import TrainConfig
from spacehpo.model.loss import detector_loss
from spacehpo.model.network import Normaliser, build_detector

HEADERS = ["backbone", "params (M)", "images/s", "s/step", "vs reference"]


@dataclass(frozen=True)
class Figure:
    backbone: str
    params: int
    images_s: float

    def row(self, reference: float, batch: int) -> list[str]:
        return [
            self.backbone,
            f"{self.params / 1e6:.1f}",
            f"{self.images_s:.1f}",
            f"{batch / self.images_s:.2f}",
            f"{self.images_s / reference:.2f}x",
        ]


def measure(backbone: str, cfg: TrainConfig, steps: int, warmup: int = 2) -> Figure:
    """Steady state: `warmup` untimed steps first (allocations, oneDNN and cuDNN kernel choice:
    the first CPU step of a network is several times slower), then the fastest of `steps`: on a
    machine shared with other work a step is only ever slowed down, so the fastest is the
    network's own figure (timeit's rule)."""
    device = torch.device(cfg.device)
    torch.manual_seed(0)
    model = build_detector(11, "none", backbone).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, fused=True)
    images = torch.randint(0, 256, (cfg.batch_size, cfg.image_size, cfg.image_size, 3))
    images = images.to(torch.uint8).to(device)
    classes = torch.randint(0, 11, (cfg.batch_size,), device=device)
    boxes = (torch.rand(cfg.batch_size, 4) * 0.5 + 0.25).to(device)
    normalise = Normaliser(device)
    model.train()

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.use_amp):
            out = model(normalise(images))
        loss = detector_loss(out, classes, boxes, cfg.sigma, cfg.k, cfg.box_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    times = [timed(step) for _ in range(steps)]
    params = sum(p.numel() for p in model.parameters())
    return Figure(backbone, params, cfg.batch_size / min(times))


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per backbone")
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--backbones", default=",".join(BACKBONE_NAMES), help="comma-separated")
    args = parser.parse_args(argv)
    cfg = TrainConfig(batch_size=args.batch, image_size=args.size, device=args.device)
    figures = [measure(name, cfg, args.steps) for name in args.backbones.split(",") if name]
    ref = next((f for f in figures if f.backbone == "resnet18"), figures[0])
    print(
        header(f"training images/s per backbone, {args.size} px, batch {args.batch}, {cfg.device}")
    )
    print(table([f.row(ref.images_s, args.batch) for f in figures], HEADERS))
    if cfg.device == "cpu":
        print(
            "on a CUDA host: python -m spacehpo.bench.backbones --device cuda --batch 64 --steps 20"
        )
    slowest = min(figures, key=lambda f: f.images_s)
    print(
        f"ratio: {slowest.backbone} trains at {slowest.images_s / ref.images_s:.2f}x "
        f"the images/s of {ref.backbone}"
    )


if __name__ == "__main__":
    main()
