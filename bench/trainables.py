"""Trainables for the benchmarks: all coordination, no training."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from spacehpo.data.cache import open_split
from spacehpo.data.yolo import fingerprint
from spacehpo.hpo.engine.trainable import DATA, FINGERPRINT, TrialContext, TrialResult

BATCH = 64


def reporting_noop(ctx: TrialContext) -> TrialResult:
    """Reports `epochs` epochs instantly, so a trial's whole time is what the engine costs
    (claim, params, per-epoch reports with their pruning checks, completion)."""
    for epoch in range(1, int(ctx.settings.get("epochs", 15)) + 1):
        ctx.report(epoch, {"class_acc": 0.5, "centre_acc": 0.5})
    return TrialResult({"class_acc": 0.5, "centre_acc": 0.5})


def cache_reader(ctx: TrialContext) -> TrialResult:
    """The detector's data path without the network: open the decoded-image cache as a trial
    does, then read `batches` random batches of 64 per epoch into float tensors.

    Only the batch reading counts as the trainable's own time (`trainable_s`); opening the
    cache, the reports and everything around the call are the trial's fixed cost. A worker that
    passes no fingerprint gets it computed here once per process, as the detector's worker does.
    """
    root = Path(ctx.settings[DATA])
    known = ctx.settings.get(FINGERPRINT) or ctx.keep.get(FINGERPRINT)
    if known is None:
        known = ctx.keep[FINGERPRINT] = fingerprint(root)
    size = int(ctx.settings.get("image_size", 320))
    split = open_split(root, "train", size, progress=False, fingerprint=known)
    rng = np.random.default_rng(int(ctx.params["lr"] * 1e9))
    busy, batches = 0.0, int(ctx.settings.get("batches", 4))
    for epoch in range(1, int(ctx.settings.get("epochs", 2)) + 1):
        start = time.perf_counter()
        for _ in range(batches):
            index = np.sort(rng.choice(len(split), min(BATCH, len(split)), replace=False))
            torch.from_numpy(split.images[index]).permute(0, 3, 1, 2).float().div_(255)
        busy += time.perf_counter() - start
        ctx.report(epoch, {"class_acc": 0.5, "centre_acc": 0.5})
    return TrialResult({"class_acc": 0.5, "centre_acc": 0.5, "trainable_s": busy})


def scored_epochs(ctx: TrialContext) -> TrialResult:
    """`epochs` epochs of `sleep` seconds each, resuming from last.pt, whose class accuracy rises
    to a fixed function of the params: the staged plan's choices are then the same every run,
    so a fault that changes them shows."""
    epochs, sleep = int(ctx.settings.get("epochs", 3)), float(ctx.settings.get("sleep", 0.0))
    p = ctx.params
    final = 0.5 + 0.1 * (p["lr"] > 2e-4) - 0.05 * abs(p["sigma"] - 0.7) - 0.004 * abs(p["k"] - 6)
    final = round(final - 0.003 * abs(p["box_weight"] - 8), 6)
    ckpt = ctx.checkpoint_dir / "last.pt"
    done = int(ckpt.read_text()) if ckpt.exists() else 0
    for epoch in range(done + 1, epochs + 1):
        time.sleep(sleep)
        ckpt.write_text(str(epoch))
        ctx.report(epoch, {"class_acc": final * epoch / epochs, "centre_acc": 0.8 * epoch / epochs})
    return TrialResult({"class_acc": final, "centre_acc": 0.8})
