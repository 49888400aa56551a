"""optuna-dashboard under gunicorn, run inside the `spacehpo` process rather than as a
`gunicorn MODULE:APP` command: the storage URL then never travels through a command line, a
config file or an app string that gunicorn would log."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.sync import SyncWorker
from optuna_dashboard import wsgi
from spacehpo.hpo.reports.dashboard_options import DashboardOptions
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.backends import StorageHandle, open_storage

REQUEST_TIMEOUT_S = 120  # a big study's plots take a while; a hung worker is still replaced
STOP_TIMEOUT_S = 5  # SIGTERM waits this long for requests in flight, then the workers go


class CleanStopWorker(SyncWorker):
    """Ctrl-C (SIGINT, or the master's SIGQUIT) ends a worker the way SIGTERM does: after the
    request in flight, through `worker_exit`, which closes its connections. gunicorn's quick
    stop calls `sys.exit` from the signal handler wherever the worker is; a pooled connection
    checked out at that moment was finalised at interpreter teardown, with a traceback."""

    def handle_quit(self, sig: int, frame: object) -> None:
        self.handle_exit(sig, frame)


class DashboardApplication(BaseApplication):
    """`run()` blocks until SIGTERM or SIGINT (Ctrl-C), which gunicorn's master turns into a
    clean stop of every worker and an exit status of 0."""

    def __init__(self, url: str | None, artifacts: str | None, options: DashboardOptions) -> None:
        self._url, self._artifacts, self._options = url, artifacts, options
        self._handle: StorageHandle | None = None
        super().__init__()  # reads load_config(), so the fields above come first

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": [self._options.bind],
            "workers": self._options.workers,
            "timeout": REQUEST_TIMEOUT_S,
            "graceful_timeout": STOP_TIMEOUT_S,
            # load() must run in each worker after the fork, never once in the master, so no
            # SQLAlchemy pool or S3 client is shared between processes
            "preload_app": False,
            "worker_exit": self._close,
            "worker_class": CleanStopWorker,
            # gunicorn 25.1+ opens a management socket by default; a dashboard needs none, and
            # two dashboards on one host would fight over its path
            "control_socket_disable": True,
        }
        for name, value in settings.items():
            if name in self.cfg.settings:  # older gunicorn lacks some of them
                self.cfg.set(name, value)

    def load(self) -> Any:
        self._handle = open_storage(self._url)
        store = open_artifact_store(self._artifacts) if self._artifacts else None
        return wsgi(self._handle.storage, artifact_store=store)

    def _close(self, server: object, worker: object) -> None:
        """Runs in the worker as it exits: its connections end cleanly, not by a dropped socket."""
        if self._handle is not None:
            self._handle.storage.remove_session()  # a session still open returns its connection
            self._handle.close()
