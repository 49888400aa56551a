"""The Slurm job script: one renderer, the shipped file in step with it, and bad knobs refused."""

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from spacehpo.cli.main import build_parser
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.launch.slurm_job import SlurmJob, render, time_limit_s

from tests.conftest import REPO, assert_one_line_error, run_cli

SHIPPED = REPO / "deploy" / "slurm" / "workers.sbatch"


def _directives(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("#SBATCH")]


def test_the_shipped_script_is_the_rendered_default() -> None:
    assert SHIPPED.read_text() == render(SlurmJob()), "regenerate: render(SlurmJob())"
    assert os.access(SHIPPED, os.X_OK)
    assert subprocess.run(["bash", "-n", str(SHIPPED)]).returncode == 0


def test_one_gpu_per_task_a_graceful_signal_and_never_requeued() -> None:
    gpu = _directives(render(SlurmJob("s", workers=8, partition="gpu", time="2-00:00:00")))
    for expected in ("--array=0-7", "--gres=gpu:1", "--partition=gpu", "--no-requeue"):
        assert f"#SBATCH {expected}" in gpu
    assert "#SBATCH --signal=TERM@1800" in gpu and "#SBATCH --export=ALL" in gpu
    cpu = _directives(render(SlurmJob("s", gpus_per_task=0)))
    assert not any("--gres" in d or "--partition" in d for d in cpu)


def test_the_worker_command_parses_with_the_real_parser() -> None:
    job = SlurmJob("s", worker_args=("--data", "/scratch/spark x", "--max-trials", "5"))
    srun = " ".join(render(job).split("exec srun ", 1)[1].split("\\\n"))
    argv = shlex.split(srun.replace('"$STUDY"', "s").replace('"$EXIT_WHEN_IDLE"', "600"))
    args = build_parser().parse_args(argv[2:-1])  # without `--ntasks=1 spacehpo` and "${@:2}"
    assert (args.name, args.data, args.max_trials, args.exit_when_idle_s) == (
        "s",
        "/scratch/spark x",
        5,
        600.0,
    )


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("workers", 0, "--workers"),
        ("time", "3h", "--time"),
        ("partition", "gpu;rm", "--partition"),
        ("study", "a b", "study"),
        ("signal_s", 700, "shorter than --time"),
    ],
)
def test_bad_knobs_are_refused(field: str, value: object, fragment: str) -> None:
    with pytest.raises(HpoError, match=fragment):
        SlurmJob(**{"time": "10", field: value})


def test_slurm_time_formats() -> None:
    assert [time_limit_s(t) for t in ("10", "10:30", "1:00:00", "2-3", "1-0:0:5")] == [
        600,
        630,
        3600,
        183600,
        86405,
    ]
    assert time_limit_s("UNLIMITED") is None


def test_without_a_storage_the_script_says_what_to_export(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPACEHPO_STORAGE"}
    r = subprocess.run(["bash", str(SHIPPED)], capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "export SPACEHPO_STORAGE=" in r.stderr


def test_submit_checks_its_flags_before_sbatch(tmp_path: Path) -> None:
    journal = f"journal:{tmp_path / 'j.log'}"
    assert_one_line_error(run_cli("slurm", "submit", "s", "--time", "3h", "--dry-run"), "--time")
    r = run_cli("slurm", "submit", "nosuch", "--storage", journal)
    assert_one_line_error(r, "no journal file", "j.log")  # and none is made
    assert not (tmp_path / "j.log").exists()
    dry = run_cli("slurm", "submit", "s", "--gpus-per-task", "0", "--dry-run")
    assert dry.returncode == 0 and "#SBATCH --array=0-3" in dry.stdout
    assert not any("--gres" in d for d in _directives(dry.stdout))
