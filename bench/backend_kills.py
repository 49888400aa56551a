"""Server-side faults: PostgreSQL backends of one database terminated at random with
`pg_terminate_backend`, at times the one holding spacehpo's advisory lock (the study lock)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1/postgres"
_BACKENDS = sqlalchemy.text(
    "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
)
_HOLDERS = sqlalchemy.text(
    "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE a.datname = :db AND l.locktype = 'advisory' AND l.granted"
)
_TERMINATE = sqlalchemy.text("SELECT pg_terminate_backend(:p)")


@dataclass
class BackendKiller:
    """Every `every_s` seconds (give or take half), terminate one backend of `db`: a holder of an
    advisory lock when a coin (`lock_share`) says so and one shows up within a second, else any.
    Runs on its own thread between `start()` and `stop()`."""

    db: str
    every_s: float = 2.0
    lock_share: float = 0.5
    seed: int = 0
    kills: int = 0
    lock_holder_kills: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._engine = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
        self._thread = threading.Thread(target=self._run, name="backend-killer", daemon=True)

    def start(self) -> BackendKiller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self._rng.uniform(0.5, 1.5) * self.every_s):
            with self._engine.connect() as conn:
                holder = self._rng.random() < self.lock_share
                pid = self._lock_holder(conn) if holder else self._any(conn)
                if pid is not None and conn.execute(_TERMINATE, {"p": pid}).scalar():
                    self.kills += 1
                    self.lock_holder_kills += holder

    def _any(self, conn: sqlalchemy.Connection) -> int | None:
        backends = conn.execute(_BACKENDS, {"db": self.db}).scalars().all()
        return self._rng.choice(backends) if backends else None

    def _lock_holder(self, conn: sqlalchemy.Connection) -> int | None:
        """Locks are held for milliseconds: watch for one for up to a second."""
        for _ in range(50):
            holders = conn.execute(_HOLDERS, {"db": self.db}).scalars().all()
            if holders:
                return self._rng.choice(holders)
            time.sleep(0.02)
        return None
