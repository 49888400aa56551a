"""Worker configuration, because a bad flag must stop a worker at start, and the launcher must
pass the same configuration on to each child as flags."""

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.worker_config import WorkerConfig


def test_worker_config_checks_itself_and_passes_itself_on() -> None:
    cfg = WorkerConfig("s", storage="journal:j.log", grace_s=30.0, max_trials=2)
    argv = cfg.to_argv()
    assert argv[0] == "s" and "--storage=journal:j.log" in argv and "--grace=30.0" in argv
    assert "--max-trials=2" in argv and not any(a.startswith("--data") for a in argv)
    for bad in ({"grace_s": 5.0, "heartbeat_s": 10.0}, {"poll_s": 0}, {"max_trials": 0}):
        with pytest.raises(HpoError):
            WorkerConfig("s", **bad)
