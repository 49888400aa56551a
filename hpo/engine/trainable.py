"""The one interface between the HPO engine and what it tunes.

A trainable is `fn(ctx: TrialContext) -> TrialResult`. It trains with `ctx.params`, calls
`ctx.report(epoch, metrics)` after each epoch (metrics hold `class_acc`, the objective, and
`centre_acc`; the call may raise to prune or hand the trial back), keeps whatever it needs to
resume in `ctx.checkpoint_dir / model.run_files.LAST_CHECKPOINT` (the engine ships it to the artifact store each
epoch and puts it back there when a retried trial starts), and returns its best metrics and the
files to publish (`model`: best weights; pictures). `--trainable module:function` plugs in others.
`ctx.keep` lives as long as the worker process: a trainable may keep data there across trials.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from spacehpo.hpo.core.errors import HpoError
from spacehpo.model.run_files import BEST_CHECKPOINT

if TYPE_CHECKING:
    from PIL import Image

DETECTOR = "spacehpo.hpo.engine.trainable:detector"
DATA = "data"  # the settings key holding this host's dataset path
FINGERPRINT = "fingerprint"  # the settings key a worker adds: the dataset's, computed once
DEVICE_DATA = "device_data"  # the detector's resident splits in `ctx.keep`
# set by the launcher per GPU, so the workers sharing one GPU share its free memory
WORKERS_ON_DEVICE = "SPACEHPO_WORKERS_ON_DEVICE"

# studies stored before hpo/ had rooms name the detector by the module it had then
MOVED = {"spacehpo.hpo.trainable:detector": DETECTOR}


@dataclass(frozen=True)
class TrialContext:
    params: dict[str, float]
    settings: dict[str, Any]  # the study's training settings (epochs, image size, data path...)
    checkpoint_dir: Path
    report: Reporter
    device: str = "cpu"
    keep: dict[str, Any] = field(default_factory=dict)


class Reporter(Protocol):
    """`ctx.report(epoch, metrics)` after each epoch; `picture`, optional, goes to TensorBoard."""

    def __call__(
        self, epoch: int, metrics: dict[str, float], picture: Image.Image | None = None
    ) -> None: ...


@dataclass(frozen=True)
class TrialResult:
    metrics: dict[str, float]  # the best epoch's: class_acc, centre_acc, ...
    files: dict[str, Path] = field(default_factory=dict)


Trainable = Callable[[TrialContext], TrialResult]


def canonical(path: str) -> str:
    """The name a trainable has now, for one a stored study names by its old module."""
    return MOVED.get(path, path)


def load_trainable(path: str) -> Trainable:
    """`module:function`."""
    module, _, name = canonical(path).partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise HpoError(
            f"--trainable {path!r}: cannot import ({err.__class__.__name__}: {err})"
        ) from None
    if not callable(fn):
        raise HpoError(f"--trainable {path!r}: not a function")
    return fn


def detector(ctx: TrialContext) -> TrialResult:
    """The space-object detector: one call of `model.train.train`, then its pictures."""
    from spacehpo.model.batches import DeviceData
    from spacehpo.model.config import TrainConfig
    from spacehpo.model.metrics import rank_epoch
    from spacehpo.model.train import load_data, train

    training = {k: v for k, v in ctx.settings.items() if k not in (DATA, FINGERPRINT)}
    cfg = TrainConfig().with_params({**training, **ctx.params, "device": ctx.device})
    root = Path(ctx.settings[DATA])
    data = load_data(root, cfg.image_size, False, ctx.settings.get(FINGERPRINT))
    share = int(os.environ.get(WORKERS_ON_DEVICE, "1"))  # set by the launcher per GPU
    device_data = ctx.keep.setdefault(DEVICE_DATA, DeviceData(share))
    history = train(
        cfg,
        data,
        ctx.checkpoint_dir,
        on_epoch=lambda r: ctx.report(r.epoch, r.metrics, r.overlays),
        progress=False,
        device_data=device_data,
    )
    best = max(history, key=lambda m: rank_epoch(m, cfg.objective))
    metrics = {k: float(v) for k, v in best.items() if k != "confusion"}
    return TrialResult(metrics, _pictures(ctx, data, best))


def _pictures(ctx: TrialContext, data: Any, best: dict[str, Any]) -> dict[str, Path]:
    """The best epoch's confusion matrix and overlays of 8 validation images, for the dashboard."""
    from spacehpo.model.infer import load_model, predict_arrays
    from spacehpo.model.overlays import overlay_sheet, shown_of
    from spacehpo.model.pictures import confusion_png

    out = ctx.checkpoint_dir
    title = f"epoch {best['epoch']}:"
    confusion_png(best["confusion"], data.class_names, out / "confusion.png", title=title)
    lm = load_model(out / BEST_CHECKPOINT, ctx.device)
    preds = predict_arrays(lm.model, data.val.images[:8], 8, lm.device)
    overlay_sheet(shown_of(data.val, preds, data.class_names)).save(out / "overlays.png")
    return {
        "model": out / BEST_CHECKPOINT,
        "confusion": out / "confusion.png",
        "overlays": out / "overlays.png",
    }
