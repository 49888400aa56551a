"""Creating and reading studies in tests the way a user would (the CLI, a real storage), and
in-memory studies of hand-made trials, for the reports' unit tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial
from spacehpo.hpo.core.curves import Curves
from spacehpo.hpo.core.plans import DEFAULT_SPACE
from spacehpo.hpo.core.record import BEST_METRICS, EPOCHS_RUN, Position
from spacehpo.hpo.engine.study import load
from spacehpo.model.metrics import CENTRE_ACC, CLASS_ACC
from spacehpo.storage.backends import open_storage

from tests.conftest import run_cli

FAKE = "tests.hpo.fakes:scored"
# A plan file with a categorical parameter next to the numeric ones.
MIXED = """
name = "mixed"
[space.flavour]
choices = ["a", "b"]
[[stage]]
name = "flavour x lr"
grid = { flavour = ["a", "b"], lr = [1e-4, 3e-4] }
fixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }
[[stage]]
name = "sigma"
grid = { sigma = [0.3, 0.7] }
inherit = ["flavour", "lr"]
fixed = { weight_decay = 1e-4, k = 8, box_weight = 5 }
"""


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


# Hand-made trials over the default space; a param not given is BASE_PARAMS'.
DISTRIBUTIONS = {p: FloatDistribution(r.low, r.high, log=r.log) for p, r in DEFAULT_SPACE.items()}
BASE_PARAMS = dict(lr=1e-4, weight_decay=1e-4, sigma=0.5, k=8.0, box_weight=5.0)


def made_trial(
    state: TrialState,
    value: float | None = None,
    centre: float | None = None,
    *,
    curves: dict[int, tuple[float, float]] | None = None,
    position: Position | None = None,
    epochs_run: int | None = None,
    minutes: float = 0.0,
    **params: float,
) -> FrozenTrial:
    """A trial as a worker leaves it: `curves` maps epoch -> (class_acc, centre_acc); a complete
    trial reported its result at least once."""
    if curves is None:
        curves = {1: (value, centre or 0.0)} if value is not None else {}
    attrs: dict[str, Any] = position.attrs() if position else {}
    attrs.update(Curves([c for c, _ in curves.values()], [z for _, z in curves.values()]).lists())
    if centre is not None:
        attrs[BEST_METRICS] = {CLASS_ACC: value, CENTRE_ACC: centre}
    if epochs_run is not None:
        attrs[EPOCHS_RUN] = epochs_run
    t = create_trial(
        state=state,
        value=value,
        params={**BASE_PARAMS, **params},
        distributions=DISTRIBUTIONS,
        user_attrs=attrs,
        intermediate_values={e: c for e, (c, _) in curves.items()},
    )
    if t.datetime_complete:
        t.datetime_start = t.datetime_complete - dt.timedelta(minutes=minutes)
    return t


def made_study(name: str, trials: list[FrozenTrial]) -> optuna.Study:
    study = optuna.create_study(study_name=name, direction="maximize")
    for t in trials:
        study.add_trial(t)
    return study
