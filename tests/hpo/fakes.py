"""Fast trainables with known scores, for driving the engine in tests and benchmarks.

The score is a fixed function of the params, so the staged plan's choices can be checked
against an independent computation. Behaviour is steered by settings (`study create --set`).
"""

from __future__ import annotations

import json
import math
import os
import random
import time

from spacehpo.hpo.engine.trainable import TrialContext, TrialResult


def score(params: dict[str, float], flat_lr: bool = False) -> tuple[float, float]:
    """(class_acc, centre_acc) at the last epoch: peaks at lr 3e-4, wd 1e-5, sigma 0.7, k 6, box 8.
    `flat_lr`: both learning rates score the same, so the first stage ends in a full tie."""
    s = (
        0.5
        + 0.1 * (flat_lr or params["lr"] > 2e-4)
        + 0.03 * (params["weight_decay"] < 5e-5)
        - 0.05 * abs(params["sigma"] - 0.7)
        - 0.004 * abs(params["k"] - 6)
        - 0.003 * abs(params["box_weight"] - 8)
        + 0.05 * (params.get("flavour") == "b")  # a categorical parameter, where a plan has one
    )
    return round(s, 6), round(0.9 - 0.01 * abs(params["k"] - 8), 6)


def repeat_noise(ctx: TrialContext) -> float:
    """A fixed draw in [-noise, noise] per (seed, params): repeats of a point (seed + repeat)
    differ, and a rerun of the same repeat does not."""
    amplitude = float(ctx.settings.get("noise", 0.0))
    key = f"{ctx.settings.get('seed', 0)}-{sorted(ctx.params.items())}"
    return round(random.Random(key).uniform(-amplitude, amplitude), 6)


def scored(ctx: TrialContext) -> TrialResult:
    """Epochs of `sleep` seconds whose curves rise to `score(params)` (plus `repeat_noise`);
    resumes from last.pt. spark_score is the product of the two accuracies."""
    epochs, sleep = int(ctx.settings.get("epochs", 3)), float(ctx.settings.get("sleep", 0.0))
    final_class, final_centre = score(ctx.params, bool(ctx.settings.get("flat_lr")))
    final_class = round(final_class + repeat_noise(ctx), 6)
    if ctx.settings.get("invert"):  # the opposite ranking, for tests that need other grid results
        final_class = round(1.2 - final_class, 6)
    if ctx.params["lr"] == ctx.settings.get("nan_lr"):
        raise FloatingPointError("loss is nan at epoch 1")
    ckpt = ctx.checkpoint_dir / "last.pt"
    done = json.loads(ckpt.read_text())["epoch"] if ckpt.exists() else 0
    for epoch in range(done + 1, epochs + 1):
        time.sleep(sleep)
        ckpt.write_text(json.dumps({"epoch": epoch}))
        fraction = epoch / epochs
        ctx.report(
            epoch,
            {
                "class_acc": final_class * fraction,
                "centre_acc": final_centre * fraction,
                "iou": 0.5,
                "spark_score": final_class * final_centre * fraction**2,
            },
        )
    spark = final_class * final_centre
    return TrialResult({"class_acc": final_class, "centre_acc": final_centre, "spark_score": spark})


def noop(ctx: TrialContext) -> TrialResult:
    """No work at all: what remains of a trial's time is coordination."""
    return TrialResult({"class_acc": 0.5, "centre_acc": 0.5})


def crash_once(ctx: TrialContext) -> TrialResult:
    """Dies hard (like SIGKILL) mid-trial the first time a marker file is absent."""
    marker = os.path.join(ctx.settings["marker_dir"], f"crashed-{sorted(ctx.params.items())}")
    ckpt = ctx.checkpoint_dir / "last.pt"
    done = json.loads(ckpt.read_text())["epoch"] if ckpt.exists() else 0
    for epoch in range(done + 1, int(ctx.settings.get("epochs", 3)) + 1):
        ckpt.write_text(json.dumps({"epoch": epoch}))
        ctx.report(epoch, {"class_acc": 0.1 * epoch, "centre_acc": 0.1 * epoch})
        if epoch == 2 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(9)
    return TrialResult({"class_acc": 0.3 + math.log10(ctx.params["lr"]) / 100, "centre_acc": 0.3})


def oom_once(ctx: TrialContext) -> TrialResult:
    """Runs out of memory at epoch 2 the first time a point with lr `oom_lr` and weight decay
    `oom_wd` runs (a machine fault; once per study); otherwise trains like `scored`."""
    import torch

    marker = os.path.join(ctx.settings["marker_dir"], "oom-once")
    if os.path.exists(marker) or (ctx.params["lr"], ctx.params["weight_decay"]) != (
        ctx.settings["oom_lr"],
        ctx.settings["oom_wd"],
    ):
        return scored(ctx)
    ckpt = ctx.checkpoint_dir / "last.pt"
    ckpt.write_text(json.dumps({"epoch": 1}))
    ctx.report(
        1, {"class_acc": score(ctx.params)[0] / int(ctx.settings["epochs"]), "centre_acc": 0.3}
    )
    open(marker, "w").close()
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def faulty_host(ctx: TrialContext) -> TrialResult:
    """An I/O error on every trial on a host marked SPACEHPO_TEST_FAULTY=1; `scored` elsewhere."""
    if os.environ.get("SPACEHPO_TEST_FAULTY") == "1":
        raise OSError(5, "Input/output error", str(ctx.checkpoint_dir))
    return scored(ctx)


def oom_first(ctx: TrialContext) -> TrialResult:
    """Runs out of memory at epoch 2 on the first attempt of every configuration that matches
    one of `oom` ("lr=0.0001,k=6;sigma=0.5": `;` between configurations), like a batch too big
    for the GPU it first landed on; otherwise, and on the retry, trains like `scored`."""
    import torch

    wanted = [
        dict(pair.split("=") for pair in group.split(","))
        for group in str(ctx.settings["oom"]).split(";")
    ]
    hit = any(all(float(ctx.params[k]) == float(v) for k, v in w.items()) for w in wanted)
    marker = os.path.join(ctx.settings["marker_dir"], f"oom-{sorted(ctx.params.items())}")
    if not hit or os.path.exists(marker):
        return scored(ctx)
    ckpt = ctx.checkpoint_dir / "last.pt"
    ckpt.write_text(json.dumps({"epoch": 1}))
    ctx.report(
        1,
        {
            "class_acc": score(ctx.params, bool(ctx.settings.get("flat_lr")))[0] / 3,
            "centre_acc": 0.3,
        },
    )
    open(marker, "w").close()
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
