"""A trial's curves, because the pruner, a resumed trial and the reports read the per-epoch values
back from these lists, and a missing metric must hold its epoch's place."""

import math

from optuna.trial import TrialState, create_trial
from spacehpo.hpo.core.curves import CURVES, Curves, curves_of, longest
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC, IOU, SPARK_SCORE


def test_an_epoch_without_a_metric_keeps_its_place_as_nan() -> None:
    first = Curves().appended({CLASS_ACC: 0.5, CENTRE_ACC: 0.7, IOU: 0.1, SPARK_SCORE: 0.3})
    second = first.appended({CLASS_ACC: 0.6, "loss": 1.0})  # no centre, iou or spark score
    assert first.class_acc == [0.5] and second.class_acc == [0.5, 0.6]  # the first is unchanged
    assert second.centre_acc[0] == 0.7 and math.isnan(second.centre_acc[1])
    assert all(len(second.of(name)) == 2 for name in CURVES)


def test_upto_cuts_every_curve_at_the_same_epoch() -> None:
    curves = Curves([0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [0.0, 0.1, 0.2])
    assert curves.upto(2) == Curves([0.1, 0.2], [0.4, 0.5], [0.7, 0.8], [0.0, 0.1])
    assert curves.upto(0) == Curves()


def test_a_trials_curves_are_its_user_attributes() -> None:
    curves = Curves([0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.03, 0.08])
    assert list(curves.lists()) == [CLASS_ACC, CENTRE_ACC, IOU, SPARK_SCORE]
    attrs = {**curves.lists(), "worker": "w1"}
    trial = create_trial(state=TrialState.COMPLETE, value=0.2, user_attrs=attrs)
    assert curves_of(trial) == curves
    partial = create_trial(state=TrialState.COMPLETE, value=0.2, user_attrs={CENTRE_ACC: [0.3]})
    assert curves_of(partial) == Curves(centre_acc=[0.3])


def test_longest_takes_each_curve_from_the_attempt_that_got_further() -> None:
    earlier = Curves([0.1, 0.2, 0.3], [0.4], [], [])
    retry = Curves([0.1], [0.4, 0.5], [0.9], [])
    assert longest(earlier, retry) == Curves([0.1, 0.2, 0.3], [0.4, 0.5], [0.9], [])
    assert longest(retry, earlier) == longest(earlier, retry)
