"""`spacehpo worker STUDY`: one worker process per device until the plan is done."""

from __future__ import annotations

import argparse
from dataclasses import replace

from spacehpo.cli.flags import add_config_flags, storage_flag
from spacehpo.hpo.engine.worker_config import WORKER_FLAGS, WorkerConfig

WORKER_FLAG_HELP = {
    "data": ("this host's path to the study's dataset, if it differs", str),
    "artifacts": ("this host's path to the study's artifact store, if it differs", str),
    "tensorboard": ("this host's path to the study's TensorBoard root, if it differs", str),
    "trainable": ("module:function overriding the study's trainable", str),
    "heartbeat_s": ("seconds between liveness beats", float),
    "grace_s": ("seconds of silence after which a trial is stale", float),
    "poll_s": ("seconds between looks while a stage barrier holds", float),
    "max_trials": ("exit after this many trials", int),
    "max_outage_s": ("give up after the storage is unreachable this long (default: never)", float),
    "exit_when_idle_s": ("exit after waiting this long for work (default: wait on)", float),
    "data_checked": ("(set by the launcher) the dataset fingerprint it verified", str),
}


def worker_config_from_args(args: argparse.Namespace, device: str) -> WorkerConfig:
    """The one place where `worker` flags become a WorkerConfig (which checks itself)."""
    given = {name: getattr(args, name) for name in WORKER_FLAGS if getattr(args, name) is not None}
    return WorkerConfig(args.name, device=device, **given)


def _worker(args: argparse.Namespace) -> None:
    if args.device:
        from spacehpo.hpo.engine.worker import run_worker

        run_worker(worker_config_from_args(args, args.device))
        return
    from spacehpo.hpo.engine.worker import check_host_data
    from spacehpo.hpo.launch.host import host_plan, launch

    cfg = worker_config_from_args(args, "cpu")  # checked here, before any child starts
    plan = host_plan(args.devices)
    cfg = replace(cfg, data_checked=check_host_data(cfg))  # hashed once for the whole host
    raise SystemExit(launch(cfg.to_argv(), plan))


def add_command(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="study name")
    storage_flag(p)
    p.add_argument(
        "--devices",
        help="one worker process per device: all, GPU ids 0,1, UUIDs, MIG ids, or cpu[:N] "
        "(default: every visible GPU, else one CPU worker using all cores)",
    )
    p.add_argument("--device", help="run one worker in this process on cpu, cuda or cuda:N")
    add_config_flags(p, WORKER_FLAG_HELP, WORKER_FLAGS, WorkerConfig("-"))
    p.set_defaults(func=_worker)
