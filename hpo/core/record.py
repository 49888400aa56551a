"""The trial record: every attribute spacehpo keeps on a trial is named and read here (and
written by `trial_writer.py`, with these names).

Attributes are Optuna user attrs, so optuna-dashboard and `optuna.load_study` show them as is.
A trial's place in the plan (`Position`), its curves (`hpo/core/curves.py`), the checkpoint it can
resume from, its result and how it failed. Everything else in spacehpo goes through the types and functions below.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial
from spacehpo.hpo.core.curves import Curves, curves_of, longest
from spacehpo.hpo.core.plans import duplicates
from spacehpo.hpo.core.ranking import PointResult, TrialRecord, best_point
from spacehpo.model.metrics import CENTRE_ACC, IOU, SPARK_SCORE, TIE_BREAK

PLAN, STAGE_INDEX, STAGE_NAME, POINT = "plan", "stage_index", "stage_name", "point"
INHERITED_FROM, ATTEMPT, RETRY_OF, REPEAT = "inherited_from", "attempt", "retry_of", "repeat"
WORKER, EPOCHS_RUN, CHECKPOINT, RESUME = "worker", "epochs_run", "checkpoint", "resume"
BEST_METRICS, ARTIFACTS, FAIL_REASON = "best_metrics", "artifacts", "fail_reason"
FAULTS, AVOID = "machine_faults", "avoid"
# Exactly once (docs/engine.md): the token one enqueue writes on every copy Optuna's retries
# make of it, the canonical trial a cancelled copy duplicates, and a trial outside the plan.
ENQUEUE_ID, DUPLICATE_OF, STRAY = "enqueue_id", "duplicate_of", "stray"
STAGE = "stage"  # the stage as users read it, "1 lr x weight_decay"; the dashboard shows it
# Scalars of the best epoch, which optuna-dashboard can plot (it cannot plot the lists).
BEST_CENTRE_ACC, BEST_IOU = f"best_{CENTRE_ACC}", f"best_{IOU}"
BEST_SPARK_SCORE, FINAL_TRAIN_LOSS = f"best_{SPARK_SCORE}", "final_train_loss"
_FIXED_PARAMS = "fixed_params"  # Optuna's system attr holding an enqueued trial's params

HANDED_BACK = "handed back"  # fail_reason prefixes; a trial that raised has neither
MACHINE_FAULT = "machine fault"


@dataclass(frozen=True)
class Position:
    """Where a trial sits in its plan. `stage` counts from 0 (stored as `stage_index`) and from 1
    on screen (the label stored as `stage`)."""

    plan: str
    stage: int
    stage_name: str
    point: int
    inherited_from: int | None = None
    attempt: int = 0
    retry_of: int | None = None
    repeat: int = 0  # which run of the point (`--repeats`); its training seed is seed + repeat

    @property
    def label(self) -> str:
        return f"{self.stage + 1} {self.stage_name}"

    @property
    def run_name(self) -> str:
        """The TensorBoard run: a re-queued attempt (a new trial number) continues it."""
        repeat = f"-r{self.repeat}" if self.repeat else ""
        return f"s{self.stage + 1}-p{self.point:02d}{repeat}"

    def attrs(self) -> dict[str, Any]:
        stored = {k: v for k, v in asdict(self).items() if k != RETRY_OF or v is not None}
        stored[STAGE_INDEX] = stored.pop("stage")
        return {STAGE: self.label, **stored}  # first: the dashboard shows it on top


def _stage_index(attrs: dict[str, Any]) -> int | None:
    return attrs.get(STAGE_INDEX)


def position_of(t: FrozenTrial) -> Position | None:
    a = t.user_attrs
    stage = _stage_index(a)
    if stage is None:
        return None
    return Position(
        a.get(PLAN, ""),
        stage,
        a.get(STAGE_NAME, ""),
        a.get(POINT, 0),
        a.get(INHERITED_FROM),
        a.get(ATTEMPT, 0),
        a.get(RETRY_OF),
        a.get(REPEAT, 0),
    )


def stage_label(t: FrozenTrial) -> str:
    position = position_of(t)
    return position.label if position else "-"


def stage_of(t: FrozenTrial) -> int | None:
    """The 0-based stage index; None outside the plan."""
    return _stage_index(t.user_attrs)


@dataclass(frozen=True)
class Checkpoint:
    artifact: str
    epoch: int


@dataclass(frozen=True)
class ResumePoint:
    """What a retried trial starts from: the last epoch checkpoint and the curves up to it."""

    checkpoint: Checkpoint | None
    curves: Curves

    def attrs(self) -> dict[str, Any]:
        checkpoint = asdict(self.checkpoint) if self.checkpoint else None
        return {CHECKPOINT: checkpoint, **self.curves.lists()}


@dataclass(frozen=True)
class Fault:
    """A machine fault a trial met: kept across its retries to tell a bad host from a bad config."""

    worker: str
    kind: str
    reason: str


@dataclass(frozen=True)
class Avoid:
    """A worker that just hit a machine fault on this trial does not take it straight back."""

    worker: str
    until: float  # time.time() on that worker's host


def _checkpoint(stored: dict[str, Any] | None) -> Checkpoint | None:
    return Checkpoint(**stored) if stored else None


def checkpoint_of(t: FrozenTrial) -> Checkpoint | None:
    return _checkpoint(t.user_attrs.get(CHECKPOINT))


def resume_of(t: FrozenTrial) -> ResumePoint | None:
    r = t.user_attrs.get(RESUME)
    if not r:
        return None
    return ResumePoint(_checkpoint(r.get(CHECKPOINT)), Curves.from_lists(r))


def resume_after(t: FrozenTrial) -> ResumePoint:
    """Where a retry of a failed trial resumes: its newest checkpoint (its own, or the one it
    resumed from), with the curves up to that epoch. The worker reports an epoch's values
    before recording its checkpoint, so the curves always reach the checkpoint's epoch."""
    previous = resume_of(t) or ResumePoint(None, Curves())
    checkpoint = checkpoint_of(t) or previous.checkpoint
    epochs = checkpoint.epoch if checkpoint else 0
    own = curves_of(t)  # a retry killed before its first epoch has not rewritten them yet
    return ResumePoint(checkpoint, longest(own, previous.curves).upto(epochs))


def params_of(t: FrozenTrial) -> dict[str, float]:
    """A WAITING trial's params are still Optuna's fixed params."""
    return dict(t.params or t.system_attrs.get(_FIXED_PARAMS, {}))


def best_metrics_of(t: FrozenTrial) -> dict[str, float]:
    return dict(t.user_attrs.get(BEST_METRICS, {}))


def artifacts_of(t: FrozenTrial) -> dict[str, str]:
    return dict(t.user_attrs.get(ARTIFACTS, {}))


def artifact_ids_of(t: FrozenTrial) -> list[str]:
    """Every artifact a trial refers to: published files and resume checkpoints."""
    resume = resume_of(t)
    checkpoints = [checkpoint_of(t), resume.checkpoint if resume else None]
    return [*artifacts_of(t).values(), *(c.artifact for c in checkpoints if c)]


def epochs_run_of(t: FrozenTrial) -> int:
    return int(t.user_attrs.get(EPOCHS_RUN, len(t.intermediate_values)))


def fail_reason_of(t: FrozenTrial) -> str | None:
    return t.user_attrs.get(FAIL_REASON)


def is_duplicate(t: FrozenTrial) -> bool:
    return DUPLICATE_OF in t.user_attrs


def worker_of(t: FrozenTrial) -> str | None:
    return t.user_attrs.get(WORKER)


def faults_of(t: FrozenTrial) -> list[Fault]:
    return [Fault(**f) for f in t.user_attrs.get(FAULTS, [])]


def avoid_of(t: FrozenTrial) -> Avoid | None:
    a = t.user_attrs.get(AVOID)
    return Avoid(**a) if a else None


def may_take(t: FrozenTrial, worker: str) -> bool:
    avoid = avoid_of(t)
    return avoid is None or avoid.worker != worker or time.time() >= avoid.until


def record_of(t: FrozenTrial, objective: str | None) -> TrialRecord:
    """What plan progression and ranking need of a trial, ranked by the study's objective. None:
    the caller needs positions and states only, so no tie-break is read."""
    value = t.values[0] if t.values and math.isfinite(t.values[0]) else None
    return TrialRecord(
        t.number,
        t.state,
        stage_of(t),
        t.user_attrs.get(POINT),
        params_of(t),
        value,
        best_metrics_of(t).get(TIE_BREAK[objective]) if objective else None,
        t.user_attrs.get(REPEAT, 0),
    )


def is_stray(t: FrozenTrial) -> bool:
    """Outside the plan: no position (a copy of a TPE trial that Optuna's retried create made,
    or a trial not yet given its position)."""
    return stage_of(t) is None


def copies_of(trials: list[FrozenTrial]) -> dict[int, int]:
    """Trial number -> the trial it copies: marked copies, and copies not yet found
    (`plans.duplicates`)."""
    marked = {t.number: t.user_attrs[DUPLICATE_OF] for t in trials if is_duplicate(t)}
    unmarked = [record_of(t, None) for t in trials if t.number not in marked]
    return {**marked, **duplicates(unmarked)}


def counted(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that count, everywhere (plan, status, compare, export, replay): no copies of
    a plan position, no strays."""
    copies = copies_of(trials)
    return [t for t in trials if t.number not in copies and not is_stray(t)]


def study_trials(study: optuna.Study) -> list[FrozenTrial]:
    return counted(study.get_trials(deepcopy=False))


def records(study: optuna.Study, objective: str | None) -> list[TrialRecord]:
    return [record_of(t, objective) for t in study_trials(study)]


def best_with_metrics(
    trials: list[FrozenTrial], objective: str
) -> tuple[PointResult, dict[str, float]] | None:
    """The best configuration, and its best repeat's best-epoch metrics: the class and centre
    accuracy that status and `study list` show beside the objective's mean."""
    point = best_point([record_of(t, objective) for t in trials])
    if point is None:
        return None
    return point, best_metrics_of(next(t for t in trials if t.number == point.best.number))


@dataclass(frozen=True)
class Queued:
    """Everything a WAITING trial carries besides its params."""

    position: Position
    resume: ResumePoint | None = None
    faults: tuple[Fault, ...] = ()
    avoid: Avoid | None = None

    def attrs(self) -> dict[str, Any]:
        out = self.position.attrs()
        if self.resume is not None:
            out[RESUME] = self.resume.attrs()
        if self.faults:
            out[FAULTS] = [asdict(f) for f in self.faults]
        if self.avoid is not None:
            out[AVOID] = asdict(self.avoid)
        return out


def enqueue(study: optuna.Study, params: dict[str, float], queued: Queued) -> None:
    """The token is the same on every copy Optuna's retries make of this one enqueue."""
    study.enqueue_trial(params, user_attrs={**queued.attrs(), ENQUEUE_ID: uuid.uuid4().hex})


def retry_of(t: FrozenTrial, counts_as_retry: bool) -> Queued:
    """The WAITING copy that retries failed trial `t`, resuming from its checkpoint and carrying
    the machine faults it met."""
    position = position_of(t)
    assert position is not None, f"trial {t.number} is not part of a plan"
    retried = replace(
        position,
        attempt=position.attempt + int(counts_as_retry),
        retry_of=position.retry_of if position.retry_of is not None else t.number,
    )
    return Queued(retried, resume_after(t), tuple(faults_of(t)))
