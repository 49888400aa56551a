"""The dual-metric pruner on hand-made curves, because a trial must stop on either
accuracy alone, and never during warm-up or before enough trials finished to compare with."""

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.pruning import build_pruner


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
