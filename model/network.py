"""The detector: a torchvision trunk (ResNet18 by default, see `backbones.py`), then three 1x1
conv heads on its stride-32 feature map.

Read top to bottom: trunk -> heads -> output; then how weights get in (random, ImageNet, file).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from spacehpo.model.backbones import DEFAULT_BACKBONE, get_backbone
from spacehpo.model.errors import ModelError, WeightsMissing
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DetectorOutput(NamedTuple):
    centre: torch.Tensor  # (B, G, G) logits: is the object's centre in this cell?
    classes: torch.Tensor  # (B, C, G, G) logits per cell
    box: torch.Tensor  # (B, 4, G, G) normalised [cx, cy, w, h] per cell, in (0, 1)
    offset: torch.Tensor | None = None  # (B, 2, G, G) [dx, dy] within the cell (offset head)
    temperature: torch.Tensor | None = None  # () the soft-argmax's (softargmax head)


@dataclass(frozen=True)
class Heads:
    """What sits on the trunk besides the three heads (the report's outlook). The defaults add
    no module and no parameter: the detector is then exactly the report's."""

    centre_head: str = "argmax"  # argmax, offset or softargmax (see centres.py)
    dropout: float = 0.0  # on the features, before every head
    temperature: float = 0.0  # the soft-argmax's; 0: learnt


class Trunk(nn.Sequential):
    """A torchvision classifier up to its stride-32 map, with its parameter names (trunk.conv1...,
    trunk.features...), so ImageNet state dicts load unchanged and older checkpoints still fit.
    A Sequential, so TorchScript and torch.compile see a plain chain."""

    def __init__(self, name: str = DEFAULT_BACKBONE) -> None:
        spec = get_backbone(name)
        model = spec.classification_model()
        super().__init__(OrderedDict((child, getattr(model, child)) for child in spec.trunk))


class Detector(nn.Module):
    def __init__(
        self, num_classes: int = 11, backbone: str = DEFAULT_BACKBONE, heads: Heads = Heads()
    ) -> None:
        super().__init__()
        channels = get_backbone(backbone).channels
        self.backbone = backbone  # a name, not a weight: checkpoints carry it in their config
        self.trunk = Trunk(backbone)
        self.centre_head = nn.Conv2d(channels, 1, kernel_size=1)
        self.class_head = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.box_head = nn.Conv2d(channels, 4, kernel_size=1)
        self.dropout = nn.Dropout(heads.dropout) if heads.dropout else nn.Identity()
        self.offset_head = nn.Conv2d(channels, 2, 1) if heads.centre_head == "offset" else None
        self.log_temperature = None
        if heads.centre_head == "softargmax":
            start = torch.tensor(heads.temperature or 1.0).log()
            learnt = heads.temperature == 0
            self.log_temperature = nn.Parameter(start) if learnt else nn.Buffer(start)

    def forward(self, images: torch.Tensor) -> DetectorOutput:
        features = self.trunk(images)
        # The heads run in fp32 under autocast: 1x1 convs cost nothing, and the loss, the
        # sigmoid and the argmax cell are then computed on full-precision logits.
        with torch.autocast(features.device.type, enabled=False):
            features = self.dropout(features.float())
            offset = self.offset_head(features).sigmoid() if self.offset_head else None
            temperature = self.log_temperature.exp() if self.log_temperature is not None else None
            return DetectorOutput(
                centre=self.centre_head(features).squeeze(1),
                classes=self.class_head(features),
                box=torch.sigmoid(self.box_head(features)),
                offset=offset,
                temperature=temperature,
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


def build_detector(
    num_classes: int,
    pretrained: str = "none",
    backbone: str = DEFAULT_BACKBONE,
    heads: Heads = Heads(),
) -> Detector:
    model = Detector(num_classes, backbone, heads)
    if pretrained == "imagenet":
        _load_trunk(model, _imagenet_state_dict(backbone), f"ImageNet {backbone}")
    elif pretrained != "none":
        _load_trunk(model, _state_dict_from_file(Path(pretrained)), pretrained)
    return model


def _load_trunk(model: Detector, state: dict[str, torch.Tensor], source: str) -> None:
    """Accept a torchvision classifier's state dict (its head dropped) or a detector's (trunk
    taken); weights of another architecture are named in one line instead of torch's list."""
    if any(k.startswith("trunk.") for k in state):
        state = {k.removeprefix("trunk."): v for k, v in state.items() if k.startswith("trunk.")}
    else:
        head = get_backbone(model.backbone).classifier
        state = {k: v for k, v in state.items() if not k.startswith(head)}
    expected = model.trunk.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or reshaped:
        first = (missing or unexpected or reshaped)[0]
        raise ModelError(
            f"{source}: not {model.backbone} weights ({len(missing)} missing, {len(unexpected)} "
            f"unexpected, {len(reshaped)} of another shape, e.g. {first}); "
            "pass the --backbone the file was made for"
        )
    model.trunk.load_state_dict(state)


def _imagenet_state_dict(backbone: str) -> dict[str, torch.Tensor]:
    weights = get_backbone(backbone).imagenet_weights()
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
