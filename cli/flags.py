"""Flags shared by several commands, and the one place each becomes configuration."""

from __future__ import annotations

import argparse
import json

from spacehpo.hpo.core.errors import HpoError
from spacehpo.model.backbones import BACKBONE_NAMES
from spacehpo.model.config import TrainConfig
from spacehpo.storage.backends import STORAGE_ENV

TRAIN_FLAG_HELP = {
    "lr": "AdamW learning rate",
    "weight_decay": "AdamW weight decay",
    "sigma": "width of the centre Gaussian target, in grid cells",
    "k": "k-factor: weight of positive centre cells",
    "box_weight": "weight of the box loss",
    "centre_weight": "weight of the centre loss",
    "epochs": "training epochs",
    "batch_size": "images per step",
    "image_size": "square input side in pixels (multiple of 32)",
    "seed": "random seed (init and shuffling)",
    "device": "cpu, cuda or cuda:N",
    "schedule": "constant or cosine",
    "warmup_epochs": "linear warmup length for the cosine schedule",
    "backbone": f"torchvision network under the heads: {', '.join(BACKBONE_NAMES)}",
    "centre_head": "centre decoding: argmax (the report's), offset or softargmax",
    "softargmax_temperature": "the soft-argmax's temperature (0: learnt)",
    "augment": "training augmentation: none, flip, flip_rot or full",
    "dropout": "dropout on the features before the heads",
    "freeze_epochs": "train the heads only for this many epochs",
    "backbone_lr_mult": "the backbone's learning rate as a multiple of --lr",
    "pretrained": "none, imagenet (torchvision weights) or a state dict file",
    "num_threads": "torch CPU threads (0: default)",
    "objective": "the metric to maximise: class_acc (the report's), centre_acc or spark_score; "
    "ties go to the next (see README, Ranking)",
}
SWITCHES = ("amp", "compile")  # the TrainConfig fields that are on/off flags


def add_config_flags(
    p: argparse.ArgumentParser,
    helps: dict[str, tuple[str, type]],
    flags: dict[str, str],
    defaults: object,
) -> None:
    """Flags that set fields of a configuration dataclass: each field's flag, type and help, its
    default shown from the dataclass (which owns it: argparse leaves unset flags at None)."""
    for name, (text, kind) in helps.items():
        default = getattr(defaults, name)
        shown = f" (default {default})" if default is not None else ""
        p.add_argument(flags[name], dest=name, type=kind, help=f"{text}{shown}")


def storage_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        help=f"postgresql://USER:PASSWORD@HOST/DB (or {STORAGE_ENV}); default: the embedded "
        "journal file ./spacehpo-runs/journal.log",
    )


def add_train_flags(
    p: argparse.ArgumentParser, names: tuple[str, ...] = tuple(TRAIN_FLAG_HELP)
) -> None:
    defaults = TrainConfig()
    for name in (n for n in names if n not in SWITCHES):
        help_text, value = TRAIN_FLAG_HELP[name], getattr(defaults, name)
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(value),
            default=value,
            help=f"{help_text} (default {value})",
        )
    p.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on for CUDA)",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the model")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The one place where `spacehpo train` flags become a TrainConfig (it checks itself)."""
    return TrainConfig().with_params(
        {name: getattr(args, name) for name in (*TRAIN_FLAG_HELP, *SWITCHES)}
    )


def parse_set(items: list[str]) -> dict[str, object]:
    """`--set KEY=VALUE`: VALUE as JSON when it parses, else the string."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HpoError(f"--set {item!r}: use KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
