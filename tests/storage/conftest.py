"""A storage handle on each backend, and a WAITING trial in it, for the storage tests that must
hold on the journal file and on PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from spacehpo.storage.backends import StorageHandle, open_storage
from spacehpo.storage.optuna_access import trial_id
from spacehpo.storage.retry import Retrier


def waiting_trial(handle: StorageHandle) -> tuple[optuna.Study, int]:
    study = optuna.create_study(study_name="s", storage=handle.storage, load_if_exists=True)
    study.enqueue_trial({"x": 1.0})
    return study, trial_id(study.get_trials(states=(TrialState.WAITING,))[0])


@pytest.fixture(params=["journal", "postgres"])
def handle(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageHandle]:
    if request.param == "journal":
        url = f"journal:{tmp_path / 'j.log'}"
    else:
        url = request.getfixturevalue("pg_url")
    with open_storage(url, Retrier(10), create=True) as handle:
        yield handle
