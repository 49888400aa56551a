"""`spacehpo slurm submit` on a real one-node Slurm (slurmctld + slurmd, started by
scripts/slurm-one-node.sh): CPU array tasks finish a plan, and scancel hands a trial back."""

import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from optuna.trial import TrialState
from spacehpo.hpo.core.record import EPOCHS_RUN, FAIL_REASON, HANDED_BACK, RETRY_OF, WORKER

from tests.conftest import REPO, run_cli
from tests.hpo.studies import create_fake_study, trials_of

SCRIPT = REPO / "scripts" / "slurm-one-node.sh"
TWO_POINTS = """
name = "two"
[[stage]]
name = "lr"
grid = { lr = [1e-4, 3e-4] }
fixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }
"""


@pytest.fixture(scope="module")
def slurm() -> Iterator[None]:
    """Start the daemons when they are down, and stop (by pid) only those started here."""
    r = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True)
    assert r.returncode == 0, f"{r.stdout}{r.stderr}\n(run scripts/test-services.sh)"
    started = r.stdout.strip().splitlines()[-1] != "started: none"
    yield
    if started:
        subprocess.run(["bash", str(SCRIPT), "stop"], check=True)


def _submit(storage: str, cwd: Path, workers: int, worker_args: str, *flags: str) -> str:
    """CPU tasks, 10 min each with SIGTERM 60 s before; `flags` override."""
    r = run_cli(
        "slurm", "submit", "s", "--storage", storage, "--workers", str(workers),
        "--gpus-per-task", "0", "--cpus-per-task", "1", "--time", "10",
        "--signal-before", "60", "--exit-when-idle", "60", "--script", str(cwd / "s.sbatch"),
        "--worker-args", worker_args, *flags, cwd=cwd,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert storage not in (cwd / "s.sbatch").read_text()  # the URL travels in the environment
    return re.search(r"submitted job (\d+)", r.stdout).group(1)


def _wait_gone(job: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        listed = subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True)
        if not listed.stdout.strip():
            return
        time.sleep(0.5)
    subprocess.run(["scancel", job])
    pytest.fail(f"Slurm job {job} still running after {timeout} s")


def _exit_codes(job: str, tasks: int) -> list[str]:
    codes = []
    for task in range(tasks):
        shown = subprocess.run(
            ["scontrol", "show", "job", f"{job}_{task}"], capture_output=True, text=True
        ).stdout
        codes.append(re.search(r"ExitCode=(\S+)", shown).group(1))
    return codes


def test_an_array_of_cpu_workers_finishes_the_staged_plan(
    slurm: None, pg_url: str, tmp_path: Path
) -> None:
    create_fake_study(pg_url, tmp_path, "--set", "epochs=2")
    job = _submit(pg_url, tmp_path, 3, "--poll 0.2 --max-trials 8")
    _wait_gone(job, timeout=150)
    logs = [(tmp_path / f"spacehpo-{job}_{t}.out").read_text() for t in range(3)]
    assert _exit_codes(job, 3) == ["0:0"] * 3, logs
    trials = trials_of(pg_url)
    assert len(trials) == 22 and all(t.state != TrialState.RUNNING for t in trials)
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    per_worker = Counter(t.user_attrs[WORKER] for t in trials)
    assert len(per_worker) == 3 and max(per_worker.values()) <= 8  # --max-trials held


def _running_trial_of(storage: str, log: Path) -> int | None:
    """The trial that the task writing `log` has trained at least one epoch of."""
    pids = set(re.findall(r"^\[[^:]+:(\d+)\]", log.read_text() if log.exists() else "", re.M))
    for t in trials_of(storage):
        running = t.state == TrialState.RUNNING and t.intermediate_values
        if running and t.user_attrs[WORKER].split(":")[1] in pids:
            return t.number
    return None


def test_scancel_hands_the_trial_back_and_another_task_resumes_it(
    slurm: None, pg_url: str, tmp_path: Path
) -> None:
    (tmp_path / "two.toml").write_text(TWO_POINTS)
    plan = str(tmp_path / "two.toml")
    create_fake_study(pg_url, tmp_path, "--plan", plan, "--pruner", "none", "--set", "epochs=4", "--set", "sleep=1.0")  # fmt: skip
    job = _submit(pg_url, tmp_path, 2, "--poll 0.2")
    log, deadline = tmp_path / f"spacehpo-{job}_0.out", time.time() + 90
    while (victim := _running_trial_of(pg_url, log)) is None and time.time() < deadline:
        time.sleep(0.3)
    assert victim is not None, log.read_text()
    subprocess.run(["scancel", f"{job}_0"], check=True)  # what a user types
    _wait_gone(job, timeout=120)
    assert "handed back" in log.read_text(), log.read_text()
    trials = {t.number: t for t in trials_of(pg_url)}
    handed = trials[victim]
    assert handed.state == TrialState.FAIL and handed.user_attrs[FAIL_REASON].startswith(
        HANDED_BACK
    )
    resumed = [t for t in trials.values() if t.user_attrs.get(RETRY_OF) == victim]
    assert len(resumed) == 1 and resumed[0].state == TrialState.COMPLETE
    assert resumed[0].user_attrs[WORKER] != handed.user_attrs[WORKER]  # another task
    trained = handed.user_attrs[EPOCHS_RUN] + resumed[0].user_attrs[EPOCHS_RUN]
    assert trained == 4 and len(resumed[0].intermediate_values) == 4  # resumed, not retrained


def _run_time_s(task: str) -> int:
    shown = subprocess.run(["scontrol", "show", "job", task], capture_output=True, text=True)
    days, _, clock = re.search(r"RunTime=(\S+)", shown.stdout).group(1).rpartition("-")
    h, m, sec = (int(x) for x in clock.split(":"))
    return int(days or 0) * 86400 + h * 3600 + m * 60 + sec


@pytest.mark.timeout(420)
def test_the_time_limit_signal_hands_the_trial_back(
    slurm: None, pg_url: str, tmp_path: Path
) -> None:
    """Submitted for 10 minutes with --signal-before 90. Once the worker trains its trial, the
    test cuts the job's limit so that 60 to 120 s are left: Slurm sends SIGTERM at its next
    check (every 30 s or so), and the worker hands its endless trial back instead of being
    killed. The cut waits for the trial, so a slow host, whose worker may still be importing
    torch 30 s in, never meets the signal before it has a trial to hand back."""
    (tmp_path / "two.toml").write_text(TWO_POINTS)
    plan = str(tmp_path / "two.toml")
    create_fake_study(pg_url, tmp_path, "--plan", plan, "--pruner", "none", "--set", "epochs=1000", "--set", "sleep=0.3")  # fmt: skip
    job = _submit(pg_url, tmp_path, 1, "--poll 0.2", "--time", "10", "--signal-before", "90")
    log, deadline = tmp_path / f"spacehpo-{job}_0.out", time.time() + 150
    while _running_trial_of(pg_url, log) is None and time.time() < deadline:
        time.sleep(0.3)
    assert _running_trial_of(pg_url, log) is not None, log.read_text() if log.exists() else ""
    minutes = _run_time_s(f"{job}_0") // 60 + 2
    subprocess.run(["scontrol", "update", f"JobId={job}_0", f"TimeLimit={minutes}"], check=True)
    _wait_gone(job, timeout=180)
    log_text = log.read_text()
    assert "handed back" in log_text and _exit_codes(job, 1) == ["0:0"], log_text
    states = sorted(t.state.name for t in trials_of(pg_url))
    assert states == ["FAIL", "WAITING", "WAITING"]  # the handed-back copy and the other point
