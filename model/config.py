"""Training configuration: one plain dataclass, built in one place from CLI flags or trial params,
and validated where it is built, so `study create` refuses what would fail in every worker."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spacehpo.model.backbones import BACKBONE_NAMES, DEFAULT_BACKBONE, backbone_choices
from spacehpo.model.errors import ModelError
from spacehpo.model.metrics import DEFAULT_OBJECTIVE, OBJECTIVES

if TYPE_CHECKING:
    from spacehpo.model.network import Heads

# The hyperparameters the HPO tunes, and the run settings a study fixes for all its trials.
HYPERPARAMETERS = ("lr", "weight_decay", "sigma", "k", "box_weight")
RUN_SETTINGS = (
    "epochs",
    "batch_size",
    "image_size",
    "seed",
    "schedule",
    "warmup_epochs",
    "backbone",
    "pretrained",
    "amp",
    "compile",
    "objective",
)
# The report's outlook against overfitting and for sub-cell centres: searchable like the five
# (the `outlook` plan), settable like the run settings (`--set dropout=0.2`).
OUTLOOK = (
    "centre_head",
    "softargmax_temperature",
    "augment",
    "dropout",
    "freeze_epochs",
    "backbone_lr_mult",
)
# What a checkpoint's network is built with besides its backbone (see `TrainConfig.heads`).
HEAD_SETTINGS = ("centre_head", "dropout", "softargmax_temperature")
# Everything that changes a run's result; the other fields (device, threads...) may differ on resume.
RESULT_FIELDS = (
    *HYPERPARAMETERS,
    "centre_weight",
    *OUTLOOK,
    *(s for s in RUN_SETTINGS if s != "compile"),
)
SCHEDULES = ("constant", "cosine")
CENTRE_HEADS = ("argmax", "offset", "softargmax")  # how the centre is decoded: centres.py
AUGMENT_LEVELS = ("none", "flip", "flip_rot", "full")  # what augment.py draws from
PRETRAINED_NAMES = ("none", "imagenet")
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


@dataclass(frozen=True)
class TrainConfig:
    # The five hyperparameters the report tunes; defaults are its best staged-grid values.
    lr: float = 3e-4
    weight_decay: float = 1e-4
    sigma: float = 0.5  # width of the centre Gaussian, in grid cells
    k: float = 8.0  # weight of the positive (Gaussian) cells in the centre loss
    box_weight: float = 5.0
    centre_weight: float = 3.0  # the report's w_c; class weight is fixed at 1
    epochs: int = 15
    batch_size: int = 16
    image_size: int = 320  # stride 32 -> a 10 x 10 grid, as in the report
    seed: int = 0
    device: str = "cpu"
    amp: bool | None = None  # None: bf16 autocast on CUDA, off on CPU (no gain without AVX-512)
    schedule: str = "constant"  # the report's; "cosine" adds warmup + cosine decay
    warmup_epochs: float = 0.0
    backbone: str = DEFAULT_BACKBONE  # a torchvision network, see model/backbones.py
    centre_head: str = "argmax"  # argmax (the report's), offset or softargmax: see centres.py
    softargmax_temperature: float = 0.0  # 0: learnt
    augment: str = "none"  # none, flip, flip_rot or full: see augment.py
    dropout: float = 0.0  # on the trunk's features, before the heads
    freeze_epochs: int = 0  # train the heads only for this many epochs, then the whole network
    backbone_lr_mult: float = 1.0  # the trunk's learning rate as a multiple of lr
    pretrained: str = "none"  # "none", "imagenet" or a path to a state dict
    channels_last: bool = True  # measured faster on CPU and on tensor cores
    compile: bool = False  # torch.compile the model (CUDA); off by default: compile time
    data_on_device: bool | None = None  # None: keep the uint8 dataset on the GPU when CUDA
    num_threads: int = 0  # torch CPU threads; 0 leaves torch's default
    objective: str = (
        DEFAULT_OBJECTIVE  # the metric whose best epoch is best.pt (metrics.rank_epoch)
    )

    def __post_init__(self) -> None:
        for name, ok, why in self._rules():
            if not ok:
                raise ModelError(f"{name} = {getattr(self, name)!r}: {why}")

    def _rules(self) -> list[tuple[str, bool, str]]:
        return self._run_rules() + self._outlook_rules()

    def _outlook_rules(self) -> list[tuple[str, bool, str]]:
        return [
            ("centre_head", self.centre_head in CENTRE_HEADS, f"use {', '.join(CENTRE_HEADS)}"),
            (
                "softargmax_temperature",
                self.softargmax_temperature >= 0,
                "must be >= 0 (0: learnt)",
            ),
            ("augment", self.augment in AUGMENT_LEVELS, f"use {', '.join(AUGMENT_LEVELS)}"),
            ("dropout", 0 <= self.dropout < 1, "must be in [0, 1)"),
            (
                "freeze_epochs",
                0 <= self.freeze_epochs < self.epochs,
                f"must be >= 0 and below epochs ({self.epochs})",
            ),
            ("backbone_lr_mult", self.backbone_lr_mult > 0, "must be > 0"),
        ]

    def _run_rules(self) -> list[tuple[str, bool, str]]:
        return [
            ("lr", self.lr > 0, "must be > 0"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
            ("sigma", self.sigma > 0, "must be > 0 (grid cells)"),
            ("k", self.k > 0, "must be > 0"),
            ("box_weight", self.box_weight >= 0, "must be >= 0"),
            ("centre_weight", self.centre_weight >= 0, "must be >= 0"),
            ("epochs", self.epochs >= 1, "must be at least 1"),
            ("batch_size", self.batch_size >= 1, "must be at least 1"),
            (
                "image_size",
                self.image_size >= 64 and self.image_size % 32 == 0,
                "must be a multiple of 32, at least 64 (the network's stride is 32)",
            ),
            ("device", bool(_DEVICE.match(self.device)), "use cpu, cuda or cuda:N"),
            ("schedule", self.schedule in SCHEDULES, f"use {' or '.join(SCHEDULES)}"),
            (
                "warmup_epochs",
                0 <= self.warmup_epochs < self.epochs,
                f"must be >= 0 and below epochs ({self.epochs})",
            ),
            (
                "warmup_epochs",
                self.warmup_epochs == 0 or self.schedule == "cosine",
                "warmup applies to the cosine schedule only (--schedule cosine)",
            ),
            ("num_threads", self.num_threads >= 0, "must be >= 0 (0: torch's default)"),
            ("objective", self.objective in OBJECTIVES, f"use {', '.join(OBJECTIVES)}"),
            ("backbone", self.backbone in BACKBONE_NAMES, backbone_choices()),
            ("pretrained", bool(self.pretrained), "use none, imagenet or a state dict file"),
            ("amp", self.amp in (None, True, False), "use true, false or null (auto)"),
            ("compile", self.compile in (True, False), "use true or false"),
            (
                "data_on_device",
                self.data_on_device in (None, True, False),
                "use true, false or null",
            ),
        ]

    def check_files(self) -> None:
        """Files this host must have; a worker host missing them has a machine fault instead."""
        if self.pretrained not in PRETRAINED_NAMES and not Path(self.pretrained).is_file():
            raise ModelError(
                f"pretrained = {self.pretrained!r}: no such file (use none, imagenet or a state dict file)"
            )

    def with_params(self, params: dict[str, Any]) -> TrainConfig:
        """A copy with some fields replaced (trial params, CLI flags, `--set`), checked."""
        types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        unknown = sorted(set(params) - set(types))
        if unknown:
            raise ModelError(
                f"unknown training setting(s): {', '.join(unknown)} (known: {', '.join(types)})"
            )
        return TrainConfig(
            **{**asdict(self), **{k: _cast(k, v, types[k]) for k, v in params.items()}}
        )

    @property
    def heads(self) -> Heads:
        from spacehpo.model.network import Heads  # torch: only where a network is built

        return Heads(self.centre_head, self.dropout, self.softargmax_temperature)

    @property
    def use_amp(self) -> bool:
        return self.device.startswith("cuda") if self.amp is None else self.amp

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def saved_setting(saved: dict[str, Any], name: str) -> Any:
    """A setting as a checkpoint's config recorded it; a checkpoint older than the setting ran
    as its default does (every setting's default keeps the earlier behaviour: resnet18...)."""
    return saved.get(name, getattr(TrainConfig(), name))


def _cast(name: str, value: Any, kind: type) -> Any:
    """Settings arrive as JSON or strings (`--set lr=abc`); say which one is wrong."""
    if value is None or kind not in (int, float, bool):
        return value
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ModelError(f"{name} = {value!r}: must be a whole number")
    try:
        if kind is bool:
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise ModelError(f"{name} = {value!r}: must be a {kind.__name__}") from None
