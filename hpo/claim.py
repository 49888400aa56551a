"""Claiming work: take a WAITING trial with the storage's own compare-and-set (WAITING -> RUNNING
succeeds for exactly one worker), and only under the study lock enqueue the next stage, recover
stale trials or create TPE trials. A bare `ask()` would create stray trials outside the plan."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from spacehpo.hpo.plans import Done, Enqueue, Wait, latest_attempts, progress
from spacehpo.hpo.study import HANDED_BACK, StudySpec, record_of, records, requeue
from spacehpo.storage.backends import Liveness, StorageHandle

TPE_STAGE_NAME = "tpe"


@dataclass(frozen=True)
class Claimed:
    trial: optuna.Trial


def take_waiting(study: optuna.Study, liveness: Liveness) -> optuna.Trial | None:
    """Win one WAITING trial, or None. The trial gets its first heartbeat BEFORE the state change,
    so a worker killed right after winning still leaves a trial that can go stale."""
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    for t in sorted(waiting, key=lambda t: t.number):
        try:
            liveness.beat(t._trial_id)
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


def requeue_orphans(study: optuna.Study, spec: StudySpec) -> None:
    """Finish a recovery that a killed worker left half done (trial failed, retry not queued).

    Called under the study lock, where no recovery is in flight, so a FAIL trial that is the
    latest attempt of its point and has no failure reason of its own (it went stale) or was
    being handed back is an orphan. Trials that raised keep their reason and stay failed.
    """
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    for record in latest_attempts([record_of(t) for t in trials.values()]).values():
        t = trials[record.number]
        reason = t.user_attrs.get("fail_reason")
        if t.state == TrialState.FAIL and (reason is None or reason.startswith(HANDED_BACK)):
            requeue(study, t, spec.max_retries, counts_as_retry=reason is None)


def claim(study: optuna.Study, handle: StorageHandle, spec: StudySpec) -> Claimed | Wait | Done:
    """The next trial for this worker: claimed and RUNNING, or why there is none now."""
    if trial := take_waiting(study, handle.liveness):
        return Claimed(trial)
    with handle.lock.hold(study.study_name):
        handle.liveness.fail_stale(study)
        requeue_orphans(study, spec)
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
        trial = take_waiting(study, handle.liveness)
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
