"""The Optuna adapter against the installed Optuna, and the claim that survives a lost reply:
a real PostgreSQL behind a real proxy that drops the answer to a COMMIT after the server ran it."""

from __future__ import annotations

from optuna.trial import TrialState
from spacehpo.bench.fault_proxy import FaultProxy
from spacehpo.storage.backends import StorageHandle, open_storage
from spacehpo.storage.optuna_access import (
    CLAIM_ATTR,
    BaseHeartbeat,
    claim_waiting,
    claimed_by,
    rdb_of,
    stale_trial_ids,
    storage_of,
    study_id,
    trial_id,
)
from spacehpo.storage.retry import Retrier

from tests.storage.conftest import waiting_trial


def test_private_names_read_what_optuna_holds(handle: StorageHandle) -> None:
    study, waiting = waiting_trial(handle)
    assert storage_of(study) is handle.storage and isinstance(study_id(study), int)
    assert trial_id(study.get_trials()[0]) == waiting
    if handle.engine is not None:  # Optuna's heartbeat table: nothing has beaten yet
        assert stale_trial_ids(handle.storage, study_id(study)) == []
    # the database keeps heartbeats, the journal file does not: RetryingStorage tells them apart
    assert isinstance(rdb_of(handle.storage.inner), BaseHeartbeat) == (handle.engine is not None)


def test_exactly_one_of_two_claims_wins_and_the_token_says_which(handle: StorageHandle) -> None:
    _, waiting = waiting_trial(handle)
    assert claim_waiting(handle.storage, waiting, "a") is True
    assert claim_waiting(handle.storage, waiting, "b") is False
    trial = handle.storage.get_trial(waiting)
    assert trial.state == TrialState.RUNNING and trial.datetime_start is not None
    assert claimed_by(handle.storage, waiting) == "a" == trial.system_attrs[CLAIM_ATTR]


def test_a_claim_whose_reply_was_lost_is_still_won_once(
    pg_url: str, fault_proxy: FaultProxy
) -> None:
    """The commit lands, the answer is dropped: the retry must say True to the winner (not
    strand the trial) and False to anyone else."""
    with open_storage(fault_proxy.url(pg_url), Retrier(20), create=True) as handle:
        _, waiting = waiting_trial(handle)
        fault_proxy.cut_next_commits(1)
        assert claim_waiting(handle.storage, waiting, "winner") is True
        assert fault_proxy.counts.commits_cut == 1
        assert claim_waiting(handle.storage, waiting, "other") is False
        assert handle.storage.get_trial(waiting).state == TrialState.RUNNING
