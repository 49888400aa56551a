"""`spacehpo dashboard`'s flags, checked where they enter: the server, its address and its
workers. Its own module so the gunicorn application and the command both read it without
importing each other."""

from __future__ import annotations

from dataclasses import dataclass

from spacehpo.hpo.core.errors import HpoError

BUILTIN, GUNICORN = "builtin", "gunicorn"
SERVERS = (BUILTIN, GUNICORN)
DEFAULT_GUNICORN_WORKERS = 2  # one slow page (a big study's plots) must not block the others


@dataclass(frozen=True)
class DashboardOptions:
    """Checked when built, so a bad flag stops the command before it touches the database."""

    server: str = BUILTIN
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    artifacts: str | None = None

    def __post_init__(self) -> None:
        if self.server not in SERVERS:
            raise HpoError(f"--server {self.server}: use one of {', '.join(SERVERS)}")
        if self.workers < 1:
            raise HpoError(f"--workers {self.workers}: must be 1 or more")
        if self.server == BUILTIN and self.workers != 1:
            raise HpoError(
                f"--workers {self.workers}: the builtin server is one process; "
                f"add --server {GUNICORN}"
            )
        if not 0 < self.port < 65536:
            raise HpoError(f"--port {self.port}: must be 1 to 65535")

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.bind}/"
