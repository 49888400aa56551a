"""Batches of uint8 images and their labels on the training device, with no host sync per step.

Two sources. The whole split resident on the GPU, when it fits the GPU's free memory at that
moment (which already counts the other processes on it) minus a margin for training; it is
copied in chunks, so host memory never holds more than one chunk, and `DeviceData` keeps it
for the next trial of the same worker process. Otherwise the memmap, read through pinned
staging buffers and copied without blocking. Labels are always on the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from spacehpo.data.cache import CachedSplit

# Training ResNet18 at 320 px, batch 64, bf16 with AdamW: about 3 GiB of activations, weights
# and optimizer state; twice that leaves room for cuDNN workspaces and a larger batch.
TRAINING_MARGIN_BYTES = 6 * 2**30
CHUNK = 256  # images per host->device copy when making a split resident


def split_key(split: CachedSplit) -> tuple[str, int]:
    """The cache entry a split was opened from: the same data in the next trial."""
    return (str(getattr(split.images, "filename", id(split.images))), len(split))


class ResidentImages:
    """The whole split as one uint8 tensor on the device."""

    def __init__(self, split: CachedSplit, device: torch.device) -> None:
        self.images = torch.empty(split.images.shape, dtype=torch.uint8, device=device)
        for start in range(0, len(split), CHUNK):
            chunk = np.array(split.images[start : start + CHUNK])  # one chunk in host memory
            self.images[start : start + CHUNK].copy_(torch.from_numpy(chunk))

    def __call__(self, idx: torch.Tensor, host_idx: np.ndarray) -> torch.Tensor:
        return self.images[idx]

    def range(self, start: int, stop: int) -> torch.Tensor:
        return self.images[start:stop]


class StagedImages:
    """Reads the memmap into one of two pinned buffers and copies it without blocking; a
    buffer is reused only after its previous copy has finished (an event, not a full sync)."""

    def __init__(self, split: CachedSplit, device: torch.device, batch_size: int) -> None:
        self.split, self.device = split, device
        self.cuda = device.type == "cuda"
        shape = (batch_size, *split.images.shape[1:])
        self.buffers = (
            [torch.empty(shape, dtype=torch.uint8).pin_memory() for _ in range(2)]
            if self.cuda
            else []
        )
        self.events = [torch.cuda.Event() for _ in range(2)] if self.cuda else []
        self.turn = 0

    def __call__(self, idx: torch.Tensor, host_idx: np.ndarray) -> torch.Tensor:
        return self._to_device(self.split.images[host_idx])

    def range(self, start: int, stop: int) -> torch.Tensor:
        return self._to_device(np.array(self.split.images[start:stop]))  # a writable copy

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        host = torch.from_numpy(array)
        if not self.cuda:
            return host
        self.turn = 1 - self.turn
        self.events[self.turn].synchronize()
        buffer = self.buffers[self.turn][: len(host)]
        buffer.copy_(host)
        out = buffer.to(self.device, non_blocking=True)
        self.events[self.turn].record()
        return out


ImageSource = ResidentImages | StagedImages


def fits(nbytes: int, free: int, share: int) -> bool:
    """`share`: the worker processes on this GPU, which split its free memory."""
    return nbytes <= free // max(1, share) - TRAINING_MARGIN_BYTES


def fits_on_device(nbytes: int, device: torch.device, share: int) -> bool:
    free, _ = torch.cuda.mem_get_info(device)  # counts every other process on the GPU too
    return fits(nbytes, free, share)


@dataclass
class DeviceData:
    """Resident splits of one worker process, kept across its trials (the worker owns it)."""

    share: int = 1
    resident: dict[tuple[str, int], ResidentImages] = field(default_factory=dict)

    def images(
        self, split: CachedSplit, device: torch.device, batch_size: int, want: bool | None
    ) -> ImageSource:
        """`want`: True forces the resident copy (the CPU twin of the GPU path), False never."""
        key = split_key(split)
        if key in self.resident and self.resident[key].images.device == device:
            return self.resident[key]
        if want is None:
            want = device.type == "cuda" and fits_on_device(split.images.nbytes, device, self.share)
        if not want:
            return StagedImages(split, device, batch_size)
        self.resident[key] = ResidentImages(split, device)
        return self.resident[key]


def device_labels(split: CachedSplit, device: torch.device) -> torch.Tensor:
    """(N, 5) float32: class, cx, cy, w, h; small, so always on the device."""
    return torch.from_numpy(np.asarray(split.labels, dtype=np.float32)).to(device)
