"""Training: one call of `train()` is one run (one HPO trial), resumable from `out_dir/last.pt`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spacehpo.data.cache import CachedSplit, open_split
from spacehpo.data.yolo import read_names
from spacehpo.model.checkpoint import load_checkpoint, save_checkpoint
from spacehpo.model.config import RESULT_FIELDS, TrainConfig
from spacehpo.model.errors import ModelError
from spacehpo.model.infer import predict_arrays, split_metrics
from spacehpo.model.loss import detector_loss
from spacehpo.model.network import Detector, build_detector, normalise
from tqdm import tqdm


@dataclass(frozen=True)
class TrainData:
    train: CachedSplit
    val: CachedSplit
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # epochs done, from 1
    metrics: dict[str, float]  # validation metrics and mean train losses
    is_best: bool
    out_dir: Path  # holds last.pt and best.pt as of this epoch


def load_data(root: Path, image_size: int, progress: bool = True) -> TrainData:
    train, val = (
        open_split(root, split, image_size, progress=progress) for split in ("train", "val")
    )
    return TrainData(train, val, read_names(root))


def lr_factor(step: int, cfg: TrainConfig, steps_per_epoch: int) -> float:
    """Multiplier of the base lr at optimizer step `step`: constant, or linear warmup + cosine."""
    if cfg.schedule == "constant":
        return 1.0
    warmup, total = cfg.warmup_epochs * steps_per_epoch, cfg.epochs * steps_per_epoch
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def rank_key(metrics: dict[str, Any]) -> tuple[float, float]:
    """Best epoch / trial: highest class accuracy, ties broken by centre accuracy."""
    return (metrics["class_acc"], metrics["centre_acc"])


class ImageSource:
    """Batches of uint8 images on the training device: from the memmap, or from a copy of the
    whole split held on the GPU (no host->device traffic per step)."""

    def __init__(self, split: CachedSplit, device: torch.device, on_device: bool) -> None:
        self.device = device
        self.resident = torch.from_numpy(np.array(split.images)).to(device) if on_device else None
        self.split = split

    def __call__(self, idx: np.ndarray) -> torch.Tensor:
        if self.resident is not None:
            return self.resident[torch.from_numpy(idx).to(self.device)]
        return torch.from_numpy(self.split.images[idx]).to(self.device, non_blocking=True)


def _targets(
    split: CachedSplit, idx: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.from_numpy(split.labels[idx]).to(device)
    return labels[:, 0].long(), labels[:, 1:].float()


def train(
    cfg: TrainConfig,
    data: TrainData,
    out_dir: Path,
    on_epoch: Callable[[EpochReport], None] | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train to `cfg.epochs`, resuming from `out_dir/last.pt` if it exists; returns the history.

    `on_epoch` runs after each epoch's checkpoint is on disk; raising there stops the run
    (the HPO prunes this way), and calling `train` again resumes after that epoch.
    """
    device = torch.device(cfg.device)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    model = build_detector(len(data.class_names), cfg.pretrained).to(
        device, memory_format=torch.channels_last
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=device.type == "cuda"
    )
    steps_per_epoch = max(1, len(data.train) // cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(lr_factor, cfg=cfg, steps_per_epoch=steps_per_epoch)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    history = _resume(out_dir, cfg, model, optimizer, scheduler)
    forward = torch.compile(model) if cfg.compile else model
    on_device = cfg.data_on_device if cfg.data_on_device is not None else device.type == "cuda"
    images = ImageSource(data.train, device, on_device)
    for epoch in range(len(history), cfg.epochs):
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(data.train))
        # Each batch in ascending index order: memmap reads run forward, and images and labels
        # (read separately, from the memmap or the GPU copy) pair up by construction.
        batches = [
            np.sort(order[i : i + cfg.batch_size])
            for i in range(0, steps_per_epoch * cfg.batch_size, cfg.batch_size)
        ]
        bar = tqdm(
            batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False
        )
        sums = torch.zeros(4, device=device)
        model.train()
        for step, idx in enumerate(bar):
            classes, boxes = _targets(data.train, idx, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.use_amp):
                out = forward(normalise(images(idx)))
            loss = detector_loss(
                out, classes, boxes, cfg.sigma, cfg.k, cfg.box_weight, cfg.centre_weight
            )
            if not math.isfinite(loss.total.item()):
                raise ModelError(
                    f"loss is {loss.total.item()} at epoch {epoch + 1} step {step + 1} "
                    f"(lr={cfg.lr}, weight_decay={cfg.weight_decay}); the run is stopped"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.total.backward()
            optimizer.step()
            scheduler.step()
            sums += torch.stack([p.detach() for p in loss])
            bar.set_postfix(loss=f"{sums[0].item() / (step + 1):.3f}", refresh=False)
        metrics = evaluate(forward, data.val, cfg, len(data.class_names))
        train_losses = dict(
            zip(
                ("loss", "loss_centre", "loss_class", "loss_box"),
                (sums / len(batches)).tolist(),
                strict=True,
            )
        )
        record = {"epoch": epoch + 1, **train_losses, **metrics}
        is_best = all(rank_key(record) > rank_key(h) for h in history)
        history.append(record)
        _save(out_dir, cfg, model, optimizer, scheduler, history, data.class_names, is_best)
        if on_epoch is not None:
            on_epoch(
                EpochReport(
                    epoch + 1,
                    {k: v for k, v in record.items() if k != "confusion"},
                    is_best,
                    out_dir,
                )
            )
    return history


def evaluate(
    model: torch.nn.Module, split: CachedSplit, cfg: TrainConfig, num_classes: int
) -> dict[str, Any]:
    preds = predict_arrays(
        model, split.images, 2 * cfg.batch_size, torch.device(cfg.device), cfg.use_amp
    )
    return split_metrics(preds, split.labels, cfg.image_size, num_classes)


def _resume(
    out_dir: Path,
    cfg: TrainConfig,
    model: Detector,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> list[dict[str, Any]]:
    path = out_dir / "last.pt"
    if not path.exists():
        return []
    state = load_checkpoint(path, required=("model", "optimizer", "scheduler", "config", "history"))
    changed = [f for f in RESULT_FIELDS if state["config"].get(f) != getattr(cfg, f)]
    if changed:
        raise ModelError(
            f"{path}: holds a run with other settings ({', '.join(changed)}); use a new --out"
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return state["history"]


def _save(
    out_dir: Path,
    cfg: TrainConfig,
    model: Detector,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    history: list[dict[str, Any]],
    class_names: tuple[str, ...],
    is_best: bool,
) -> None:
    common = {
        "config": cfg.to_dict(),
        "class_names": list(class_names),
        "image_size": cfg.image_size,
    }
    save_checkpoint(
        out_dir / "last.pt",
        {
            **common,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": len(history),
            "history": history,
        },
    )
    if is_best:
        save_checkpoint(
            out_dir / "best.pt",
            {**common, "model": model.state_dict(), "epoch": len(history), "metrics": history[-1]},
        )
