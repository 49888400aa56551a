"""Which worker processes a host runs: one per GPU by default, else one CPU worker using all
cores. A pure function of the `--devices` flag, the inherited `CUDA_VISIBLE_DEVICES` and what
torch sees, so every rule is tested without a GPU.

An inherited `CUDA_VISIBLE_DEVICES` (Slurm, Kubernetes, docker) is kept: each child gets one
entry of it, and explicit ids index into it the way CUDA does.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.trainable import WORKERS_ON_DEVICE

VISIBLE = "CUDA_VISIBLE_DEVICES"
_UUID = re.compile(r"^(GPU|MIG)-[0-9A-Za-z/-]+$")
_USAGE = "use all, GPU ids like 0,1, GPU-/MIG- UUIDs, or cpu[:N]"


@dataclass(frozen=True)
class WorkerSlot:
    device: str  # the child's --device: cuda or cpu
    env: dict[str, str] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class DevicePlan:
    slots: list[WorkerSlot]
    why: str  # the launcher's first log line


def visible_entries(visible: str | None, gpus: int) -> list[str]:
    if visible is None:
        return [str(i) for i in range(gpus)]
    return [e.strip() for e in visible.split(",") if e.strip()][:gpus]


def plan_workers(devices: str | None, visible: str | None, gpus: int, cores: int) -> DevicePlan:
    entries = visible_entries(visible, gpus)
    source = f"{VISIBLE}={visible} inherited" if visible is not None else "all visible"
    if devices is None and not entries:
        return _cpu_plan(1, cores, "no GPU visible")
    if devices in (None, "all"):
        if not entries:
            raise HpoError(f"--devices all: no GPU visible ({source}); use cpu[:N]")
        return _gpu_plan(entries, f"{len(entries)} GPU worker(s), {source}")
    if devices == "cpu" or devices.startswith("cpu:"):
        return _cpu_plan(_cpu_count(devices), cores, f"--devices {devices}")
    chosen = [_gpu_entry(token.strip(), entries, devices) for token in devices.split(",")]
    return _gpu_plan(chosen, f"{len(chosen)} GPU worker(s) from --devices {devices}")


def _gpu_entry(token: str, entries: list[str], spec: str) -> str:
    if _UUID.match(token):
        return _uuid_entry(token, entries, spec)
    if not token.isdigit():
        raise HpoError(f"--devices {spec!r}: {token!r} is not a device; {_USAGE}")
    if int(token) >= len(entries):
        raise HpoError(
            f"--devices {spec!r}: GPU {token} does not exist here ({len(entries)} visible)"
        )
    return entries[int(token)]


def _uuid_entry(token: str, entries: list[str], spec: str) -> str:
    """A UUID outside an inherited UUID list would reach past what Slurm or Kubernetes gave us."""
    if not entries:
        raise HpoError(f"--devices {spec!r}: no GPU visible here; use cpu[:N]")
    inherited = [e for e in entries if _UUID.match(e)]
    if inherited and not any(e.startswith(token) for e in inherited):
        raise HpoError(
            f"--devices {spec!r}: {token} is not among the inherited {VISIBLE}={','.join(entries)}"
        )
    return token


def _gpu_plan(entries: list[str], why: str) -> DevicePlan:
    per_device = Counter(entries)
    slots = [
        WorkerSlot("cuda", {VISIBLE: e, WORKERS_ON_DEVICE: str(per_device[e])}, f"GPU {e}")
        for e in entries
    ]
    return DevicePlan(slots, why)


def _cpu_count(spec: str) -> int:
    try:
        n = int(spec.split(":", 1)[1]) if ":" in spec else 1
    except ValueError:
        n = 0
    if n < 1:
        raise HpoError(f"--devices {spec!r}: use cpu or cpu:N with N >= 1")
    return n


def _cpu_plan(n: int, cores: int, why: str) -> DevicePlan:
    threads = str(max(1, cores // n))
    env = {VISIBLE: "", "OMP_NUM_THREADS": threads}
    slots = [WorkerSlot("cpu", dict(env), f"CPU ({threads} threads)") for _ in range(n)]
    return DevicePlan(slots, f"{why}: {n} CPU worker(s) with {threads} thread(s) each")
