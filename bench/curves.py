"""What the curve writers cost per epoch: TensorBoard scalars, results.csv (rewritten each
epoch), and at the end results.png and the HParams entry, against one real training step of
the detector at 320 px measured side by side.

    python -m spacehpo.bench.curves [--epochs 100] [--steps 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from spacehpo.bench.common import header, table
from spacehpo.model.curve_log import SCALAR_TAGS, CurveLog


def writer_costs(folder: Path, epochs: int) -> dict[str, float]:
    """Seconds: the first epoch (opens the writer), each later epoch, closing, and HParams."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    log = CurveLog(str(folder / "run"))
    per_epoch = []
    for epoch in range(1, epochs + 1):
        t = time.perf_counter()
        log.epoch(epoch, {name: float(rng.random()) for name in SCALAR_TAGS})
        per_epoch.append(time.perf_counter() - t)
    first = per_epoch[0] + (time.perf_counter() - started - sum(per_epoch))
    t = time.perf_counter()
    log.hparams({"lr": 3e-4, "weight_decay": 1e-4, "sigma": 0.5, "k": 8.0, "box_weight": 5.0})
    hparams = time.perf_counter() - t
    t = time.perf_counter()
    log.close()
    log.save_results(folder)
    return {
        "open + first epoch": first,
        "epoch (median)": float(np.median(per_epoch[1:])),
        f"epoch {epochs} (csv of {epochs} rows)": per_epoch[-1],
        "hparams (once)": hparams,
        "close + save_results (once per trial)": time.perf_counter() - t,
    }


def training_step_s(steps: int) -> float:
    """One ResNet18 step at 320 px, batch 16, on this machine's device."""
    import torch
    from spacehpo.model.config import TrainConfig
    from spacehpo.model.loss import detector_loss
    from spacehpo.model.network import build_detector

    cfg = TrainConfig(image_size=320, batch_size=16, pretrained="none")
    model = build_detector(11)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    images = torch.rand(16, 3, 320, 320)
    classes, boxes = torch.zeros(16, dtype=torch.long), torch.full((16, 4), 0.5)
    times = []
    for _ in range(steps + 1):
        t = time.perf_counter()
        loss = detector_loss(
            model(images), classes, boxes, cfg.sigma, cfg.k, cfg.box_weight, cfg.centre_weight
        )
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()
        times.append(time.perf_counter() - t)
    return float(np.median(times[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    print(header("Curve writers per epoch"))
    with tempfile.TemporaryDirectory() as tmp:
        costs = writer_costs(Path(tmp), args.epochs)
    step = training_step_s(args.steps)
    rows = [[name, f"{seconds * 1000:.1f}"] for name, seconds in costs.items()]
    print(
        table(
            [*rows, ["one training step, 320 px, batch 16", f"{step * 1000:.0f}"]], ["what", "ms"]
        )
    )
    print(f"ratio: one epoch's writes = {costs['epoch (median)'] / step:.4f} training steps")


if __name__ == "__main__":
    main()
