"""RetryingStorage, because every storage call, Optuna's own included, must ride out an outage,
and a worker must not fail a trial whose finishing write landed but whose reply was lost."""

from __future__ import annotations

import pickle
from pathlib import Path

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from spacehpo.bench.fault_proxy import FaultProxy
from spacehpo.storage.backends import StorageHandle, open_storage
from spacehpo.storage.liveness import DEFAULT_HEARTBEAT_S
from spacehpo.storage.optuna_access import study_id, trial_id
from spacehpo.storage.retry import Retrier

from tests.storage.conftest import waiting_trial


def test_a_call_through_it_reaches_the_inner_storage(tmp_path: Path) -> None:
    """What is written through the wrapper is what the wrapped storage holds, both ways."""
    slept: list[float] = []
    retrier = Retrier(None, log=lambda _: None, sleep=slept.append)
    with open_storage(f"journal:{tmp_path / 'j.log'}", retrier, create=True) as handle:
        outer, inner = handle.storage, handle.storage.inner
        study = optuna.create_study(study_name="s", storage=outer)
        trial = study.ask()
        outer.set_trial_user_attr(trial_id(trial), "through", "the wrapper")
        inner.set_trial_user_attr(trial_id(trial), "around", "it")
        both = {"through": "the wrapper", "around": "it"}
        assert inner.get_trial(trial_id(trial)).user_attrs == both
        assert outer.get_trial(trial_id(trial)).user_attrs == both
        assert outer.get_study_id_from_name("s") == inner.get_study_id_from_name("s")
        assert outer.get_study_id_from_name("s") == study_id(study)
        with pytest.raises(KeyError):  # the inner storage's own answer, not retried as an outage
            outer.get_study_id_from_name("nope")
    assert slept == []


def test_storage_calls_retry_inside_optuna_too(tmp_path: Path) -> None:
    """Optuna's own calls (here `tell`) go through the retrying storage."""
    handle = open_storage(f"journal:{tmp_path / 'j.log'}", create=True)
    study = optuna.create_study(study_name="s", storage=handle.storage)
    trial = study.ask()
    inner, calls = handle.storage.inner, []
    original = inner.set_trial_state_values

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            import sqlalchemy.exc

            raise sqlalchemy.exc.OperationalError("UPDATE", {}, Exception("server closed"))
        return original(*args, **kwargs)

    inner.set_trial_state_values = flaky
    study.tell(trial, 1.0)
    assert len(calls) == 2 and study.get_trials()[0].state == TrialState.COMPLETE


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


def test_finishing_after_a_lost_reply_is_true_once_and_only_for_a_retry(
    pg_url: str, fault_proxy: FaultProxy
) -> None:
    """The retry of an in-doubt finish finds the trial finished as asked and says so; the same
    write asked afresh (no lost reply) is still refused, so a second finisher hears of it."""
    with open_storage(fault_proxy.url(pg_url), Retrier(20), create=True) as handle:
        study = optuna.create_study(study_name="s", storage=handle.storage)
        trial = study.ask()
        fault_proxy.cut_next_commits(1)
        assert handle.storage.set_trial_state_values(trial_id(trial), TrialState.PRUNED) is True
        assert fault_proxy.counts.commits_cut == 1
        assert handle.storage.get_trial(trial_id(trial)).state == TrialState.PRUNED
        with pytest.raises(UpdateFinishedTrialError):
            handle.storage.set_trial_state_values(trial_id(trial), TrialState.PRUNED)


def test_finishing_a_finished_trial_without_a_lost_reply_is_refused(tmp_path: Path) -> None:
    """No transient error, no verification: a trial already COMPLETE with the asked value is
    still an error when nothing was in doubt."""
    with open_storage(f"journal:{tmp_path / 'j.log'}", create=True) as handle:
        study = optuna.create_study(study_name="s", storage=handle.storage)
        trial = study.ask()
        study.tell(trial, 0.5)
        with pytest.raises(UpdateFinishedTrialError):
            handle.storage.set_trial_state_values(trial_id(trial), TrialState.COMPLETE, [0.5])


def test_heartbeats_are_offered_only_where_the_inner_storage_keeps_them(
    handle: StorageHandle,
) -> None:
    if handle.engine is None:  # the journal file
        assert not handle.storage.has_heartbeat
        assert handle.storage.get_heartbeat_interval() is None
        assert handle.storage.get_heartbeat_stale_trial_callback() is None
    else:
        assert handle.storage.has_heartbeat
        assert handle.storage.get_heartbeat_interval() == round(DEFAULT_HEARTBEAT_S)


def test_the_retrying_storage_pickles_like_optunas_own(handle: StorageHandle) -> None:
    study, waiting = waiting_trial(handle)
    copy = pickle.loads(pickle.dumps(handle.storage))
    assert copy.get_trial(waiting).state == TrialState.WAITING
    with copy.retrier.atomic():  # per-thread state, fresh in the copy
        assert copy.get_study_id_from_name("s") == study_id(study)
    assert copy.retrier.max_outage_s == handle.retrier.max_outage_s
