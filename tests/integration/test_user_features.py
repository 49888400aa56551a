"""What users do with a study: export -> predict, the dashboard in a real browser, compare.

The study lives on a real PostgreSQL under a password-protected role, and the password must
not leak into any output, attribute, artifact or dashboard page.
"""

import csv
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy
import torch
from spacehpo.hpo.engine.study import load
from spacehpo.storage.backends import open_storage
from spacehpo.storage.optuna_access import study_id

from tests.conftest import REPO, SPARK_SAMPLE, admin_engine, assert_one_line_error, run_cli

PASSWORD = "Sup3r-S3cret-pw"
SHOTS = REPO / "build" / "screenshots"  # for the user to look at; git-ignored


@pytest.fixture(scope="module")
def secret_url(postgres_up: None) -> Iterator[str]:
    role, db = f"spacehpo_u_{uuid.uuid4().hex[:8]}", f"spacehpo_s_{uuid.uuid4().hex[:8]}"
    admin = admin_engine()
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'"))
        c.execute(sqlalchemy.text(f"CREATE DATABASE {db} OWNER {role}"))
    yield f"postgresql://{role}:{PASSWORD}@127.0.0.1:5432/{db}"
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        c.execute(sqlalchemy.text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


@pytest.fixture(scope="module")
def detector_study(
    secret_url: str, tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """Three real detector trials (64 px, 1 epoch) run by a real worker process."""
    root = tmp_path_factory.mktemp("study")
    outputs = []
    r = run_cli(
        "study",
        "create",
        "det",
        "--storage",
        secret_url,
        "--data",
        str(tiny_dataset),
        "--epochs",
        "1",
        "--image-size",
        "64",
        "--batch-size",
        "22",
        "--artifacts",
        str(root / "artifacts"),
        "--pruner",
        "none",
    )
    assert r.returncode == 0, r.stderr
    outputs += [r.stdout, r.stderr]
    r = run_cli(
        "worker",
        "det",
        "--storage",
        secret_url,
        "--device",
        "cpu",
        "--max-trials",
        "3",
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    outputs += [r.stdout, r.stderr]
    r = run_cli("study", "status", "det", "--storage", secret_url)
    outputs += [r.stdout, r.stderr]
    return {"url": secret_url, "root": root, "outputs": outputs}


def test_export_then_predict_and_evaluate(
    detector_study: dict, tiny_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "best"
    r = run_cli("export", "det", "--storage", detector_study["url"], "--out", str(out))
    assert r.returncode == 0, r.stderr
    detector_study["outputs"] += [r.stdout, r.stderr]
    state = torch.load(out / "model.pt", weights_only=True)
    config = json.loads((out / "config.json").read_text())
    assert (
        state["image_size"] == 64
        and config["class_names"][2] == "debris"
        and config["dataset"]["fingerprint"]
    )
    assert set(config["params"]) == {"lr", "weight_decay", "sigma", "k", "box_weight"}
    assert (out / "confusion.png").exists() and (out / "overlays.png").exists()
    r = run_cli(
        "predict",
        "--checkpoint",
        str(out / "model.pt"),
        "--images",
        str(SPARK_SAMPLE / "train" / "img050002.png"),
        "--out",
        str(tmp_path / "p"),
    )
    assert r.returncode == 0 and (tmp_path / "p" / "submission.csv").read_text().count("\n") == 2
    r = run_cli(
        "evaluate",
        "--checkpoint",
        str(out / "model.pt"),
        "--data",
        str(tiny_dataset),
        "--out",
        str(tmp_path / "e"),
    )
    assert (
        r.returncode == 0 and f"{config['metrics']['class_acc']:.4f}" in r.stdout
    )  # same weights, same metric


def test_export_onnx_then_predict_and_evaluate_with_it(
    detector_study: dict, tiny_dataset: Path, tmp_path: Path
) -> None:
    """The deployable file answers as the checkpoint beside it does, through the same commands."""
    out = tmp_path / "best"
    r = run_cli(
        "export", "det", "--storage", detector_study["url"], "--out", str(out), "--format", "onnx"
    )
    assert r.returncode == 0, r.stderr
    assert "model.pt, model.onnx, config.json" in r.stdout and "model.onnx --images" in r.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["deploy"]["file"] == "model.onnx" and config["deploy"]["opset"] == 17
    image = str(SPARK_SAMPLE / "train" / "img050002.png")
    rows = []
    for model in ("model.pt", "model.onnx"):
        args = ["--checkpoint", str(out / model), "--images", image, "--out", str(tmp_path / model)]
        r = run_cli("predict", *args)
        assert r.returncode == 0, r.stderr
        with (tmp_path / model / "submission.csv").open() as f:
            rows.append(list(csv.reader(f))[1])
    assert rows[0][:2] == rows[1][:2]  # file and class
    pt_box, onnx_box = (json.loads(r[2]) for r in rows)
    assert max(abs(a - b) for a, b in zip(pt_box, onnx_box, strict=True)) <= 1  # pixels
    args = ["--checkpoint", str(out / "model.onnx"), "--data", str(tiny_dataset)]
    r = run_cli("evaluate", *args, "--out", str(tmp_path / "e"))
    assert r.returncode == 0 and f"{config['metrics']['class_acc']:.4f}" in r.stdout, r.stderr


def test_export_refuses_unfinished_trials(detector_study: dict, tmp_path: Path) -> None:
    r = run_cli(
        "export",
        "det",
        "--storage",
        detector_study["url"],
        "--trial",
        "3",
        "--out",
        str(tmp_path / "x"),
    )
    assert_one_line_error(r, "trial 3 is WAITING")
    assert not (tmp_path / "x").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dashboard:
    process: subprocess.Popen
    port: int
    output: str = ""  # everything it printed, once stopped

    def processes(self) -> list[int]:
        """The server and its gunicorn workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [self.process.pid, *map(int, children.read_text().split())]


@contextmanager
def running_dashboard(url: str, server: str) -> Iterator[Dashboard]:
    """`spacehpo dashboard` as a user starts it, URL and password on the command line; stopped
    with SIGTERM unless the test stopped it already."""
    port = _free_port()
    workers = ["--workers", "2"] if server == "gunicorn" else []
    process = subprocess.Popen(
        [sys.executable, "-m", "spacehpo.cli", "dashboard", "--storage", url, "--port", str(port),
         "--server", server, *workers],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    dashboard = Dashboard(process, port)
    try:
        deadline = time.time() + 60
        while process.poll() is None and time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5):
                    break
            except OSError:
                time.sleep(0.3)
        assert process.poll() is None, process.communicate()[0]
        yield dashboard
    finally:
        if process.poll() is None:
            process.terminate()
        dashboard.output = process.communicate(timeout=20)[0]


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.mark.parametrize("server", ["builtin", "gunicorn"])
def test_dashboard_in_a_real_browser(detector_study: dict, server: str) -> None:
    from playwright.sync_api import sync_playwright

    with running_dashboard(detector_study["url"], server) as dashboard:
        port = dashboard.port
        # bound to loopback only
        assert any(
            f"127.0.0.1:{port}" in line
            for line in subprocess.run(
                ["ss", "-ltn"], capture_output=True, text=True
            ).stdout.splitlines()
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/dashboard/")
            page.get_by_text("det").first.wait_for(timeout=30_000)
            home = page.content()
            page.goto(f"http://127.0.0.1:{port}/dashboard/studies/1")
            page.get_by_text("class_acc").first.wait_for(timeout=30_000)  # the objective's name
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / f"dashboard-study-{server}.png"), full_page=True)
            page.goto(f"http://127.0.0.1:{port}/dashboard/studies/1/trials")
            page.get_by_text("Trial 0").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / f"dashboard-trials-{server}.png"), full_page=True)
            trials_page = page.content()
            api = page.request.get(f"http://127.0.0.1:{port}/api/studies/1").text()
            browser.close()
        assert "det" in home and "Trial 2" in trials_page
        detail = json.loads(api)
        assert detail["objective_names"] == ["class_acc"]  # not "Objective 0"
        trial0 = detail["trials"][0]
        assert trial0["intermediate_values"]
        # model, confusion matrix, overlays, results.csv (shown as a table), results.png
        assert len(trial0["artifacts"]) == 5
        assert {a["filename"] for a in trial0["artifacts"]} >= {"results.csv", "results.png"}
        shown = {a["key"]: a["value"] for a in trial0["user_attrs"]}
        assert shown["stage"] == "1 lr x weight_decay"  # the trial page's stage, as users read it
        assert set(shown) >= {
            "centre_acc",
            "iou",
            "best_metrics",
            "best_centre_acc",  # scalars the dashboard can plot
        }
        assert "lr x weight_decay" in detail["note"]["body"]
        for text in (home, trials_page, api):
            assert PASSWORD not in text
        assert PASSWORD not in _command_line(dashboard.process.pid)
    if server == "gunicorn":
        assert dashboard.process.returncode == 0  # SIGTERM: a clean stop
    first = dashboard.output.splitlines()[0]
    assert f"({server}" in first and ":***@" in first and f"http://127.0.0.1:{port}/" in first
    assert first.endswith("Ctrl-C stops it") and PASSWORD not in dashboard.output


def test_gunicorn_keeps_the_password_out_of_its_processes_and_stops_on_ctrl_c(
    secret_url: str,
) -> None:
    with running_dashboard(secret_url, "gunicorn") as dashboard:
        deadline = time.time() + 30
        while len(dashboard.processes()) < 3 and time.time() < deadline:
            time.sleep(0.2)
        pids = dashboard.processes()
        assert len(pids) == 3  # the master and two workers
        for pid in pids:
            assert "dashboard --server gunicorn --workers 2" in _command_line(pid)
            assert PASSWORD not in _command_line(pid)
        dashboard.process.send_signal(signal.SIGINT)
        assert dashboard.process.wait(timeout=15) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert PASSWORD not in dashboard.output and ":***@" in dashboard.output
    assert "Shutting down" in dashboard.output and "Traceback" not in dashboard.output


def test_password_never_leaks(detector_study: dict) -> None:
    for text in detector_study["outputs"]:
        assert PASSWORD not in text
    handle = open_storage(detector_study["url"])
    study, _ = load(handle, "det")
    system = handle.storage.get_study_system_attrs(study_id(study))  # Optuna 5: not on Study
    attrs = json.dumps(
        [study.user_attrs, system] + [[t.user_attrs, t.system_attrs] for t in study.get_trials()],
        default=str,
    )
    handle.close()
    assert PASSWORD not in attrs
    for path in detector_study["root"].rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes()
    bad = detector_study["url"].replace("127.0.0.1:5432", "127.0.0.1:1")
    r = run_cli("study", "status", "det", "--storage", bad, timeout=200)
    assert r.returncode == 2 and PASSWORD not in r.stdout + r.stderr and "***" in r.stderr
