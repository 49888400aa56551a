"""The one list of machine faults, the OOM-twice rule and the faulty-host streak."""

import torch
from spacehpo.hpo.core.record import Fault
from spacehpo.hpo.engine.faults import FaultKind, FaultStreak, machine_fault, too_big
from spacehpo.model.errors import ModelError, WeightsMissing


def test_machine_faults_and_trial_faults() -> None:
    assert machine_fault(torch.OutOfMemoryError("CUDA out of memory")) == FaultKind.OUT_OF_MEMORY
    assert machine_fault(RuntimeError("CUDA error: an illegal memory access")) == FaultKind.DEVICE
    assert machine_fault(OSError(28, "No space left on device")) == FaultKind.IO
    assert machine_fault(PermissionError(13, "denied")) == FaultKind.IO
    assert machine_fault(WeightsMissing("resnet18 not cached")) == FaultKind.WEIGHTS
    for trial_fault in (FloatingPointError("nan"), ModelError("loss is nan"), ValueError("bug")):
        assert machine_fault(trial_fault) is None


def test_out_of_memory_on_two_workers_is_too_big() -> None:
    oom = FaultKind.OUT_OF_MEMORY
    assert too_big([Fault("a", oom, ""), Fault("a", oom, "")]) is None
    assert too_big([Fault("a", oom, ""), Fault("b", FaultKind.IO, "")]) is None
    assert too_big([Fault("a", oom, ""), Fault("b", oom, "")]) == ["a", "b"]


def test_streak_counts_different_points_in_a_row() -> None:
    streak = FaultStreak()
    assert not streak.add((0, 1)) and not streak.add((0, 1))
    streak.clear()
    assert not streak.add((0, 2)) and streak.add((1, 0))
