"""`predict` and `evaluate` with an exported `.onnx`: onnxruntime, numpy and PIL, no torch (a
deployment host need not install it, and `spacehpo predict` with a .onnx never imports it).
Images are decoded and resized exactly as the training cache does, then each batch is one
session run; normalisation and decoding happen inside the graph (see `deploy.Deployable`).

The names here are the exported file's contract with any deployment, so they live in this
torch-free module and the exporter imports them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from spacehpo.data.cache import decode as decode_image
from spacehpo.model.errors import ModelError
from spacehpo.model.predictions import Predictions

if TYPE_CHECKING:
    import onnxruntime

INPUT = "images"  # uint8 (batch, S, S, 3) RGB
OUTPUTS = ("class", "confidence", "box", "cell", "heatmap")
# ONNX metadata_props keys: the file carries what `predict` needs, so it travels alone.
CLASS_NAMES, IMAGE_SIZE = "class_names", "image_size"


@dataclass(frozen=True)
class OnnxModel:
    session: onnxruntime.InferenceSession
    class_names: tuple[str, ...]
    image_size: int


def providers(device: str) -> list[str]:
    """The same `--device` as the .pt path: cpu by default, cuda only when asked and present."""
    import onnxruntime

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            raise ModelError(
                f"--device {device}: this onnxruntime has no CUDA provider (onnxruntime-gpu has)"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ModelError(f"--device {device!r}: expected cpu or cuda")


def load_onnx(path: Path, device: str = "cpu") -> OnnxModel:
    import onnxruntime

    if not path.is_file():
        raise ModelError(f"{path}: model not found")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings are not the user's to act on
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=providers(device))
    except ModelError:
        raise
    except Exception as err:  # onnxruntime raises its own binding types for unreadable files
        reason = (str(err).strip().splitlines() or [err.__class__.__name__])[0]
        raise ModelError(f"{path}: not a loadable ONNX model ({reason[:200]})") from None
    meta = session.get_modelmeta().custom_metadata_map
    try:
        names, size = tuple(json.loads(meta[CLASS_NAMES])), int(meta[IMAGE_SIZE])
    except (KeyError, ValueError, TypeError):
        raise ModelError(
            f"{path}: not a spacehpo export (no {CLASS_NAMES}/{IMAGE_SIZE} metadata); "
            "export it with spacehpo export --format onnx"
        ) from None
    return OnnxModel(session, names, size)


def predict_onnx(model: OnnxModel, paths: list[Path], batch_size: int = 16) -> Predictions:
    """The same `Predictions` as `infer.predict_files`, so the CSV and overlays code is shared."""
    chunks = [
        np.stack([decode_image(p, model.image_size) for p in paths[start : start + batch_size]])
        for start in range(0, len(paths), batch_size)
    ]
    return _run(model, chunks)


def predict_onnx_arrays(model: OnnxModel, images: np.ndarray, batch_size: int = 32) -> Predictions:
    """(N, S, S, 3) uint8 images, such as a cached split, for `evaluate`."""
    return _run(model, (images[s : s + batch_size] for s in range(0, len(images), batch_size)))


def _run(model: OnnxModel, batches: Iterable[np.ndarray]) -> Predictions:
    parts = [model.session.run(list(OUTPUTS), {INPUT: np.ascontiguousarray(b)}) for b in batches]
    if not parts:
        raise ModelError("no images to predict")
    classes, confidence, boxes, cells, heatmaps = (
        np.concatenate(c) for c in zip(*parts, strict=True)
    )
    return Predictions(
        cells=cells, classes=classes, confidence=confidence, boxes=boxes, heatmaps=heatmaps
    )
