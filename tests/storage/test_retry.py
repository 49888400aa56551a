"""The retry policy, because workers must wait out an outage and a person must not wait past the
budget."""

import time

import pytest
import sqlalchemy
from spacehpo.storage.errors import StorageError
from spacehpo.storage.retry import Retrier


def test_retry_rides_out_transient_errors() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sqlalchemy.exc.OperationalError(
                "SELECT 1", {}, Exception("server closed the connection")
            )
        return "ok"

    assert Retrier(10, log=lambda _: None).call(flaky, "test") == "ok" and len(calls) == 3


def _cut() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))


def test_a_section_cut_after_progress_starts_again_at_once() -> None:
    """A locked section is retried as a whole; one that reached the storage before its cut met
    a dropped connection, not an outage, so the backoff does not grow (0.5 s each, not
    0.5, 1, 2, 4 s). One that reached nothing backs off as before."""
    slept: list[float] = []
    retrier = Retrier(None, log=lambda _: None, sleep=slept.append)

    def section(progress: bool) -> str:
        with retrier.atomic():
            if progress:
                retrier.call(lambda: "answered", "a read")
            if len(slept) < 4:
                raise _cut()
        return "done"

    assert retrier.call(lambda: section(True), "a section") == "done"
    assert slept == [0.5] * 4
    slept.clear()
    assert retrier.call(lambda: section(False), "a section") == "done"
    assert slept == [0.5, 1.0, 2.0, 4.0]


def test_an_interactive_budget_is_kept() -> None:
    """Port 1 refuses at once: the sleeps must end on the budget (3 s here), not carry it to the
    next doubling (0.5 + 1 + 2 = 3.5 s)."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with pytest.raises(StorageError, match="unreachable for 3 s"):
        Retrier(3, log=lambda _: None, sleep=sleep).call(_refused, "x")
    assert slept[:2] == [0.5, 1.0] and slept[2] <= 1.5 and sum(slept) <= 3.0


def _refused() -> None:
    raise _cut()
