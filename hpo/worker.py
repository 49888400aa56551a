"""A worker process: claim -> train -> report, until the plan is done.

One process per device. Every storage call that matters retries through a database restart.
Ctrl-C (or SIGTERM) lets the current epoch finish and checkpoint, hands the trial back to the
queue (without spending one of its retries) and exits.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from spacehpo.data.yolo import fingerprint
from spacehpo.hpo.claim import Claimed, claim, suggest_all
from spacehpo.hpo.errors import HpoError
from spacehpo.hpo.notes import write_note
from spacehpo.hpo.plans import Done, Wait
from spacehpo.hpo.pruning import build_pruner
from spacehpo.hpo.study import HANDED_BACK, StudySpec, load, requeue
from spacehpo.hpo.trainable import DETECTOR, TrialContext, load_trainable
from spacehpo.storage.artifacts import (
    ArtifactStore,
    get_file,
    open_artifact_store,
    put_file,
    remove_quietly,
)
from spacehpo.storage.backends import StorageHandle, open_storage
from spacehpo.storage.retry import retrying


@dataclass(frozen=True)
class WorkerConfig:
    study: str
    storage: str | None = None
    device: str = "cpu"
    data: str | None = None  # this host's path to the study's dataset, if it differs
    trainable: str | None = None  # overrides the study's
    heartbeat_s: float = 10.0
    grace_s: float = 60.0
    poll_s: float = 2.0
    max_trials: int | None = None
    retry_budget_s: float = field(
        default_factory=lambda: float(os.environ.get("SPACEHPO_RETRY_S", "120"))
    )


class HandBack(Exception):
    """Raised at an epoch boundary after Ctrl-C: the trial goes back to the queue."""


class StopFlag:
    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log(
            "stopping: the current epoch finishes and checkpoints, then the trial is handed back (Ctrl-C again to abort)"
        )


def log(message: str) -> None:
    print(f"[{socket.gethostname()}:{os.getpid()}] {message}", flush=True)


class Heartbeat:
    """Beats for the running trial from a thread, so a long epoch does not look like a dead worker."""

    def __init__(self, handle: StorageHandle, trial_id: int) -> None:
        self.handle, self.trial_id, self.stop = handle, trial_id, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Heartbeat:
        self.handle.liveness.beat(self.trial_id)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.wait(self.handle.liveness.interval_s):
            try:
                self.handle.liveness.beat(self.trial_id)
            except Exception as err:  # a missed beat is survivable; the next one retries
                log(f"heartbeat for trial {self.trial_id} missed ({err.__class__.__name__})")


def run_worker(cfg: WorkerConfig, stop: StopFlag | None = None) -> int:
    """Run trials until the plan is done (or `max_trials`); returns the number of trials run."""
    if stop is None:
        stop = StopFlag()
        stop.install()
    holder: dict[str, Any] = {}
    handle = open_storage(
        cfg.storage,
        heartbeat_s=cfg.heartbeat_s,
        grace_s=cfg.grace_s,
        on_stale=lambda study, t: _on_stale(study, t, holder["spec"]),
        retry_budget_s=cfg.retry_budget_s,
    )
    study, spec = retrying(
        lambda: load(handle, cfg.study), "loading the study", cfg.retry_budget_s, log
    )
    holder["spec"] = spec
    settings = {**spec.settings, **({"data": cfg.data} if cfg.data else {})}
    trainable_spec = cfg.trainable or spec.trainable
    if (
        trainable_spec == DETECTOR
        and spec.fingerprint
        and fingerprint(Path(settings["data"])) != spec.fingerprint
    ):
        raise HpoError(
            f"{settings['data']}: not the dataset study {cfg.study!r} was created on (fingerprint differs)"
        )
    trainable = load_trainable(trainable_spec)
    study = optuna.load_study(
        study_name=cfg.study,
        storage=handle.storage,
        pruner=build_pruner(spec.pruner, spec.epochs),
        sampler=optuna.samplers.RandomSampler(),
    )
    store = open_artifact_store(spec.artifacts)
    workdir = Path(tempfile.mkdtemp(prefix="spacehpo-worker-"))
    log(
        f"worker on {cfg.device} joined study {cfg.study!r} ({handle.display}, plan {spec.plan.name})"
    )
    ran, last_wait = 0, ""
    try:
        while not stop.requested and (cfg.max_trials is None or ran < cfg.max_trials):
            got = retrying(
                lambda: claim(study, handle, spec), "claiming a trial", cfg.retry_budget_s, log
            )
            if isinstance(got, Done):
                log(f"plan finished{': ' + got.reason if got.reason else ''}; worker exits")
                break
            if isinstance(got, Wait):
                if got.reason != last_wait:
                    log(f"idle: {got.reason}")
                    last_wait = got.reason
                time.sleep(cfg.poll_s)
                continue
            last_wait = ""
            _run_trial(got, study, handle, spec, store, trainable, settings, workdir, cfg, stop)
            ran += 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        handle.close()
    return ran


def _on_stale(study: optuna.Study, trial: optuna.trial.FrozenTrial, spec: StudySpec) -> None:
    if requeue(study, trial, spec.max_retries):
        log(
            f"trial {trial.number} went stale (its worker stopped beating); queued again to resume from its checkpoint"
        )
    else:
        log(
            f"trial {trial.number} went stale and has used its {spec.max_retries} retries; it stays failed"
        )


def _run_trial(
    got: Claimed,
    study: optuna.Study,
    handle: StorageHandle,
    spec: StudySpec,
    store: ArtifactStore,
    trainable: Any,
    settings: dict[str, Any],
    workdir: Path,
    cfg: WorkerConfig,
    stop: StopFlag,
) -> None:
    trial, retry = got.trial, partial(retrying, budget_s=cfg.retry_budget_s, log=log)
    ckpt_dir = workdir / f"trial-{trial._trial_id}"
    ckpt_dir.mkdir()
    with Heartbeat(handle, trial._trial_id):
        params = retry(lambda: suggest_all(trial, spec), "recording params")
        retry(
            lambda: trial.set_user_attr(
                "worker", f"{socket.gethostname()}:{os.getpid()}:{cfg.device}"
            ),
            "recording the worker",
        )
        frozen = retry(lambda: study._storage.get_trial(trial._trial_id), "reading the trial")
        resume = frozen.user_attrs.get("resume") or {}
        curves: dict[str, list[float]] = {k: list(resume.get(k, [])) for k in ("centre_acc", "iou")}
        if resume.get("checkpoint") and get_file(
            store, resume["checkpoint"]["artifact"], ckpt_dir / "last.pt"
        ):
            for epoch, value in enumerate(resume["class_acc"], 1):
                retry(lambda e=epoch, v=value: trial.report(v, e), "reporting")
            log(
                f"trial {trial.number}: resuming from epoch {resume['checkpoint']['epoch']} checkpoint"
            )
        else:
            curves = {"centre_acc": [], "iou": []}
        state = {"checkpoint": None, "epochs_run": 0}
        stage = frozen.user_attrs.get("stage_name", "?")
        log(
            f"trial {trial.number} ({stage}) started: "
            + ", ".join(f"{k}={v:g}" for k, v in params.items())
        )

        def report(epoch: int, metrics: dict[str, float]) -> None:
            # Values first, checkpoint second: every checkpointed epoch then has its values, so a
            # retry resumes with the whole curve; a kill in between costs that one epoch.
            state["epochs_run"] += 1
            for key in curves:
                curves[key].append(float(metrics.get(key, float("nan"))))
                retry(lambda k=key: trial.set_user_attr(k, curves[k]), "reporting")
            retry(lambda: trial.set_user_attr("epochs_run", state["epochs_run"]), "reporting")
            retry(lambda: trial.report(float(metrics["class_acc"]), epoch), "reporting")
            if (ckpt_dir / "last.pt").exists():
                artifact = f"ckpt-{study._study_id}-{trial._trial_id}-e{epoch}.pt"
                put_file(store, artifact, ckpt_dir / "last.pt")
                checkpoint = {"artifact": artifact, "epoch": epoch}
                retry(lambda: trial.set_user_attr("checkpoint", checkpoint), "recording checkpoint")
                if state["checkpoint"]:
                    remove_quietly(store, state["checkpoint"])
                state["checkpoint"] = artifact
            log(
                f"trial {trial.number} epoch {epoch}: class_acc {metrics['class_acc']:.3f} centre_acc {metrics.get('centre_acc', float('nan')):.3f}"
            )
            if stop.requested:
                raise HandBack
            if retry(trial.should_prune, "asking the pruner"):
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")

        ctx = TrialContext(params, settings, ckpt_dir, report, cfg.device)
        try:
            result = trainable(ctx)
            artifacts = {
                name: optuna.artifacts.upload_artifact(
                    artifact_store=store, file_path=str(path), study_or_trial=trial
                )
                for name, path in result.files.items()
                if path.exists()
            }
            retry(lambda: trial.set_user_attr("artifacts", artifacts), "recording artifacts")
            retry(lambda: trial.set_user_attr("best_metrics", result.metrics), "recording metrics")
            retry(lambda: study.tell(trial, result.metrics["class_acc"]), "completing the trial")
            retry(lambda: write_note(study, spec), "updating the study note")
            log(f"trial {trial.number} complete: class_acc {result.metrics['class_acc']:.3f}")
        except optuna.TrialPruned as pruned:
            retry(lambda: study.tell(trial, state=TrialState.PRUNED), "pruning the trial")
            log(f"trial {trial.number} {pruned}")
        except UpdateFinishedTrialError:
            # Another worker declared this trial stale while we were cut off, and re-queued it.
            log(
                f"trial {trial.number} was declared stale and re-queued elsewhere; abandoning this copy"
            )
            state["checkpoint"] = None  # the re-queued trial resumes from it
        except HandBack:

            def hand_back() -> None:
                with handle.lock.hold(study.study_name):
                    trial.set_user_attr("fail_reason", f"{HANDED_BACK}: worker stopped")
                    study.tell(trial, state=TrialState.FAIL)
                    requeue(
                        study,
                        study._storage.get_trial(trial._trial_id),
                        spec.max_retries,
                        counts_as_retry=False,
                    )

            retry(hand_back, "handing the trial back")
            log(f"trial {trial.number} handed back after its epoch checkpoint")
            state["checkpoint"] = None  # the requeued trial resumes from it
        except Exception as err:  # the trial fails with its reason; the worker carries on
            reason = f"{err.__class__.__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            retry(lambda: trial.set_user_attr("fail_reason", reason), "recording the failure")
            retry(lambda: study.tell(trial, state=TrialState.FAIL), "failing the trial")
            log(f"trial {trial.number} failed: {reason}")
        finally:
            if state["checkpoint"]:
                remove_quietly(store, state["checkpoint"])
            shutil.rmtree(ckpt_dir, ignore_errors=True)
