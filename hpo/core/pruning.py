"""Pruning on two metrics: a trial is stopped when EITHER its class accuracy (Optuna's pruner on
the intermediate values) OR its centre accuracy (the same percentile rule on the `centre_acc`
curve kept in user attrs) falls below the threshold among trials at the same epoch.

Rule, for `percentile:P` (median = 50): after `warmup` epochs and once `startup` trials have
finished, prune at epoch e if the trial's best value up to e is below the (100 - P)th percentile
of the other finished or running trials' best values up to e. P = 50 keeps the better half.
"""

from __future__ import annotations

import numpy as np
import optuna
from optuna.pruners import BasePruner, HyperbandPruner, MedianPruner, NopPruner, PercentilePruner
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.curves import curves_of
from spacehpo.hpo.core.errors import HpoError

STARTUP_TRIALS = 4
WARMUP_EPOCHS = 1  # no pruning at epoch 1; Optuna steps here are epochs counted from 1


def below_percentile(value: float, others: list[float], percentile: float) -> bool:
    """True if `value` is below the (100 - percentile)th percentile of `others` (maximising)."""
    return bool(others) and value < float(np.percentile(others, 100 - percentile))


def best_up_to(curve: list[float], epoch: int) -> float:
    return max(curve[:epoch])


class DualMetricPruner(BasePruner):
    def __init__(
        self, class_pruner: BasePruner, percentile: float, startup: int, warmup: int
    ) -> None:
        self.class_pruner, self.percentile, self.startup, self.warmup = (
            class_pruner,
            percentile,
            startup,
            warmup,
        )

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if self.class_pruner.prune(study, trial):
            return True
        curve = curves_of(trial).centre_acc
        epoch = len(curve)
        if epoch <= self.warmup:
            return False
        trials = study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        )
        if sum(t.state != TrialState.RUNNING for t in trials) < self.startup:
            return False
        others = [
            best_up_to(c, epoch)
            for t in trials
            if t.number != trial.number and len(c := curves_of(t).centre_acc) >= epoch
        ]
        return below_percentile(best_up_to(curve, epoch), others, self.percentile)


def build_pruner(name: str, max_epochs: int) -> BasePruner:
    """`none`, `median`, `percentile:P` or `hyperband` (class accuracy by Hyperband, centre by median)."""
    if name == "none":
        return NopPruner()
    if name == "median":
        base, pct = (
            MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=WARMUP_EPOCHS + 1),
            50.0,
        )
    elif name.startswith("percentile:"):
        try:
            pct = float(name.split(":", 1)[1])
        except ValueError:
            pct = -1.0
        if not 0 < pct < 100:
            raise HpoError(f"--pruner {name!r}: P must be a number between 0 and 100")
        base = PercentilePruner(
            pct, n_startup_trials=STARTUP_TRIALS, n_warmup_steps=WARMUP_EPOCHS + 1
        )
    elif name == "hyperband":
        base, pct = (
            HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 2), reduction_factor=3),
            50.0,
        )
    else:
        raise HpoError(f"--pruner {name!r}: use none, median, percentile:P or hyperband")
    return DualMetricPruner(base, pct, STARTUP_TRIALS, WARMUP_EPOCHS)
