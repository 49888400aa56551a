"""The stop flag, with real signals sent to this process."""

import os
import signal

import pytest
from spacehpo.hpo.engine.worker_env import StopFlag


def test_the_first_stop_request_asks_a_repeated_sigterm_never_aborts_a_second_ctrl_c_does() -> None:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        flag = StopFlag().install()
        assert not flag.requested
        for _ in range(3):  # srun forwards it, slurmstepd signals the task, the launcher forwards
            os.kill(os.getpid(), signal.SIGTERM)
        assert flag.requested
        with pytest.raises(KeyboardInterrupt):  # only a second Ctrl-C aborts
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
