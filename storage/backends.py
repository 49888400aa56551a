"""Open the Optuna storage a study lives in, with its lock, its liveness and its retry policy.

- `postgresql://...` (or SPACEHPO_STORAGE): RDBStorage with a small pre-pinged pool and Optuna's
  heartbeat table.
- nothing, `journal:PATH` or `PATH.log`: the embedded journal file (default
  `./spacehpo-runs/journal.log`), safe for several worker processes on one host.
- `sqlite://` is refused: it cannot serve several worker processes safely.

Every storage call goes through `RetryingStorage`, so an outage is ridden out everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import optuna
import sqlalchemy
from optuna.storages import RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from spacehpo.storage.errors import StorageError
from spacehpo.storage.liveness import (
    DEFAULT_GRACE_S,
    DEFAULT_HEARTBEAT_S,
    HeartbeatLiveness,
    LeaseLiveness,
    Liveness,
)
from spacehpo.storage.locks import AdvisoryLock, JournalLock
from spacehpo.storage.retry import INTERACTIVE_OUTAGE_S, Retrier
from spacehpo.storage.retrying import RetryingStorage
from spacehpo.storage.urls import normalise_postgres_url, redact

DEFAULT_JOURNAL = Path("spacehpo-runs", "journal.log")
STORAGE_ENV = "SPACEHPO_STORAGE"
CONNECT_TIMEOUT_S = 5  # per attempt; the retrier decides how long to keep trying
INTERACTIVE_CONNECT_TIMEOUT_S = 2  # libpq's least: a person's 10 s budget holds several tries


@dataclass(frozen=True)
class StorageHandle:
    """Use as a context manager, so the connections are released on every path."""

    storage: RetryingStorage
    display: str  # safe to print: the password is ***
    lock: AdvisoryLock | JournalLock
    liveness: Liveness
    retrier: Retrier
    engine: sqlalchemy.Engine | None = None  # PostgreSQL's connection pool, released on close

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def __enter__(self) -> StorageHandle:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def resolve_url(url: str | None) -> str | None:
    return url or os.environ.get(STORAGE_ENV) or None


def open_storage(
    url: str | None = None,
    retrier: Retrier | None = None,
    heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    grace_s: float = DEFAULT_GRACE_S,
    create: bool = False,
) -> StorageHandle:
    """The default retrier gives up after a few seconds: right for interactive commands;
    workers pass one that waits out outages. Only `create=True` (study create, the demo) may
    make a new journal file: a command that reads says there is none instead."""
    url = resolve_url(url)
    retrier = retrier or Retrier(INTERACTIVE_OUTAGE_S)
    if url is None or url.startswith("journal:") or url.endswith(".log"):
        path = Path(url.removeprefix("journal:")) if url else DEFAULT_JOURNAL
        if not create and not path.is_file():
            raise StorageError(
                f"no journal file {path}: no study has been created there "
                f"(give --storage, or set {STORAGE_ENV})"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = RetryingStorage(JournalStorage(JournalFileBackend(str(path))), retrier)
        liveness = LeaseLiveness(storage, retrier, heartbeat_s, grace_s)
        return StorageHandle(storage, f"journal file {path}", JournalLock(path), liveness, retrier)
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
    timeout = CONNECT_TIMEOUT_S if retrier.max_outage_s is None else INTERACTIVE_CONNECT_TIMEOUT_S
    rdb = retrier.call(
        lambda: _connect(url, heartbeat_s, grace_s, timeout), f"connecting to {redact(url)}"
    )
    storage = RetryingStorage(optuna.storages.get_storage(rdb), retrier)
    liveness = HeartbeatLiveness(storage, retrier, heartbeat_s, grace_s)
    lock = AdvisoryLock(rdb.engine, retrier)
    return StorageHandle(storage, redact(url), lock, liveness, retrier, rdb.engine)


def _connect(url: str, heartbeat_s: float, grace_s: float, timeout_s: int) -> RDBStorage:
    # Optuna creates its tables on first use, and two processes doing so at once on a fresh
    # database collide (duplicate pg_type); the advisory lock makes the first one do it alone.
    connect_args = {"connect_timeout": timeout_s}
    bootstrap = sqlalchemy.create_engine(
        url, poolclass=sqlalchemy.pool.NullPool, connect_args=connect_args
    )
    try:
        with AdvisoryLock(bootstrap, Retrier(0)).hold("optuna-schema"):
            return RDBStorage(
                url,
                engine_kwargs={
                    "pool_size": 2,
                    "max_overflow": 2,
                    "pool_pre_ping": True,
                    "pool_recycle": 300,
                    "connect_args": connect_args,
                },
                heartbeat_interval=max(1, round(heartbeat_s)),
                grace_period=max(2, round(grace_s)),
            )
    finally:
        bootstrap.dispose()
