"""Claiming work: take a WAITING trial with the storage's own compare-and-set (WAITING -> RUNNING
succeeds for exactly one worker), and only under the study lock enqueue the next stage, recover
stale trials or create TPE trials. A bare `ask()` would create stray trials outside the plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from spacehpo.hpo.plans import Done, Enqueue, Wait, progress
from spacehpo.hpo.record import Position, Queued, enqueue, may_take, records
from spacehpo.hpo.recovery import recover_stale, requeue_orphans
from spacehpo.hpo.space import ParamValue
from spacehpo.hpo.study import StudySpec
from spacehpo.hpo.trial_writer import TrialWriter
from spacehpo.storage.backends import StorageHandle
from spacehpo.storage.liveness import Liveness

TPE_STAGE_NAME = "tpe"
TPE_STARTUP_TRIALS = 5


@dataclass(frozen=True)
class Claimed:
    trial: optuna.Trial


def take_waiting(study: optuna.Study, liveness: Liveness, worker: str) -> optuna.Trial | None:
    """Win one WAITING trial, or None. The trial gets its first heartbeat BEFORE the state change,
    so a worker killed right after winning still leaves a trial that can go stale."""
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    for t in sorted(waiting, key=lambda t: t.number):
        if not may_take(t, worker):
            continue
        try:
            liveness.beat(t._trial_id)
            won = study._storage.set_trial_state_values(t._trial_id, TrialState.RUNNING)
        except UpdateFinishedTrialError:  # our view was stale: another worker already ran it
            continue
        if won:
            return optuna.Trial(study, t._trial_id)
    return None


def suggest_all(trial: optuna.Trial, spec: StudySpec) -> dict[str, ParamValue]:
    """Record every parameter with the plan's distribution (enqueued values come back as fixed)."""
    return {name: dimension.suggest(trial, name) for name, dimension in spec.plan.space.items()}


def claim(
    study: optuna.Study,
    handle: StorageHandle,
    spec: StudySpec,
    worker: str,
    log: Callable[[str], None],
) -> Claimed | Wait | Done:
    """The next trial for this worker: claimed and RUNNING, or why there is none now."""
    if trial := take_waiting(study, handle.liveness, worker):
        return Claimed(trial)
    with handle.lock.hold(study.study_name):
        recover_stale(study, handle.liveness, spec.max_retries, log)
        requeue_orphans(study, spec.max_retries)
        action = progress(spec.plan, records(study, spec.objective), spec.repeat_counts())
        if isinstance(action, Enqueue):
            _enqueue_stage(study, spec, action)
        if isinstance(action, Wait):
            return action
        if isinstance(action, Done):
            return _tpe_trial(study, spec) or action
        trial = take_waiting(study, handle.liveness, worker)
    return Claimed(trial) if trial else Wait(-1, "no queued point this worker may take now")


def _enqueue_stage(study: optuna.Study, spec: StudySpec, action: Enqueue) -> None:
    stage = spec.plan.stages[action.stage]
    for planned in action.points:
        position = Position(
            spec.plan.name,
            action.stage,
            stage.name,
            planned.point,
            action.inherited_from,
            repeat=planned.repeat,
        )
        enqueue(study, planned.params, Queued(position))


def _tpe_trial(study: optuna.Study, spec: StudySpec) -> Claimed | None:
    """A new TPE trial while the continuation has slots left; called under the study lock, so the
    count is exact and the constant liar sees every running trial."""
    tpe_stage = len(spec.plan.stages)
    slots = {r.point for r in records(study) if r.stage == tpe_stage}
    if len(slots) >= spec.tpe_trials:
        return None
    seed = spec.tpe[-1].seed + len(study.get_trials(deepcopy=False))
    sampler = optuna.samplers.TPESampler(
        seed=seed, multivariate=True, constant_liar=True, n_startup_trials=TPE_STARTUP_TRIALS
    )
    tpe_study = optuna.load_study(
        study_name=study.study_name, storage=study._storage, sampler=sampler, pruner=study.pruner
    )
    trial = tpe_study.ask()
    suggest_all(trial, spec)
    point = min(set(range(spec.tpe_trials)) - slots)
    TrialWriter(trial).position(Position(TPE_STAGE_NAME, tpe_stage, TPE_STAGE_NAME, point))
    return Claimed(optuna.Trial(study, trial._trial_id))
