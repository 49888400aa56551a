"""`study list` and `study delete`: what a storage holds, and removing a study with its files."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState
from spacehpo.hpo.core.record import artifact_ids_of, best_with_metrics, study_trials
from spacehpo.hpo.engine.store_marker import marker_id
from spacehpo.hpo.engine.study import ATTR, StudySpec, load
from spacehpo.hpo.reports.status import state_counts
from spacehpo.model.metrics import CLASS_ACC, DEFAULT_OBJECTIVE
from spacehpo.storage.artifacts import open_artifact_store, remove_quietly
from spacehpo.storage.backends import StorageHandle
from spacehpo.storage.optuna_access import study_id


def list_studies(handle: StorageHandle) -> list[dict[str, Any]]:
    rows = []
    for frozen in handle.storage.get_all_studies():
        stored = frozen.user_attrs.get(ATTR)
        spec = StudySpec.from_dict(stored) if stored else None
        objective = spec.objective if spec else DEFAULT_OBJECTIVE
        study = optuna.load_study(study_name=frozen.study_name, storage=handle.storage)
        # a plain Optuna study has no plan positions: all its trials count
        trials = study_trials(study) if spec else study.get_trials(deepcopy=False)
        best, metrics = best_with_metrics(trials, objective) or (None, {})
        counts = state_counts(trials)
        rows.append(
            {
                "study": frozen.study_name,
                "plan": spec.plan.name if spec else "(not spacehpo)",
                "trials": len(trials),
                "complete": counts[TrialState.COMPLETE.name],
                "running": counts[TrialState.RUNNING.name],
                "best class_acc": metrics.get(CLASS_ACC),  # None where no epoch recorded it
                "best trial": best.best.number if best else None,
                "objective": objective,
                "best": best.mean if best else None,  # the objective, mean over repeats
            }
        )
    return rows


def delete_study(handle: StorageHandle, name: str) -> int:
    """Artifacts first, then the study: a failure half way leaves a study that can be deleted
    again, never artifacts nobody can find. Returns the number of artifacts removed."""
    study, spec = load(handle, name)
    store = open_artifact_store(spec.artifacts)
    ids = {a for t in study.get_trials(deepcopy=False) for a in artifact_ids_of(t)}
    for artifact in sorted(ids):
        remove_quietly(store, artifact)
    remove_quietly(store, marker_id(name))
    handle.storage.delete_study(study_id(study))
    return len(ids)
