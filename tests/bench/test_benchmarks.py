"""Each benchmark runs from one command at a tiny size and prints its ratio line (no timing asserted)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CASES = {
    "data": ["--n", "3", "--size", "64"],
    "train": ["--batch", "2", "--steps", "1", "--size", "64", "--source", "96"],
    "coordination": [
        "--workers",
        "1,2",
        "--storages",
        "journal,postgres",
        "--plan",
        "staged",
        "--epochs",
        "2",
    ],
    "search": [
        "--size",
        "64",
        "--n-train",
        "11",
        "--n-val",
        "11",
        "--epochs",
        "1",
        "--tpe",
        "2",
        "--trainable",
        "tests.hpo.fakes:scored",
    ],
    "backbones": [
        "--batch",
        "2",
        "--steps",
        "1",
        "--size",
        "64",
        "--backbones",
        "resnet18,efficientnet_b0",
    ],
    "trial_writes": ["--epochs", "3", "--steps", "1"],
    "scale": [
        *("--images", "40", "--size", "48", "--cache-size", "64", "--workers", "2"),
        *("--epochs", "1", "--batches", "1"),
    ],
}


def _bench(name: str, *args: str, cwd: Path) -> list[str]:
    """Its stdout lines, after it exited 0. It runs from `cwd`, outside the repository, as an
    installed `spacehpo.bench` does; the repository is on the path only for a trainable in
    tests/ (`tests.hpo.fakes`)."""
    env = dict(os.environ)
    if any(a.startswith("tests.") for a in args):
        env["PYTHONPATH"] = str(REPO)
    else:
        env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-m", f"spacehpo.bench.{name}", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()


@pytest.mark.slow  # each starts real processes: several seconds even at the tiny sizes
@pytest.mark.parametrize("name", list(CASES))
def test_benchmark_runs_and_prints_its_ratio(name: str, postgres_up: None, tmp_path: Path) -> None:
    lines = _bench(name, *CASES[name], cwd=tmp_path)
    assert lines[-1].startswith("ratio:"), lines
    assert any(
        line.startswith("# ") for line in lines
    )  # the header with date, machine and versions
    if name == "coordination":
        assert "duplicates 0" in lines[-1]
    if name == "scale":  # a row per worker, and the trials' own time was read back
        assert "fixed cost s" in lines[-1]
        assert sum(re.match(r"worker \d+ ", line) is not None for line in lines) == 2


@pytest.mark.slow  # a process pool replays 11 plans
def test_search_replays_a_recorded_table(tmp_path) -> None:
    from spacehpo.hpo.replay.table import write_table

    from tests.hpo.replay_tables import synthetic_table

    write_table(synthetic_table(), tmp_path / "t.csv")
    lines = _bench("search", "--table", str(tmp_path / "t.csv"), "--seeds", "3", cwd=tmp_path)
    assert lines[-2].startswith("staged: ") and lines[-1].startswith("ratio: ")
    assert any(line.startswith("tpe:27 ") for line in lines)
