"""Every backbone builds, gives the stride-32 grid, trains a step and loads a weights file the test
writes; the default detector is today's, weight for weight; checkpoints rebuild their backbone."""

from pathlib import Path

import pytest
import torch
import torchvision
from spacehpo.model.backbones import BACKBONE_NAMES, get_backbone
from spacehpo.model.checkpoint import load_checkpoint, save_checkpoint
from spacehpo.model.config import TrainConfig
from spacehpo.model.errors import ModelError
from spacehpo.model.infer import load_model
from spacehpo.model.loss import detector_loss
from spacehpo.model.network import Detector, DetectorOutput, Normaliser, build_detector
from spacehpo.model.train import EpochReport, load_data, train
from torch import nn

from tests.conftest import assert_one_line_error, run_cli

CPU = torch.device("cpu")


class ResNet18Detector(nn.Module):
    """The detector as it was before backbones were a setting, frozen here: the default must
    stay this network, so that older checkpoints, exports and study results keep their meaning."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Module()
        r = torchvision.models.resnet18(weights=None)
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
            self.trunk.add_module(name, getattr(r, name))
        self.centre_head = nn.Conv2d(512, 1, kernel_size=1)
        self.class_head = nn.Conv2d(512, 11, kernel_size=1)
        self.box_head = nn.Conv2d(512, 4, kernel_size=1)

    def forward(self, images: torch.Tensor) -> DetectorOutput:
        t = self.trunk
        x = t.maxpool(t.relu(t.bn1(t.conv1(images))))
        x = t.layer4(t.layer3(t.layer2(t.layer1(x)))).float()
        return DetectorOutput(
            self.centre_head(x).squeeze(1), self.class_head(x), torch.sigmoid(self.box_head(x))
        )


def batch(size: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two uint8 images with classes and normalised [cx, cy, w, h] boxes inside them."""
    gen = torch.Generator().manual_seed(7)
    images = torch.randint(0, 256, (2, size, size, 3), generator=gen, dtype=torch.uint8)
    boxes = torch.rand(2, 4, generator=gen) * 0.5 + 0.25
    return Normaliser(CPU)(images), torch.tensor([3, 9]), boxes


def test_the_default_detector_is_the_resnet18_detector_weight_for_weight_and_loss_for_loss() -> (
    None
):
    torch.manual_seed(0)
    old = ResNet18Detector()
    torch.manual_seed(0)
    new = build_detector(11)
    old_state, new_state = old.state_dict(), new.state_dict()
    assert list(new_state) == list(old_state)
    assert all(torch.equal(new_state[k], v) for k, v in old_state.items())
    x, classes, boxes = batch()
    old_loss = detector_loss(old(x), classes, boxes, 0.5, 8.0, 5.0).total
    new_loss = detector_loss(new(x), classes, boxes, 0.5, 8.0, 5.0).total
    assert torch.equal(new_loss, old_loss) and new.backbone == TrainConfig().backbone == "resnet18"


@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_each_backbone_loads_a_weights_file_gives_the_grid_and_trains_a_step(
    name: str, tmp_path: Path
) -> None:
    spec = get_backbone(name)
    state = spec.classification_model().state_dict()
    first = next(k for k in state if k.endswith("weight"))
    state[first] = torch.full_like(state[first], 0.25)
    torch.save(state, tmp_path / "classifier.pt")
    model = build_detector(11, str(tmp_path / "classifier.pt"), name)
    trunk = model.trunk.state_dict()
    assert torch.equal(trunk[first], state[first])
    assert all(
        torch.equal(trunk[k], v) for k, v in state.items() if not k.startswith(spec.classifier)
    )
    x, classes, boxes = batch()
    out = model(x)
    assert out.centre.shape == (2, 2, 2) and out.classes.shape == (2, 11, 2, 2)
    assert out.box.shape == (2, 4, 2, 2) and model.class_head.in_channels == spec.channels
    loss = detector_loss(out, classes, boxes, 0.5, 8.0, 5.0).total
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and not torch.equal(model.trunk.state_dict()[first], state[first])


def test_a_detector_file_loads_and_another_architecture_is_one_line(tmp_path: Path) -> None:
    donor = Detector(3, "efficientnet_b0")
    torch.save({"model": donor.state_dict()}, tmp_path / "detector.pt")
    model = build_detector(11, str(tmp_path / "detector.pt"), "efficientnet_b0")
    key = "features.0.0.weight"
    assert torch.equal(model.trunk.state_dict()[key], donor.trunk.state_dict()[key])
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet18.pt")
    with pytest.raises(ModelError, match="not efficientnet_b0 weights") as err:
        build_detector(11, str(tmp_path / "resnet18.pt"), "efficientnet_b0")
    assert "\n" not in str(err.value) and "--backbone" in str(err.value)


def test_imagenet_weights_of_another_backbone_come_from_the_torch_hub_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = get_backbone("efficientnet_b0").classification_model().state_dict()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    url = torchvision.models.EfficientNet_B0_Weights.IMAGENET1K_V1.url
    torch.save(reference, cache / Path(url).name)
    model = build_detector(11, "imagenet", "efficientnet_b0")
    assert torch.equal(
        model.trunk.state_dict()["features.8.0.weight"], reference["features.8.0.weight"]
    )


@pytest.mark.slow  # trains a network: several seconds on 2 cores
def test_a_run_records_its_backbone_and_checkpoints_rebuild_it(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    cfg = TrainConfig(epochs=1, batch_size=11, image_size=64, backbone="efficientnet_b0")
    train(cfg, load_data(tiny_dataset, 64, progress=False), tmp_path / "run", progress=False)
    assert load_checkpoint(tmp_path / "run" / "best.pt")["config"]["backbone"] == "efficientnet_b0"
    loaded = load_model(tmp_path / "run" / "best.pt")
    assert loaded.model.backbone == "efficientnet_b0" and loaded.image_size == 64
    older = {"model": Detector(3).state_dict(), "class_names": ["a", "b", "c"], "image_size": 64}
    save_checkpoint(tmp_path / "older.pt", older)  # from before backbones: no config at all
    assert load_model(tmp_path / "older.pt").model.backbone == "resnet18"


class Stop(Exception):
    pass


def stop_after_the_first_epoch(report: EpochReport) -> None:
    raise Stop


@pytest.mark.slow  # trains a network: several seconds on 2 cores
def test_a_run_from_before_backbones_resumes_as_resnet18(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    data = load_data(tiny_dataset, 64, progress=False)
    cfg = TrainConfig(epochs=2, batch_size=22, image_size=64)
    with pytest.raises(Stop):
        train(cfg, data, tmp_path, on_epoch=stop_after_the_first_epoch, progress=False)
    last = load_checkpoint(tmp_path / "last.pt")
    del last["config"]["backbone"]
    save_checkpoint(tmp_path / "last.pt", last)
    with pytest.raises(ModelError, match="other settings \\(backbone\\)"):
        train(cfg.with_params({"backbone": "resnet34"}), data, tmp_path, progress=False)
    assert [h["epoch"] for h in train(cfg, data, tmp_path, progress=False)] == [1, 2]


def test_an_unknown_backbone_is_one_line_at_the_cli(tiny_dataset: Path, tmp_path: Path) -> None:
    result = run_cli(
        "train", "--data", str(tiny_dataset), "--out", str(tmp_path), "--backbone", "vgg"
    )
    assert_one_line_error(result, "backbone = 'vgg'", "resnet18", "efficientnet_b0")
