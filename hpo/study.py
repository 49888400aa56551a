"""A spacehpo study is a normal Optuna study plus one user attribute, `spacehpo`, that holds its
plan, training settings, dataset fingerprint, pruner, trainable and artifact store. Trials carry
their plan position in user attrs (`stage`, `stage_name`, `point`, `inherited_from`, `attempt`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.errors import HpoError
from spacehpo.hpo.plans import Plan, TrialRecord
from spacehpo.storage.backends import StorageHandle

ATTR = "spacehpo"
HANDED_BACK = "handed back"  # fail_reason prefix of a trial a stopping worker returned to the queue


@dataclass(frozen=True)
class StudySpec:
    plan: Plan
    settings: dict[str, Any]  # training settings for the trainable; "data" is the dataset path
    fingerprint: str
    pruner: str = "median"
    trainable: str = "spacehpo.hpo.trainable:detector"
    artifacts: str = "spacehpo-runs/artifacts"
    max_retries: int = 3
    tpe: list[dict[str, Any]] = field(default_factory=list)  # continuations: {"n": N, "seed": S}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "plan": self.plan.to_dict()}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> StudySpec:
        return StudySpec(**{**d, "plan": Plan.from_dict(d["plan"])})

    @property
    def epochs(self) -> int:
        return int(self.settings.get("epochs", 1))


def load(handle: StorageHandle, name: str, **kwargs: Any) -> tuple[optuna.Study, StudySpec]:
    try:
        study = optuna.load_study(study_name=name, storage=handle.storage, **kwargs)
    except KeyError:
        raise HpoError(
            f"no study {name!r} in {handle.display} (create it with `spacehpo study create`)"
        ) from None
    if ATTR not in study.user_attrs:
        raise HpoError(f"study {name!r} in {handle.display} was not created by spacehpo")
    return study, StudySpec.from_dict(study.user_attrs[ATTR])


def create(handle: StorageHandle, name: str, spec: StudySpec) -> tuple[optuna.Study, bool]:
    """Create the study, or accept an identical existing one; a different one is an error.
    Returns (study, created)."""
    with handle.lock.hold(name):
        names = {
            s.study_name
            for s in optuna.get_all_study_summaries(handle.storage, include_best_trial=False)
        }
        if name in names:
            study, existing = load(handle, name)
            for what, a, b in (
                ("plan", existing.plan, spec.plan),
                ("dataset", existing.fingerprint, spec.fingerprint),
                (
                    "training settings",
                    {k: v for k, v in existing.settings.items() if k != "data"},
                    {k: v for k, v in spec.settings.items() if k != "data"},
                ),
                ("trainable", existing.trainable, spec.trainable),
            ):
                if a != b:
                    raise HpoError(
                        f"study {name!r} already exists in {handle.display} with another {what}; "
                        "choose a new name or delete it"
                    )
            return study, False
        study = optuna.create_study(study_name=name, storage=handle.storage, direction="maximize")
        study.set_user_attr(ATTR, spec.to_dict())
        return study, True


def record_of(t: FrozenTrial) -> TrialRecord:
    best = t.user_attrs.get("best_metrics", {})
    value = t.values[0] if t.values and math.isfinite(t.values[0]) else None
    params = t.params or t.system_attrs.get("fixed_params", {})
    return TrialRecord(
        t.number,
        t.state.name,
        t.user_attrs.get("stage"),
        t.user_attrs.get("point"),
        dict(params),
        value,
        best.get("centre_acc"),
    )


def records(study: optuna.Study) -> list[TrialRecord]:
    return [record_of(t) for t in study.get_trials(deepcopy=False)]


def requeue(
    study: optuna.Study, failed: FrozenTrial, max_retries: int, counts_as_retry: bool = True
) -> bool:
    """Queue the failed trial's point again, resuming from its last checkpoint; False if its
    retries are used up. Must run under the study lock, so no worker sees the stage as finished
    between the failure and the new WAITING trial."""
    attrs = failed.user_attrs
    attempt = attrs.get("attempt", 0) + (1 if counts_as_retry else 0)
    if attempt > max_retries:
        return False
    previous = attrs.get("resume", {})
    checkpoint = attrs.get("checkpoint") or previous.get("checkpoint")
    epochs = checkpoint["epoch"] if checkpoint else 0
    # The failed trial's own values include the epochs it replayed from earlier attempts, and
    # the worker reports an epoch's values before it records the epoch's checkpoint.
    curve = [
        failed.intermediate_values[e] for e in sorted(failed.intermediate_values) if e <= epochs
    ]
    resume = {
        "checkpoint": checkpoint,
        "class_acc": curve,
        **{k: attrs.get(k, previous.get(k, []))[:epochs] for k in ("centre_acc", "iou")},
    }
    keep = {
        k: attrs[k]
        for k in ("plan", "stage", "stage_name", "point", "inherited_from")
        if k in attrs
    }
    study.enqueue_trial(
        dict(failed.params or failed.system_attrs.get("fixed_params", {})),
        user_attrs={
            **keep,
            "attempt": attempt,
            "retry_of": attrs.get("retry_of", failed.number),
            "resume": resume,
        },
    )
    return True


def state_counts(trials: list[FrozenTrial]) -> dict[str, int]:
    counts = {
        s.name: 0
        for s in (
            TrialState.WAITING,
            TrialState.RUNNING,
            TrialState.COMPLETE,
            TrialState.PRUNED,
            TrialState.FAIL,
        )
    }
    for t in trials:
        counts[t.state.name] += 1
    return counts
