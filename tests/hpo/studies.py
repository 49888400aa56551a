"""Creating and reading studies in engine tests, the way a user would (the CLI, a real storage)."""

from __future__ import annotations

from pathlib import Path

import optuna
from spacehpo.hpo.engine.study import load
from spacehpo.storage.backends import open_storage

from tests.conftest import run_cli

FAKE = "tests.hpo.fakes:scored"


def create_fake_study(storage: str, cwd: Path, *extra: str, name: str = "s") -> None:
    """A study of the fake trainable; `extra` flags come last, so they override."""
    r = run_cli(
        "study",
        "create",
        name,
        "--storage",
        storage,
        "--trainable",
        FAKE,
        "--artifacts",
        str(cwd / "artifacts"),
        *extra,
    )
    assert r.returncode == 0, r.stderr


def trials_of(storage: str, name: str = "s") -> list[optuna.trial.FrozenTrial]:
    handle = open_storage(storage)
    trials = load(handle, name)[0].get_trials()
    handle.close()
    return trials
