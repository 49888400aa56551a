"""Shared fixtures: real services, tiny synthetic datasets, an isolated cache per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from spacehpo.bench.fault_proxy import FaultProxy

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SPARK_SAMPLE = SHARED / "spark-sample"

# Stray settings from the developer's shell must not steer the tests.
for _var in ("SPACEHPO_STORAGE", "SPACEHPO_CACHE", "CUDA_VISIBLE_DEVICES"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["SPACEHPO_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64 px synthetic dataset shared read-only by the whole session."""
    from spacehpo.data.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("tiny") / "ds"
    generate(root, SynthConfig(n_train=44, n_val=22, size=64, seed=3), progress=False)
    return root


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run `spacehpo ...` as a user would: a real process, its exit code and both streams."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "spacehpo.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("spacehpo: error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="session")
def postgres_up() -> None:
    """Tests talk to a real PostgreSQL; start it when it is down, as `make test` does."""
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        subprocess.run(["bash", str(REPO / "scripts" / "test-services.sh")], check=True)


def admin_engine() -> sqlalchemy.Engine:
    """The server's superuser, for creating and dropping test databases and roles."""
    return sqlalchemy.create_engine(
        "postgresql+psycopg2://postgres@127.0.0.1/postgres",
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=True,
    )


@pytest.fixture
def pg_url(postgres_up: None) -> Iterator[str]:
    """A fresh, empty database per test, dropped afterwards."""
    import uuid

    name = f"spacehpo_t_{uuid.uuid4().hex[:10]}"
    admin = admin_engine()
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@127.0.0.1/{name}"
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["journal", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each engine test runs on the embedded journal file and on a real PostgreSQL."""
    if request.param == "journal":
        return f"journal:{tmp_path / 'runs' / 'journal.log'}"
    return request.getfixturevalue("pg_url")


def start_workers(
    n: int, study: str, storage: str, cwd: Path, *extra: str
) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spacehpo.cli",
                "worker",
                study,
                "--storage",
                storage,
                "--device",
                "cpu",
                "--poll",
                "0.1",
                *extra,
            ],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(n)
    ]


def wait_all(procs: list[subprocess.Popen], timeout: float = 180) -> list[str]:
    outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out
    return outputs


@pytest.fixture
def fault_proxy(postgres_up: None) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the real PostgreSQL, faultless until told otherwise
    (`cut_next_commits`); tests that need rates start their own `FaultProxy(Faults(...))`."""
    with FaultProxy() as proxy:
        yield proxy
