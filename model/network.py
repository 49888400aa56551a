"""The detector: ResNet18 trunk, then three 1x1 conv heads on its stride-32 feature map.

Read top to bottom: trunk -> heads -> output; then how weights get in (random, ImageNet, file).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
import torchvision
from spacehpo.model.errors import ModelError, WeightsMissing
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DetectorOutput(NamedTuple):
    centre: torch.Tensor  # (B, G, G) logits: is the object's centre in this cell?
    classes: torch.Tensor  # (B, C, G, G) logits per cell
    box: torch.Tensor  # (B, 4, G, G) normalised [cx, cy, w, h] per cell, in (0, 1)


class Trunk(nn.Module):
    """torchvision's ResNet18 up to layer4, with its parameter names, so ImageNet state dicts
    load unchanged."""

    def __init__(self) -> None:
        super().__init__()
        r = torchvision.models.resnet18(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = r.conv1, r.bn1, r.relu, r.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = r.layer1, r.layer2, r.layer3, r.layer4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class Detector(nn.Module):
    def __init__(self, num_classes: int = 11) -> None:
        super().__init__()
        self.trunk = Trunk()
        self.centre_head = nn.Conv2d(512, 1, kernel_size=1)
        self.class_head = nn.Conv2d(512, num_classes, kernel_size=1)
        self.box_head = nn.Conv2d(512, 4, kernel_size=1)

    def forward(self, images: torch.Tensor) -> DetectorOutput:
        features = self.trunk(images)
        # The heads run in fp32 under autocast: 1x1 convs cost nothing, and the loss, the
        # sigmoid and the argmax cell are then computed on full-precision logits.
        with torch.autocast(features.device.type, enabled=False):
            features = features.float()
            return DetectorOutput(
                centre=self.centre_head(features).squeeze(1),
                classes=self.class_head(features),
                box=torch.sigmoid(self.box_head(features)),
            )


class Normaliser:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float, ImageNet-normalised, channels_last in memory.

    Done on the training device, so a GPU run ships uint8 (4x fewer bytes) and normalises there;
    mean and std are made once, not on every call (each would be a host-to-device copy).
    """

    def __init__(self, device: torch.device) -> None:
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def __call__(self, images_u8: torch.Tensor) -> torch.Tensor:
        x = images_u8.permute(0, 3, 1, 2).float().div_(255)
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)


def build_detector(num_classes: int, pretrained: str = "none") -> Detector:
    model = Detector(num_classes)
    if pretrained == "imagenet":
        model.trunk.load_state_dict(_trunk_keys(_imagenet_state_dict()))
    elif pretrained != "none":
        model.trunk.load_state_dict(_trunk_keys(_state_dict_from_file(Path(pretrained))))
    return model


def _trunk_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept a torchvision ResNet18 state dict (fc dropped) or a detector's (trunk taken)."""
    if any(k.startswith("trunk.") for k in state):
        return {k.removeprefix("trunk."): v for k, v in state.items() if k.startswith("trunk.")}
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


def _imagenet_state_dict() -> dict[str, torch.Tensor]:
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    try:
        return weights.get_state_dict(progress=True)  # torch hub cache first, else download
    except OSError as err:  # URLError and socket errors when the machine is offline
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise WeightsMissing(
            f"ImageNet weights are not cached and could not be downloaded ({err.__class__.__name__}): "
            f"put {weights.url} at {cache}, or pass --pretrained PATH"
        ) from None


def _state_dict_from_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsMissing(
            f"{path}: --pretrained file not found (use 'none', 'imagenet' or a state dict file)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for unsafe or corrupt files
        raise ModelError(f"{path}: not a loadable state dict ({err.__class__.__name__})") from None
    state = state.get("model", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: expected a state dict of tensors")
    return state
