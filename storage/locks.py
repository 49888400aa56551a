"""Storage-level locks around the few steps that must not run twice at once (plan advancement,
stale-trial recovery). PostgreSQL: a session advisory lock, released by the server if the holder
dies. Journal file: an OS file lock beside the journal, released by the kernel likewise."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from filelock import FileLock
from spacehpo.storage.retry import Retrier


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(
        hashlib.sha256(f"spacehpo:{name}".encode()).digest()[:8], "big", signed=True
    )


@dataclass(frozen=True)
class Held:
    """A held lock. `check()` raises a transient error when the server has dropped the lock
    (its connection was terminated): a section calls it before each write it must not make
    twice, so it stops there and is retried whole, rather than writing on beside the next
    holder. Between a check and the write the lock can still go; docs/engine.md says what
    catches that."""

    check: Callable[[], object]


class AdvisoryLock:
    """Takes a connection from `engine` while held: pass the storage's own engine, so a worker
    holds no connection of its own for locking (connections are the limit with many workers).

    The server releases the lock when the connection drops, so storage calls inside do not
    retry one by one (`Retrier.atomic`): the caller retries the whole locked section."""

    def __init__(self, engine: sqlalchemy.Engine, retrier: Retrier) -> None:
        self.engine, self.retrier = engine, retrier

    @contextmanager
    def hold(self, name: str) -> Iterator[Held]:
        key = lock_key(name)
        with self.retrier.atomic(), self.engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield Held(lambda: conn.execute(sqlalchemy.text("SELECT 1")))
            finally:
                if not conn.invalidated:  # a dropped connection took the lock with it
                    conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


class JournalLock:
    def __init__(self, journal: Path) -> None:
        self.journal = journal

    @contextmanager
    def hold(self, name: str) -> Iterator[Held]:
        with FileLock(f"{self.journal}.{lock_key(name) & 0xFFFFFFFF:08x}.lock"):
            yield Held(lambda: None)  # the kernel drops a file lock only with its process
