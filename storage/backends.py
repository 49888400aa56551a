"""Open the Optuna storage a study lives in, with its lock and its liveness mechanism.

- `postgresql://...` (or SPACEHPO_STORAGE): RDBStorage with a small pre-pinged pool and Optuna's
  heartbeat, so trials of a dead worker are detected as stale.
- nothing: the embedded journal file `./spacehpo-runs/journal.log` (JournalFileBackend), safe for
  several worker processes on one host, with a lease attribute in place of the heartbeat.
- `sqlite://` is refused: it cannot serve several worker processes safely.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import FrozenTrial, TrialState
from spacehpo.storage.errors import StorageError
from spacehpo.storage.locks import AdvisoryLock, JournalLock
from spacehpo.storage.retry import retrying
from spacehpo.storage.urls import normalise_postgres_url, redact

DEFAULT_RUNS_DIR = Path("spacehpo-runs")
LEASE_ATTR = "spacehpo:lease"
OnStale = Callable[[optuna.Study, FrozenTrial], None]


@dataclass(frozen=True)
class Liveness:
    """How a worker says "still alive" for its trial, and how others find trials of dead workers."""

    storage: BaseStorage
    interval_s: float
    grace_s: float
    on_stale: OnStale | None

    def beat(self, trial_id: int) -> None:
        if isinstance(self.storage, RDBStorage):
            self.storage.record_heartbeat(trial_id)
        else:
            self.storage.set_trial_system_attr(trial_id, LEASE_ATTR, time.time())

    def fail_stale(self, study: optuna.Study) -> None:
        """Mark trials whose worker went silent as FAIL and hand each to `on_stale` (requeue)."""
        if isinstance(self.storage, RDBStorage):
            optuna.storages.fail_stale_trials(study)
            return
        now = time.time()
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            lease = trial.system_attrs.get(
                LEASE_ATTR, trial.datetime_start.timestamp() if trial.datetime_start else now
            )
            if now - lease <= self.grace_s:
                continue
            self.storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            if self.on_stale is not None:
                self.on_stale(study, self.storage.get_trial(trial._trial_id))


@dataclass(frozen=True)
class StorageHandle:
    storage: BaseStorage
    display: str  # safe to print: the password is ***
    url: str | None  # normalised; holds the password: never print it
    lock: AdvisoryLock | JournalLock
    liveness: Liveness
    runs_dir: Path

    def close(self) -> None:
        self.lock.close()
        if isinstance(self.storage, RDBStorage):
            self.storage.engine.dispose()


def resolve_url(url: str | None) -> str | None:
    return url or os.environ.get("SPACEHPO_STORAGE") or None


def open_storage(
    url: str | None = None,
    runs_dir: Path = DEFAULT_RUNS_DIR,
    heartbeat_s: float = 10.0,
    grace_s: float = 60.0,
    on_stale: OnStale | None = None,
    retry_budget_s: float | None = None,
) -> StorageHandle:
    """`retry_budget_s`: how long to ride out an unreachable server (default SPACEHPO_RETRY_S or 120 s)."""
    url = resolve_url(url)
    if retry_budget_s is None:
        retry_budget_s = float(os.environ.get("SPACEHPO_RETRY_S", "120"))
    if url is None or url.startswith("journal:") or url.endswith(".log"):
        path = Path(url.removeprefix("journal:")) if url else runs_dir / "journal.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(path)))
        return StorageHandle(
            storage,
            f"journal file {path}",
            None,
            JournalLock(path),
            Liveness(storage, heartbeat_s, grace_s, on_stale),
            path.parent,
        )
    if url.startswith("sqlite"):
        raise StorageError(
            "SQLite cannot serve several worker processes safely: use postgresql://... "
            "or omit --storage for the embedded journal file"
        )
    if not url.startswith(("postgresql", "postgres://")):
        raise StorageError(
            f"unsupported storage URL {redact(url)!r}: use postgresql://USER:PASSWORD@HOST/DB"
        )
    url = normalise_postgres_url(url)

    def connect() -> RDBStorage:
        # Optuna creates its tables on first use, and two processes doing so at once on a fresh
        # database collide (duplicate pg_type); the advisory lock makes the first one do it alone.
        bootstrap = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        try:
            with AdvisoryLock(bootstrap).hold("optuna-schema"):
                return RDBStorage(
                    url,
                    engine_kwargs={
                        "pool_size": 2,
                        "max_overflow": 2,
                        "pool_pre_ping": True,
                        "pool_recycle": 300,
                    },
                    heartbeat_interval=max(1, round(heartbeat_s)),
                    grace_period=max(2, round(grace_s)),
                    heartbeat_stale_trial_callback=on_stale,
                )
        finally:
            bootstrap.dispose()

    storage = retrying(connect, f"connecting to {redact(url)}", retry_budget_s)
    return StorageHandle(
        storage,
        redact(url),
        url,
        AdvisoryLock(storage.engine),
        Liveness(storage, heartbeat_s, grace_s, on_stale),
        runs_dir,
    )
