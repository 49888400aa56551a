"""The launcher with real child processes: the default on a host without GPUs, and cpu:N."""

from pathlib import Path

from optuna.trial import TrialState

from tests.conftest import run_cli
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
