"""Putting work back in the queue: stale trials of dead workers, trials handed back or hit by a
machine fault, and recoveries a killed worker left half done. Every function here runs under
the study lock, so no worker sees a stage as finished between a failure and its re-queued copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import optuna
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.plans import latest_attempts
from spacehpo.hpo.core.record import (
    HANDED_BACK,
    MACHINE_FAULT,
    Avoid,
    enqueue,
    fail_reason_of,
    params_of,
    record_of,
    retry_of,
    study_trials,
)
from spacehpo.storage.liveness import Liveness


def requeue(
    study: optuna.Study,
    failed: FrozenTrial,
    max_retries: int,
    counts_as_retry: bool = True,
    avoid: Avoid | None = None,
) -> bool:
    """Queue the failed trial's point again, resuming from its last checkpoint; False if its
    retries are used up. Idempotent: a trial already superseded by a retry is left alone."""
    if superseded(study, failed):
        return True
    queued = retry_of(failed, counts_as_retry)
    if queued.position.attempt > max_retries:
        return False
    enqueue(study, params_of(failed), replace(queued, avoid=avoid))
    return True


def superseded(study: optuna.Study, t: FrozenTrial) -> bool:
    latest = latest_attempts([record_of(x, None) for x in study_trials(study)])
    mine = record_of(t, None)
    return latest.get((mine.stage, mine.point, mine.repeat), mine).number != t.number


def requeue_orphans(study: optuna.Study, max_retries: int) -> None:
    """Finish recoveries a killed worker left half done (trial failed, retry not queued).

    Under the lock no recovery is in flight, so a FAIL trial that is still the latest attempt
    of its point is an orphan unless it raised: a stale trial has no failure reason, a handed
    back one (not counted as a retry) and a machine-faulted one have theirs.
    """
    trials = {t.number: t for t in study_trials(study)}
    for record in latest_attempts([record_of(t, None) for t in trials.values()]).values():
        t = trials[record.number]
        if t.state == TrialState.FAIL and not raised(t):
            reason = fail_reason_of(t) or ""
            requeue(study, t, max_retries, counts_as_retry=not reason.startswith(HANDED_BACK))


def raised(t: FrozenTrial) -> bool:
    """A trial that failed for good: its trainable raised, or it was too big for the hardware."""
    reason = fail_reason_of(t)
    return reason is not None and not reason.startswith((HANDED_BACK, MACHINE_FAULT))


def recover_stale(
    study: optuna.Study, liveness: Liveness, max_retries: int, log: Callable[[str], None]
) -> None:
    for t in liveness.fail_stale(study):
        if requeue(study, t, max_retries):
            log(f"trial {t.number} went stale (its worker stopped beating); queued again")
        else:
            log(
                f"trial {t.number} went stale and has used its {max_retries} retries; it stays failed"
            )
