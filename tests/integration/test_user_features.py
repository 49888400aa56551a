"""What users do with a study: export -> predict, the dashboard in a real browser, compare.

The study lives on a real PostgreSQL under a password-protected role, and the password must
not leak into any output, attribute, artifact or dashboard page.
"""

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
import torch
from spacehpo.hpo.study import load
from spacehpo.storage.backends import open_storage

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


def test_dashboard_in_a_real_browser(detector_study: dict) -> None:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spacehpo.cli",
            "dashboard",
            "--storage",
            detector_study["url"],
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
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
            page.wait_for_timeout(2500)
            page.screenshot(path=str(SHOTS / "dashboard-study.png"), full_page=True)
            page.goto(f"http://127.0.0.1:{port}/dashboard/studies/1/trials")
            page.get_by_text("Trial 0").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(SHOTS / "dashboard-trials.png"), full_page=True)
            trials_page = page.content()
            api = page.request.get(f"http://127.0.0.1:{port}/api/studies/1").text()
            browser.close()
        assert "det" in home and "Trial 2" in trials_page
        detail = json.loads(api)
        trial0 = detail["trials"][0]
        assert trial0["intermediate_values"]
        assert len(trial0["artifacts"]) == 3  # model, confusion matrix, overlays
        assert {a["key"] for a in trial0["user_attrs"]} >= {
            "stage_name",
            "centre_acc",
            "iou",
            "best_metrics",
        }
        assert "lr x weight_decay" in detail["note"]["body"]
        for text in (home, trials_page, api):
            assert PASSWORD not in text
    finally:
        server.terminate()
        out = server.communicate(timeout=10)[0]
    assert PASSWORD not in out and "***" in out


def test_password_never_leaks(detector_study: dict) -> None:
    for text in detector_study["outputs"]:
        assert PASSWORD not in text
    handle = open_storage(detector_study["url"])
    study, _ = load(handle, "det")
    system = handle.storage.get_study_system_attrs(study._study_id)  # Optuna 5: not on Study
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
