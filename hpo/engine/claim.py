"""Claiming work: take a WAITING trial with a compare-and-set that is safe to retry (WAITING ->
RUNNING succeeds for exactly one worker, `storage.optuna_access.claim_waiting`), and only under
the study lock enqueue the next stage, recover stale trials, cancel copies, sweep strays or
create TPE trials. A bare `ask()` would create stray trials outside the plan."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core import tpe
from spacehpo.hpo.core.plans import Done, Enqueue, TakeWaiting, Wait, progress
from spacehpo.hpo.core.record import (
    Position,
    Queued,
    copies_of,
    enqueue,
    is_stray,
    may_take,
    records,
)
from spacehpo.hpo.core.space import ParamValue
from spacehpo.hpo.core.trial_writer import TrialWriter, mark_duplicate, mark_stray
from spacehpo.hpo.engine.recovery import recover_stale, requeue_orphans
from spacehpo.hpo.engine.study import StudySpec
from spacehpo.storage.backends import StorageHandle
from spacehpo.storage.liveness import Liveness
from spacehpo.storage.locks import Held
from spacehpo.storage.optuna_access import claim_waiting, storage_of, trial_id


@dataclass(frozen=True)
class Claimed:
    """A trial this worker won: RUNNING, with its first heartbeat."""

    trial: optuna.Trial


def take_waiting(study: optuna.Study, liveness: Liveness, worker: str) -> optuna.Trial | None:
    """Win one WAITING trial, or None. Copies of a plan position are cancelled here, where a
    trial is claimed, so none is ever trained. The trial gets its first heartbeat BEFORE the
    state change, so a worker killed right after winning still leaves a trial that can go stale."""
    trials = study.get_trials(deepcopy=False)
    copies = cancel_copies(study, trials)
    waiting = [t for t in trials if t.state == TrialState.WAITING and t.number not in copies]
    for t in sorted(waiting, key=lambda t: t.number):
        if not may_take(t, worker):
            continue
        try:
            liveness.beat(trial_id(t))
            won = claim_waiting(liveness.storage, trial_id(t), f"{worker}/{uuid.uuid4().hex}")
        except UpdateFinishedTrialError:  # our view was stale: another worker already ran it
            continue
        if won:
            return optuna.Trial(study, trial_id(t))
    return None


def cancel_copies(study: optuna.Study, trials: list[FrozenTrial]) -> dict[int, int]:
    """Mark and fail every WAITING copy of a plan position (`plans.duplicates`); returns all
    copies, so the caller skips them."""
    copies = copies_of(trials)
    storage = storage_of(study)
    for t in trials:
        if t.state == TrialState.WAITING and t.number in copies:
            try:
                mark_duplicate(storage, trial_id(t), copies[t.number])
                storage.set_trial_state_values(trial_id(t), TrialState.FAIL)
            except UpdateFinishedTrialError:  # another worker cancelled it first
                pass
    return copies


def sweep_strays(study: optuna.Study, grace_s: float) -> None:
    """Fail RUNNING trials outside the plan that nobody owns: a TPE trial's copy made by
    Optuna's retried create, or one whose position write was cut off. They have no heartbeat,
    so they would never go stale. Runs under the study lock, where no TPE trial is half made."""
    now = datetime.now()
    storage = storage_of(study)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        started = t.datetime_start or now
        if is_stray(t) and (now - started).total_seconds() > grace_s:
            try:
                mark_stray(storage, trial_id(t))
                storage.set_trial_state_values(trial_id(t), TrialState.FAIL)
            except UpdateFinishedTrialError:
                pass


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
    with handle.lock.hold(study.study_name) as held:
        action = _advance(study, handle, spec, log, held)
    if action is not None:
        return action
    trial = take_waiting(study, handle.liveness, worker)  # outside the lock: safe on its own
    return Claimed(trial) if trial else Wait(-1, "no queued point this worker may take now")


def _advance(
    study: optuna.Study,
    handle: StorageHandle,
    spec: StudySpec,
    log: Callable[[str], None],
    held: Held,
) -> Claimed | Wait | Done | None:
    """Everything that must not run twice at once; None: take a WAITING trial (after the lock
    is released). Each step is idempotent, so a section cut short (an outage, the server
    dropping the lock's connection) is simply run again."""
    recover_stale(study, handle.liveness, spec.max_retries, log)
    requeue_orphans(study, spec.max_retries)
    cancel_copies(study, study.get_trials(deepcopy=False))
    sweep_strays(study, handle.liveness.grace_s)
    step = progress(spec.plan, records(study, spec.objective), spec.repeat_counts())
    if isinstance(step, Enqueue):
        _enqueue_stage(study, spec, step, held)
        return None
    if isinstance(step, TakeWaiting):
        return None
    if isinstance(step, Done):
        return _tpe_trial(study, handle, spec) or step
    return step  # Wait


def _enqueue_stage(study: optuna.Study, spec: StudySpec, action: Enqueue, held: Held) -> None:
    stage = spec.plan.stages[action.stage]
    for planned in action.points:
        held.check()  # a lock the server dropped stops the stage here, not after a copy of it
        position = Position(
            spec.plan.name,
            action.stage,
            stage.name,
            planned.point,
            action.inherited_from,
            repeat=planned.repeat,
        )
        enqueue(study, planned.params, Queued(position))


def _tpe_trial(study: optuna.Study, handle: StorageHandle, spec: StudySpec) -> Claimed | None:
    """A new TPE trial while the continuation has slots left; called under the study lock, so the
    count is exact and the constant liar sees every running trial."""
    tpe_stage = tpe.stage(spec.plan)
    slots = {r.point for r in records(study, None) if r.stage == tpe_stage}
    if len(slots) >= spec.tpe_trials:
        return None
    seed = spec.tpe[-1].seed + len(study.get_trials(deepcopy=False))
    tpe_study = optuna.load_study(
        study_name=study.study_name,
        storage=storage_of(study),
        sampler=tpe.sampler(seed),
        pruner=study.pruner,
    )
    trial = tpe_study.ask()
    handle.liveness.beat(trial_id(trial))  # from now on it can go stale like a claimed trial
    suggest_all(trial, spec)
    point = min(set(range(spec.tpe_trials)) - slots)
    TrialWriter(trial).position(Position(tpe.STAGE_NAME, tpe_stage, tpe.STAGE_NAME, point))
    return Claimed(optuna.Trial(study, trial_id(trial)))
