"""Training configuration: one plain dataclass, built in one place from CLI flags or trial params."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# The hyperparameters the HPO tunes, and the run settings a study fixes for all its trials.
HYPERPARAMETERS = ("lr", "weight_decay", "sigma", "k", "box_weight")
RUN_SETTINGS = (
    "epochs",
    "batch_size",
    "image_size",
    "seed",
    "schedule",
    "warmup_epochs",
    "pretrained",
)
# Everything that changes a run's result; the other fields (device, threads...) may differ on resume.
RESULT_FIELDS = (*HYPERPARAMETERS, "centre_weight", *RUN_SETTINGS)


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
    pretrained: str = "none"  # "none", "imagenet" or a path to a state dict
    channels_last: bool = True  # measured faster on CPU and on tensor cores
    compile: bool = False  # torch.compile the model (CUDA); off by default: compile time
    data_on_device: bool | None = None  # None: keep the uint8 dataset on the GPU when CUDA
    num_threads: int = 0  # torch CPU threads; 0 leaves torch's default

    def with_params(self, params: dict[str, Any]) -> TrainConfig:
        """A copy with some fields replaced (trial params, CLI flags); unknown names are refused."""
        names = {f.name for f in fields(self)}
        unknown = set(params) - names
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        cast = {
            k: types[k](v) if types[k] in (int, float) and v is not None else v
            for k, v in params.items()
        }
        return TrainConfig(**{**asdict(self), **cast})

    @property
    def use_amp(self) -> bool:
        return self.device.startswith("cuda") if self.amp is None else self.amp

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
