"""Worker configuration, its start-up checks, the heartbeat thread and the store marker."""

import time
from pathlib import Path

import pytest
from spacehpo.data.errors import DataError
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.heartbeat import Heartbeat
from spacehpo.hpo.engine.store_marker import check_store, mark_store, marker_id
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.engine.trainable import DETECTOR, detector, load_trainable
from spacehpo.hpo.engine.worker import open_worker
from spacehpo.hpo.engine.worker_config import WorkerConfig
from spacehpo.hpo.engine.worker_env import StopFlag
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.liveness import LEASE_ATTR
from spacehpo.storage.optuna_access import storage_of, trial_id

from tests.hpo.engine_fixtures import fake_study


def test_worker_config_checks_itself_and_passes_itself_on() -> None:
    cfg = WorkerConfig("s", storage="journal:j.log", grace_s=30.0, max_trials=2)
    argv = cfg.to_argv()
    assert argv[0] == "s" and "--storage=journal:j.log" in argv and "--grace=30.0" in argv
    assert "--max-trials=2" in argv and not any(a.startswith("--data") for a in argv)
    for bad in ({"grace_s": 5.0, "heartbeat_s": 10.0}, {"poll_s": 0}, {"max_trials": 0}):
        with pytest.raises(HpoError):
            WorkerConfig("s", **bad)


def test_open_worker_refuses_a_store_without_the_marker(tmp_path: Path) -> None:
    fake_study(tmp_path)
    storage = f"journal:{tmp_path / 'j.log'}"
    env = open_worker(WorkerConfig("s", storage), StopFlag())
    assert env.spec.store_id and env.name.endswith(":cpu")
    env.handle.close()
    with pytest.raises(HpoError, match="marker"):
        open_worker(WorkerConfig("s", storage, artifacts=str(tmp_path / "other")), StopFlag())


def test_store_marker_tells_stores_apart(tmp_path: Path) -> None:
    store = open_artifact_store(str(tmp_path / "a"))
    store_id = mark_store(store, "s")
    check_store(store, "s", store_id, "a")
    check_store(store, "s", "", "a")  # studies made before markers
    mark_store(store, "s")  # another study of the same name took this store over
    with pytest.raises(HpoError, match="another study"):
        check_store(store, "s", store_id, "a")
    assert (tmp_path / "a" / marker_id("s")).exists()


def test_heartbeat_beats_from_a_thread(tmp_path: Path) -> None:
    handle, study = fake_study(tmp_path)
    trial = study.ask()
    liveness = type(handle.liveness)(handle.storage, handle.retrier, 0.05, 1.0)
    with Heartbeat(liveness, trial_id(trial), print):
        first = storage_of(study).get_trial(trial_id(trial)).system_attrs[LEASE_ATTR]
        time.sleep(0.3)
        later = storage_of(study).get_trial(trial_id(trial)).system_attrs[LEASE_ATTR]
    assert later > first


def test_trainables_load_by_path() -> None:
    assert load_trainable(DETECTOR) is detector
    with pytest.raises(HpoError, match="cannot import"):
        load_trainable("nowhere:fn")


def test_a_child_trusts_the_fingerprint_its_launcher_checked(tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.hpo.engine_fixtures import FAKE_SPEC

    spec = replace(
        FAKE_SPEC, fingerprint="f00d", settings={"epochs": 3, "data": str(tmp_path / "ds")}
    )
    fake_study(tmp_path, spec)
    storage = f"journal:{tmp_path / 'j.log'}"
    env = open_worker(WorkerConfig("s", storage, data_checked="f00d"), StopFlag())
    assert env.settings["fingerprint"] == "f00d"  # no hashing of the (absent) files
    env.handle.close()
    with pytest.raises(DataError, match="data.yaml: missing"):
        open_worker(WorkerConfig("s", storage, data_checked="other"), StopFlag())


def test_a_worker_left_waiting_exits_when_idle_runs_out(tmp_path: Path) -> None:
    from spacehpo.hpo.engine.claim import Claimed, claim
    from spacehpo.hpo.engine.worker import run_worker

    handle, study = fake_study(tmp_path)
    spec = load(handle, "s")[1]
    while isinstance(claim(study, handle, spec, "other", print), Claimed):
        pass  # another worker holds every point of stage 1: this one waits at the barrier
    storage = f"journal:{tmp_path / 'j.log'}"
    started = time.monotonic()
    assert run_worker(WorkerConfig("s", storage, poll_s=0.05, exit_when_idle_s=0.5)) == 0
    assert 0.5 <= time.monotonic() - started < 10
    assert "--exit-when-idle=0.5" in WorkerConfig("s", exit_when_idle_s=0.5).to_argv()
    with pytest.raises(HpoError, match="--exit-when-idle"):
        WorkerConfig("s", exit_when_idle_s=0)
