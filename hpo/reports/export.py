"""`spacehpo export`: a trial's best weights, its settings and pictures, as a folder any host can
use with `spacehpo predict` and `spacehpo evaluate`; with `--format onnx` or `torchscript`, also
the deployable model (see `model.deploy`)."""

from __future__ import annotations

import json
import platform
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from spacehpo.data.files import staged_dir
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.ranking import best_trial
from spacehpo.hpo.core.record import (
    artifacts_of,
    best_metrics_of,
    position_of,
    record_of,
    study_trials,
)
from spacehpo.hpo.engine.study import StudySpec
from spacehpo.hpo.engine.trainable import DATA
from spacehpo.model.checkpoint import load_checkpoint
from spacehpo.model.deploy import EXPORTERS, FILES, ONNX, OPSET, PT, check_format
from spacehpo.model.infer import load_model
from spacehpo.model.onnx_predict import INPUT, OUTPUTS
from spacehpo.storage.artifacts import get_file, open_artifact_store

PICTURES = ("confusion", "overlays")


def choose_trial(study: optuna.Study, number: int | None, objective: str) -> FrozenTrial:
    """The trial `number`, or the best configuration's best repeat (`ranking.best_trial`)."""
    trials = study_trials(study)
    if number is None:
        best = best_trial([record_of(t, objective) for t in trials])
        if best is None:
            raise HpoError(f"study {study.study_name!r} has no complete trial yet")
        number = best.number
    chosen = next((t for t in trials if t.number == number), None)
    if chosen is None:
        raise HpoError(f"study {study.study_name!r} has no trial {number}")
    if chosen.state != TrialState.COMPLETE:
        raise HpoError(
            f"trial {number} is {chosen.state.name}: only a complete trial has a best checkpoint to export"
        )
    return chosen


def export_trial(
    study: optuna.Study,
    spec: StudySpec,
    number: int | None,
    out: Path,
    store_path: str | None = None,
    fmt: str = PT,
) -> FrozenTrial:
    """`store_path`: this host's path to the study's artifact store, if it differs. `model.pt`
    is always written, so `evaluate` and `predict` work on the folder whatever `fmt` adds."""
    check_format(fmt)
    trial = choose_trial(study, number, spec.objective)
    artifacts = artifacts_of(trial)
    if "model" not in artifacts:
        raise HpoError(
            f"trial {trial.number} published no model (its trainable returned no 'model' file)"
        )
    location = store_path or spec.artifacts
    store = open_artifact_store(location)
    with staged_dir(out) as tmp:
        if not get_file(store, artifacts["model"], tmp / FILES[PT]):
            raise HpoError(
                f"trial {trial.number}: model artifact {artifacts['model']} is missing from {location}"
            )
        weights = load_checkpoint(tmp / FILES[PT], required=("model", "class_names", "image_size"))
        for name in PICTURES:
            if name in artifacts:
                get_file(store, artifacts[name], tmp / f"{name}.png")
        if fmt != PT:
            EXPORTERS[fmt](load_model(tmp / FILES[PT]), tmp / FILES[fmt])
        config = _config(study, spec, trial, weights) | {"deploy": deploy_info(fmt)}
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
    return trial


def deploy_info(fmt: str) -> dict[str, Any]:
    """What a deployment needs to know about the file it was given, beside it in config.json."""
    info: dict[str, Any] = {"format": fmt, "file": FILES[fmt]}
    if fmt == PT:
        return info
    info |= {"input": f"{INPUT}: uint8 (batch, image_size, image_size, 3) RGB", "outputs": OUTPUTS}
    return info | ({"opset": OPSET} if fmt == ONNX else {})


def _config(
    study: optuna.Study, spec: StudySpec, trial: FrozenTrial, weights: dict[str, Any]
) -> dict[str, Any]:
    return {
        "study": study.study_name,
        "trial": trial.number,
        "params": trial.params,
        "metrics": best_metrics_of(trial),
        "best_epoch": weights.get("epoch"),
        "stage": position.stage_name if (position := position_of(trial)) else None,
        "dataset": {"path": spec.settings.get(DATA), "fingerprint": spec.fingerprint},
        "class_names": weights["class_names"],
        "image_size": weights["image_size"],
        "training": weights.get("config", {}),
        "versions": {p: version(p) for p in ("torch", "torchvision", "optuna", "spacehpo")}
        | {"python": platform.python_version()},
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
