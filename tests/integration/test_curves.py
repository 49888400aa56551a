"""Every trial's curves where users look: TensorBoard runs (read with TensorBoard's own reader
and served by `spacehpo tensorboard`), results.csv artifacts and plottable scalar attributes."""

import csv
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
from optuna.trial import TrialState
from spacehpo.hpo.core.record import (
    BEST_CENTRE_ACC,
    BEST_IOU,
    BEST_SPARK_SCORE,
    FINAL_TRAIN_LOSS,
    STAGE,
    artifacts_of,
    position_of,
)
from spacehpo.model.curve_log import SCALAR_TAGS
from spacehpo.model.metrics import CLASS_ACC
from spacehpo.storage.artifacts import get_file, open_artifact_store
from spacehpo.storage.backends import open_storage

from tests.conftest import REPO, run_cli, start_workers, wait_all
from tests.hpo.studies import create_fake_study, trials_of
from tests.model.test_curve_log import scalars

ONE_POINT = """
name = "one"
[[stage]]
name = "lr"
grid = { lr = [3e-4] }
fixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SESSIONS = {
    "experimentName": "",
    "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
    "colParams": [],
    "startIndex": 0,
    "sliceSize": 100,
}


def _served(port: str) -> tuple[dict[str, dict], list[dict]]:
    """The scalars plugin's runs and tags, and the HParams plugin's sessions."""
    base = f"http://127.0.0.1:{port}/data/plugin"
    with urllib.request.urlopen(f"{base}/scalars/tags", timeout=5) as r:
        tags = json.loads(r.read())
    request = urllib.request.Request(
        f"{base}/hparams/session_groups",
        data=json.dumps(SESSIONS).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        return tags, json.loads(r.read())["sessionGroups"]


def _tags_served(name: str, storage: str, cwd: Path) -> tuple[dict[str, dict], list[dict]]:
    port = str(_free_port())
    args = ["tensorboard", name, "--storage", storage, "--port", port]
    printed = run_cli(*args, "--print").stdout
    assert "--host 127.0.0.1" in printed and f"{name}" in printed
    env = {"PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [sys.executable, "-m", "spacehpo.cli", *args], cwd=cwd, env={**env, "PATH": ""}
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                tags, sessions = _served(port)
                if tags and sessions:
                    return tags, sessions
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("TensorBoard served no runs within 60 s")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def test_two_workers_write_every_scalar_of_every_trial(
    pg_url: str, tiny_dataset: Path, tmp_path: Path
) -> None:
    r = run_cli(
        "study", "create", "det", "--storage", pg_url, "--data", str(tiny_dataset),
        "--epochs", "2", "--image-size", "64", "--batch-size", "22", "--pretrained", "none",
        "--artifacts", str(tmp_path / "artifacts"), "--pruner", "none",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    wait_all(start_workers(2, "det", pg_url, tmp_path, "--max-trials", "2"), timeout=400)
    handle = open_storage(pg_url)
    study = optuna.load_study(study_name="det", storage=handle.storage)
    assert study.metric_names == [CLASS_ACC]
    done = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert len(done) == 4
    store, runs = open_artifact_store(str(tmp_path / "artifacts")), tmp_path / "tensorboard" / "det"
    for t in done:
        found = scalars(runs / position_of(t).run_name)
        assert set(found) == set(SCALAR_TAGS.values())
        assert all([step for step, _ in values] == [1, 2] for values in found.values())
        reported = [round(t.intermediate_values[e], 4) for e in (1, 2)]
        assert [v for _, v in found["val/class_acc"]] == reported
        get_file(store, artifacts_of(t)["results_csv"], tmp_path / f"{t.number}.csv")
        rows = list(csv.DictReader((tmp_path / f"{t.number}.csv").open()))
        assert [round(float(row[CLASS_ACC]), 4) for row in rows] == reported
        for key in (BEST_CENTRE_ACC, BEST_IOU, BEST_SPARK_SCORE, FINAL_TRAIN_LOSS):
            assert isinstance(t.user_attrs[key], float), key
        assert t.user_attrs[STAGE] == "1 lr x weight_decay"  # what the trial page shows
    handle.close()
    served, sessions = _tags_served("det", pg_url, tmp_path)
    assert set(served) == {position_of(t).run_name for t in done}
    assert all(set(tags) >= set(SCALAR_TAGS.values()) for tags in served.values())
    by_run = {group["name"]: group["hparams"] for group in sessions}  # the HParams tab
    assert {run: params["lr"] for run, params in by_run.items()} == {
        position_of(t).run_name: t.params["lr"] for t in done
    }


def test_a_killed_trial_resumed_under_a_new_number_continues_its_run(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    (tmp_path / "one.toml").write_text(ONE_POINT)
    create_fake_study(storage, tmp_path, "--plan", str(tmp_path / "one.toml"), "--pruner", "none", "--set", "epochs=5", "--set", "sleep=0.4")  # fmt: skip
    liveness = ("--heartbeat", "0.5", "--grace", "2.5")
    first = start_workers(1, "s", storage, tmp_path, *liveness)[0]
    while not any(len(t.intermediate_values) >= 2 for t in trials_of(storage)):
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    wait_all(start_workers(1, "s", storage, tmp_path, *liveness), timeout=120)
    trials = trials_of(storage)
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    run = tmp_path / "tensorboard" / "s" / position_of(trials[1]).run_name
    found = scalars(run)["val/class_acc"]
    assert [step for step, _ in found] == [1, 2, 3, 4, 5]  # exactly one value per epoch
    assert [v for _, v in found] == [
        round(trials[1].intermediate_values[e], 4) for e in range(1, 6)
    ]
