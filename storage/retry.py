"""Ride out database outages: one policy object through which every storage call retries.

Workers wait out an outage of any length (or `max_outage_s`), logging once a minute; interactive
commands give up after a few seconds with one line. The policy also remembers when the storage
last became reachable, so a worker back from an outage does not judge other workers' silence
before they have had a chance to beat again.
"""

from __future__ import annotations

import math
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
QUIET_S = 1.0  # a dropped connection that the next try replaces is a blip, not an outage to log
FIRST_DELAY_S, MAX_DELAY_S = 0.5, 8.0


def _reason(err: BaseException) -> str:
    return redact(str(err).splitlines()[0]) if str(err) else err.__class__.__name__


@dataclass
class _Outage:
    start: float
    delay: float = FIRST_DELAY_S
    said: float = -math.inf  # when it was last logged
    failed: bool = False


@dataclass
class Retrier:
    """`max_outage_s=None` waits for ever. Safe to share between a worker and its heartbeat thread."""

    max_outage_s: float | None = None
    log: Callable[[str], None] = print
    reachable_since: float = field(default_factory=time.monotonic)
    last_outage_s: float = math.inf  # how long the last outage lasted; unknown at start
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __getstate__(self) -> dict[str, object]:
        """Picklable like Optuna's own storages; the per-thread state starts afresh."""
        return {k: v for k, v in self.__dict__.items() if k != "_local"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, _local=threading.local())

    def call_checked(self, fn: Callable[[bool], T], what: str) -> T:
        """For a write whose first try may have landed although its reply was lost: `fn(retry)`
        is told whether an earlier try ended in a transient error, so it checks before it writes
        again (docs/engine.md, "in-doubt commits")."""
        tries = 0

        def attempt() -> T:
            nonlocal tries
            tries += 1
            return fn(tries > 1)

        return self.call(attempt, what)

    def call(self, fn: Callable[[], T], what: str) -> T:
        if getattr(self._local, "atomic", 0):
            return self._answered(fn())  # the enclosing atomic section is retried as a whole
        outage = _Outage(time.monotonic())
        while True:
            answers = self._answers()
            try:
                result = fn()
            except TRANSIENT as err:
                if self._answers() > answers:  # answered in between: a cut, not an outage
                    outage.delay = FIRST_DELAY_S
                self._pause(outage, what, err)
            else:
                if outage.failed:
                    self._reached_again(outage, what)
                return self._answered(result)

    def _answers(self) -> int:
        return getattr(self._local, "answers", 0)

    def _answered(self, result: T) -> T:
        """Counts the storage's answers on this thread: a section retried as a whole that made
        progress before its cut starts again at once rather than after a growing backoff."""
        self._local.answers = self._answers() + 1
        return result

    def _pause(self, outage: _Outage, what: str, err: BaseException) -> None:
        outage.failed, waited = True, time.monotonic() - outage.start
        left = math.inf if self.max_outage_s is None else self.max_outage_s - waited
        if left <= 0:
            raise StorageError(
                f"{what}: storage unreachable for {waited:.0f} s ({_reason(err)})"
            ) from None
        if waited >= QUIET_S and time.monotonic() - outage.said >= LOG_EVERY_S:
            self.log(f"storage unreachable for {waited:.0f} s during {what}; retrying")
            outage.said = time.monotonic()
        self.sleep(min(outage.delay, left))  # the last try lands on the budget, not past it
        outage.delay = min(outage.delay * 2, MAX_DELAY_S)

    def _reached_again(self, outage: _Outage, what: str) -> None:
        self.reachable_since = time.monotonic()
        self.last_outage_s = self.reachable_since - outage.start
        if outage.said > -math.inf:
            self.log(f"storage reachable again after {self.last_outage_s:.0f} s")

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
        """Since the last outage ended (or this process started)."""
        return time.monotonic() - self.reachable_since
