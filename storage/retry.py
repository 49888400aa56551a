"""Ride out database outages: one policy object through which every storage call retries.

Workers wait out an outage of any length (or `max_outage_s`), logging once a minute; interactive
commands give up after a few seconds with one line. The policy also remembers when the storage
last became reachable, so a worker back from an outage does not judge other workers' silence
before they have had a chance to beat again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import optuna
import sqlalchemy.exc
from spacehpo.storage.errors import StorageError
from spacehpo.storage.urls import redact

T = TypeVar("T")
TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    optuna.exceptions.StorageInternalError,
)
INTERACTIVE_OUTAGE_S = 10.0  # status, export, compare, dashboard: a person is waiting
LOG_EVERY_S = 60.0
MAX_DELAY_S = 8.0


def _reason(err: BaseException) -> str:
    return redact(str(err).splitlines()[0]) if str(err) else err.__class__.__name__


@dataclass
class Retrier:
    """`max_outage_s=None` waits for ever. Safe to share between a worker and its heartbeat thread."""

    max_outage_s: float | None = None
    log: Callable[[str], None] = print
    reachable_since: float = field(default_factory=time.monotonic)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def call(self, fn: Callable[[], T], what: str) -> T:
        if getattr(self._local, "atomic", 0):
            return fn()  # the enclosing atomic section is retried as a whole
        start, delay, said = time.monotonic(), 0.5, None
        while True:
            try:
                result = fn()
            except TRANSIENT as err:
                waited = time.monotonic() - start
                if self.max_outage_s is not None and waited >= self.max_outage_s:
                    raise StorageError(
                        f"{what}: storage unreachable for {waited:.0f} s ({_reason(err)})"
                    ) from None
                if said is None or time.monotonic() - said >= LOG_EVERY_S:
                    self.log(f"storage unreachable for {waited:.0f} s during {what}; retrying")
                    said = time.monotonic()
                time.sleep(delay)
                delay = min(delay * 2, MAX_DELAY_S)
            else:
                if said is not None:
                    self.reachable_since = time.monotonic()
                    self.log(f"storage reachable again after {time.monotonic() - start:.0f} s")
                return result

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Inside, calls do not retry one by one: a section under a database lock must start
        over as a whole, because the server drops the lock when the connection drops."""
        self._local.atomic = getattr(self._local, "atomic", 0) + 1
        try:
            yield
        finally:
            self._local.atomic -= 1

    def reachable_for(self) -> float:
        return time.monotonic() - self.reachable_since
