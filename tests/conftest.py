"""Shared fixtures: real services, tiny synthetic datasets, an isolated cache per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SPARK_SAMPLE = SHARED / "spark-sample"

# Stray settings from the developer's shell must not steer the tests.
for _var in ("SPACEHPO_STORAGE", "SPACEHPO_CACHE", "SPACEHPO_ARTIFACTS", "CUDA_VISIBLE_DEVICES"):
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
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `spacehpo ...` as a user would: a real process, its exit code and both streams."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "spacehpo.hpo.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("spacehpo: error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
