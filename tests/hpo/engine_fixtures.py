"""A real journal storage with a fake study, for fast in-process tests of the engine's parts and
the reports, and a plan run on paper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import optuna
from optuna.trial import TrialState
from spacehpo.hpo.core.plans import Done, Enqueue, Plan, progress, staged_plan
from spacehpo.hpo.core.ranking import TrialRecord
from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.hpo.engine.claim import claim
from spacehpo.hpo.engine.study import StudySpec, create, load
from spacehpo.storage.backends import StorageHandle, open_storage

FAKE_SPEC = StudySpec(staged_plan(), {"epochs": 3}, "", "none", "tests.hpo.fakes:scored")


def fake_study(tmp_path: Path, spec: StudySpec = FAKE_SPEC) -> tuple[StorageHandle, optuna.Study]:
    """`spec` with its artifact store under `tmp_path`."""
    handle = open_storage(f"journal:{tmp_path / 'j.log'}", create=True)
    study, _ = create(handle, "s", replace(spec, artifacts=str(tmp_path / "artifacts")))
    return handle, optuna.load_study(study_name="s", storage=handle.storage)


def finish_first_two(tmp_path: Path) -> tuple[optuna.Study, StudySpec]:
    """The fake study with stage 1's first two points complete (a class accuracy tie, the
    second with the better centre), the third running and the fourth waiting."""
    handle, study = fake_study(tmp_path)
    spec = load(handle, "s")[1]
    for value, centre in ((0.4, 0.9), (0.4, 0.95)):
        trial = claim(study, handle, spec, "w", lambda _: None).trial
        TrialWriter(trial).result({"class_acc": value, "centre_acc": centre}, {})
        study.tell(trial, value)
    claim(study, handle, spec, "w", lambda _: None)  # one running
    return study, spec


def on_paper(plan: Plan, scores: Callable[[dict], tuple[float, float]]) -> list[TrialRecord]:
    """Run a plan to the end on paper with the real `progress()`: every point completes with
    scores(params) = (objective, tie-break)."""
    records: list[TrialRecord] = []
    while isinstance(action := progress(plan, records), Enqueue):
        for p in action.points:
            value, centre = scores(p.params)
            records.append(
                TrialRecord(
                    len(records),
                    TrialState.COMPLETE,
                    action.stage,
                    p.point,
                    p.params,
                    value,
                    centre,
                )
            )
    assert isinstance(action, Done)
    return records
