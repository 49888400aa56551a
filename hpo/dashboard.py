"""`spacehpo dashboard`: the real optuna-dashboard on the study storage AND its artifact store, so
checkpoints and pictures show in the trial pages. The dashboard gets a storage object, never the
URL, so the database password cannot reach its pages."""

from __future__ import annotations

import optuna
from optuna_dashboard import run_server
from spacehpo.hpo.study import ATTR, StudySpec
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.backends import StorageHandle


def artifact_location(handle: StorageHandle, override: str | None) -> str | None:
    """The studies' own artifact store (they record it at creation) unless one is given."""
    if override:
        return override
    for summary in optuna.get_all_study_summaries(handle.storage, include_best_trial=False):
        if ATTR in summary.user_attrs:
            return StudySpec.from_dict(summary.user_attrs[ATTR]).artifacts
    return None


def serve(handle: StorageHandle, host: str, port: int, artifacts: str | None) -> None:
    location = artifact_location(handle, artifacts)
    store = open_artifact_store(location) if location else None
    print(
        f"optuna-dashboard for {handle.display} on http://{host}:{port}/ (artifacts: {location or 'none'}); Ctrl-C stops it",
        flush=True,
    )
    run_server(handle.storage, host=host, port=port, artifact_store=store)
