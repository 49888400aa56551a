"""One trial run in this process, on a real journal storage: each outcome and its record."""

from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState
from spacehpo.hpo.core.plans import Wait
from spacehpo.hpo.core.record import fail_reason_of, faults_of, resume_of
from spacehpo.hpo.engine.claim import claim
from spacehpo.hpo.engine.study import load
from spacehpo.hpo.engine.trainable import TrialContext, TrialResult
from spacehpo.hpo.engine.trial_run import Outcome, TrialRun
from spacehpo.hpo.engine.worker_env import StopFlag, WorkerEnv
from spacehpo.storage.artifacts import open_artifact_store
from spacehpo.storage.optuna_access import storage_of, trial_id

from tests.hpo.engine_fixtures import fake_study
from tests.hpo.fakes import score


def _env(tmp_path: Path, name: str = "w1") -> WorkerEnv:
    handle, study = fake_study(tmp_path)
    spec = load(handle, "s")[1]
    store = open_artifact_store(spec.artifacts)
    return WorkerEnv(
        study,
        handle,
        spec,
        store,
        dict(spec.settings),
        tmp_path / name,
        "cpu",
        StopFlag(),
        name,
        log=lambda _: None,
    )


def _run(env: WorkerEnv, trainable) -> tuple[Outcome, optuna.trial.FrozenTrial]:
    got = claim(env.study, env.handle, env.spec, env.name, env.log)
    outcome = TrialRun(env, got.trial).run(trainable)
    return outcome, storage_of(env.study).get_trial(trial_id(got.trial))


def _raises_at_epoch_2(err: Exception):
    def trainable(ctx: TrialContext) -> TrialResult:
        ckpt = ctx.checkpoint_dir / "last.pt"
        start = int(ckpt.read_text()) if ckpt.exists() else 0
        for epoch in range(start + 1, 4):
            if epoch == 2 and start == 0:
                raise err
            ckpt.write_text(str(epoch))
            ctx.report(epoch, {"class_acc": score(ctx.params)[0] * epoch / 3, "centre_acc": 0.5})
        return TrialResult({"class_acc": score(ctx.params)[0], "centre_acc": 0.5})

    return trainable


def test_out_of_memory_requeues_with_its_checkpoint_and_avoids_the_worker(tmp_path: Path) -> None:
    env = _env(tmp_path)
    outcome, t = _run(env, _raises_at_epoch_2(torch.OutOfMemoryError("CUDA out of memory")))
    assert outcome == Outcome.MACHINE_FAULT and t.state == TrialState.FAIL
    assert fail_reason_of(t).startswith("machine fault: OutOfMemoryError")
    waiting = env.study.get_trials(states=(TrialState.WAITING,))
    retry = next(w for w in waiting if w.user_attrs.get("retry_of") == t.number)
    assert resume_of(retry).checkpoint.epoch == 1 and retry.user_attrs["attempt"] == 1
    assert [f.worker for f in faults_of(retry)] == ["w1"]
    assert (tmp_path / "artifacts" / resume_of(retry).checkpoint.artifact).exists()
    # The worker that hit the fault leaves it to others for a while.
    taken_by_w1 = []
    while not isinstance(got := claim(env.study, env.handle, env.spec, "w1", env.log), Wait):
        taken_by_w1.append(got.trial.number)
    assert retry.number not in taken_by_w1 and got.reason.startswith("no queued point")
    assert claim(env.study, env.handle, env.spec, "w2", env.log).trial.number == retry.number


def test_out_of_memory_on_two_workers_is_a_configuration_fault(tmp_path: Path) -> None:
    env = _env(tmp_path)
    oom = torch.OutOfMemoryError("CUDA out of memory")
    _run(env, _raises_at_epoch_2(oom))
    env2 = WorkerEnv(**{**env.__dict__, "name": "w2", "workdir": tmp_path / "w2"})
    retry = next(
        t
        for t in env.study.get_trials(states=(TrialState.WAITING,))
        if t.user_attrs.get("retry_of") == 0
    )

    def always_oom(ctx: TrialContext) -> TrialResult:
        raise oom

    trial = optuna.Trial(env.study, trial_id(retry))
    storage_of(env.study).set_trial_state_values(trial_id(retry), TrialState.RUNNING)
    outcome = TrialRun(env2, trial).run(always_oom)
    t = storage_of(env.study).get_trial(trial_id(retry))
    assert outcome == Outcome.FAILED and "too big for this hardware" in fail_reason_of(t)
    assert not [
        w
        for w in env.study.get_trials(states=(TrialState.WAITING,))
        if w.user_attrs.get("retry_of") == 0
    ]


@pytest.mark.parametrize(
    ("err", "outcome"),
    [
        (OSError(28, "No space left on device"), Outcome.MACHINE_FAULT),
        (FloatingPointError("loss is nan"), Outcome.FAILED),
        (ValueError("a bug"), Outcome.FAILED),
    ],
)
def test_machine_faults_against_trial_faults(
    tmp_path: Path, err: Exception, outcome: Outcome
) -> None:
    assert _run(_env(tmp_path), _raises_at_epoch_2(err))[0] == outcome


def test_complete_trial_keeps_no_checkpoint(tmp_path: Path) -> None:
    env = _env(tmp_path)
    outcome, t = _run(env, _ok)
    assert outcome == Outcome.COMPLETE and t.state == TrialState.COMPLETE
    assert not list((tmp_path / "artifacts").glob("ckpt-*"))
    assert t.user_attrs["centre_acc"] == [0.5, 0.5, 0.5] and len(t.intermediate_values) == 3


def _ok(ctx: TrialContext) -> TrialResult:
    for epoch in (1, 2, 3):
        (ctx.checkpoint_dir / "last.pt").write_text(str(epoch))
        ctx.report(epoch, {"class_acc": 0.1 * epoch, "centre_acc": 0.5})
    return TrialResult({"class_acc": 0.3, "centre_acc": 0.5})


@pytest.mark.parametrize("missing_in", ["epoch", "result"])
def test_a_trainable_that_omits_the_objective_fails_naming_the_key(
    tmp_path: Path, missing_in: str
) -> None:
    def trainable(ctx: TrialContext) -> TrialResult:
        epoch = {"centre_acc": 0.5} if missing_in == "epoch" else {"class_acc": 0.5}
        ctx.report(1, {**epoch, "iou": 0.2})
        return TrialResult({"centre_acc": 0.5})

    outcome, frozen = _run(_env(tmp_path), trainable)
    assert outcome == Outcome.FAILED and frozen.state == TrialState.FAIL
    assert "'class_acc'" in fail_reason_of(frozen) and "the objective" in fail_reason_of(frozen)
