"""`StagedGridSampler`: the same plans for plain Optuna users, in one process.

    study = optuna.create_study(direction="maximize", sampler=StagedGridSampler(staged_plan()))
    study.optimize(objective)  # stops by itself when the plan is done

The objective suggests each plan parameter with `suggest_float` and returns class accuracy
(or any score to maximise); to break ties on centre accuracy as the workers do, it sets
`trial.set_user_attr("best_metrics", {"centre_acc": ...})`. Stage logic is `plans.progress`, as in the workers. Several processes
need the workers instead: this sampler, like GridSampler, would hand the same point to two of them.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.plans import Done, Enqueue, Plan, TrialRecord, Wait, progress, validate
from spacehpo.hpo.study import record_of


class StagedGridSampler(BaseSampler):
    def __init__(self, plan: Plan) -> None:
        self.plan = validate(plan)
        self._assigned: dict[int, dict[str, Any]] = {}
        self._queue: list[dict[str, Any]] = []

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
                record_of(t) for t in study.get_trials(deepcopy=False) if t.number != trial.number
            ]
            action = progress(self.plan, others)
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
                {
                    "stage": action.stage,
                    "stage_name": stage.name,
                    "point": i,
                    "params": p,
                    "inherited_from": action.inherited_from,
                }
                for i, p in action.points
            ]
        info = self._queue.pop(0)
        self._assigned[trial.number] = info
        for key in ("stage", "stage_name", "point", "inherited_from"):
            study._storage.set_trial_user_attr(trial._trial_id, key, info[key])
        study._storage.set_trial_user_attr(trial._trial_id, "plan", self.plan.name)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._assigned[trial.number]["params"][param_name]

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Any
    ) -> None:
        if self._queue:
            return
        finished = [
            record_of(t) for t in study.get_trials(deepcopy=False) if t.number != trial.number
        ]
        finished.append(
            TrialRecord(
                trial.number,
                state.name,
                self._assigned[trial.number]["stage"],
                self._assigned[trial.number]["point"],
                self._assigned[trial.number]["params"],
                values[0] if values else None,
                None,
            )
        )
        if isinstance(progress(self.plan, finished), Done):
            study.stop()
