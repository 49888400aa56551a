"""How one worker process runs: a plain dataclass, checked where it is built, and the flags
that build it (the launcher passes them on to one child per device)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from spacehpo.hpo.core.errors import HpoError
from spacehpo.storage.liveness import DEFAULT_GRACE_S, DEFAULT_HEARTBEAT_S

# WorkerConfig field -> the `spacehpo worker` flag that sets it (the CLI builds its flags here).
WORKER_FLAGS = {
    "storage": "--storage",
    "data": "--data",
    "artifacts": "--artifacts",
    "tensorboard": "--tensorboard",
    "trainable": "--trainable",
    "heartbeat_s": "--heartbeat",
    "grace_s": "--grace",
    "poll_s": "--poll",
    "max_trials": "--max-trials",
    "max_outage_s": "--max-outage",
    "exit_when_idle_s": "--exit-when-idle",
    "data_checked": "--data-checked",
}


@dataclass(frozen=True)
class WorkerConfig:
    study: str
    storage: str | None = None
    device: str = "cpu"
    data: str | None = None  # this host's path to the study's dataset, if it differs
    artifacts: str | None = None  # this host's path to the study's artifact store, if it differs
    tensorboard: str | None = None  # this host's path to the study's TensorBoard root, likewise
    trainable: str | None = None  # overrides the study's
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    grace_s: float = DEFAULT_GRACE_S
    poll_s: float = 2.0  # between looks while a stage barrier holds
    max_trials: int | None = None
    max_outage_s: float | None = None  # None: wait out a storage outage of any length
    # A batch job's task frees its GPU after waiting this long at a barrier or an empty queue.
    exit_when_idle_s: float | None = None
    # The dataset fingerprint the launcher already verified on this host, so its children do
    # not each hash the same 88,000 files again.
    data_checked: str | None = None

    def __post_init__(self) -> None:
        for flag, ok in (
            ("--heartbeat", self.heartbeat_s > 0),
            ("--grace", self.grace_s > self.heartbeat_s),
            ("--poll", self.poll_s > 0),
            ("--max-trials", self.max_trials is None or self.max_trials >= 1),
            ("--max-outage", self.max_outage_s is None or self.max_outage_s > 0),
            ("--exit-when-idle", self.exit_when_idle_s is None or self.exit_when_idle_s > 0),
        ):
            if not ok:
                raise HpoError(f"{flag}: must be positive (and --grace above --heartbeat)")

    def to_argv(self) -> list[str]:
        """The flags that give a child `spacehpo worker STUDY` this configuration (no device)."""
        values = asdict(self)
        return [self.study] + [
            f"{flag}={values[name]}"
            for name, flag in WORKER_FLAGS.items()
            if values[name] is not None
        ]
