"""Claiming on a real journal storage: stage enqueueing, compare-and-set, TPE slots."""

from pathlib import Path

import optuna
from optuna.trial import TrialState
from spacehpo.hpo.core.plans import Wait
from spacehpo.hpo.core.record import (
    DUPLICATE_OF,
    STRAY,
    copies_of,
    is_duplicate,
    params_of,
    position_of,
    records,
)
from spacehpo.hpo.engine.claim import Claimed, claim, sweep_strays, take_waiting
from spacehpo.hpo.engine.study import TpeExtension

from tests.hpo.engine_fixtures import FAKE_SPEC, fake_study


def _log(_: str) -> None:
    pass


def test_first_claim_enqueues_stage_one_and_takes_its_first_point(tmp_path: Path) -> None:
    handle, study = fake_study(tmp_path)
    got = claim(study, handle, FAKE_SPEC, "w", _log)
    assert isinstance(got, Claimed) and got.trial.number == 0
    trials = study.get_trials()
    assert len(trials) == 4 and [t.state for t in trials].count(TrialState.WAITING) == 3
    assert [position_of(t).point for t in trials] == [0, 1, 2, 3]


def test_a_claimed_trial_cannot_be_taken_twice(tmp_path: Path) -> None:
    handle, study = fake_study(tmp_path)
    claim(study, handle, FAKE_SPEC, "w", _log)
    taken = [take_waiting(study, handle.liveness, "w").number for _ in range(3)]
    assert taken == [1, 2, 3] and take_waiting(study, handle.liveness, "w") is None


def test_barrier_then_tpe_slots(tmp_path: Path) -> None:
    spec = FAKE_SPEC.extend(TpeExtension(2))
    handle, study = fake_study(tmp_path, spec)
    for _ in range(4):
        claim(study, handle, spec, "w", _log)
    assert isinstance(claim(study, handle, spec, "w", _log), Wait)  # stage 2 waits for stage 1
    assert spec.tpe_trials == 2 and spec.total_trials == 24


def _copy_of(study: optuna.Study, number: int) -> None:
    """What Optuna's retried create leaves after an in-doubt commit: the same enqueue again."""
    original = study.get_trials()[number]
    attrs = {k: v for k, v in original.user_attrs.items()}
    study.enqueue_trial(params_of(original), user_attrs=attrs)


def test_a_copy_of_a_plan_position_is_cancelled_where_it_would_be_claimed(tmp_path: Path) -> None:
    handle, study = fake_study(tmp_path)
    claim(study, handle, FAKE_SPEC, "w", _log)  # stage 1 enqueued, point 0 taken
    _copy_of(study, 0)  # a copy of the RUNNING point 0
    _copy_of(study, 2)  # a copy of the WAITING point 2
    taken = [take_waiting(study, handle.liveness, "w").number for _ in range(3)]
    assert taken == [1, 2, 3] and take_waiting(study, handle.liveness, "w") is None
    copies = {t.number: t for t in study.get_trials() if is_duplicate(t)}
    assert {n: t.user_attrs[DUPLICATE_OF] for n, t in copies.items()} == {4: 0, 5: 2}
    assert all(t.state == TrialState.FAIL for t in copies.values())
    assert [r.number for r in records(study, None)] == [0, 1, 2, 3]  # never counted


def test_two_copies_of_one_point_count_once(tmp_path: Path) -> None:
    """Copies are told apart by plan position alone, whatever their tokens: the earliest live
    trial of a position stands."""
    handle, study = fake_study(tmp_path)
    claim(study, handle, FAKE_SPEC, "w", _log)
    _copy_of(study, 1)
    _copy_of(study, 1)
    assert copies_of(study.get_trials()) == {4: 1, 5: 1}
    assert [r.number for r in records(study, None)] == [0, 1, 2, 3]


def test_a_stray_running_trial_outside_the_plan_is_swept(tmp_path: Path) -> None:
    """A TPE trial's copy from Optuna's retried create: RUNNING, no position, no heartbeat."""
    handle, study = fake_study(tmp_path)
    stray = study.ask()
    sweep_strays(study, grace_s=60.0)
    assert study.get_trials()[0].state == TrialState.RUNNING  # young: it may be being made
    sweep_strays(study, grace_s=0.0)
    swept = study.get_trials()[0]
    assert swept.number == stray.number and swept.state == TrialState.FAIL
    assert STRAY in swept.user_attrs and records(study, None) == []
