"""The trial record on hand-made trials: positions, curves, resume points, params."""

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from spacehpo.hpo.core.curves import Curves
from spacehpo.hpo.core.record import (
    Checkpoint,
    Position,
    Queued,
    ResumePoint,
    artifact_ids_of,
    enqueue,
    params_of,
    position_of,
    resume_after,
    resume_of,
    retry_of,
    stage_of,
)

DIST = {"lr": FloatDistribution(1e-5, 1e-2, log=True)}


def _failed(attrs: dict, values: dict[int, float]) -> optuna.trial.FrozenTrial:
    return create_trial(
        state=TrialState.FAIL,
        params={"lr": 3e-4},
        distributions=DIST,
        user_attrs=attrs,
        intermediate_values=values,
    )


def test_position_round_trips_and_shows_stages_from_one() -> None:
    pos = Position("staged", 1, "sigma x k", 4, inherited_from=3)
    t = create_trial(state=TrialState.COMPLETE, value=0.5, user_attrs=pos.attrs())
    assert position_of(t) == pos and pos.label == "2 sigma x k"
    assert "retry_of" not in pos.attrs()


def test_the_stage_attribute_is_the_label_users_read() -> None:
    attrs = Position("staged", 0, "lr x weight_decay", 2).attrs()
    assert next(iter(attrs.items())) == ("stage", "1 lr x weight_decay")  # shown on top
    assert stage_of(create_trial(state=TrialState.COMPLETE, value=0.5, user_attrs=attrs)) == 0


def test_resume_after_keeps_curves_up_to_the_checkpoint() -> None:
    attrs = {
        **Position("staged", 0, "a", 1).attrs(),
        "class_acc": [0.5, 0.6, 0.7],
        "centre_acc": [0.1, 0.2, 0.3],
        "iou": [0.0, 0.1, 0.2],
        "checkpoint": {"artifact": "ck-e2", "epoch": 2},
    }
    resume = resume_after(_failed(attrs, {1: 0.5, 2: 0.6, 3: 0.7}))
    assert resume == ResumePoint(Checkpoint("ck-e2", 2), Curves([0.5, 0.6], [0.1, 0.2], [0.0, 0.1]))


def test_a_retry_killed_before_its_first_epoch_keeps_the_earlier_curves() -> None:
    earlier = ResumePoint(Checkpoint("ck-e2", 2), Curves([0.5, 0.6], [0.1, 0.2], [0.0, 0.1]))
    attrs = {**Position("staged", 0, "a", 1, attempt=1).attrs(), "resume": earlier.attrs()}
    failed = _failed(attrs, {1: 0.5, 2: 0.6})  # replayed class values, no centre curve yet
    assert resume_of(failed) == earlier and resume_after(failed) == earlier


def test_retry_counts_attempts_and_points_at_the_first_try() -> None:
    attrs = {**Position("staged", 2, "c", 5, attempt=1, retry_of=7).attrs()}
    queued = retry_of(_failed(attrs, {}), counts_as_retry=True)
    assert queued.position.attempt == 2 and queued.position.retry_of == 7
    assert retry_of(_failed(attrs, {}), counts_as_retry=False).position.attempt == 1


def test_waiting_trials_have_their_params_and_artifacts_are_listed() -> None:
    study = optuna.create_study()
    enqueue(study, {"lr": 1e-3}, Queued(Position("staged", 0, "a", 0)))
    assert params_of(study.get_trials()[0]) == {"lr": 1e-3}
    t = create_trial(
        state=TrialState.COMPLETE,
        value=1.0,
        user_attrs={
            "artifacts": {"model": "m1"},
            "checkpoint": {"artifact": "c2", "epoch": 2},
            "resume": {"checkpoint": {"artifact": "c1", "epoch": 1}},
        },
    )
    assert sorted(artifact_ids_of(t)) == ["c1", "c2", "m1"]
