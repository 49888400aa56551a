"""The Slurm recipe: an array job, one task per GPU, each task one `spacehpo worker`.

`render` is the one owner of the script. `spacehpo slurm submit` fills it in for a study, and
`deploy/slurm/workers.sbatch` is `render(SlurmJob())` (a test keeps the two in step). The
storage URL travels in the environment (`--export=ALL`), never in the script.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from spacehpo.hpo.core.errors import HpoError
from spacehpo.storage.backends import STORAGE_ENV

DEFAULT_STUDY = "spark-staged"
# Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (and UNLIMITED).
_TIME = re.compile(r"^(\d+(:\d{1,2}){0,2}|\d+-\d{1,2}(:\d{1,2}){0,2}|UNLIMITED|INFINITE)$")
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


@dataclass(frozen=True)
class SlurmJob:
    study: str = DEFAULT_STUDY
    workers: int = 4  # array tasks: one worker (one GPU) each
    gpus_per_task: int = 1  # 0: CPU workers, no --gres
    cpus_per_task: int = 8  # data loading and the host side of training
    time: str = "24:00:00"
    partition: str | None = None
    # SIGTERM this long before the time limit: enough to finish an epoch and hand back.
    signal_s: int = 1800
    exit_when_idle_s: int = 600  # a task waiting at a stage barrier frees its GPU after this
    spacehpo: str = "spacehpo"  # the command; `submit` gives the absolute path of its own
    worker_args: tuple[str, ...] = field(default_factory=tuple)  # more `spacehpo worker` flags
    output: str = "spacehpo-%A_%a.out"  # %A: the array job id, %a: the task

    def __post_init__(self) -> None:
        for flag, value, ok, hint in (
            ("--workers", self.workers, self.workers >= 1, "at least 1"),
            ("--gpus-per-task", self.gpus_per_task, self.gpus_per_task >= 0, "0 or more"),
            ("--cpus-per-task", self.cpus_per_task, self.cpus_per_task >= 1, "at least 1"),
            ("--time", self.time, bool(_TIME.match(self.time)), "e.g. 90, 12:00:00 or 2-00:00"),
            ("--partition", self.partition, _NAME.match(self.partition or "p"), "a name"),
            ("--signal-before", self.signal_s, self.signal_s >= 1, "seconds, at least 1"),
            ("--exit-when-idle", self.exit_when_idle_s, self.exit_when_idle_s >= 1, "seconds"),
            ("study", self.study, _NAME.match(self.study), "letters, digits, _ . + -"),
        ):
            if not ok:
                raise HpoError(f"slurm submit {flag} {value!r}: not valid (use {hint})")
        limit = time_limit_s(self.time)
        if limit is not None and self.signal_s >= limit:
            # Slurm would send the hand-back signal as soon as the task starts.
            raise HpoError(
                f"slurm submit --signal-before {self.signal_s}: must be shorter than "
                f"--time {self.time} ({limit} s)"
            )


def time_limit_s(time: str) -> int | None:
    """Seconds in a Slurm time limit (a bare number is minutes); None when unlimited."""
    if time in ("UNLIMITED", "INFINITE"):
        return None
    days, _, clock = time.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    if days:  # D-H, D-H:M, D-H:M:S
        h, m, s = (parts + [0, 0])[:3]
    elif len(parts) == 3:  # H:M:S
        h, m, s = parts
    else:  # M, M:S
        h, (m, s) = 0, (parts + [0])[:2]
    return ((int(days or 0) * 24 + h) * 60 + m) * 60 + s


def _directives(job: SlurmJob) -> list[str]:
    gres = [
        "# One GPU per task: Slurm sets CUDA_VISIBLE_DEVICES and the worker uses exactly it.",
        f"#SBATCH --gres=gpu:{job.gpus_per_task}",
    ]
    return [
        f"#SBATCH --job-name=spacehpo-{job.study}",
        "# Tasks 0..N-1, one worker each; sbatch again later to add more.",
        f"#SBATCH --array=0-{job.workers - 1}",
        *(gres if job.gpus_per_task else ["# CPU workers: no --gres."]),
        f"#SBATCH --cpus-per-task={job.cpus_per_task}",
        f"#SBATCH --time={job.time}",
        *([f"#SBATCH --partition={job.partition}"] if job.partition else []),
        f"# SIGTERM {job.signal_s} s before the time limit: the worker finishes its epoch,",
        "# uploads the checkpoint and hands the trial back. Keep it longer than one epoch.",
        f"#SBATCH --signal=TERM@{job.signal_s}",
        "# Never requeued: a worker exits 3 when this node's GPU, disk or mounts keep failing.",
        "#SBATCH --no-requeue",
        "# SPACEHPO_STORAGE comes with the environment, so the password is never in this file.",
        "#SBATCH --export=ALL",
        f"#SBATCH --output={job.output}",
    ]


def render(job: SlurmJob) -> str:
    """The whole script. `sbatch SCRIPT [STUDY [worker flags]]` overrides the study."""
    extra = "".join(f" {shlex.quote(a)}" for a in job.worker_args)
    return "\n".join(
        [
            "#!/bin/bash",
            "# spacehpo workers as a Slurm array job: each task runs one `spacehpo worker`, which",
            "# claims trials of the study until its plan is done. Written by `spacehpo slurm",
            "# submit`; to use it by hand, edit the #SBATCH lines and run:",
            "#   export SPACEHPO_STORAGE=postgresql://USER:PASSWORD@HOST/DB",
            "#   sbatch workers.sbatch [STUDY [more worker flags]]",
            "# Stop one task gracefully: scancel --signal=TERM JOBID_TASK (plain scancel also",
            "# hands back, within the cluster's KillWait).",
            *_directives(job),
            "set -euo pipefail",
            ': "${SPACEHPO_STORAGE:?export SPACEHPO_STORAGE=postgresql://... before sbatch}"',
            f'STUDY="${{1:-{job.study}}}"',
            "# Exit after this long without work (a stage barrier, an empty queue): frees the GPU.",
            f'EXIT_WHEN_IDLE="${{SPACEHPO_EXIT_WHEN_IDLE:-{job.exit_when_idle_s}}}"',
            "# exec: scancel and the time limit reach srun, which passes SIGTERM to the worker.",
            f'exec srun --ntasks=1 {shlex.quote(job.spacehpo)} worker "$STUDY" \\',
            f'    --exit-when-idle "$EXIT_WHEN_IDLE"{extra} "${{@:2}}"',
            "",
        ]
    )


def submit(job: SlurmJob, script: Path, storage_url: str) -> str:
    """Write the script and `sbatch` it; the job id. The URL goes to sbatch's environment only."""
    if not shutil.which("sbatch"):
        raise HpoError("sbatch not found: run this where Slurm's commands are, or use --dry-run")
    try:
        script.write_text(render(job))
    except OSError as err:
        raise HpoError(f"{script}: cannot write the job script ({err.strerror})") from None
    done = subprocess.run(
        ["sbatch", "--parsable", str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, STORAGE_ENV: storage_url},
    )
    if done.returncode:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise HpoError(f"sbatch {script}: {reason}")
    return done.stdout.strip().split(";")[0]  # "ID" or "ID;CLUSTER"
