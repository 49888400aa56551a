"""How a worker says "still alive" for its trial, and how others find trials of dead workers.

PostgreSQL uses Optuna's heartbeat table (server clock); the journal file, which has no
heartbeat, a lease timestamp in a system attribute (one host, one clock).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState
from spacehpo.storage.optuna_access import stale_trial_ids, study_id, trial_id
from spacehpo.storage.retry import Retrier
from spacehpo.storage.retrying import RetryingStorage

DEFAULT_HEARTBEAT_S = 10.0
DEFAULT_GRACE_S = 60.0  # six missed beats: long enough for a busy host, short for a dead one
LEASE_ATTR = "spacehpo:lease"


@dataclass(frozen=True)
class Liveness(ABC):
    storage: RetryingStorage
    retrier: Retrier
    interval_s: float = DEFAULT_HEARTBEAT_S
    grace_s: float = DEFAULT_GRACE_S

    @abstractmethod
    def beat(self, trial_id: int) -> None: ...

    @abstractmethod
    def stale_ids(self, study: optuna.Study) -> list[int]: ...

    def fail_stale(self, study: optuna.Study) -> list[FrozenTrial]:
        """Fail the trials of silent workers and return them (the caller re-queues them).

        Nothing is judged until this worker has reached the storage for a whole grace period
        after an outage long enough to age a live worker's beat past the grace: then every
        worker's last beat is old, and the others need time to beat again. A dropped connection
        replaced at once (a flaky network) holds nothing up, or stale trials would wait for ever.
        """
        if self.after_outage():
            return []
        failed = []
        for stale_id in self.stale_ids(study):
            try:
                won = self.storage.set_trial_state_values(stale_id, TrialState.FAIL)
            except UpdateFinishedTrialError:  # another worker failed it first
                continue
            if won:
                failed.append(self.storage.get_trial(stale_id))
        return failed

    def after_outage(self) -> bool:
        recent = self.retrier.reachable_for() < self.grace_s
        return recent and self.retrier.last_outage_s + 2 * self.interval_s >= self.grace_s


class HeartbeatLiveness(Liveness):
    def beat(self, trial_id: int) -> None:
        self.storage.record_heartbeat(trial_id)

    def stale_ids(self, study: optuna.Study) -> list[int]:
        return stale_trial_ids(self.storage, study_id(study))


class LeaseLiveness(Liveness):
    def beat(self, trial_id: int) -> None:
        self.storage.set_trial_system_attr(trial_id, LEASE_ATTR, time.time())

    def stale_ids(self, study: optuna.Study) -> list[int]:
        now = time.time()
        return [
            trial_id(t)
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if now - t.system_attrs.get(LEASE_ATTR, _started(t, now)) > self.grace_s
        ]


def _started(t: FrozenTrial, default: float) -> float:
    return t.datetime_start.timestamp() if t.datetime_start else default
