"""`spacehpo dashboard`: the real optuna-dashboard on the study storage AND its artifact store, so
checkpoints and pictures show in the trial pages. The dashboard gets a storage object, never the
URL, so the database password cannot reach its pages.

Two servers: optuna-dashboard's own (one process, for one person) and gunicorn (several worker
processes, for a team behind an SSH tunnel or a reverse proxy)."""

from __future__ import annotations

import optuna
from optuna_dashboard import run_server
from spacehpo.hpo.engine.study import ATTR, StudySpec
from spacehpo.hpo.reports.dashboard_options import BUILTIN, GUNICORN, DashboardOptions
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.backends import StorageHandle, open_storage


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
    from spacehpo.hpo.reports.dashboard_gunicorn import DashboardApplication  # gunicorn: only here

    DashboardApplication(url, location, options).run()
