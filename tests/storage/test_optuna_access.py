"""The Optuna adapter against the installed Optuna, and the claim that survives a lost reply:
a real PostgreSQL behind a real proxy that drops the answer to a COMMIT after the server ran it."""

from __future__ import annotations

import pickle
from pathlib import Path

import optuna
import pytest
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


def _waiting(handle: StorageHandle) -> tuple[optuna.Study, int]:
    study = optuna.create_study(study_name="s", storage=handle.storage, load_if_exists=True)
    study.enqueue_trial({"x": 1.0})
    return study, trial_id(study.get_trials(states=(TrialState.WAITING,))[0])


@pytest.fixture(params=["journal", "postgres"])
def handle(request: pytest.FixtureRequest, tmp_path: Path) -> StorageHandle:
    if request.param == "journal":
        url = f"journal:{tmp_path / 'j.log'}"
    else:
        url = request.getfixturevalue("pg_url")
    with open_storage(url, Retrier(10), create=True) as handle:
        yield handle


def test_private_names_read_what_optuna_holds(handle: StorageHandle) -> None:
    study, waiting = _waiting(handle)
    assert storage_of(study) is handle.storage and isinstance(study_id(study), int)
    assert trial_id(study.get_trials()[0]) == waiting
    if handle.engine is not None:  # Optuna's heartbeat table: nothing has beaten yet
        assert stale_trial_ids(handle.storage, study_id(study)) == []
    # the database keeps heartbeats, the journal file does not: RetryingStorage tells them apart
    assert isinstance(rdb_of(handle.storage.inner), BaseHeartbeat) == (handle.engine is not None)


def test_exactly_one_of_two_claims_wins_and_the_token_says_which(handle: StorageHandle) -> None:
    _, waiting = _waiting(handle)
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
        _, waiting = _waiting(handle)
        fault_proxy.cut_next_commits(1)
        assert claim_waiting(handle.storage, waiting, "winner") is True
        assert fault_proxy.counts.commits_cut == 1
        assert claim_waiting(handle.storage, waiting, "other") is False
        assert handle.storage.get_trial(waiting).state == TrialState.RUNNING


def test_a_tell_whose_reply_was_lost_succeeds_once(pg_url: str, fault_proxy: FaultProxy) -> None:
    with open_storage(fault_proxy.url(pg_url), Retrier(20), create=True) as handle:
        study = optuna.create_study(study_name="s", storage=handle.storage)
        trial = study.ask()
        fault_proxy.cut_next_commits(1)
        study.tell(trial, 0.75)  # Optuna's own call, through the retrying storage
        assert fault_proxy.counts.commits_cut == 1
        frozen = study.get_trials()[0]
        assert (frozen.state, frozen.values) == (TrialState.COMPLETE, [0.75])
        with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
            handle.storage.set_trial_state_values(trial_id(trial), TrialState.FAIL)


def test_the_retrying_storage_pickles_like_optunas_own(handle: StorageHandle) -> None:
    study, waiting = _waiting(handle)
    copy = pickle.loads(pickle.dumps(handle.storage))
    assert copy.get_trial(waiting).state == TrialState.WAITING
    with copy.retrier.atomic():  # per-thread state, fresh in the copy
        assert copy.get_study_id_from_name("s") == study_id(study)
    assert copy.retrier.max_outage_s == handle.retrier.max_outage_s
