"""Opening a storage, because a wrong URL, a server that is down or racing workers must end in one
clear line or a working handle, never a leaked connection."""

import os
import subprocess
import sys

import pytest
import sqlalchemy
from spacehpo.storage.backends import open_storage
from spacehpo.storage.errors import StorageError
from spacehpo.storage.retry import Retrier

from tests.conftest import REPO


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
