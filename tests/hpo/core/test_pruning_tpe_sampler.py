from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import DEFAULT_SPACE, staged_plan
from spacehpo.hpo.core.pruning import build_pruner
from spacehpo.hpo.core.ranking import best_point
from spacehpo.hpo.core.record import POINT, REPEAT, records, stage_of
from spacehpo.hpo.core.sampler import StagedGridSampler
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker
from spacehpo.model.metrics import CLASS_ACC

from tests.conftest import run_cli
from tests.hpo.fakes import score
from tests.hpo.studies import create_fake_study, trials_of


def _study_with_curves(curves: list[tuple[list[float], list[float]]]) -> optuna.Study:
    study = optuna.create_study(direction="maximize", pruner=build_pruner("median", 5))
    dist = {"x": FloatDistribution(0, 1)}
    for class_curve, centre_curve in curves:
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                value=max(class_curve),
                params={"x": 0.5},
                distributions=dist,
                intermediate_values=dict(enumerate(class_curve, 1)),
                user_attrs={"centre_acc": centre_curve},
            )
        )
    return study


def _prunes(study: optuna.Study, class_curve: list[float], centre_curve: list[float]) -> bool:
    trial = study.ask()
    for epoch, value in enumerate(class_curve, 1):
        trial.report(value, epoch)
    trial.set_user_attr("centre_acc", centre_curve)
    return trial.should_prune()


FINISHED = [([0.2, 0.4, 0.5], [0.5, 0.6, 0.7])] * 2 + [([0.3, 0.5, 0.6], [0.6, 0.7, 0.8])] * 2


def test_prunes_on_low_class_accuracy() -> None:
    assert _prunes(_study_with_curves(FINISHED), [0.1, 0.2], [0.7, 0.8])


def test_prunes_on_low_centre_accuracy_alone() -> None:
    assert _prunes(_study_with_curves(FINISHED), [0.4, 0.6], [0.3, 0.4])


def test_keeps_a_trial_good_on_both() -> None:
    assert not _prunes(_study_with_curves(FINISHED), [0.4, 0.6], [0.7, 0.8])


def test_no_pruning_during_warmup_or_before_startup_trials() -> None:
    assert not _prunes(_study_with_curves(FINISHED), [0.01], [0.01])  # epoch 1 is warm-up
    assert not _prunes(
        _study_with_curves(FINISHED[:3]), [0.1, 0.1], [0.1, 0.1]
    )  # 3 < 4 finished trials


def test_percentile_and_hyperband_specs() -> None:
    strict = _study_with_curves(FINISHED)
    strict.pruner = build_pruner("percentile:25", 5)  # keeps only the top quarter
    assert _prunes(strict, [0.35, 0.55], [0.6, 0.65])  # centre 0.65 < 75th percentile 0.7
    assert not _prunes(_study_with_curves(FINISHED), [0.35, 0.55], [0.6, 0.65])  # median 0.65: kept
    build_pruner("hyperband", 5)
    with pytest.raises(HpoError):
        build_pruner("percentile:120", 5)


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


def _grid_then_tpe(tmp_path: Path, invert: bool) -> list[optuna.trial.FrozenTrial]:
    storage = f"journal:{tmp_path / 'j.log'}"
    settings = ["--set", "epochs=1"] + (["--set", "invert=true"] if invert else [])
    tmp_path.mkdir(parents=True, exist_ok=True)
    create_fake_study(storage, tmp_path, "--pruner", "none", *settings)
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    assert (
        run_cli(
            "study", "extend", "s", "--tpe", "3", "--seed", "1", "--storage", storage
        ).returncode
        == 0
    )
    run_worker(WorkerConfig("s", storage, poll_s=0.05))
    return trials_of(storage)


def test_tpe_continuation_learns_from_the_grid(tmp_path: Path) -> None:
    normal = _grid_then_tpe(tmp_path / "a", invert=False)
    inverted = _grid_then_tpe(tmp_path / "b", invert=True)
    for trials in (normal, inverted):
        tpe = [t for t in trials if t.user_attrs["stage_name"] == "tpe"]
        assert (
            len(trials) == 25 and len(tpe) == 3 and all(t.state == TrialState.COMPLETE for t in tpe)
        )
        assert (
            tpe[0].distributions == trials[0].distributions
        )  # same space: TPE sees the grid trials
    first = lambda trials: next(t for t in trials if t.user_attrs["stage_name"] == "tpe").params  # noqa: E731
    assert first(normal) != first(inverted)
