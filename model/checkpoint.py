"""Checkpoints: dicts of tensors and plain Python values, so `torch.load(weights_only=True)` reads them."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from spacehpo.model.errors import ModelError


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write beside the target and rename, so a crash mid-write never leaves a torn file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, required: tuple[str, ...] = ("model",)) -> dict[str, Any]:
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelError(
            f"{path}: refused: it holds objects other than tensors and plain values (weights_only)"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise ModelError(
            f"{path}: truncated or corrupt checkpoint ({err.__class__.__name__})"
        ) from None
    if not isinstance(payload, dict) or any(key not in payload for key in required):
        raise ModelError(f"{path}: not a spacehpo checkpoint (needs keys: {', '.join(required)})")
    return payload
