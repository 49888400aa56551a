"""The TPE continuation's rules, one owner for the workers (`engine/claim.py`), replay and the
reports: where its trials sit in a study, how many random trials TPE starts from, and the
sampler's settings."""

from __future__ import annotations

import warnings

import optuna
from spacehpo.hpo.core.plans import Plan

STAGE_NAME = "tpe"
STARTUP_TRIALS = 5  # random trials before TPE models; the plan's trials count towards them


def stage(plan: Plan) -> int:
    """The continuation's stage index: after the plan's last stage."""
    return len(plan.stages)


def sampler(seed: int) -> optuna.samplers.TPESampler:
    """Pinned, not Optuna's defaults (they changed in 5.0). The constant liar lets several
    workers ask at once without proposing the same point; multivariate models the parameters
    together, as the staged plan's interactions need."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, constant_liar=True, n_startup_trials=STARTUP_TRIALS
        )
