"""Machine faults against trial faults: the one list of what a broken host looks like.

A machine fault (out of memory, a CUDA error, a failing disk or artifact store, weights this
host lacks) says nothing about the trial's settings: the trial goes back to the queue and
resumes from its checkpoint elsewhere. Anything else (a non-finite loss, a bug) fails the
trial for good. Two exceptions to that: a trial out of memory on two different workers is too
big for the hardware (a configuration fault), and a worker that meets machine faults on two
different trials in a row stops with `EXIT_FAULTY_HOST`, so one bad GPU cannot drain a stage.
"""

from __future__ import annotations

from enum import StrEnum

from spacehpo.hpo.core.record import Fault
from spacehpo.model.errors import WeightsMissing

EXIT_FAULTY_HOST = 3  # documented in the README; compose and Slurm do not restart on it
AVOID_S = 60.0  # how long the faulting worker leaves the re-queued trial to others


class FaultKind(StrEnum):
    OUT_OF_MEMORY = "out of memory"
    DEVICE = "device error"
    IO = "I/O error"
    WEIGHTS = "pretrained weights missing"


def machine_fault(err: BaseException) -> FaultKind | None:
    """The kind of machine fault `err` is, or None for a trial fault."""
    import torch  # loaded by then: a trial ran; the command line need not pay for it

    if isinstance(err, torch.OutOfMemoryError):
        return FaultKind.OUT_OF_MEMORY
    if isinstance(err, torch.AcceleratorError) or (
        isinstance(err, RuntimeError) and "CUDA error" in str(err)
    ):
        return FaultKind.DEVICE
    if isinstance(err, WeightsMissing):
        return FaultKind.WEIGHTS
    if isinstance(err, OSError):  # disk full, read-only, I/O error, permission, lost mount
        return FaultKind.IO
    return None


def too_big(faults: list[Fault]) -> list[str] | None:
    """The workers a trial ran out of memory on, when there are two or more of them."""
    workers = sorted({f.worker for f in faults if f.kind == FaultKind.OUT_OF_MEMORY})
    return workers if len(workers) >= 2 else None


def describe(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{err.__class__.__name__}: {text}" if text else err.__class__.__name__


class FaultyHost(Exception):
    """This worker met machine faults on different trials in a row: exit `EXIT_FAULTY_HOST`."""


class FaultStreak:
    """Machine faults on different plan points in a row; any other outcome ends the streak."""

    LIMIT = 2

    def __init__(self) -> None:
        self.trials: list[tuple[int, int]] = []

    def add(self, point: tuple[int, int]) -> bool:
        """Record a fault on (stage, point); True when this worker should stop."""
        if point not in self.trials:
            self.trials.append(point)
        return len(self.trials) >= self.LIMIT

    def clear(self) -> None:
        self.trials.clear()
