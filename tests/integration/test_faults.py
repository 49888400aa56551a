"""Faults inflicted for real on real worker processes and a real PostgreSQL: SIGKILL storms, a
server restart, a 30 s outage, an unwritable artifact store, racing creates, a fleet restart.
Each stops by itself within a minute or so. Figures land in the closing note of issue 8."""

import random
import signal
import subprocess
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.trial import TrialState
from spacehpo.data.errors import DataError
from spacehpo.data.spark import read_labels
from spacehpo.hpo.core.record import position_of, stage_of

from tests.conftest import assert_one_line_error, run_cli, start_workers, wait_all
from tests.hpo.studies import FAKE, create_fake_study, trials_of
from tests.pg_server import PrivateServer

FAST_LIVENESS = ("--heartbeat", "0.5", "--grace", "2.5")


def _check_plan_done_exactly_once(
    trials: list[optuna.trial.FrozenTrial], points: int
) -> dict[str, int]:
    """Every point's latest attempt is COMPLETE or PRUNED; earlier attempts are the killed ones."""
    by_point = defaultdict(list)
    for t in trials:
        by_point[(stage_of(t), position_of(t).point)].append(t)
    assert len(by_point) == points
    retrained = 0
    for attempts in by_point.values():
        attempts.sort(key=lambda t: t.number)
        assert attempts[-1].state in (TrialState.COMPLETE, TrialState.PRUNED), attempts[-1]
        assert all(t.state == TrialState.FAIL for t in attempts[:-1])  # no duplicate results
        final = len(attempts[-1].intermediate_values)
        extra = sum(t.user_attrs.get("epochs_run", 0) for t in attempts) - final
        if extra:
            print(
                "re-trained:",
                [
                    (
                        t.number,
                        t.state.name,
                        t.user_attrs.get("epochs_run"),
                        t.user_attrs.get("resume"),
                        t.user_attrs.get("checkpoint"),
                        t.user_attrs.get("worker"),
                    )
                    for t in attempts
                ],
            )
        retrained += extra
    return {
        "trials": len(trials),
        "killed": sum(t.state == TrialState.FAIL for t in trials),
        "epochs_retrained": retrained,
    }


def test_random_sigkills_during_a_staged_study(pg_url: str, tmp_path: Path) -> None:
    create_fake_study(
        pg_url, tmp_path, "--set", "epochs=4", "--set", "sleep=0.2", "--max-retries", "10"
    )
    workers = start_workers(3, "s", pg_url, tmp_path, *FAST_LIVENESS)
    rng, kills, deadline = random.Random(0), 0, time.time() + 120
    while time.time() < deadline and any(w.poll() is None for w in workers):
        time.sleep(2.0)
        alive = [w for w in workers if w.poll() is None]
        if kills < 6 and alive:
            victim = rng.choice(alive)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            workers.remove(victim)
            kills += 1
            workers += start_workers(1, "s", pg_url, tmp_path, *FAST_LIVENESS)
    wait_all(workers, timeout=90)
    figures = _check_plan_done_exactly_once(trials_of(pg_url), 22)
    print(f"SIGKILLs {kills}: {figures}")
    assert figures["killed"] >= 1
    # every kill resumed from the last epoch checkpoint: at most the one epoch reported but not
    # yet checkpointed when the kill landed is trained again
    assert figures["epochs_retrained"] <= figures["killed"]


def _server_started_after(url: str, moment: datetime) -> bool:
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as conn:
        started = conn.execute(sqlalchemy.text("SELECT pg_postmaster_start_time()")).scalar_one()
    engine.dispose()
    return started > moment


def _restart_test(server: PrivateServer, tmp_path: Path, outage_s: float, grace: str) -> None:
    pg_url = server.url
    create_fake_study(
        pg_url, tmp_path, "--set", "epochs=3", "--set", "sleep=0.3", "--pruner", "none"
    )
    workers = start_workers(2, "s", pg_url, tmp_path, "--heartbeat", "1", "--grace", grace)
    while sum(t.state == TrialState.COMPLETE for t in trials_of(pg_url)) < 2:
        time.sleep(0.2)
    restarted = datetime.now(UTC)
    if outage_s:
        server.stop()
        time.sleep(outage_s)
        server.start()
    else:
        server.restart()
    outputs = wait_all(workers, timeout=150)
    if outage_s:  # a restart is over in about a second: a worker may not call in that window
        assert any("storage unreachable" in out for out in outputs)
    assert _server_started_after(pg_url, restarted)  # the server did go down mid-study
    figures = _check_plan_done_exactly_once(trials_of(pg_url), 22)
    print(f"outage {outage_s} s: {figures}")


def test_postgres_restart_mid_study(private_pg: PrivateServer, tmp_path: Path) -> None:
    _restart_test(private_pg, tmp_path, 0, grace="20")


def test_postgres_unreachable_for_30_seconds(private_pg: PrivateServer, tmp_path: Path) -> None:
    _restart_test(private_pg, tmp_path, 30, grace="60")


def test_unwritable_artifact_store_is_a_machine_fault_not_the_trials(tmp_path: Path) -> None:
    """Issue 11 item 3 changed this: an unwritable store re-queues the trial (it used to fail it
    for good), and the study completes every point once the store is writable again."""
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--set", "epochs=2", "--pruner", "none")
    artifacts = tmp_path / "artifacts"
    subprocess.run(["chattr", "+i", str(artifacts)], check=True)  # read-only even for root
    try:
        out = wait_all(start_workers(1, "s", storage, tmp_path, "--max-trials", "1"))[0]
    finally:
        subprocess.run(["chattr", "-i", str(artifacts)], check=True)
    assert "trial 0: machine fault (PermissionError" in out
    wait_all(start_workers(2, "s", storage, tmp_path))  # the study carries on
    trials = trials_of(storage)
    assert trials[0].state == TrialState.FAIL
    assert trials[0].user_attrs["fail_reason"].startswith("machine fault: PermissionError")
    assert "Operation not permitted" in trials[0].user_attrs["fail_reason"]
    assert len(trials) == 23 and sum(t.state == TrialState.COMPLETE for t in trials) == 22


def test_two_creates_at_once_one_wins(pg_url: str, tmp_path: Path) -> None:
    args = [
        "study",
        "create",
        "s",
        "--storage",
        pg_url,
        "--trainable",
        FAKE,
        "--artifacts",
        str(tmp_path / "a"),
    ]
    procs = [
        subprocess.Popen(
            [*_cli(), *args, "--plan", plan],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for plan in ("staged", "full")
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, _, err in results if code == 2)
    assert (
        "already exists" in loser
        and "Traceback" not in loser
        and len(loser.strip().splitlines()) == 1
    )


def _cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "spacehpo.cli"]


def _env() -> dict[str, str]:
    import os

    from tests.conftest import REPO

    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_whole_fleet_stopped_and_restarted(pg_url: str, tmp_path: Path) -> None:
    create_fake_study(
        pg_url, tmp_path, "--set", "epochs=4", "--set", "sleep=0.25", "--pruner", "none"
    )
    fleet = start_workers(3, "s", pg_url, tmp_path, *FAST_LIVENESS)
    while sum(t.state == TrialState.COMPLETE for t in trials_of(pg_url)) < 5:
        time.sleep(0.2)
    for w in fleet:
        w.send_signal(signal.SIGKILL)
        w.wait()
    wait_all(start_workers(3, "s", pg_url, tmp_path, *FAST_LIVENESS))
    figures = _check_plan_done_exactly_once(trials_of(pg_url), 22)
    print(f"fleet restart: {figures}")
    assert figures["killed"] >= 1 and figures["epochs_retrained"] <= figures["killed"]


def test_worker_refuses_other_data(tiny_dataset: Path, tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    assert (
        run_cli(
            "study",
            "create",
            "s",
            "--storage",
            storage,
            "--data",
            str(tiny_dataset),
            "--artifacts",
            str(tmp_path / "a"),
        ).returncode
        == 0
    )
    from spacehpo.data.synth import SynthConfig, generate

    generate(
        tmp_path / "other", SynthConfig(n_train=11, n_val=11, size=64, seed=99), progress=False
    )
    r = run_cli(
        "worker", "s", "--storage", storage, "--device", "cpu", "--data", str(tmp_path / "other")
    )
    assert_one_line_error(r, str(tmp_path / "other"), "fingerprint differs")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=12), st.text(max_size=30), st.text(max_size=30)), max_size=5
    ),
    st.sampled_from(["filename,class,bbox", "file,class,bbox", ""]),
)
def test_any_release_csv_parses_or_names_its_line(
    tmp_path_factory: pytest.TempPathFactory, rows, header: str
) -> None:  # noqa: ANN001
    import csv
    import io

    buf = io.StringIO()
    if header:
        buf.write(header + "\n")
    csv.writer(buf).writerows(rows)
    path = tmp_path_factory.mktemp("csv") / "train.csv"
    path.write_text(buf.getvalue())
    try:
        read_labels(path)
    except DataError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)
