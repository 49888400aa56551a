"""Claiming work: take a WAITING trial with the storage's own compare-and-set (WAITING -> RUNNING
succeeds for exactly one worker), and only under the study lock enqueue the next stage, recover
stale trials or create TPE trials. A bare `ask()` would create stray trials outside the plan."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from spacehpo.hpo.plans import Done, Enqueue, Wait, progress
from spacehpo.hpo.study import StudySpec, records
from spacehpo.storage.backends import StorageHandle

TPE_STAGE_NAME = "tpe"


@dataclass(frozen=True)
class Claimed:
    trial: optuna.Trial


def take_waiting(study: optuna.Study) -> optuna.Trial | None:
    for t in sorted(
        study.get_trials(deepcopy=False, states=(TrialState.WAITING,)), key=lambda t: t.number
    ):
        try:
            won = study._storage.set_trial_state_values(t._trial_id, TrialState.RUNNING)
        except UpdateFinishedTrialError:  # our view was stale: another worker already ran it
            continue
        if won:
            return optuna.Trial(study, t._trial_id)
    return None


def suggest_all(trial: optuna.Trial, spec: StudySpec) -> dict[str, float]:
    """Record every parameter with the plan's distribution (enqueued values come back as fixed)."""
    return {
        name: trial.suggest_float(name, r.low, r.high, log=r.log)
        for name, r in spec.plan.space.items()
    }


def claim(study: optuna.Study, handle: StorageHandle, spec: StudySpec) -> Claimed | Wait | Done:
    """The next trial for this worker: claimed and RUNNING, or why there is none now."""
    if trial := take_waiting(study):
        return Claimed(trial)
    with handle.lock.hold(study.study_name):
        handle.liveness.fail_stale(study)
        action = progress(spec.plan, records(study))
        if isinstance(action, Enqueue):
            stage = spec.plan.stages[action.stage]
            for point, params in action.points:
                study.enqueue_trial(
                    params,
                    user_attrs={
                        "plan": spec.plan.name,
                        "stage": action.stage,
                        "stage_name": stage.name,
                        "point": point,
                        "inherited_from": action.inherited_from,
                        "attempt": 0,
                    },
                )
        if isinstance(action, Wait):
            return action
        if isinstance(action, Done):
            return _tpe_trial(study, spec) or action
        trial = take_waiting(study)
        return Claimed(trial) if trial else Wait(-1, "another worker took the last queued point")


def _tpe_trial(study: optuna.Study, spec: StudySpec) -> Claimed | None:
    """A new TPE trial while the continuation has slots left; called under the study lock, so the
    count is exact and the constant liar sees every running trial."""
    total = sum(ext["n"] for ext in spec.tpe)
    if not total:
        return None
    slots = {r.point for r in records(study) if r.stage == len(spec.plan.stages)}
    if len(slots) >= total:
        return None
    seed = spec.tpe[-1]["seed"] + len(study.get_trials(deepcopy=False))
    sampler = optuna.samplers.TPESampler(
        seed=seed, multivariate=True, constant_liar=True, n_startup_trials=5
    )
    tpe_study = optuna.load_study(
        study_name=study.study_name, storage=study._storage, sampler=sampler, pruner=study.pruner
    )
    trial = tpe_study.ask()
    suggest_all(trial, spec)
    for key, value in {
        "plan": TPE_STAGE_NAME,
        "stage": len(spec.plan.stages),
        "stage_name": TPE_STAGE_NAME,
        "point": min(set(range(total)) - slots),
        "inherited_from": None,
        "attempt": 0,
    }.items():
        trial.set_user_attr(key, value)
    return Claimed(optuna.Trial(study, trial._trial_id))
