"""The ranking rule on hand-made records, because the plan, status, compare and export must all
name the same best trial when the objective ties."""

from optuna.trial import TrialState
from spacehpo.hpo.core.plans import progress, staged_plan
from spacehpo.hpo.core.ranking import TrialRecord, best_point, best_trial


def test_ties_break_on_centre_then_earlier_plan_point() -> None:
    recs = [
        TrialRecord(0, TrialState.COMPLETE, 0, 0, {}, 0.5, 0.7),
        TrialRecord(1, TrialState.COMPLETE, 0, 1, {}, 0.5, 0.8),
        TrialRecord(2, TrialState.COMPLETE, 0, 2, {}, 0.5, 0.8),
        TrialRecord(3, TrialState.PRUNED, 0, 3, {}, 0.9, 0.9),
    ]
    assert best_trial(recs).number == 1


def test_a_full_tie_goes_to_the_earlier_plan_point_even_when_it_was_re_queued() -> None:
    """Point 0 ran out of memory and its retry (trial 5) finished after point 1 (trial 2): the
    timing must not hand point 1 the tie, or the next stage would inherit other params."""
    recs = [
        TrialRecord(0, TrialState.FAIL, 0, 0, {"lr": 1e-4}),
        TrialRecord(2, TrialState.COMPLETE, 0, 1, {"lr": 3e-4}, 0.5, 0.8),
        TrialRecord(5, TrialState.COMPLETE, 0, 0, {"lr": 1e-4}, 0.5, 0.8),
    ]
    assert best_trial(recs).number == 5


def test_a_full_tie_between_repeats_goes_to_the_first_repeat() -> None:
    recs = [
        TrialRecord(4, TrialState.COMPLETE, 1, 2, {}, 0.5, 0.8, repeat=1),
        TrialRecord(7, TrialState.COMPLETE, 1, 2, {}, 0.5, 0.8, repeat=0),
    ]
    assert best_point(recs).best.number == 7


def test_the_next_stage_inherits_the_same_params_whatever_order_ties_finished_in() -> None:
    plan = staged_plan()
    first = progress(plan, [])
    finished_in_order = [
        TrialRecord(n, TrialState.COMPLETE, 0, p.point, p.params, 0.5, 0.8)
        for n, p in enumerate(first.points)
    ]
    numbers_reversed = [
        TrialRecord(10 - r.number, r.state, r.stage, r.point, r.params, r.value, r.tie_break)
        for r in finished_in_order
    ]
    assert progress(plan, finished_in_order).points == progress(plan, numbers_reversed).points
