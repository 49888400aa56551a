"""What every trial of one worker process shares: the study, its storage and artifact store,
the trainable's settings, this worker's name and device, and the stop flag Ctrl-C sets."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from spacehpo.hpo.engine.study import StudySpec
from spacehpo.storage.artifacts import ArtifactStore
from spacehpo.storage.backends import StorageHandle


def log(message: str) -> None:
    print(f"[{socket.gethostname()}:{os.getpid()}] {message}", flush=True)


def worker_name(device: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{device}"


class StopFlag:
    """Set by the first Ctrl-C or SIGTERM: the epoch finishes, the trial is handed back.

    Only a second Ctrl-C aborts. SIGTERM may arrive several times for one stop (srun forwards
    it and slurmstepd signals every task too; the launcher forwards it to its children), so a
    repeated SIGTERM must not cut the hand-back short.
    """

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.requested = True
        log(
            "stopping: the current epoch finishes and checkpoints, then the trial is handed "
            "back (Ctrl-C again to abort)"
        )


@dataclass
class WorkerEnv:
    study: optuna.Study
    handle: StorageHandle
    spec: StudySpec
    store: ArtifactStore
    settings: dict[str, Any]  # the study's, with this host's data path and fingerprint
    workdir: Path
    device: str
    stop: StopFlag
    name: str = ""
    tensorboard: str | None = (
        None  # this host's path to the study's TensorBoard root, if it differs
    )
    log: Callable[[str], None] = log
    keep: dict[str, Any] = field(default_factory=dict)  # the trainable's, across trials
