"""Server-side faults: PostgreSQL backends of one database terminated at random with
`pg_terminate_backend`, at times the one holding spacehpo's advisory lock (the study lock)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import sqlalchemy

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1/postgres"
_BACKENDS = sqlalchemy.text(
    "SELECT a.pid, EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid"
    " AND l.locktype = 'advisory' AND l.granted) FROM pg_stat_activity a"
    " WHERE a.datname = :db AND a.pid <> pg_backend_pid()"
)


@dataclass
class BackendKiller:
    """Every `every_s` seconds, terminate one backend of `db`; a lock holder when there is one
    and a coin (`lock_share`) says so. Runs on its own thread between `start()` and `stop()`."""

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
                backends = conn.execute(_BACKENDS, {"db": self.db}).all()
                holders = [pid for pid, holds in backends if holds]
                if holders and self._rng.random() < self.lock_share:
                    pid, holder = self._rng.choice(holders), True
                elif backends:
                    pid, holder = self._rng.choice(backends)[0], False
                else:
                    continue
                if conn.execute(
                    sqlalchemy.text("SELECT pg_terminate_backend(:p)"), {"p": pid}
                ).scalar():
                    self.kills += 1
                    self.lock_holder_kills += holder
