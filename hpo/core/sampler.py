"""`StagedGridSampler`: the same plans for plain Optuna users, in one process.

    sampler = StagedGridSampler(staged_plan(), "class_acc")  # what the objective returns
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective)  # stops by itself when the plan is done

The objective suggests each plan parameter with `suggest_float` and returns class accuracy
(or any score to maximise); to break ties on centre accuracy as the workers do, it records its
best metrics with `TrialWriter(trial).result({"centre_acc": ...}, {})` (hpo/core/trial_writer.py). Stage
logic is `plans.progress`, as in the workers. Several processes need the workers instead: this
sampler, like GridSampler, would hand the same point to two of them.

`StagedGridSampler(plan, "class_acc", repeats=3)` runs every point three times, as `study create --repeats 3`
does: the trial's `repeat` user attribute (0, 1, 2) is for the objective to seed from, and
`ranking.best_point(record.records(study, objective))` ranks the configurations by their mean over repeats
(Optuna's own `best_params` ranks single trials).
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.plans import Done, Enqueue, Plan, Repeats, Wait, progress, validate
from spacehpo.hpo.core.ranking import TrialRecord
from spacehpo.hpo.core.record import Position, record_of
from spacehpo.hpo.core.trial_writer import write_position
from spacehpo.storage.optuna_access import storage_of, trial_id


class StagedGridSampler(BaseSampler):
    def __init__(self, plan: Plan, objective: str, repeats: int = 1) -> None:
        self.plan, self.objective = validate(plan), objective
        self.repeats = Repeats(repeats)
        self._assigned: dict[int, tuple[Position, dict[str, float]]] = {}
        self._queue: list[tuple[Position, dict[str, float]]] = []

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if not self._queue:
            others = [
                record_of(t, self.objective)
                for t in study.get_trials(deepcopy=False)
                if t.number != trial.number
            ]
            action = progress(self.plan, others, self.repeats)
            if isinstance(action, Wait):
                raise RuntimeError(f"StagedGridSampler runs one trial at a time: {action.reason}")
            if isinstance(action, Done):
                study.stop()
                raise RuntimeError(
                    f"the plan is done{': ' + action.reason if action.reason else ''}"
                )
            assert isinstance(action, Enqueue)
            stage = self.plan.stages[action.stage]
            self._queue = [
                (
                    Position(
                        self.plan.name,
                        action.stage,
                        stage.name,
                        p.point,
                        action.inherited_from,
                        repeat=p.repeat,
                    ),
                    p.params,
                )
                for p in action.points
            ]
        position, params = self._queue.pop(0)
        self._assigned[trial.number] = (position, params)
        write_position(storage_of(study), trial_id(trial), position)
        # Optuna hands the objective's Trial this same frozen trial as its cache: without the
        # update, `trial.user_attrs["repeat"]` would be missing until the trial is re-read.
        trial.user_attrs.update(position.attrs())

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._assigned[trial.number][1][param_name]

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Any
    ) -> None:
        if self._queue:
            return
        finished = [
            record_of(t, self.objective)
            for t in study.get_trials(deepcopy=False)
            if t.number != trial.number
        ]
        position, params = self._assigned[trial.number]
        value = values[0] if values else None
        finished.append(
            TrialRecord(
                trial.number,
                state,
                position.stage,
                position.point,
                params,
                value,
                repeat=position.repeat,
            )
        )
        if isinstance(progress(self.plan, finished, self.repeats), Done):
            study.stop()
