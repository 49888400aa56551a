import pickle
from pathlib import Path

import pytest
import torch
import torchvision
from spacehpo.model.checkpoint import load_checkpoint
from spacehpo.model.config import TrainConfig
from spacehpo.model.errors import ModelError
from spacehpo.model.network import build_detector
from spacehpo.model.overlays import GAP, MIN_SIDE
from spacehpo.model.train import OVERLAID, EpochReport, load_data, train

from tests.conftest import SPARK_SAMPLE, assert_one_line_error, run_cli

CFG = TrainConfig(epochs=2, batch_size=11, image_size=64, lr=1e-3)


class Stop(Exception):
    pass


@pytest.mark.slow  # trains a network: several seconds on 2 cores
def test_two_epochs_learn_and_checkpoint(tiny_dataset: Path, tmp_path: Path) -> None:
    reports: list[EpochReport] = []
    data = load_data(tiny_dataset, 64, progress=False)
    history = train(CFG, data, tmp_path, on_epoch=reports.append, progress=False)
    assert [h["epoch"] for h in history] == [1, 2]
    # each epoch draws the first validation images as the detector sees them now, one row
    assert [r.overlays.width for r in reports] == [OVERLAID * (MIN_SIDE + GAP) - GAP] * 2
    assert history[1]["loss"] < history[0]["loss"]
    last = load_checkpoint(
        tmp_path / "last.pt", required=("model", "optimizer", "scheduler", "epoch", "history")
    )
    assert last["epoch"] == 2 and last["config"]["lr"] == 1e-3
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["class_names"][2] == "debris" and best["image_size"] == 64


def test_a_split_smaller_than_a_batch_trains_as_one_short_batch(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    """44 training images with batch 64: one step of 44 each epoch, not a reshape error."""
    cfg = TrainConfig(epochs=1, batch_size=64, image_size=64)
    history = train(cfg, load_data(tiny_dataset, 64, progress=False), tmp_path, progress=False)
    assert len(history) == 1 and history[0]["loss"] > 0


@pytest.mark.slow
def test_resume_matches_an_uninterrupted_run(tiny_dataset: Path, tmp_path: Path) -> None:
    data = load_data(tiny_dataset, 64, progress=False)
    cfg = TrainConfig(epochs=3, batch_size=11, image_size=64, schedule="cosine", warmup_epochs=1)
    straight = train(cfg, data, tmp_path / "a", progress=False)

    def interrupt(report: EpochReport) -> None:
        if report.epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train(cfg, data, tmp_path / "b", on_epoch=interrupt, progress=False)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 1
    resumed = train(cfg, data, tmp_path / "b", progress=False)
    assert len(resumed) == 3
    for a, b in zip(straight, resumed, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        assert a["class_acc"] == b["class_acc"] and a["centre_acc"] == b["centre_acc"]


def test_resume_with_other_settings_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    data = load_data(tiny_dataset, 64, progress=False)
    train(TrainConfig(epochs=1, batch_size=11, image_size=64), data, tmp_path, progress=False)
    with pytest.raises(ModelError, match="other settings"):
        train(
            TrainConfig(epochs=2, batch_size=11, image_size=64, lr=1e-2),
            data,
            tmp_path,
            progress=False,
        )


@pytest.mark.slow  # trains a network: several seconds on 2 cores
def test_nan_loss_stops_with_a_clear_error(tiny_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="loss is nan"):
        train(
            # sigma 0 is refused now; 1e-30 still makes 0/0 in the float32 Gaussian
            TrainConfig(epochs=1, batch_size=11, image_size=64, sigma=1e-30),
            load_data(tiny_dataset, 64, progress=False),
            tmp_path,
            progress=False,
        )


def test_pickled_objects_and_truncated_files_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pt"
    torch.save({"model": {}, "payload": pickle.loads(pickle.dumps(Path("x")))}, evil)
    with pytest.raises(ModelError, match="weights_only"):
        load_checkpoint(evil)
    good = tmp_path / "good.pt"
    torch.save({"model": {"w": torch.zeros(1000)}}, good)
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:500])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.pt")


def test_pretrained_from_a_local_file_and_from_the_imagenet_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(1)
    reference = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / "resnet18.pt"
    torch.save(reference, path)
    from_file = build_detector(11, str(path))
    assert torch.equal(from_file.trunk.conv1.weight, reference["conv1.weight"])
    # torchvision's weights API reads the torch hub cache before it tries the network
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference, cache / Path(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url).name)
    from_cache = build_detector(11, "imagenet")
    assert torch.equal(from_cache.trunk.layer4[1].conv2.weight, reference["layer4.1.conv2.weight"])


@pytest.mark.parametrize(
    ("backbone", "file"),
    [
        ("resnet18", "resnet18-f37072fd.pth"),
        ("efficientnet_b0", "efficientnet_b0_rwightman-7f5810bc.pth"),
    ],
)
@pytest.mark.slow  # trains a network: several seconds on 2 cores
def test_imagenet_offline_and_not_cached_says_where_to_put_the_file(
    backbone: str, file: str, tiny_dataset: Path, tmp_path: Path
) -> None:
    env = {
        "TORCH_HOME": str(tmp_path / "empty"),
        "https_proxy": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    result = run_cli(
        "train",
        "--data",
        str(tiny_dataset),
        "--out",
        str(tmp_path / "r"),
        "--image-size",
        "64",
        "--pretrained",
        "imagenet",
        "--backbone",
        backbone,
        env=env,
    )
    assert_one_line_error(result, file, str(tmp_path / "empty"))


@pytest.mark.slow
def test_cli_train_evaluate_predict_on_real_samples(tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    r = run_cli(
        "train",
        "--data",
        str(tiny_dataset),
        "--out",
        str(run),
        "--epochs",
        "1",
        "--image-size",
        "64",
        "--batch-size",
        "22",
    )
    assert r.returncode == 0, r.stderr
    assert "best epoch 1" in r.stdout and "class_acc" in r.stdout
    r = run_cli("evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(tiny_dataset))
    assert r.returncode == 0, r.stderr
    assert (run / "eval-val" / "confusion.png").stat().st_size > 1000
    assert len((run / "eval-val" / "predictions.csv").read_text().splitlines()) == 23
    out = tmp_path / "pred"
    r = run_cli(
        "predict",
        "--checkpoint",
        str(run / "best.pt"),
        "--images",
        str(SPARK_SAMPLE / "train"),
        "--labels",
        str(SPARK_SAMPLE / "train.csv"),
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    rows = (out / "submission.csv").read_text().splitlines()
    assert rows[0] == "filename,class,bbox" and len(rows) == 12
    assert all(
        0 <= int(v) <= 1024 for row in rows[1:] for v in row.split('"')[1].strip("[]").split(",")
    )
    from PIL import Image

    width, height = Image.open(out / "overlays" / "img050002.png").size
    assert width == 1024 and height > 1024  # the image at its own size, legend and caption added


@pytest.mark.slow  # trains a network: several seconds on 2 cores
def test_refuses_a_checkpoint_with_pickled_objects_at_the_cli(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    evil = tmp_path / "model.pt"
    torch.save({"model": {}, "class_names": ["a"], "image_size": 64, "x": Path("any object")}, evil)
    assert_one_line_error(
        run_cli("evaluate", "--checkpoint", str(evil), "--data", str(tiny_dataset)), "weights_only"
    )


@pytest.mark.slow  # trains a network: several seconds on 2 cores
def test_device_resident_images_train_like_the_memmap(tiny_dataset: Path, tmp_path: Path) -> None:
    """The GPU path (the whole split as one tensor) must pair images and labels exactly as the
    memmap path does; on CPU both run, so the histories must agree."""
    data = load_data(tiny_dataset, 64, progress=False)
    cfg = TrainConfig(epochs=1, batch_size=11, image_size=64)
    memmap = train(cfg, data, tmp_path / "a", progress=False)
    resident = train(
        cfg.with_params({"data_on_device": True}), data, tmp_path / "b", progress=False
    )
    assert memmap[0]["loss"] == pytest.approx(resident[0]["loss"], rel=1e-5)
    assert memmap[0]["class_acc"] == resident[0]["class_acc"]
