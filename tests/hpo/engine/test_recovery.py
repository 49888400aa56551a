"""Re-queueing on a real journal storage: retries, hand-backs, orphans, idempotence."""

from pathlib import Path

from optuna.trial import TrialState
from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.hpo.engine.claim import claim
from spacehpo.hpo.engine.recovery import requeue, requeue_orphans
from spacehpo.storage.optuna_access import storage_of, trial_id

from tests.hpo.engine_fixtures import FAKE_SPEC, fake_study


def _failed_first_trial(tmp_path: Path, reason: str | None):
    handle, study = fake_study(tmp_path)
    trial = claim(study, handle, FAKE_SPEC, "w", lambda _: None).trial
    if reason:
        TrialWriter(trial).fail_reason(reason)
    study.tell(trial, state=TrialState.FAIL)
    return study, storage_of(study).get_trial(trial_id(trial))


def _retries_of(study, number: int) -> list:
    return [t for t in study.get_trials() if t.user_attrs.get("retry_of") == number]


def test_requeue_is_idempotent_and_bounded(tmp_path: Path) -> None:
    study, failed = _failed_first_trial(tmp_path, None)
    assert requeue(study, failed, max_retries=1) and requeue(study, failed, max_retries=1)
    assert len(_retries_of(study, 0)) == 1  # the second call found it done
    study, failed = _failed_first_trial(tmp_path / "bounded", None)
    assert not requeue(study, failed, max_retries=0) and _retries_of(study, 0) == []


def test_orphans_are_requeued_by_their_kind(tmp_path: Path) -> None:
    for reason, attempt in ((None, 1), ("handed back: worker stopped", 0), ("machine fault: x", 1)):
        study, _ = _failed_first_trial(tmp_path / str(attempt) / str(reason is None), reason)
        requeue_orphans(study, max_retries=3)
        assert [t.user_attrs["attempt"] for t in _retries_of(study, 0)] == [attempt]


def test_a_trial_that_raised_stays_failed(tmp_path: Path) -> None:
    study, _ = _failed_first_trial(tmp_path, "FloatingPointError: loss is nan")
    requeue_orphans(study, max_retries=3)
    assert _retries_of(study, 0) == []
