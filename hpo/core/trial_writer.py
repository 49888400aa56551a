"""Writes one running trial's record (the names and types are `record.py`'s)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import optuna
from optuna.storages import BaseStorage
from spacehpo.hpo.core.curves import Curves
from spacehpo.hpo.core.record import (
    ARTIFACTS,
    BEST_CENTRE_ACC,
    BEST_IOU,
    BEST_METRICS,
    BEST_SPARK_SCORE,
    CHECKPOINT,
    DUPLICATE_OF,
    EPOCHS_RUN,
    FAIL_REASON,
    FAULTS,
    FINAL_TRAIN_LOSS,
    STRAY,
    WORKER,
    Checkpoint,
    Fault,
    Position,
)
from spacehpo.model.metrics import CENTRE_ACC, IOU, SPARK_SCORE
from spacehpo.storage.optuna_access import storage_of, trial_id


class TrialWriter:
    """Writes one running trial's record; every call goes through the (retrying) storage."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def _set(self, key: str, value: Any) -> None:
        self.trial.set_user_attr(key, value)

    def worker(self, name: str) -> None:
        self._set(WORKER, name)

    def epoch(self, epoch: int, curves: Curves, epochs_run: int, objective: str) -> None:
        """The curves first, then the objective: the pruner reads both at this epoch."""
        self._curves(curves)
        self._set(EPOCHS_RUN, epochs_run)
        self.trial.report(curves.of(objective)[-1], epoch)

    def replay(self, curves: Curves, objective: str) -> None:
        """A resumed trial shows its whole curve, in the dashboard and to the pruner."""
        for epoch, value in enumerate(curves.of(objective), 1):
            self.trial.report(value, epoch)
        self._curves(curves)

    def _curves(self, curves: Curves) -> None:
        for name, values in curves.lists().items():
            self._set(name, values)

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        self._set(CHECKPOINT, asdict(checkpoint))

    def result(self, metrics: dict[str, float], artifacts: dict[str, str]) -> None:
        self.artifacts(artifacts)
        self._set(BEST_METRICS, metrics)

    def artifacts(self, artifacts: dict[str, str]) -> None:
        self._set(ARTIFACTS, artifacts)

    def summary(self, best: dict[str, float], final_train_loss: float | None) -> None:
        pairs = ((BEST_CENTRE_ACC, CENTRE_ACC), (BEST_IOU, IOU), (BEST_SPARK_SCORE, SPARK_SCORE))
        for key, name in pairs:
            if name in best:
                self._set(key, best[name])
        if final_train_loss is not None:
            self._set(FINAL_TRAIN_LOSS, final_train_loss)

    def fail_reason(self, reason: str) -> None:
        self._set(FAIL_REASON, reason)

    def faults(self, faults: list[Fault]) -> None:
        self._set(FAULTS, [asdict(f) for f in faults])

    def position(self, position: Position) -> None:
        write_position(storage_of(self.trial.study), trial_id(self.trial), position)


def write_position(storage: BaseStorage, trial_id: int, position: Position) -> None:
    for key, value in position.attrs().items():
        storage.set_trial_user_attr(trial_id, key, value)


def mark_duplicate(storage: BaseStorage, trial_id: int, original: int) -> None:
    storage.set_trial_user_attr(trial_id, DUPLICATE_OF, original)


def mark_stray(storage: BaseStorage, trial_id: int) -> None:
    storage.set_trial_user_attr(trial_id, STRAY, "outside the plan, never claimed; cancelled")
