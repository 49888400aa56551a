"""StagedGridSampler in one process, because `study.optimize` must walk the same staged
plan, repeats included, that the workers walk."""

from collections import Counter

import optuna
from spacehpo.hpo.core.plans import DEFAULT_SPACE, staged_plan
from spacehpo.hpo.core.ranking import best_point
from spacehpo.hpo.core.record import POINT, REPEAT, records, stage_of
from spacehpo.hpo.core.sampler import StagedGridSampler
from spacehpo.model.metrics import CLASS_ACC

from tests.hpo.fakes import score


def test_staged_grid_sampler_runs_the_plan_in_one_process() -> None:
    study = optuna.create_study(
        direction="maximize", sampler=StagedGridSampler(staged_plan(), CLASS_ACC)
    )
    study.optimize(
        lambda t: score(
            {n: t.suggest_float(n, r.low, r.high, log=r.log) for n, r in DEFAULT_SPACE.items()}
        )[0]
    )
    assert len(study.trials) == 22
    assert [stage_of(t) for t in study.trials] == [0] * 4 + [1] * 9 + [2] * 9
    assert study.best_params == {
        "lr": 3e-4,
        "weight_decay": 1e-5,
        "sigma": 0.7,
        "k": 6.0,
        "box_weight": 8.0,
    }


def test_staged_grid_sampler_runs_each_point_once_per_repeat() -> None:
    study = optuna.create_study(
        direction="maximize", sampler=StagedGridSampler(staged_plan(), CLASS_ACC, repeats=2)
    )

    def noisy(t: optuna.Trial) -> float:
        params = {n: t.suggest_float(n, r.low, r.high, log=r.log) for n, r in DEFAULT_SPACE.items()}
        return score(params)[0] + 0.001 * t.user_attrs[REPEAT]

    study.optimize(noisy)
    assert len(study.trials) == 44
    runs = Counter((stage_of(t), t.user_attrs[POINT], t.user_attrs[REPEAT]) for t in study.trials)
    assert set(runs.values()) == {1} and {r for _, _, r in runs} == {0, 1}
    best = best_point(records(study, CLASS_ACC))
    assert best is not None and len(best.values) == 2
    assert best.params == study.best_params
