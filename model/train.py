"""Training: one call of `train()` is one run (one HPO trial), resumable from its last checkpoint.

On CUDA a step makes no host sync: batches and labels are on the device (`batches.py`), the
loss sums stay there, and finiteness is checked every `CHECK_EVERY` steps and at epoch end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from spacehpo.data.cache import CachedSplit, open_split
from spacehpo.data.yolo import read_names
from spacehpo.model.augment import augment_batch
from spacehpo.model.batches import DeviceData, ImageSource, device_labels
from spacehpo.model.checkpoint import load_checkpoint, save_checkpoint
from spacehpo.model.config import RESULT_FIELDS, TrainConfig, saved_setting
from spacehpo.model.errors import ModelError
from spacehpo.model.infer import Predictions, predict_batches, split_metrics
from spacehpo.model.loss import detector_loss
from spacehpo.model.metrics import LOSS_NAMES, LR, rank_epoch
from spacehpo.model.network import Detector, Normaliser, build_detector
from spacehpo.model.overlays import overlay_sheet, shown_of
from spacehpo.model.run_files import BEST_CHECKPOINT, LAST_CHECKPOINT
from torch import nn
from tqdm import tqdm

CHECK_EVERY = 50  # steps between finiteness checks: each is one host sync on CUDA


@dataclass(frozen=True)
class TrainData:
    train: CachedSplit
    val: CachedSplit
    class_names: tuple[str, ...]


# Validation images drawn for TensorBoard after every epoch: one row of tiles, so a run's event
# file grows by one picture an epoch.
OVERLAID = 4


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # epochs done, from 1
    metrics: dict[str, float]  # validation metrics and mean train losses
    is_best: bool
    overlays: Image.Image | None = None  # the first validation images as drawn now (TensorBoard)


def load_data(
    root: Path, image_size: int, progress: bool = True, fingerprint: str | None = None
) -> TrainData:
    """`fingerprint`: the dataset's, when the caller already has it (a worker computes it once)."""
    train, val = (
        open_split(root, split, image_size, progress=progress, fingerprint=fingerprint)
        for split in ("train", "val")
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


@dataclass
class Run:
    """Everything one training run holds while it steps."""

    cfg: TrainConfig
    device: torch.device
    model: Detector
    forward: Callable[[torch.Tensor], Any]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    normalise: Normaliser
    steps_per_epoch: int


def _start(cfg: TrainConfig, data: TrainData, out_dir: Path) -> tuple[Run, list[dict[str, Any]]]:
    device = torch.device(cfg.device)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input size: pick the fastest kernels once
    torch.manual_seed(cfg.seed)
    model = build_detector(len(data.class_names), cfg.pretrained, cfg.backbone, cfg.heads).to(
        device, memory_format=torch.channels_last
    )
    # fused AdamW on CPU as on CUDA: one code path, so the CPU tests run the GPU's branch
    optimizer = torch.optim.AdamW(
        _param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True
    )
    steps = max(1, len(data.train) // cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(lr_factor, cfg=cfg, steps_per_epoch=steps)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    history = _resume(out_dir, cfg, model, optimizer, scheduler)
    forward = torch.compile(model) if cfg.compile else model
    run = Run(cfg, device, model, forward, optimizer, scheduler, Normaliser(device), steps)
    return run, history


def _param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """One group, as the report trains, unless the trunk learns at its own rate."""
    if cfg.backbone_lr_mult == 1.0:
        return [{"params": list(model.parameters())}]
    trunk = set(model.trunk.parameters())
    return [
        {"params": list(model.trunk.parameters()), "lr": cfg.lr * cfg.backbone_lr_mult},
        {"params": [p for p in model.parameters() if p not in trunk]},
    ]


def epoch_batches(run: Run, n: int, epoch: int) -> tuple[np.ndarray, torch.Tensor]:
    """The epoch's batches as (steps, batch) indices, on the host and (one copy) on the device.
    Each batch in ascending order: memmap reads run forward."""
    order = np.random.default_rng([run.cfg.seed, epoch]).permutation(n)
    size = min(run.cfg.batch_size, n)  # a split smaller than a batch trains as one short batch
    host = np.sort(order[: run.steps_per_epoch * size].reshape(run.steps_per_epoch, size), axis=1)
    staged = torch.from_numpy(host)
    if run.device.type == "cuda":
        staged = staged.pin_memory()  # so the one copy per epoch does not block the host
    return host, staged.to(run.device, non_blocking=True)


def train(
    cfg: TrainConfig,
    data: TrainData,
    out_dir: Path,
    on_epoch: Callable[[EpochReport], None] | None = None,
    progress: bool = True,
    device_data: DeviceData | None = None,
) -> list[dict[str, Any]]:
    """Train to `cfg.epochs`, resuming from `out_dir/last.pt` if it exists; returns the history.

    `on_epoch` runs after each epoch's checkpoint is on disk; raising there stops the run
    (the HPO prunes this way), and calling `train` again resumes after that epoch.
    `device_data` keeps resident splits for the next run in this process.
    """
    run, history = _start(cfg, data, out_dir)
    device_data = device_data or DeviceData()
    images = device_data.images(data.train, run.device, cfg.batch_size, cfg.data_on_device)
    val_images = device_data.images(data.val, run.device, 2 * cfg.batch_size, cfg.data_on_device)
    labels = device_labels(data.train, run.device)
    for epoch in range(len(history), cfg.epochs):
        losses = _train_epoch(run, images, labels, len(data.train), epoch, progress)
        preds = evaluate(run.forward, data.val, val_images, 2 * cfg.batch_size)
        metrics = split_metrics(preds, data.val.labels, cfg.image_size, len(data.class_names))
        lr = run.optimizer.param_groups[0]["lr"]  # where the schedule ended this epoch
        record = {"epoch": epoch + 1, **losses, LR: lr, **metrics}
        rank = rank_epoch(record, cfg.objective)
        is_best = all(rank > rank_epoch(h, cfg.objective) for h in history)
        history.append(record)
        _save(out_dir, run, history, data.class_names, is_best)
        if on_epoch is not None:
            shown = {k: v for k, v in record.items() if k != "confusion"}
            picture = overlay_sheet(shown_of(data.val, preds, data.class_names, OVERLAID))
            on_epoch(EpochReport(epoch + 1, shown, is_best, picture))
    return history


def _train_epoch(
    run: Run, images: ImageSource, labels: torch.Tensor, n: int, epoch: int, progress: bool
) -> dict[str, float]:
    host_idx, idx = epoch_batches(run, n, epoch)
    cfg, sums = run.cfg, torch.zeros(4, device=run.device)
    bar = tqdm(
        range(run.steps_per_epoch),
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        disable=not progress,
        leave=False,
    )
    _train_mode(run.model, frozen=epoch < cfg.freeze_epochs)
    draws = torch.Generator(run.device).manual_seed(cfg.seed * 100_003 + epoch)  # resumable
    for step in bar:
        batch_labels = labels[idx[step]]
        u8, boxes = augment_batch(
            images(idx[step], host_idx[step]), batch_labels[:, 1:], cfg.augment, draws
        )
        with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=cfg.use_amp):
            out = run.forward(run.normalise(u8))
        loss = detector_loss(
            out, batch_labels[:, 0].long(), boxes, cfg.sigma, cfg.k, cfg.box_weight,
            cfg.centre_weight,
        )  # fmt: skip
        run.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        run.optimizer.step()
        run.scheduler.step()
        sums += torch.stack([p.detach() for p in loss])
        if (step + 1) % CHECK_EVERY == 0 or step + 1 == run.steps_per_epoch:
            mean = _check_finite(sums / (step + 1), epoch, step, cfg)
            bar.set_postfix(loss=f"{mean[0]:.3f}", refresh=False)
    return dict(zip(LOSS_NAMES, mean, strict=True))


def _train_mode(model: nn.Module, frozen: bool) -> None:
    """During `freeze_epochs` only the heads learn: the trunk gets no gradients, and its batch
    norms keep their (ImageNet) statistics."""
    model.train()
    model.trunk.requires_grad_(not frozen)
    if frozen:
        model.trunk.eval()


def _check_finite(mean: torch.Tensor, epoch: int, step: int, cfg: TrainConfig) -> list[float]:
    """One host sync for CHECK_EVERY steps; a non-finite sum names the steps it happened in."""
    values = mean.tolist()
    if not all(math.isfinite(v) for v in values):
        first = step - (step % CHECK_EVERY) + 1
        raise ModelError(
            f"loss is {values[0]} at epoch {epoch + 1} steps {first}-{step + 1} "
            f"(lr={cfg.lr}, weight_decay={cfg.weight_decay}); the run is stopped"
        )
    return values


def evaluate(
    model: Callable[[torch.Tensor], Any], split: CachedSplit, images: ImageSource, batch_size: int
) -> Predictions:
    """Predictions for the whole split, in order, in fp32 (as `evaluate` and `predict` run)."""
    batches = (
        images.range(start, min(start + batch_size, len(split)))
        for start in range(0, len(split), batch_size)
    )
    return predict_batches(model, batches)


def _resume(
    out_dir: Path,
    cfg: TrainConfig,
    model: Detector,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> list[dict[str, Any]]:
    path = out_dir / LAST_CHECKPOINT
    if not path.exists():
        return []
    state = load_checkpoint(path, required=("model", "optimizer", "scheduler", "config", "history"))
    changed = [f for f in RESULT_FIELDS if saved_setting(state["config"], f) != getattr(cfg, f)]
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
    run: Run,
    history: list[dict[str, Any]],
    class_names: tuple[str, ...],
    is_best: bool,
) -> None:
    common = {
        "config": run.cfg.to_dict(),
        "class_names": list(class_names),
        "image_size": run.cfg.image_size,
    }
    weights = {**common, "model": run.model.state_dict(), "epoch": len(history)}
    save_checkpoint(
        out_dir / LAST_CHECKPOINT,
        {
            **weights,
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "history": history,
        },
    )
    if is_best:
        save_checkpoint(out_dir / BEST_CHECKPOINT, {**weights, "metrics": history[-1]})
