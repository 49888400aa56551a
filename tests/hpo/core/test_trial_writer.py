"""The trial writer on a real journal storage, because whatever it writes must read back through
record.py's readers, and the pruner must see the objective's curve at each epoch."""

from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState
from spacehpo.hpo.core.curves import Curves, curves_of
from spacehpo.hpo.core.record import (
    BEST_CENTRE_ACC,
    BEST_IOU,
    DUPLICATE_OF,
    FINAL_TRAIN_LOSS,
    STRAY,
    Checkpoint,
    Fault,
    Position,
    artifacts_of,
    best_metrics_of,
    checkpoint_of,
    epochs_run_of,
    fail_reason_of,
    faults_of,
    is_duplicate,
    is_stray,
    position_of,
    worker_of,
)
from spacehpo.hpo.core.trial_writer import TrialWriter, mark_duplicate, mark_stray
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC
from spacehpo.storage.backends import open_storage
from spacehpo.storage.optuna_access import storage_of, trial_id


def _running(tmp_path: Path) -> tuple[optuna.Study, optuna.Trial]:
    handle = open_storage(f"journal:{tmp_path / 'j.log'}", create=True)
    study = optuna.create_study(study_name="s", storage=handle.storage, direction="maximize")
    return study, study.ask()


def _stored(trial: optuna.Trial) -> FrozenTrial:
    return storage_of(trial.study).get_trial(trial_id(trial))


def test_each_epoch_stores_the_curves_and_reports_the_objective(tmp_path: Path) -> None:
    study, trial = _running(tmp_path)
    writer = TrialWriter(trial)
    curves = Curves([0.4], [0.7], [0.2], [0.28])
    writer.epoch(1, curves, 1, CLASS_ACC)
    curves = Curves([0.4, 0.5], [0.7, 0.6], [0.2, 0.3], [0.28, 0.3])
    writer.epoch(2, curves, 2, CENTRE_ACC)  # another objective reports its own curve
    t = _stored(trial)
    assert curves_of(t) == curves and epochs_run_of(t) == 2
    assert t.intermediate_values == {1: 0.4, 2: 0.6}


def test_a_resumed_trial_replays_its_whole_curve(tmp_path: Path) -> None:
    study, trial = _running(tmp_path)
    earlier = Curves([0.3, 0.4, 0.5], [0.6, 0.7, 0.8])
    TrialWriter(trial).replay(earlier, CLASS_ACC)
    t = _stored(trial)
    assert t.intermediate_values == {1: 0.3, 2: 0.4, 3: 0.5} and curves_of(t) == earlier


def test_what_it_writes_reads_back_through_the_record(tmp_path: Path) -> None:
    study, trial = _running(tmp_path)
    writer = TrialWriter(trial)
    position = Position("staged", 1, "sigma x k", 4, inherited_from=2, attempt=1, retry_of=9)
    writer.position(position)
    writer.worker("host:cuda0")
    writer.checkpoint(Checkpoint("ckpt-abc", 3))
    writer.result({CLASS_ACC: 0.6, CENTRE_ACC: 0.9}, {"model": "m-1"})
    writer.summary({CENTRE_ACC: 0.9}, None)  # a metric not reported, no training loss
    writer.faults([Fault("host:cuda0", "out of memory", "CUDA out of memory")])
    writer.fail_reason("machine fault: OutOfMemoryError")
    t = _stored(trial)
    assert position_of(t) == position and worker_of(t) == "host:cuda0"
    assert checkpoint_of(t) == Checkpoint("ckpt-abc", 3)
    assert best_metrics_of(t) == {CLASS_ACC: 0.6, CENTRE_ACC: 0.9}
    assert artifacts_of(t) == {"model": "m-1"} and t.user_attrs[BEST_CENTRE_ACC] == 0.9
    assert BEST_IOU not in t.user_attrs and FINAL_TRAIN_LOSS not in t.user_attrs
    assert faults_of(t) == [Fault("host:cuda0", "out of memory", "CUDA out of memory")]
    assert fail_reason_of(t) == "machine fault: OutOfMemoryError"


def test_copies_and_strays_are_marked_for_everyone_to_skip(tmp_path: Path) -> None:
    study, first = _running(tmp_path)
    copy, stray = study.ask(), study.ask()
    for trial in (first, copy):
        TrialWriter(trial).position(Position("staged", 0, "lr x weight_decay", 0))
    mark_duplicate(storage_of(study), trial_id(copy), first.number)
    mark_stray(storage_of(study), trial_id(stray))
    trials = study.get_trials()
    assert [is_duplicate(t) for t in trials] == [False, True, False]
    assert trials[copy.number].user_attrs[DUPLICATE_OF] == first.number
    assert is_stray(trials[stray.number]) and STRAY in trials[stray.number].user_attrs
    assert {t.state for t in trials} == {TrialState.RUNNING}  # marking finishes nothing
