"""One claimed trial, from its start (or resume) to one of its outcomes, one method each.

Storage calls need no retry wrappers here: the storage itself retries (`RetryingStorage`).
Sections that must not be cut in half run under the study lock and are retried as a whole.
Checkpoints of this trial are removed only once it has reached a final state, so a re-queued
trial always finds the newest one it may resume from.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from spacehpo.hpo.core.curves import Curves
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.record import (
    HANDED_BACK,
    MACHINE_FAULT,
    Avoid,
    Checkpoint,
    Fault,
    Position,
    faults_of,
    position_of,
    resume_of,
)
from spacehpo.hpo.core.space import ParamValue, show_params
from spacehpo.hpo.core.trial_writer import TrialWriter
from spacehpo.hpo.engine.claim import suggest_all
from spacehpo.hpo.engine.faults import AVOID_S, FaultKind, describe, machine_fault, too_big
from spacehpo.hpo.engine.heartbeat import Heartbeat
from spacehpo.hpo.engine.notes import write_note
from spacehpo.hpo.engine.recovery import requeue
from spacehpo.hpo.engine.study import StudySpec, repeat_settings
from spacehpo.hpo.engine.trainable import Trainable, TrialContext, TrialResult
from spacehpo.hpo.engine.worker_env import WorkerEnv
from spacehpo.model.curve_log import CurveLog
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC, LOSS_NAMES, rank_epoch
from spacehpo.model.run_files import LAST_CHECKPOINT
from spacehpo.storage.artifacts import get_file, put_file, remove_quietly
from spacehpo.storage.errors import StorageError
from spacehpo.storage.optuna_access import storage_of, study_id, trial_id

if TYPE_CHECKING:
    from PIL import Image


class Outcome(StrEnum):
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"  # for good: it raised, or it is too big for the hardware
    MACHINE_FAULT = "machine fault"  # back in the queue
    HANDED_BACK = "handed back"  # the worker is stopping
    ABANDONED = "abandoned"  # declared stale while this worker was cut off


class HandBack(Exception):
    """Raised at an epoch boundary after Ctrl-C: the trial goes back to the queue."""


@dataclass
class TrialRun:
    env: WorkerEnv
    trial: optuna.Trial
    curves: Curves = field(default_factory=Curves)
    epochs_run: int = 0
    faults: list[Fault] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)  # artifacts; the newest last
    final: bool = False  # reached a state in which it will never be resumed
    position: Position | None = None
    curve_log: CurveLog | None = (
        None  # TensorBoard and results.csv; opened at the first epoch reported
    )

    @property
    def writer(self) -> TrialWriter:
        return TrialWriter(self.trial)

    @property
    def spec(self) -> StudySpec:
        return self.env.spec

    @property
    def ckpt_dir(self) -> Path:
        return self.env.workdir / f"trial-{trial_id(self.trial)}"

    def run(self, trainable: Trainable) -> Outcome:
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        try:
            with Heartbeat(self.env.handle.liveness, trial_id(self.trial), self.env.log):
                params = self.start()  # reads the trial's position, which the settings need
                repeat = self.position.repeat if self.position else 0
                settings = repeat_settings(self.env.settings, repeat)
                ctx = TrialContext(
                    params, settings, self.ckpt_dir, self.report, self.env.device, self.env.keep
                )
                return self.train(trainable, ctx)
        finally:
            if self.final:
                for artifact in self.checkpoints:
                    remove_quietly(self.env.store, artifact)
            self._close_log()
            shutil.rmtree(self.ckpt_dir, ignore_errors=True)

    def _close_log(self) -> None:
        try:
            if self.curve_log is not None:
                self.curve_log.close()
        except OSError as err:  # the trial's outcome is recorded already; only the picture is lost
            self.env.log(f"trial {self.trial.number}: results.png not written ({err})")

    def start(self) -> dict[str, ParamValue]:
        params = suggest_all(self.trial, self.spec)
        self.writer.worker(self.env.name)
        frozen = storage_of(self.env.study).get_trial(trial_id(self.trial))
        self.position = position_of(frozen)
        self.faults = faults_of(frozen)
        resume = resume_of(frozen)
        if resume and resume.checkpoint:
            self.checkpoints.append(resume.checkpoint.artifact)
            if get_file(
                self.env.store, resume.checkpoint.artifact, self.ckpt_dir / LAST_CHECKPOINT
            ):
                self._replay(resume.curves, resume.checkpoint.epoch)
        stage = self.position.label if self.position else "-"
        self.env.log(
            f"trial {self.trial.number} (stage {stage}) started: {show_params(params, ', ')}"
        )
        return params

    def _replay(self, curves: Curves, epoch: int) -> None:
        self.curves = curves
        self.writer.replay(curves, self.spec.objective)
        self.env.log(f"trial {self.trial.number}: resuming from its epoch {epoch} checkpoint")

    def report(
        self, epoch: int, metrics: dict[str, float], picture: Image.Image | None = None
    ) -> None:
        """Values first, checkpoint second: every checkpointed epoch then has its values, so a
        retry resumes with the whole curve; a kill in between costs that one epoch."""
        if self.spec.objective not in metrics:
            raise HpoError(f"epoch {epoch} reported no {self.spec.objective!r}, the objective")
        self.epochs_run += 1
        self.curves = self.curves.appended(metrics)
        self.writer.epoch(epoch, self.curves, self.epochs_run, self.spec.objective)
        if (
            self.curve_log is None
        ):  # from this epoch on: what a killed attempt wrote there is purged
            self.curve_log = CurveLog(self._run_dir(), epoch)
        self.curve_log.epoch(epoch, metrics, picture)
        if (self.ckpt_dir / LAST_CHECKPOINT).exists():
            self._publish_checkpoint(epoch)
        shown = dict.fromkeys((self.spec.objective, CLASS_ACC, CENTRE_ACC))  # in order, once
        values = " ".join(f"{m} {metrics[m]:.3f}" for m in shown if m in metrics)
        self.env.log(f"trial {self.trial.number} epoch {epoch}: {values}")
        if self.env.stop.requested:
            raise HandBack
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    def _run_dir(self) -> str:
        run = self.position.run_name if self.position else f"trial-{self.trial.number}"
        return f"{self.spec.tensorboard_dir(self.env.study.study_name, self.env.tensorboard)}/{run}"

    def _upload(self, path: Path) -> str:
        return optuna.artifacts.upload_artifact(
            artifact_store=self.env.store, file_path=str(path), study_or_trial=self.trial
        )

    def _publish_curves(self, best: dict[str, float] | None = None) -> dict[str, str]:
        """results.csv and .png as artifacts, the HParams entry, and the best epoch's scalars."""
        if self.curve_log is None or not self.curve_log.rows:
            return {}
        rows = self.curve_log.rows
        best = best or max(rows, key=lambda row: rank_epoch(row, self.spec.objective))
        self.writer.summary(best, rows[-1].get(LOSS_NAMES[0]))
        self.curve_log.hparams(self.trial.params)
        files = self.curve_log.save_results(self.ckpt_dir)
        return {name: self._upload(path) for name, path in files.items()}

    def _publish_checkpoint(self, epoch: int) -> None:
        """The new copy is recorded before the old ones go: one always survives a kill."""
        artifact = f"ckpt-{study_id(self.env.study)}-{trial_id(self.trial)}-e{epoch}.pt"
        put_file(self.env.store, artifact, self.ckpt_dir / LAST_CHECKPOINT)
        self.writer.checkpoint(Checkpoint(artifact, epoch))
        for old in self.checkpoints:
            remove_quietly(self.env.store, old)
        self.checkpoints = [artifact]

    def train(self, trainable: Trainable, ctx: TrialContext) -> Outcome:
        """`UpdateFinishedTrialError`, from training or from recording any outcome: another
        worker finished this trial meanwhile (a stale-trial recovery), so this one lets go."""
        try:
            return self._settle(trainable, ctx)
        except UpdateFinishedTrialError:
            return self.abandoned()

    def _settle(self, trainable: Trainable, ctx: TrialContext) -> Outcome:
        """Trains, then records the one outcome that the result or the exception says."""
        try:
            return self.complete(trainable(ctx))
        except optuna.TrialPruned as pruned:
            return self.pruned(pruned)
        except HandBack:
            return self.hand_back()
        except (StorageError, UpdateFinishedTrialError):
            raise  # StorageError: away past --max-outage; the worker stops, the trial waits
        except Exception as err:  # the trial's fault unless the machine's
            kind = machine_fault(err)
            return self.machine_faulted(err, kind) if kind else self.failed(err)

    def complete(self, result: TrialResult) -> Outcome:
        objective = self.spec.objective
        if objective not in result.metrics:
            raise HpoError(
                f"the trainable's result has no {objective!r}, the objective "
                f"(it has {', '.join(sorted(result.metrics)) or 'nothing'})"
            )
        artifacts = {
            name: self._upload(path) for name, path in result.files.items() if path.exists()
        }
        artifacts.update(self._publish_curves(result.metrics))
        self.writer.result(result.metrics, artifacts)
        self.env.study.tell(self.trial, result.metrics[objective])
        self.final = True
        write_note(self.env.study, self.spec)
        self.env.log(
            f"trial {self.trial.number} complete: {objective} {result.metrics[objective]:.3f}"
        )
        return Outcome.COMPLETE

    def pruned(self, pruned: optuna.TrialPruned) -> Outcome:
        self.writer.artifacts(self._publish_curves())
        self.env.study.tell(self.trial, state=TrialState.PRUNED)
        self.final = True
        self.env.log(f"trial {self.trial.number} {pruned}")
        return Outcome.PRUNED

    def failed(self, err: BaseException) -> Outcome:
        reason = describe(err)
        self.writer.fail_reason(reason)
        self.env.study.tell(self.trial, state=TrialState.FAIL)
        self.final = True
        self.env.log(f"trial {self.trial.number} failed: {reason}")
        return Outcome.FAILED

    def abandoned(self) -> Outcome:
        self.env.log(
            f"trial {self.trial.number} was declared stale and re-queued elsewhere; "
            "abandoning this copy"
        )
        return Outcome.ABANDONED

    def hand_back(self) -> Outcome:
        self._give_back(f"{HANDED_BACK}: worker stopped", counts_as_retry=False, avoid=None)
        self.env.log(f"trial {self.trial.number} handed back after its epoch checkpoint")
        return Outcome.HANDED_BACK

    def machine_faulted(self, err: BaseException, kind: FaultKind) -> Outcome:
        self.faults.append(Fault(self.env.name, kind, describe(err)))
        self.writer.faults(self.faults)
        workers = too_big(self.faults) if kind == FaultKind.OUT_OF_MEMORY else None
        if workers:
            return self.failed(
                RuntimeError(
                    f"configuration fault: out of memory on {len(workers)} workers "
                    f"({', '.join(workers)}): too big for this hardware"
                )
            )
        avoid = Avoid(self.env.name, time.time() + AVOID_S)
        requeued = self._give_back(f"{MACHINE_FAULT}: {describe(err)}", True, avoid)
        self.env.log(
            f"trial {self.trial.number}: {MACHINE_FAULT} ({describe(err)}); "
            + ("queued again to resume from its checkpoint" if requeued else "retries used up")
        )
        return Outcome.MACHINE_FAULT

    def _give_back(self, reason: str, counts_as_retry: bool, avoid: Avoid | None) -> bool:
        """Fail and re-queue in one locked section, retried as a whole through an outage."""

        storage, tid = storage_of(self.env.study), trial_id(self.trial)

        def section() -> bool:  # idempotent: a retry after a cut finds its own work done
            with self.env.handle.lock.hold(self.env.study.study_name):
                if storage.get_trial(tid).state == TrialState.RUNNING:
                    self.writer.fail_reason(reason)
                    self.env.study.tell(self.trial, state=TrialState.FAIL)
                frozen = storage.get_trial(tid)
                return requeue(
                    self.env.study, frozen, self.spec.max_retries, counts_as_retry, avoid
                )

        requeued = self.env.handle.retrier.call(section, "handing the trial back")
        self.final = not requeued
        return requeued

    def point(self) -> tuple[int, int]:
        return (
            (self.position.stage, self.position.point) if self.position else (-1, self.trial.number)
        )
