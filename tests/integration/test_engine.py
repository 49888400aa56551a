"""The engine with real worker processes, on the journal file and on a real PostgreSQL."""

import signal
import time
from collections import Counter
from pathlib import Path

from optuna.trial import TrialState
from spacehpo.hpo.core.plans import BOX, LR, SIGMA, WD, K
from spacehpo.hpo.core.record import position_of, stage_of

from tests.conftest import assert_one_line_error, run_cli, start_workers, wait_all
from tests.hpo.fakes import score
from tests.hpo.studies import FAKE, create_fake_study, trials_of


def _key(params: dict) -> tuple:
    return tuple(round(params[k], 12) for k in ("lr", "weight_decay", "sigma", "k", "box_weight"))


def expected_staged_points() -> list[set[tuple]]:
    """The staged plan worked out independently from the fake's known scores."""
    best = lambda pts: max(pts, key=lambda p: (*score(p),))  # noqa: E731
    s1 = [dict(lr=lr, weight_decay=wd, sigma=0.5, k=8.0, box_weight=5.0) for lr in LR for wd in WD]
    b1 = best(s1)
    s2 = [dict(b1, sigma=s, k=k, box_weight=5.0) for s in SIGMA for k in K]
    b2 = best(s1 + s2)
    s3 = [dict(b2, k=k, box_weight=b) for k in K for b in BOX]
    return [{_key(p) for p in s} for s in (s1, s2, s3)]


def test_staged_plan_with_four_workers_runs_each_point_once(
    storage_url: str, tmp_path: Path
) -> None:
    create_fake_study(
        storage_url, tmp_path, "--pruner", "none", "--set", "epochs=2", "--set", "sleep=0.02"
    )
    wait_all(start_workers(4, "s", storage_url, tmp_path))
    trials = trials_of(storage_url)
    assert len(trials) == 22 and all(t.state == TrialState.COMPLETE for t in trials)
    points = Counter((stage_of(t), position_of(t).point) for t in trials)
    assert max(points.values()) == 1
    by_stage = [{_key(t.params) for t in trials if stage_of(t) == s} for s in range(3)]
    assert by_stage == expected_staged_points()
    assert all(len(t.intermediate_values) == 2 for t in trials)
    stage3 = [t for t in trials if stage_of(t) == 2]
    assert all(position_of(t).inherited_from is not None for t in stage3)


def test_full_grid_with_four_workers_runs_108_points_once(storage_url: str, tmp_path: Path) -> None:
    create_fake_study(
        storage_url, tmp_path, "--pruner", "none", "--plan", "full", "--set", "epochs=1"
    )
    wait_all(start_workers(4, "s", storage_url, tmp_path))
    trials = trials_of(storage_url)
    assert len(trials) == 108 and all(t.state == TrialState.COMPLETE for t in trials)
    assert len({_key(t.params) for t in trials}) == 108


def test_sigkilled_worker_trial_resumes_from_its_checkpoint(
    storage_url: str, tmp_path: Path
) -> None:
    plan = tmp_path / "two.toml"
    plan.write_text(
        "[[stage]]\ngrid = { lr = [1e-4, 3e-4] }\nfixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }\n"
    )
    create_fake_study(
        storage_url,
        tmp_path,
        "--pruner",
        "none",
        "--plan",
        str(plan),
        "--set",
        "epochs=6",
        "--set",
        "sleep=0.4",
    )
    liveness = ("--heartbeat", "0.5", "--grace", "5")
    victim = start_workers(1, "s", storage_url, tmp_path, *liveness)[0]
    deadline = time.time() + 60
    while time.time() < deadline:
        running = [
            t
            for t in trials_of(storage_url)
            if t.state == TrialState.RUNNING and len(t.intermediate_values) >= 2
        ]
        if running:
            break
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    wait_all(start_workers(2, "s", storage_url, tmp_path, *liveness))
    trials = trials_of(storage_url)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(position_of(t).point for t in complete) == [0, 1]  # each point completed once
    assert all(t.state == TrialState.FAIL for t in trials if t not in complete)
    killed = min(t.number for t in trials if t.state == TrialState.FAIL)  # the victim's trial
    retry = next(t for t in complete if t.user_attrs.get("retry_of") == killed)
    resumed_at = retry.user_attrs["resume"]["checkpoint"]["epoch"]
    assert resumed_at >= 2
    assert (
        retry.user_attrs["epochs_run"] == 6 - resumed_at
    )  # nothing re-trained before the checkpoint
    assert sorted(retry.intermediate_values) == list(range(1, 7))  # the curve carries over


def test_failing_trial_fails_with_its_reason_and_the_study_goes_on(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(
        storage, tmp_path, "--pruner", "none", "--set", "epochs=1", "--set", "nan_lr=0.0001"
    )
    wait_all(start_workers(2, "s", storage, tmp_path))
    trials = trials_of(storage)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 2 and all("loss is nan" in t.user_attrs["fail_reason"] for t in failed)
    assert len(trials) == 22  # failed points count as finished; no endless retry


def test_recreating_a_study_with_another_plan_is_refused(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--pruner", "none")
    again = run_cli(
        "study",
        "create",
        "s",
        "--storage",
        storage,
        "--trainable",
        FAKE,
        "--pruner",
        "none",
        "--artifacts",
        str(tmp_path / "artifacts"),
    )
    assert again.returncode == 0 and "already exists" in again.stdout
    assert_one_line_error(
        run_cli(
            "study", "create", "s", "--storage", storage, "--trainable", FAKE, "--plan", "full"
        ),
        "already exists",
        "another plan",
    )
    assert_one_line_error(
        run_cli("study", "create", "t", "--storage", "sqlite:///x.db", "--trainable", FAKE),
        "SQLite",
    )
    assert_one_line_error(
        run_cli("study", "status", "nope", "--storage", storage), "no study 'nope'"
    )


def test_status_shows_stages_best_and_eta(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--pruner", "none", "--set", "epochs=1")
    wait_all(start_workers(1, "s", storage, tmp_path, "--max-trials", "5"))
    out = run_cli("study", "status", "s", "--storage", storage).stdout
    assert (
        "lr x weight_decay" in out and "sigma x k" in out and "best trial #" in out and "ETA" in out
    )


def test_ctrl_c_hands_the_trial_back(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(
        storage, tmp_path, "--pruner", "none", "--set", "epochs=4", "--set", "sleep=0.5"
    )
    worker = start_workers(1, "s", storage, tmp_path)[0]
    while not any(len(t.intermediate_values) >= 1 for t in trials_of(storage)):
        time.sleep(0.1)
    worker.send_signal(signal.SIGINT)
    out = worker.communicate(timeout=30)[0]
    assert worker.returncode == 0 and "handed back" in out
    trials = trials_of(storage)
    handed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(handed) == 1 and handed[0].user_attrs["fail_reason"].startswith("handed back")
    queued = [
        t
        for t in trials
        if t.state == TrialState.WAITING and t.user_attrs.get("retry_of") == handed[0].number
    ]
    assert len(queued) == 1 and queued[0].user_attrs["attempt"] == 0  # not counted as a retry
    assert not [t for t in trials if t.state == TrialState.RUNNING]


def test_bad_worker_flags(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("worker", "s", "--devices", "gpu0"), "--devices")
    journal = f"journal:{tmp_path / 'j.log'}"
    assert_one_line_error(
        run_cli(
            "study", "create", "x", "--storage", journal, "--trainable", FAKE, "--pruner", "best"
        ),
        "--pruner",
    )
    assert_one_line_error(
        run_cli("study", "create", "x", "--storage", journal), "--data is required"
    )
    assert_one_line_error(
        run_cli(
            "worker", "x", "--storage", journal, "--trainable", "nowhere:fn", "--device", "cpu"
        ),
        "no study",
    )
