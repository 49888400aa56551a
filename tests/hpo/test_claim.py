"""Claiming on a real journal storage: stage enqueueing, compare-and-set, TPE slots."""

from pathlib import Path

from optuna.trial import TrialState
from spacehpo.hpo.claim import Claimed, claim, take_waiting
from spacehpo.hpo.plans import Wait
from spacehpo.hpo.record import position_of
from spacehpo.hpo.study import TpeExtension

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
