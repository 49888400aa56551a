"""`spacehpo slurm submit STUDY`: the study's workers as a Slurm array job, one GPU per task."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from spacehpo.cli import worker
from spacehpo.cli.flags import add_config_flags, storage_flag
from spacehpo.hpo.launch.slurm_job import SlurmJob, render, submit
from spacehpo.storage.backends import DEFAULT_JOURNAL, open_storage, resolve_url

SLURM_FLAG_HELP = {
    "workers": ("array tasks, one worker each", int),
    "gpus_per_task": ("GPUs per task; 0 runs CPU workers without --gres", int),
    "cpus_per_task": ("CPUs per task", int),
    "time": ("time limit per task, in Slurm's format", str),
    "partition": ("partition (default: the cluster's default)", str),
    "signal_s": ("seconds before the time limit when SIGTERM hands trials back", int),
    "exit_when_idle_s": ("a task exits after waiting this long for work", int),
}
# SlurmJob field -> the `slurm submit` flag that sets it.
SLURM_FLAGS = {
    **{name: f"--{name.replace('_', '-')}" for name in SLURM_FLAG_HELP},
    "signal_s": "--signal-before",
    "exit_when_idle_s": "--exit-when-idle",
}


def _spacehpo_command() -> str:
    """This installation's own `spacehpo`, so tasks need no venv on their PATH."""
    beside = Path(sys.executable).parent / "spacehpo"
    return str(beside) if beside.exists() else "spacehpo"


def _storage_url(given: str | None) -> str:
    """An absolute journal path: tasks may start in another directory."""
    url = resolve_url(given) or f"journal:{DEFAULT_JOURNAL}"
    if url.startswith("journal:"):
        return f"journal:{Path(url.removeprefix('journal:')).resolve()}"
    return url


def job_from_args(args: argparse.Namespace) -> SlurmJob:
    """The one place where `slurm submit` flags become a SlurmJob (which checks itself)."""
    given = {n: getattr(args, n) for n in SLURM_FLAG_HELP if getattr(args, n) is not None}
    extra = tuple(shlex.split(args.worker_args or ""))
    return SlurmJob(args.name, spacehpo=_spacehpo_command(), worker_args=extra, **given)


def _check_worker_args(job: SlurmJob) -> None:
    """A misspelt worker flag fails here, once, rather than in every task of the array."""
    parser = argparse.ArgumentParser(prog="spacehpo")
    worker.add_command(
        "worker", parser.add_subparsers(dest="cmd", required=True).add_parser("worker")
    )
    parser.parse_args(["worker", job.study, *job.worker_args])


def _submit(args: argparse.Namespace) -> None:
    job = job_from_args(args)
    _check_worker_args(job)
    if args.dry_run:
        print(render(job), end="")
        return
    url = _storage_url(args.storage)
    with open_storage(url) as handle:
        from spacehpo.hpo.engine.study import load

        load(handle, job.study)  # no study: one line now, not N failed tasks later
    script = args.script or Path(f"spacehpo-{job.study}.sbatch")
    job_id = submit(job, script, url)
    logs = job.output.replace("%A", job_id).replace("%a", "*")
    print(f"submitted job {job_id}: {job.workers} worker(s) for study {job.study!r} ({script})")
    print(f"  watch:    squeue -j {job_id}    logs: {logs}")
    print(f"  progress: spacehpo study status {job.study}")
    print(f"  stop:     scancel --signal=TERM {job_id}    (each worker hands its trial back)")


def add_command(name: str, parser: argparse.ArgumentParser) -> None:
    p = parser.add_subparsers(dest="slurm_cmd", required=True).add_parser(
        "submit",
        help="submit the study's workers as an array job (one GPU per task)",
    )
    p.add_argument("name", help="study name")
    add_config_flags(p, SLURM_FLAG_HELP, SLURM_FLAGS, SlurmJob())
    p.add_argument("--script", type=Path, help="where to write the job script")
    p.add_argument("--dry-run", action="store_true", help="print the script, submit nothing")
    storage_flag(p)
    p.add_argument(
        "--worker-args",
        help="more `spacehpo worker` flags for every task, e.g. '--data /scratch/spark'",
    )
    p.set_defaults(func=_submit)
