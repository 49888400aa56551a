"""Inference: load a checkpoint, predict batches of images, evaluate a split. Every path goes
through `predict_batches`, hence through the one `decode`; the submission CSV and the image list
are in `predictions`, which an exported .onnx shares without torch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spacehpo.data.cache import decode as decode_image
from spacehpo.data.cache import open_split
from spacehpo.model.checkpoint import load_checkpoint
from spacehpo.model.config import HEAD_SETTINGS, TrainConfig, saved_setting
from spacehpo.model.decode import decode
from spacehpo.model.errors import ModelError
from spacehpo.model.metrics import detection_metrics
from spacehpo.model.network import Detector, Normaliser
from spacehpo.model.predictions import Predictions
from spacehpo.model.targets import gt_cells


@dataclass(frozen=True)
class LoadedModel:
    model: Detector
    class_names: tuple[str, ...]
    image_size: int
    device: torch.device


def load_model(path: Path, device: str = "cpu") -> LoadedModel:
    """From `best.pt`, `last.pt` or an exported `model.pt`: all carry weights, names and size."""
    state = load_checkpoint(path, required=("model", "class_names", "image_size"))
    saved = state.get("config", {})
    backbone = saved_setting(saved, "backbone")
    heads = TrainConfig().with_params({k: saved_setting(saved, k) for k in HEAD_SETTINGS}).heads
    model = Detector(len(state["class_names"]), backbone, heads)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise ModelError(
            f"{path}: weights do not fit the {backbone} detector ({str(err).splitlines()[0]})"
        ) from None
    dev = torch.device(device)
    return LoadedModel(
        model.to(dev).eval(), tuple(state["class_names"]), int(state["image_size"]), dev
    )


@torch.inference_mode()
def predict_batches(model: torch.nn.Module, batches: Iterable[torch.Tensor]) -> Predictions:
    """Predict uint8 (B, S, S, 3) batches already on the model's device, in fp32: training
    validates this way too, so a study's metrics reproduce with `evaluate` after export."""
    model.eval()
    normalise, parts = None, []
    for batch in batches:
        normalise = normalise or Normaliser(batch.device)
        out = model(normalise(batch))
        d = decode(out)
        parts.append((d.cells, d.classes, d.confidence, d.boxes, torch.sigmoid(out.centre.float())))
    if not parts:
        raise ModelError("no images to predict")
    return Predictions(*(torch.cat(col).cpu().numpy() for col in zip(*parts, strict=True)))


def predict_arrays(
    model: torch.nn.Module, images: np.ndarray, batch_size: int, device: torch.device
) -> Predictions:
    """Predict (N, S, S, 3) uint8 host images in batches; each batch is copied out of a
    read-only memmap, since torch may not wrap a non-writable array."""
    return predict_batches(
        model,
        (
            torch.from_numpy(np.array(images[start : start + batch_size])).to(device)
            for start in range(0, len(images), batch_size)
        ),
    )


def split_metrics(
    preds: Predictions, labels: np.ndarray, image_size: int, num_classes: int
) -> dict[str, Any]:
    gt_boxes = torch.from_numpy(labels[:, 1:]).float()
    return detection_metrics(
        preds.cells,
        preds.classes,
        preds.boxes,
        gt_cells(gt_boxes, image_size // 32).numpy(),
        labels[:, 0].astype(np.int64),
        gt_boxes.numpy(),
        num_classes,
    )


def evaluate_dataset(
    lm: LoadedModel, data_root: Path, split: str, batch_size: int = 32
) -> tuple[dict[str, Any], Predictions, Any]:
    cached = open_split(data_root, split, lm.image_size)
    preds = predict_arrays(lm.model, cached.images, batch_size, lm.device)
    return split_metrics(preds, cached.labels, lm.image_size, len(lm.class_names)), preds, cached


def predict_files(lm: LoadedModel, paths: list[Path], batch_size: int = 16) -> Predictions:
    """Decode and resize each file exactly as the cache does, so training and inference agree."""
    chunks = []
    for start in range(0, len(paths), batch_size):
        arrays = np.stack(
            [decode_image(p, lm.image_size) for p in paths[start : start + batch_size]]
        )
        chunks.append(predict_arrays(lm.model, arrays, batch_size, lm.device))
    return Predictions(
        *(np.concatenate([getattr(c, f) for c in chunks]) for f in Predictions.__dataclass_fields__)
    )
