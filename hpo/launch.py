"""`spacehpo worker NAME --devices 0,1,2,3 | cpu[:N]`: one worker process per device.

GPU workers see one GPU each through CUDA_VISIBLE_DEVICES; CPU workers split the cores.
Ctrl-C reaches every child (same process group); the parent also forwards SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from spacehpo.hpo.errors import HpoError


def parse_devices(spec: str) -> list[tuple[str, dict[str, str]]]:
    """`0,1` -> [("cuda", {CUDA_VISIBLE_DEVICES: "0"}), ...]; `cpu:2` -> two CPU workers."""
    cores = os.cpu_count() or 1
    if spec == "cpu" or spec.startswith("cpu:"):
        try:
            n = int(spec.split(":", 1)[1]) if ":" in spec else 1
        except ValueError:
            n = 0
        if n < 1:
            raise HpoError(f"--devices {spec!r}: use cpu or cpu:N with N >= 1")
        threads = str(max(1, cores // n))
        return [("cpu", {"OMP_NUM_THREADS": threads, "CUDA_VISIBLE_DEVICES": ""}) for _ in range(n)]
    ids = [d.strip() for d in spec.split(",")]
    if not ids or not all(d.isdigit() for d in ids):
        raise HpoError(f"--devices {spec!r}: use GPU ids like 0,1,2,3 or cpu[:N]")
    return [("cuda", {"CUDA_VISIBLE_DEVICES": d}) for d in ids]


def launch(worker_args: list[str], devices: str) -> int:
    """Start one `spacehpo worker ... --device D` per device; exit code: the worst child's."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "spacehpo.hpo.cli", "worker", *worker_args, "--device", device],
            env={**os.environ, **env},
        )
        for device, env in parse_devices(devices)
    ]

    def forward(signum: int, frame: Any) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, lambda s, f: None)  # the children got it from the terminal
    codes = [p.wait() for p in procs]
    return max(codes, key=abs)
