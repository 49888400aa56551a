"""Stale-trial detection on a real journal storage, and the rule after an outage."""

import time
from pathlib import Path

import optuna
from optuna.trial import TrialState
from spacehpo.storage.backends import open_storage
from spacehpo.storage.liveness import LEASE_ATTR
from spacehpo.storage.optuna_access import trial_id
from spacehpo.storage.retry import Retrier


def _running_trial(tmp_path: Path, grace_s: float) -> tuple:
    handle = open_storage(f"journal:{tmp_path / 'j.log'}", Retrier(None), 0.1, grace_s, create=True)
    study = optuna.create_study(study_name="s", storage=handle.storage)
    trial = study.ask()
    handle.storage.set_trial_system_attr(trial_id(trial), LEASE_ATTR, time.time() - 100)
    return handle, study


def test_a_silent_trial_is_failed_once(tmp_path: Path) -> None:
    handle, study = _running_trial(tmp_path, grace_s=1.0)
    handle.retrier.reachable_since -= 10
    assert [t.number for t in handle.liveness.fail_stale(study)] == [0]
    assert study.get_trials()[0].state == TrialState.FAIL
    assert handle.liveness.fail_stale(study) == []


def test_no_one_is_judged_until_a_grace_period_after_an_outage(tmp_path: Path) -> None:
    """After an outage every last beat is old; the others need a grace period to beat again."""
    handle, study = _running_trial(tmp_path, grace_s=30.0)
    handle.retrier.reachable_since = time.monotonic()  # just came back
    assert handle.liveness.fail_stale(study) == []
    assert study.get_trials()[0].state == TrialState.RUNNING


def test_a_blip_replaced_at_once_does_not_hold_judgement(tmp_path: Path) -> None:
    """On a flaky network a connection is cut every few seconds: if each cut held stale-trial
    recovery for a grace period, a dead worker's trial would wait for ever (seen under the proxy).
    A 0.3 s blip cannot age a live worker's beat past a 30 s grace."""
    handle, study = _running_trial(tmp_path, grace_s=30.0)
    handle.retrier.reachable_since, handle.retrier.last_outage_s = time.monotonic(), 0.3
    assert [t.number for t in handle.liveness.fail_stale(study)] == [0]
    handle.retrier.last_outage_s = 30.0  # long enough: the others need time to beat again
    assert handle.liveness.after_outage()
