"""Every use of Optuna's private names, in one place: an Optuna upgrade breaks this file and its
test (`tests/storage/test_optuna_access.py`), not the product. Hence the pin `optuna>=5.0,<6`.

It also holds the one write Optuna's API cannot make safe to retry: claiming a WAITING trial.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import optuna
import sqlalchemy
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages._heartbeat import (
    BaseHeartbeat as BaseHeartbeat,
)  # re-exported: what a storage with heartbeats is
from optuna.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from spacehpo.storage.retry import Retrier

CLAIM_ATTR = "spacehpo:claim"  # the claim token, written in the claiming transaction


class Retried(Protocol):
    """What `claim_waiting` needs of `retrying.RetryingStorage`, named without importing it
    (that module imports this one)."""

    inner: BaseStorage
    retrier: Retrier


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    return trial._trial_id


def study_id(study: optuna.Study) -> int:
    return study._study_id


def storage_of(study: optuna.Study) -> BaseStorage:
    return study._storage


def claim_waiting(storage: Retried, trial: int, token: str) -> bool:
    """WAITING -> RUNNING for exactly one caller, safe to retry when the reply is lost.

    On PostgreSQL the state change and the claim token commit in one transaction, so after an
    in-doubt commit the token says whether this caller won: the trial is neither stranded nor
    handed to two workers. The journal file has no network between the worker and the commit,
    so Optuna's own compare-and-set is enough there."""
    inner, rdb = storage.inner, rdb_of(storage.inner)

    def attempt(retry: bool) -> bool:
        if retry and (owner := claimed_by(inner, trial)) is not None:
            return owner == token
        if rdb is not None:
            return _claim_in_one_transaction(rdb, trial, token)
        won = inner.set_trial_state_values(trial, TrialState.RUNNING)
        if won:
            inner.set_trial_system_attr(trial, CLAIM_ATTR, token)
        return won

    return storage.retrier.call_checked(attempt, "claiming a trial")


def _claim_in_one_transaction(rdb: RDBStorage, trial: int, token: str) -> bool:
    from optuna.storages._rdb import models  # SQLAlchemy's ORM: only once a database is in use

    trials, attrs = models.TrialModel.__table__, models.TrialSystemAttributeModel.__table__
    with rdb.engine.begin() as conn:
        won = conn.execute(
            sqlalchemy.update(trials)
            .where(trials.c.trial_id == trial, trials.c.state == TrialState.WAITING)
            .values(state=TrialState.RUNNING, datetime_start=datetime.now())
        ).rowcount
        if won:
            conn.execute(
                sqlalchemy.insert(attrs).values(
                    trial_id=trial, key=CLAIM_ATTR, value_json=json.dumps(token)
                )
            )
    return bool(won)


def rdb_of(storage: BaseStorage) -> RDBStorage | None:
    """The RDBStorage under Optuna's cache wrapper (`optuna.storages.get_storage` adds one)."""
    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, RDBStorage) else None


def claimed_by(storage: BaseStorage, trial: int) -> str | None:
    return storage.get_trial_system_attrs(trial).get(CLAIM_ATTR)


def stale_trial_ids(storage: BaseStorage, study: int) -> list[int]:
    """Optuna's heartbeat check (PostgreSQL): RUNNING trials whose last beat is past the grace."""
    return storage._get_stale_trial_ids(study)
