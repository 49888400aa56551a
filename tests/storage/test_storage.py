import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy
from spacehpo.storage.artifacts import get_file, open_artifact_store, put_file, remove_quietly
from spacehpo.storage.backends import open_storage
from spacehpo.storage.errors import StorageError
from spacehpo.storage.locks import AdvisoryLock, lock_key
from spacehpo.storage.retry import Retrier
from spacehpo.storage.urls import normalise_postgres_url, redact, scrub

from tests.conftest import REPO, admin_engine


def test_plain_postgresql_urls_use_psycopg2() -> None:
    assert normalise_postgres_url("postgresql://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert normalise_postgres_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_postgres_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"


def test_passwords_are_redacted_everywhere_in_a_text() -> None:
    text = "failed: postgresql://alice:s3cr%40t@db:5432/x and postgresql+psycopg2://bob:pw@h/y"
    assert (
        redact(text)
        == "failed: postgresql://alice:***@db:5432/x and postgresql+psycopg2://bob:***@h/y"
    )
    assert (
        scrub("password s3cr@t rejected", "postgresql://alice:s3cr%40t@db/x")
        == "password *** rejected"
    )


def test_sqlite_and_unknown_urls_are_refused() -> None:
    with pytest.raises(StorageError, match="SQLite cannot serve several worker processes"):
        open_storage("sqlite:///x.db")
    with pytest.raises(StorageError, match="unsupported storage URL 'mysql://u:\\*\\*\\*@h/db'"):
        open_storage("mysql://u:pw@h/db")


def test_unreachable_server_gives_up_with_a_redacted_message() -> None:
    with pytest.raises(StorageError) as err:
        open_storage("postgresql://u:hunter2@127.0.0.1:1/db", Retrier(1))
    assert (
        "hunter2" not in str(err.value)
        and "***" in str(err.value)
        and "unreachable" in str(err.value)
    )


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


def test_concurrent_opens_on_a_fresh_database(pg_url: str) -> None:
    """Optuna's own table creation races; three workers starting together must all succeed."""
    code = f"from spacehpo.storage import open_storage; open_storage({pg_url!r}).close()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-W", "ignore", "-c", code],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    assert [(p.wait(timeout=60), p.stderr.read()[-500:]) for p in procs] == [(0, "")] * 3


def test_advisory_lock_excludes_a_second_holder(pg_url: str) -> None:
    engine = sqlalchemy.create_engine(normalise_postgres_url(pg_url), pool_size=1)
    a, b = (
        AdvisoryLock(engine, Retrier(0)),
        AdvisoryLock(sqlalchemy.create_engine(normalise_postgres_url(pg_url)), Retrier(0)),
    )
    with a.hold("study"), b.engine.connect() as conn:
        got = conn.execute(
            sqlalchemy.text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key("study")}
        ).scalar()
        assert got is False
    with b.hold("study"):
        pass
    a.engine.dispose()
    b.engine.dispose()


def test_a_lock_the_server_dropped_is_noticed_before_the_next_write(pg_url: str) -> None:
    """`pg_terminate_backend` on the holder releases the lock server-side; the section must
    learn it at its next check rather than write on beside the next holder."""
    lock = AdvisoryLock(sqlalchemy.create_engine(normalise_postgres_url(pg_url)), Retrier(0))
    admin = admin_engine()
    with pytest.raises(sqlalchemy.exc.OperationalError), lock.hold("study") as held:
        held.check()  # held: nothing to say
        with admin.connect() as conn:
            holder = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            pid = conn.execute(sqlalchemy.text(holder)).scalar_one()
            conn.execute(sqlalchemy.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        held.check()
    admin.dispose()
    lock.engine.dispose()


def test_journal_lock_serialises_processes(tmp_path: Path) -> None:
    journal = tmp_path / "j.log"
    code = (
        "import sys, time; from pathlib import Path; from spacehpo.storage.locks import JournalLock\n"
        f"with JournalLock(Path({str(journal)!r})).hold('s'):\n"
        "    open(sys.argv[1], 'a').write(f'in {time.time()}\\n'); time.sleep(0.3); open(sys.argv[1], 'a').write(f'out {time.time()}\\n')"
    )
    log = tmp_path / "log"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(log)], env={**os.environ, "PYTHONPATH": str(REPO)}
        )
        for _ in range(3)
    ]
    assert [p.wait(timeout=30) for p in procs] == [0, 0, 0]
    kinds = [line.split()[0] for line in log.read_text().splitlines()]
    assert kinds == ["in", "out"] * 3  # never two holders at once


def test_artifact_round_trip(tmp_path: Path) -> None:
    store = open_artifact_store(str(tmp_path / "artifacts"))
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(1000))
    put_file(store, "x.pt", src)
    assert (
        get_file(store, "x.pt", tmp_path / "b.bin")
        and (tmp_path / "b.bin").read_bytes() == src.read_bytes()
    )
    remove_quietly(store, "x.pt")
    remove_quietly(store, "x.pt")
    assert not get_file(store, "x.pt", tmp_path / "c.bin") and not (tmp_path / "c.bin").exists()
    with pytest.raises(StorageError, match="s3://BUCKET"):
        open_artifact_store("s3://bucket/prefix")


def test_closing_a_handle_returns_its_connections(pg_url: str) -> None:
    """A long-lived process (the dashboard, a launcher) opens and closes handles; none may
    keep a PostgreSQL connection after `close()`."""
    from tests.conftest import admin_engine

    name = pg_url.rsplit("/", 1)[1]
    admin = admin_engine()

    def connections() -> int:
        with admin.connect() as c:
            query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :d"
            return c.execute(sqlalchemy.text(query), {"d": name}).scalar()

    handles = []
    for _ in range(3):
        with open_storage(pg_url) as handle:
            handle.storage.get_all_studies()
        handles.append(handle)  # still referenced: only close() can have released it
    assert connections() == 0
    admin.dispose()


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
