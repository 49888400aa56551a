"""The compare report's tables, because its stage winners must be the ones the plan inherited from,
shown with stages counted from one."""

from optuna.trial import TrialState
from spacehpo.hpo.core.record import Position
from spacehpo.hpo.reports.compare_html import stage_winner_rows
from spacehpo.model.metrics import CLASS_ACC

from tests.hpo.studies import made_study, made_trial


def test_stage_winners_follow_the_ranking_rule_and_show_stages_from_one() -> None:
    study = made_study(
        "s",
        [
            made_trial(TrialState.COMPLETE, 0.6, 0.5, position=Position("staged", 0, "a", 0)),
            made_trial(
                TrialState.COMPLETE, 0.6, 0.7, position=Position("staged", 0, "a", 1), k=6.0
            ),
            made_trial(
                TrialState.PRUNED, curves={1: (0.9, 0.9)}, position=Position("staged", 1, "b", 0)
            ),
        ],
    )
    rows = stage_winner_rows(study, CLASS_ACC)
    assert [(r["stage"], r["winner"], r[CLASS_ACC], r["k"]) for r in rows] == [
        ("1 a", "#1", 0.6, "6")
    ]
