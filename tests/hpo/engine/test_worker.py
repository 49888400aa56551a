"""A worker's start-up checks and its idle exit, on a real journal storage, because a worker must
refuse a look-alike artifact store or other data before it trains, and free its device when
idle."""

import time
from pathlib import Path

import pytest
from spacehpo.data.errors import DataError
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.engine.worker import open_worker
from spacehpo.hpo.engine.worker_config import WorkerConfig
from spacehpo.hpo.engine.worker_env import StopFlag

from tests.hpo.engine_fixtures import fake_study


def test_open_worker_refuses_a_store_without_the_marker(tmp_path: Path) -> None:
    fake_study(tmp_path)
    storage = f"journal:{tmp_path / 'j.log'}"
    env = open_worker(WorkerConfig("s", storage), StopFlag())
    assert env.spec.store_id and env.name.endswith(":cpu")
    env.handle.close()
    with pytest.raises(HpoError, match="marker"):
        open_worker(WorkerConfig("s", storage, artifacts=str(tmp_path / "other")), StopFlag())


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
