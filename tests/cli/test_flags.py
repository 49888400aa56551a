"""Flags become configuration in one place each; nothing a user typed is dropped."""

from pathlib import Path

import pytest
from spacehpo.cli.flags import parse_set, train_config_from_args
from spacehpo.cli.main import build_parser
from spacehpo.cli.study import study_spec_from_args
from spacehpo.cli.tables import table
from spacehpo.cli.worker import worker_config_from_args
from spacehpo.hpo.core.errors import HpoError
from spacehpo.model.errors import ModelError


def test_train_flags_become_a_checked_config() -> None:
    args = build_parser().parse_args(
        ["train", "--data", "d", "--out", "o", "--lr", "1e-3", "--amp", "--compile"]
    )
    cfg = train_config_from_args(args)
    assert cfg.lr == 1e-3 and cfg.amp is True and cfg.compile is True
    bad = build_parser().parse_args(["train", "--data", "d", "--out", "o", "--image-size", "100"])
    with pytest.raises(ModelError, match="image_size = 100"):
        train_config_from_args(bad)


def test_study_create_keeps_amp_and_compile(tiny_dataset: Path, tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["study", "create", "s", "--data", str(tiny_dataset), "--image-size", "64", "--no-amp",
         "--compile", "--artifacts", str(tmp_path / "a")]
    )  # fmt: skip
    spec = study_spec_from_args(args)
    assert spec.settings["amp"] is False and spec.settings["compile"] is True
    assert spec.train_config().compile is True


def test_backbone_reaches_train_and_study_create(tiny_dataset: Path, tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["train", "--data", "d", "--out", "o", "--backbone", "resnet50"]
    )
    assert train_config_from_args(args).backbone == "resnet50"
    args = build_parser().parse_args(
        ["study", "create", "s", "--data", str(tiny_dataset), "--image-size", "64",
         "--backbone", "convnext_tiny", "--artifacts", str(tmp_path / "a")]
    )  # fmt: skip
    spec = study_spec_from_args(args)
    assert spec.settings["backbone"] == "convnext_tiny"
    assert spec.train_config().backbone == "convnext_tiny"
    assert spec.training_settings()["backbone"] == "convnext_tiny"  # two studies differ by it


def test_worker_flags_become_a_worker_config() -> None:
    args = build_parser().parse_args(
        ["worker", "s", "--storage", "journal:j.log", "--grace", "30", "--max-outage", "600"]
    )
    cfg = worker_config_from_args(args, "cuda")
    assert (cfg.storage, cfg.grace_s, cfg.max_outage_s, cfg.device) == (
        "journal:j.log",
        30.0,
        600.0,
        "cuda",
    )
    assert cfg.heartbeat_s == 10.0 and cfg.max_trials is None


def test_set_values_are_json_when_they_parse_and_tables_align() -> None:
    assert parse_set(["a=1", "b=x", "c=[1, 2]", "d=true"]) == {
        "a": 1,
        "b": "x",
        "c": [1, 2],
        "d": True,
    }
    with pytest.raises(HpoError, match="KEY=VALUE"):
        parse_set(["novalue"])
    text = table([["a", 0.5, None], ["bbb", 1, "x"]], ["k", "v", "w"]).splitlines()
    assert text[0].startswith("k    v") and text[2] == "a    0.5000  -" and len(text) == 4
