"""A private PostgreSQL server for the tests that stop one: its own data directory and port, run
as the `postgres` user, so stopping it never pulls the shared server from under other tests
(or from under a second pytest process running beside this one)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
    return str(versions[-1] / "bin" / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateServer:
    """`start()`, `stop()` and `restart()` act on the real server process (`pg_ctl`)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="spacehpo-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def _as_postgres(self, *argv: str, check: bool = True) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=check,
            capture_output=True,
            cwd="/",
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )

    def _ctl(self, action: str, *extra: str, check: bool = True) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._as_postgres(
            _bin("pg_ctl"), action, "-D", str(self.data), "-o", options, "-l", log, "-w", *extra,
            check=check,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")
        deadline = time.monotonic() + 30
        while subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        ).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"private PostgreSQL on {self.port} did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        self._ctl("stop")

    def restart(self) -> None:
        self._ctl("restart")

    def close(self) -> None:
        """Stops at once whatever state the test left it in (already stopped is fine)."""
        self._ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
