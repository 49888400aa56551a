import hashlib
from pathlib import Path

import numpy as np
from spacehpo.data.classes import CLASS_NAMES
from spacehpo.data.spark import convert
from spacehpo.data.synth import SynthConfig, generate
from spacehpo.data.yolo import check_dataset, load_split, read_names

from tests.conftest import assert_one_line_error, run_cli


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    cfg = SynthConfig(n_train=12, n_val=4, size=64, seed=7)
    generate(tmp_path / "a", cfg, progress=False)
    generate(tmp_path / "b", cfg, progress=False)
    generate(tmp_path / "c", SynthConfig(n_train=12, n_val=4, size=64, seed=8), progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")


def test_yolo_layout_is_valid_and_balanced(tiny_dataset: Path) -> None:
    splits, problems = check_dataset(tiny_dataset)
    assert problems == []
    assert read_names(tiny_dataset) == CLASS_NAMES
    assert np.bincount(splits["train"].labels[:, 0].astype(int)).tolist() == [4] * 11


def test_spark_format_converts_back_to_the_same_labels(tmp_path: Path) -> None:
    cfg = SynthConfig(n_train=11, n_val=5, size=96, seed=2)
    generate(tmp_path / "yolo", cfg, progress=False)
    generate(tmp_path / "spark", SynthConfig(**{**cfg.__dict__, "format": "spark"}), progress=False)
    assert (tmp_path / "spark" / "train.csv").read_text().startswith("filename,class,bbox\n")
    convert(tmp_path / "spark", tmp_path / "converted", progress=False)
    for split in ("train", "val"):
        direct, converted = (
            load_split(tmp_path / "yolo", split),
            load_split(tmp_path / "converted", split),
        )
        assert np.allclose(direct.labels, converted.labels, atol=1e-5)


def test_cli_writes_dataset_and_refuses_bad_arguments(tmp_path: Path) -> None:
    ok = run_cli(
        "data",
        "synth",
        "--out",
        str(tmp_path / "d"),
        "--n-train",
        "3",
        "--n-val",
        "2",
        "--size",
        "48",
    )
    assert ok.returncode == 0, ok.stderr
    assert len(list((tmp_path / "d" / "images" / "train").iterdir())) == 3
    assert_one_line_error(
        run_cli("data", "synth", "--out", str(tmp_path / "e"), "--size", "8"), "--size"
    )
    assert_one_line_error(run_cli("data", "synth", "--out", str(tmp_path / "d")), "already exists")
    assert not (tmp_path / "e").exists()


def test_drawing_processes_write_the_same_bytes(tmp_path: Path) -> None:
    cfg = SynthConfig(n_train=150, n_val=3, size=48, seed=5, format="spark")
    generate(tmp_path / "one", cfg, progress=False)
    generate(tmp_path / "two", cfg, progress=False, workers=2)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")
    assert len(list((tmp_path / "two" / "train").iterdir())) == 150  # more than one chunk
