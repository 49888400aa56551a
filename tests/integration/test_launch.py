"""The launcher with real child processes: the default on a host without GPUs, cpu:N, and
stop signals reaching every child exactly once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optuna.trial import FrozenTrial, TrialState

from tests.conftest import REPO, run_cli
from tests.hpo.studies import create_fake_study, trials_of


def test_default_devices_on_a_cpu_host_is_one_worker_with_all_cores(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--set", "epochs=1", "--pruner", "none")
    r = run_cli(
        "worker",
        "s",
        "--storage",
        storage,
        "--poll",
        "0.1",
        "--artifacts",
        str(tmp_path / "artifacts"),
    )
    assert r.returncode == 0, r.stderr
    assert "no GPU visible: 1 CPU worker(s)" in r.stdout
    trials = trials_of(storage)
    assert len(trials) == 22 and all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 1


def test_cpu_n_runs_n_workers(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(
        storage, tmp_path, "--set", "epochs=1", "--set", "sleep=0.05", "--pruner", "none"
    )
    r = run_cli("worker", "s", "--storage", storage, "--devices", "cpu:2", "--poll", "0.1")
    assert r.returncode == 0, r.stderr
    assert "--devices cpu:2: 2 CPU worker(s) with 1 thread(s) each" in r.stdout
    assert len({t.user_attrs["worker"] for t in trials_of(storage)}) == 2


def test_the_launcher_checks_the_dataset_once_before_any_child(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    from spacehpo.data.synth import SynthConfig, generate

    from tests.conftest import assert_one_line_error

    storage = f"journal:{tmp_path / 'j.log'}"
    r = run_cli("study", "create", "s", "--storage", storage, "--data", str(tiny_dataset),
                "--artifacts", str(tmp_path / "a"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    other = tmp_path / "other"
    generate(other, SynthConfig(n_train=11, n_val=11, size=64, seed=99), progress=False)
    r = run_cli("worker", "s", "--storage", storage, "--devices", "cpu:2", "--data", str(other))
    assert_one_line_error(r, str(other), "fingerprint differs")
    assert "starting" not in r.stdout  # no child was started


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [
        (signal.SIGTERM, False),  # docker compose down: PID 1 only
        (signal.SIGINT, True),  # Ctrl-C at the terminal
    ],
    ids=["docker-compose-down", "ctrl-c"],
)
def test_a_stop_signal_makes_every_child_hand_its_trial_back_once(
    tmp_path: Path, signum: int, to_group: bool
) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(
        storage, tmp_path, "--set", "epochs=6", "--set", "sleep=0.5", "--pruner", "none"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-m", "spacehpo.cli", "worker", "s", "--storage", storage,
         "--devices", "cpu:2", "--poll", "0.1"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while sum(_started(t) for t in trials_of(storage)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    (os.killpg if to_group else os.kill)(launcher.pid, signum)
    out = launcher.communicate(timeout=60)[0]
    assert launcher.returncode == 0, out
    trials = trials_of(storage)
    handed = [t for t in trials if t.user_attrs.get("fail_reason", "").startswith("handed back")]
    assert len(handed) == 2 and not [t for t in trials if t.state == TrialState.RUNNING], out


def _started(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.RUNNING and len(trial.intermediate_values) >= 1
