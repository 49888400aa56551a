"""A spacehpo study is a normal Optuna study plus one study attribute, `spacehpo`, holding its
`StudySpec`: plan, training settings, dataset fingerprint, pruner, trainable, artifact store,
retries and TPE continuations. Trials carry their own record (`hpo/core/record.py`).

The spec validates itself when built, so a bad setting stops `study create` with one line
instead of failing every trial in every worker.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import Plan, Repeats
from spacehpo.hpo.core.pruning import build_pruner
from spacehpo.hpo.engine.store_marker import mark_store
from spacehpo.hpo.engine.trainable import DATA, DETECTOR, canonical
from spacehpo.model.config import RUN_SETTINGS, TrainConfig
from spacehpo.model.metrics import DEFAULT_OBJECTIVE
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.backends import StorageHandle

ATTR = "spacehpo"
SEED = "seed"  # the settings key (a TrainConfig field) of the training seed
OBJECTIVE = "objective"  # the settings key (a TrainConfig field) naming what the study maximises
DEFAULT_ARTIFACTS = str(Path("spacehpo-runs", "artifacts"))
DEFAULT_MAX_RETRIES = 3
DEFAULT_PRUNER = "median"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class TpeExtension:
    n: int
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise HpoError(f"--tpe {self.n}: the number of TPE trials must be at least 1")


@dataclass(frozen=True)
class RepeatTop:
    """`study extend --repeat-top N --repeats K`: these (stage, point)s run K times in all."""

    points: tuple[tuple[int, int], ...]
    repeats: int

    def __post_init__(self) -> None:
        if self.repeats < 2:
            raise HpoError(f"--repeats {self.repeats}: extending needs at least 2 repeats")


@dataclass(frozen=True)
class StudySpec:
    plan: Plan
    settings: dict[str, Any]  # the trainable's settings; DATA is the dataset path
    fingerprint: str
    pruner: str = DEFAULT_PRUNER
    trainable: str = DETECTOR
    artifacts: str = DEFAULT_ARTIFACTS
    max_retries: int = DEFAULT_MAX_RETRIES
    tpe: tuple[TpeExtension, ...] = ()
    store_id: str = ""  # the marker the artifact store holds; `create` writes it
    tensorboard: str = ""  # TensorBoard root (a shared path or s3://); "": beside the artifacts
    repeats: int = 1  # runs of each plan point, each with its own training seed (seed + repeat)
    repeat_top: tuple[RepeatTop, ...] = ()

    def __post_init__(self) -> None:
        Repeats(self.repeats)  # checks itself
        if self.max_retries < 0:
            raise HpoError(f"--max-retries {self.max_retries}: must be 0 or more")
        build_pruner(self.pruner, self.epochs)
        if self.trainable == DETECTOR:
            if DATA not in self.settings:
                raise HpoError("--data is required for the detector")
            self.train_config()
        else:  # other trainables take any --set key, but the run settings must still make sense
            TrainConfig().with_params({k: v for k, v in self.settings.items() if k in RUN_SETTINGS})

    def train_config(self) -> TrainConfig:
        """The detector's settings as one checked TrainConfig (trial params come on top)."""
        return TrainConfig().with_params({k: v for k, v in self.settings.items() if k != DATA})

    def training_settings(self) -> dict[str, Any]:
        """What must match for two studies to be the same experiment (the path may differ)."""
        return {k: v for k, v in self.settings.items() if k != DATA}

    @property
    def epochs(self) -> int:
        return int(self.settings.get("epochs", TrainConfig().epochs))

    @property
    def objective(self) -> str:
        """What the study maximises; a training setting, so `spacehpo train` ranks epochs alike."""
        return str(self.settings.get(OBJECTIVE, DEFAULT_OBJECTIVE))

    def repeat_counts(self) -> Repeats:
        more: dict[tuple[int, int], int] = {}
        for extension in self.repeat_top:
            for point in extension.points:
                more[point] = max(more.get(point, 0), extension.repeats)
        return Repeats(self.repeats, more)

    @property
    def tpe_trials(self) -> int:
        return sum(extension.n for extension in self.tpe)

    @property
    def total_trials(self) -> int:
        """The plan's trials, its repeats and the TPE continuation (a reused point counts too)."""
        counts = self.repeat_counts()
        extra = sum(k - counts.base for k in counts.more.values() if k > counts.base)
        return self.plan.size * counts.base + extra + self.tpe_trials

    @property
    def tensorboard_root(self) -> str:
        """`<artifacts' parent>/tensorboard` unless the study names one."""
        parent = self.artifacts.rstrip("/").rpartition("/")[0] or "."
        return self.tensorboard or f"{parent}/tensorboard"

    def tensorboard_dir(self, study: str, root: str | None = None) -> str:
        """The study's runs, one folder each (`root`: this host's path to the root, if given)."""
        return f"{(root or self.tensorboard_root).rstrip('/')}/{study}"

    def extend(self, extension: TpeExtension | RepeatTop) -> StudySpec:
        if isinstance(extension, RepeatTop):
            return replace(self, repeat_top=(*self.repeat_top, extension))
        return replace(self, tpe=(*self.tpe, extension))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "plan": self.plan.to_dict()}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> StudySpec:
        tpe = tuple(TpeExtension(**e) for e in d.get("tpe", []))
        top = tuple(
            RepeatTop(tuple(tuple(p) for p in e["points"]), e["repeats"])
            for e in d.get("repeat_top", [])
        )
        plan = Plan.from_dict(d["plan"])
        trainable = canonical(d.get("trainable", DETECTOR))
        return StudySpec(
            **{**d, "plan": plan, "tpe": tpe, "repeat_top": top, "trainable": trainable}
        )


def check_name(name: str) -> str:
    if not _SAFE_NAME.match(name):
        raise HpoError(
            f"study name {name!r}: use letters, digits, '.', '_' and '-' (at most 100, "
            "starting with a letter or digit)"
        )
    return name


def load(handle: StorageHandle, name: str, **kwargs: Any) -> tuple[optuna.Study, StudySpec]:
    try:
        study = optuna.load_study(study_name=name, storage=handle.storage, **kwargs)
    except KeyError:
        raise HpoError(
            f"no study {name!r} in {handle.display} (see `spacehpo study list`)"
        ) from None
    if ATTR not in study.user_attrs:
        raise HpoError(f"study {name!r} in {handle.display} was not created by spacehpo")
    return study, StudySpec.from_dict(study.user_attrs[ATTR])


def save_spec(study: optuna.Study, spec: StudySpec) -> None:
    study.set_user_attr(ATTR, spec.to_dict())


def study_names(handle: StorageHandle) -> list[str]:
    return [s.study_name for s in handle.storage.get_all_studies()]


def create(handle: StorageHandle, name: str, spec: StudySpec) -> tuple[optuna.Study, bool]:
    """Create the study, or accept an identical existing one; a different one is an error.
    Returns (study, created). Runs under the study lock, so two creates cannot both win; the
    store's marker is written first, so a failing store leaves no study behind."""
    check_name(name)
    with handle.lock.hold(name):
        if name not in study_names(handle):
            spec = replace(spec, store_id=mark_store(open_artifact_store(spec.artifacts), name))
            study = optuna.create_study(
                study_name=name, storage=handle.storage, direction="maximize"
            )
            study.set_metric_names([spec.objective])  # the dashboard names the objective
            save_spec(study, spec)
            return study, True
        study, existing = load(handle, name)
    for what, a, b in (
        ("plan", existing.plan, spec.plan),
        ("dataset", existing.fingerprint, spec.fingerprint),
        ("training settings", existing.training_settings(), spec.training_settings()),
        ("trainable", existing.trainable, spec.trainable),
        ("number of repeats", existing.repeats, spec.repeats),
    ):
        if a != b:
            raise HpoError(
                f"study {name!r} already exists in {handle.display} with another {what}; "
                f"choose a new name or delete it with `spacehpo study delete {name} --yes`"
            )
    return study, False


def repeat_settings(settings: dict[str, Any], repeat: int) -> dict[str, Any]:
    """One repeat's training settings: its own seed, `seed + repeat`, so repeats measure noise."""
    return {**settings, SEED: int(settings.get(SEED, 0)) + repeat} if repeat else settings
