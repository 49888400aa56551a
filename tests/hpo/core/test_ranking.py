"""The ranking rule on hand-made records, because the plan, status, compare and export must all
name the same best trial when the objective ties."""

from optuna.trial import TrialState
from spacehpo.hpo.core.ranking import TrialRecord, best_trial


def test_ties_break_on_centre_then_lower_number() -> None:
    recs = [
        TrialRecord(0, TrialState.COMPLETE, 0, 0, {}, 0.5, 0.7),
        TrialRecord(1, TrialState.COMPLETE, 0, 1, {}, 0.5, 0.8),
        TrialRecord(2, TrialState.COMPLETE, 0, 2, {}, 0.5, 0.8),
        TrialRecord(3, TrialState.PRUNED, 0, 3, {}, 0.9, 0.9),
    ]
    assert best_trial(recs).number == 1
