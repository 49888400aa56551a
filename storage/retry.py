"""Ride out a database restart: retry storage calls with exponential backoff for a bounded time."""

from __future__ import annotations

import time
from collections.abc import Callable
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


def retrying(
    fn: Callable[[], T], what: str, budget_s: float = 120.0, log: Callable[[str], None] = print
) -> T:
    delay, deadline, said = 0.5, time.monotonic() + budget_s, False
    while True:
        try:
            result = fn()
        except TRANSIENT as err:
            if time.monotonic() > deadline:
                reason = redact(str(err).splitlines()[0]) if str(err) else err.__class__.__name__
                raise StorageError(
                    f"{what}: storage unreachable for {budget_s:.0f} s ({reason})"
                ) from None
            if not said:
                log(
                    f"storage unreachable during {what}; retrying with backoff for up to {budget_s:.0f} s"
                )
                said = True
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
        else:
            if said:
                log(f"storage reachable again ({what})")
            return result
