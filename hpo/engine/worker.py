"""A worker process: claim -> train -> report, until the plan is done.

One process per device. Storage calls ride out outages of any length (or `--max-outage`).
Ctrl-C (or SIGTERM) lets the current epoch finish and checkpoint, hands the trial back to the
queue (without spending one of its retries) and exits. Machine faults on two different trials
in a row stop the worker with `EXIT_FAULTY_HOST`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import optuna
from spacehpo.data.yolo import fingerprint, read_names
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import Done, Wait
from spacehpo.hpo.core.pruning import build_pruner
from spacehpo.hpo.engine.claim import claim
from spacehpo.hpo.engine.faults import FaultStreak, FaultyHost
from spacehpo.hpo.engine.store_marker import check_store
from spacehpo.hpo.engine.study import StudySpec, load
from spacehpo.hpo.engine.trainable import DATA, FINGERPRINT, Trainable, load_trainable
from spacehpo.hpo.engine.trial_run import Outcome, TrialRun
from spacehpo.hpo.engine.worker_config import WorkerConfig
from spacehpo.hpo.engine.worker_env import StopFlag, WorkerEnv, log, worker_name
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.backends import open_storage
from spacehpo.storage.retry import Retrier


def open_worker(cfg: WorkerConfig, stop: StopFlag) -> WorkerEnv:
    """Everything a worker checks once at start, so no trial fails on it later."""
    retrier = Retrier(cfg.max_outage_s, log)
    handle = open_storage(cfg.storage, retrier, cfg.heartbeat_s, cfg.grace_s)
    try:
        study, spec = load(handle, cfg.study)
        settings = {**spec.settings, **({DATA: cfg.data} if cfg.data else {})}
        if spec.fingerprint and DATA in settings:  # once per process (or host), not per trial
            checked = cfg.data_checked == spec.fingerprint
            root = Path(settings[DATA])
            settings[FINGERPRINT] = spec.fingerprint if checked else _check_data(root, spec, cfg)
        if settings.get("compile") and not (shutil.which("cc") or shutil.which("gcc")):
            raise HpoError("the study trains with --compile, but this host has no C compiler")
        location = cfg.artifacts or spec.artifacts
        store = open_artifact_store(location)
        check_store(store, cfg.study, spec.store_id, location)
    except BaseException:
        handle.close()
        raise
    study = optuna.load_study(
        study_name=cfg.study,
        storage=handle.storage,
        pruner=build_pruner(spec.pruner, spec.epochs),
        sampler=optuna.samplers.RandomSampler(),
    )
    workdir = Path(tempfile.mkdtemp(prefix="spacehpo-worker-"))
    name = worker_name(cfg.device)
    return WorkerEnv(
        study, handle, spec, store, settings, workdir, cfg.device, stop, name, cfg.tensorboard
    )


def _check_data(root: Path, spec: StudySpec, cfg: WorkerConfig) -> str:
    read_names(root)  # a missing or wrong path: one clear line rather than a traceback
    found = fingerprint(root)
    if found != spec.fingerprint:
        raise HpoError(
            f"{root}: not the dataset study {cfg.study!r} was created on (fingerprint differs)"
        )
    return found


def check_host_data(cfg: WorkerConfig) -> str | None:
    """For the launcher: this host's dataset, checked once for all its worker processes."""
    with open_storage(cfg.storage, Retrier(cfg.max_outage_s, log)) as handle:
        spec = load(handle, cfg.study)[1]
    root = cfg.data or spec.settings.get(DATA)
    return _check_data(Path(root), spec, cfg) if spec.fingerprint and root else None


def run_worker(cfg: WorkerConfig, stop: StopFlag | None = None) -> int:
    """Run trials until the plan is done (or `max_trials`); returns the number of trials run."""
    stop = stop or StopFlag().install()
    env = open_worker(cfg, stop)
    log(
        f"worker on {cfg.device} joined study {cfg.study!r} "
        f"({env.handle.display}, plan {env.spec.plan.name})"
    )
    try:
        return _loop(env, cfg, load_trainable(cfg.trainable or env.spec.trainable))
    finally:
        shutil.rmtree(env.workdir, ignore_errors=True)
        env.handle.close()


class Idle:
    """How long the worker has waited for work: logs each new reason once, and says when
    `--exit-when-idle` has run out, so a batch task frees its GPU instead of holding it."""

    def __init__(self, limit_s: float | None) -> None:
        self.limit_s, self.since, self.reason = limit_s, 0.0, ""

    def busy(self) -> None:
        self.reason = ""

    def waited_out(self, reason: str) -> bool:
        now = time.monotonic()
        if not self.reason:
            self.since = now
        if reason != self.reason:
            log(f"idle: {reason}")
            self.reason = reason
        return self.limit_s is not None and now - self.since >= self.limit_s


def _loop(env: WorkerEnv, cfg: WorkerConfig, trainable: Trainable) -> int:
    ran, idle, streak = 0, Idle(cfg.exit_when_idle_s), FaultStreak()
    while not env.stop.requested and (cfg.max_trials is None or ran < cfg.max_trials):
        got = env.handle.retrier.call(
            lambda: claim(env.study, env.handle, env.spec, env.name, log), "claiming a trial"
        )
        if isinstance(got, Done):
            log(f"plan finished{': ' + got.reason if got.reason else ''}; worker exits")
            break
        if isinstance(got, Wait):
            if idle.waited_out(got.reason):
                log(f"idle for {cfg.exit_when_idle_s:g} s (--exit-when-idle); worker exits")
                break
            time.sleep(cfg.poll_s)
            continue
        idle.busy()
        ran += 1
        run = TrialRun(env, got.trial)
        outcome = run.run(trainable)
        if outcome == Outcome.MACHINE_FAULT and streak.add(run.point()):
            raise FaultyHost(
                f"worker {env.name} stops: machine faults on {streak.LIMIT} different trials "
                "in a row (see the trials' machine_faults); check this host's GPU, disk and mounts"
            )
        if outcome in (Outcome.COMPLETE, Outcome.PRUNED, Outcome.FAILED):
            streak.clear()
    return ran
