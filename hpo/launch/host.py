"""`spacehpo worker STUDY [--devices ...]`: one worker process per device (see `devices.py`).

Ctrl-C reaches every child (same process group); the parent also forwards SIGTERM, so
`docker compose down` and Slurm hand every trial back. A child is never restarted here: one
that exits 3 (`faults.EXIT_FAULTY_HOST`) has found its device faulty, and the others go on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from spacehpo.hpo.engine.worker_env import log
from spacehpo.hpo.launch.devices import VISIBLE, DevicePlan, plan_workers


def gpu_count() -> int:
    import torch  # respects an inherited CUDA_VISIBLE_DEVICES

    return torch.cuda.device_count()


def usable_cores() -> int:
    """The cores this process may run on: a Slurm task's or a container's cpuset, not the node's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def host_plan(devices: str | None) -> DevicePlan:
    return plan_workers(devices, os.environ.get(VISIBLE), gpu_count(), usable_cores())


def launch(worker_args: list[str], plan: DevicePlan) -> int:
    """Start one `spacehpo worker ... --device D` per slot; exit code: the worst child's."""
    log(f"starting {plan.why}")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "spacehpo.cli", "worker", *worker_args, "--device", slot.device],
            env={**os.environ, **slot.env},
        )
        for slot in plan.slots
    ]

    def forward(signum: int, frame: Any) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, lambda s, f: None)  # the children got it from the terminal
    try:
        codes = [exit_status(p.wait()) for p in procs]
    finally:  # the caller's handlers again: a library call leaves the process as it found it
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    for slot, code in zip(plan.slots, codes, strict=True):
        if code:
            log(f"the worker on {slot.label} exited with {code}")
    return max(codes)


def exit_status(returncode: int) -> int:
    """A child killed by signal N reads as 128 + N, as a shell reports it (not -N)."""
    return 128 - returncode if returncode < 0 else returncode
