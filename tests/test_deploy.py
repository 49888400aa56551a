"""deploy/slurm/spacehpo-worker.sbatch, run by bash as Slurm would run it (no Slurm here)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SBATCH = REPO / "deploy" / "slurm" / "spacehpo-worker.sbatch"


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SBATCH), *args], capture_output=True, text=True, env=env)


def test_the_job_stops_gracefully_and_is_never_requeued() -> None:
    directives = [line for line in SBATCH.read_text().splitlines() if line.startswith("#SBATCH")]
    assert "#SBATCH --no-requeue" in directives  # a worker exiting 3 must not come back
    assert any(d.startswith("#SBATCH --signal=B:TERM@") for d in directives)  # launcher only


def test_without_a_storage_it_says_what_to_export() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPACEHPO_STORAGE"}
    r = _run("s", env=env)
    assert r.returncode != 0 and "export SPACEHPO_STORAGE=" in r.stderr


@pytest.mark.slow
def test_it_runs_the_launcher_with_the_study_and_flags(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SPACEHPO_STORAGE": f"journal:{tmp_path / 'j.log'}",
    }
    r = _run("nosuch", "--devices", "cpu:1", env=env)
    assert r.returncode == 2 and "no study 'nosuch'" in r.stderr, r.stderr
