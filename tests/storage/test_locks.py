"""Study locks on PostgreSQL and the journal file, because two holders at once would let two
creates or two stage enqueues both win."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy
from spacehpo.storage.locks import AdvisoryLock, lock_key
from spacehpo.storage.retry import Retrier
from spacehpo.storage.urls import normalise_postgres_url

from tests.conftest import REPO, admin_engine


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
            holder = (  # in this test's database: other tests' workers hold locks of their own
                "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = :db"
            )
            db = sqlalchemy.engine.make_url(pg_url).database
            pid = conn.execute(sqlalchemy.text(holder), {"db": db}).scalar_one()
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
