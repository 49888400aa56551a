"""Storage-level locks around the few steps that must not run twice at once (plan advancement,
stale-trial recovery). PostgreSQL: a session advisory lock, released by the server if the holder
dies. Journal file: an OS file lock beside the journal, released by the kernel likewise."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from filelock import FileLock
from spacehpo.storage.retry import Retrier


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(
        hashlib.sha256(f"spacehpo:{name}".encode()).digest()[:8], "big", signed=True
    )


class AdvisoryLock:
    """Takes a connection from `engine` while held: pass the storage's own engine, so a worker
    holds no connection of its own for locking (connections are the limit with many workers).

    The server releases the lock when the connection drops, so storage calls inside do not
    retry one by one (`Retrier.atomic`): the caller retries the whole locked section."""

    def __init__(self, engine: sqlalchemy.Engine, retrier: Retrier) -> None:
        self.engine, self.retrier = engine, retrier

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        key = lock_key(name)
        with self.retrier.atomic(), self.engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


class JournalLock:
    def __init__(self, journal: Path) -> None:
        self.journal = journal

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with FileLock(f"{self.journal}.{lock_key(name) & 0xFFFFFFFF:08x}.lock"):
            yield
