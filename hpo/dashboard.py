"""`spacehpo dashboard`: the real optuna-dashboard on the study storage AND its artifact store, so
checkpoints and pictures show in the trial pages. The dashboard gets a storage object, never the
URL, so the database password cannot reach its pages.

Two servers: optuna-dashboard's own (one process, for one person) and gunicorn (several worker
processes, for a team behind an SSH tunnel or a reverse proxy)."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna_dashboard import run_server
from spacehpo.hpo.errors import HpoError
from spacehpo.hpo.study import ATTR, StudySpec
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.backends import StorageHandle, open_storage

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


def artifact_location(handle: StorageHandle, override: str | None) -> str | None:
    """The studies' own artifact store (they record it at creation) unless one is given."""
    if override:
        return override
    for summary in optuna.get_all_study_summaries(handle.storage, include_best_trial=False):
        if ATTR in summary.user_attrs:
            return StudySpec.from_dict(summary.user_attrs[ATTR]).artifacts
    return None


def banner(options: DashboardOptions, display: str, location: str | None) -> str:
    server = f"gunicorn, {options.workers} workers" if options.server == GUNICORN else BUILTIN
    return (
        f"optuna-dashboard ({server}) for {display} on {options.url} "
        f"(artifacts: {location or 'none'}); Ctrl-C stops it"
    )


def serve(url: str | None, options: DashboardOptions) -> None:
    """Gunicorn forks its workers, and a connection pool must not cross a fork: this process
    closes its own connections first and each worker opens the storage again from the URL,
    which stays inside these processes."""
    with open_storage(url) as handle:
        location = artifact_location(handle, options.artifacts)
        store = open_artifact_store(location) if location else None  # a bad store fails here
        print(banner(options, handle.display, location), flush=True)
        if options.server == BUILTIN:
            run_server(handle.storage, host=options.host, port=options.port, artifact_store=store)
            return
    from spacehpo.hpo.dashboard_gunicorn import DashboardApplication

    DashboardApplication(url, location, options).run()
