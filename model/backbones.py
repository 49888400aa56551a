"""The backbones a detector can stand on: torchvision classification networks cut at their
stride-32 feature map, so every one gives the same grid and only the heads' width changes.

Names and numbers only at import time: torchvision is imported when a network is built, so the
configuration and the CLI check a backbone name without loading torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from spacehpo.model.errors import ModelError

if TYPE_CHECKING:
    from torch import nn
    from torchvision.models import WeightsEnum

DEFAULT_BACKBONE = "resnet18"  # the report's
_RESNET = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")


@dataclass(frozen=True)
class Backbone:
    name: str  # torchvision's constructor, as in torchvision.models.resnet34
    weights: str  # the ImageNet member of its torchvision Weights enum, as "Enum.MEMBER"
    channels: int  # of the stride-32 map: the heads' input
    trunk: tuple[str, ...]  # the classifier's children that make the stride-32 map, in order
    classifier: str  # key prefix of the ImageNet head, which a detector does not use

    def classification_model(self) -> nn.Module:
        """torchvision's network without weights; built whole (head included) so a seed gives
        the same initial trunk as torchvision's own constructor."""
        import torchvision

        return getattr(torchvision.models, self.name)(weights=None)

    def imagenet_weights(self) -> WeightsEnum:
        import torchvision

        enum, member = self.weights.split(".")
        return getattr(getattr(torchvision.models, enum), member)


BACKBONES: Mapping[str, Backbone] = MappingProxyType(
    {
        b.name: b
        for b in (
            Backbone("resnet18", "ResNet18_Weights.IMAGENET1K_V1", 512, _RESNET, "fc."),
            Backbone("resnet34", "ResNet34_Weights.IMAGENET1K_V1", 512, _RESNET, "fc."),
            Backbone("resnet50", "ResNet50_Weights.IMAGENET1K_V1", 2048, _RESNET, "fc."),
            Backbone(
                "convnext_tiny",
                "ConvNeXt_Tiny_Weights.IMAGENET1K_V1",
                768,
                ("features",),
                "classifier.",
            ),
            Backbone(
                "efficientnet_b0",
                "EfficientNet_B0_Weights.IMAGENET1K_V1",
                1280,
                ("features",),
                "classifier.",
            ),
        )
    }
)
BACKBONE_NAMES = tuple(BACKBONES)


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise ModelError(f"backbone = {name!r}: {backbone_choices()}")
    return BACKBONES[name]


def backbone_choices() -> str:
    return f"use {', '.join(BACKBONE_NAMES[:-1])} or {BACKBONE_NAMES[-1]}"
