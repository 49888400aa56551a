"""The heartbeat thread on a real journal storage, because a long epoch must not make a live
worker's trial look dead."""

import time
from pathlib import Path

from spacehpo.hpo.engine.heartbeat import Heartbeat
from spacehpo.storage.liveness import LEASE_ATTR, LeaseLiveness
from spacehpo.storage.optuna_access import storage_of, trial_id

from tests.hpo.engine_fixtures import fake_study


def test_heartbeat_beats_from_a_thread(tmp_path: Path) -> None:
    handle, study = fake_study(tmp_path)
    trial = study.ask()
    liveness = type(handle.liveness)(handle.storage, handle.retrier, 0.05, 1.0)
    with Heartbeat(liveness, trial_id(trial), print):
        first = storage_of(study).get_trial(trial_id(trial)).system_attrs[LEASE_ATTR]
        time.sleep(0.3)
        later = storage_of(study).get_trial(trial_id(trial)).system_attrs[LEASE_ATTR]
    assert later > first


def test_a_missed_beat_is_logged_and_the_beats_go_on_until_the_trial_ends(tmp_path: Path) -> None:
    """A finished trial's attributes cannot be written: every later beat misses, one line each,
    and none is tried once the block is left."""
    handle, study = fake_study(tmp_path)
    trial = study.ask()
    said: list[str] = []
    with Heartbeat(
        LeaseLiveness(handle.storage, handle.retrier, 0.05, 1.0), trial_id(trial), said.append
    ):
        study.tell(trial, 0.5)
        time.sleep(0.3)
    missed = len(said)
    time.sleep(0.2)
    assert missed >= 2 and len(said) == missed
    assert set(said) == {f"heartbeat for trial {trial_id(trial)} missed (UpdateFinishedTrialError)"}
