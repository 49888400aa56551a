"""CPU twins of the CUDA branches: the resident split (kept across runs), bf16 with fp32 heads,
fused AdamW, torch.compile; and no host sync in a regular training step."""

import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch
from spacehpo.data.synth import SynthConfig, generate
from spacehpo.model.batches import TRAINING_MARGIN_BYTES, DeviceData, fits
from spacehpo.model.config import TrainConfig
from spacehpo.model.network import Detector, Normaliser
from spacehpo.model.train import load_data, train

GiB = 2**30


@pytest.mark.slow
def test_resident_splits_are_kept_across_runs_of_one_process(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    data = load_data(tiny_dataset, 64, progress=False)
    cfg = TrainConfig(epochs=1, batch_size=11, image_size=64, data_on_device=True)
    keep = DeviceData()
    first = train(cfg, data, tmp_path / "a", progress=False, device_data=keep)
    resident = dict(keep.resident)
    second = train(cfg, data, tmp_path / "b", progress=False, device_data=keep)
    assert len(resident) == 2 and all(keep.resident[k] is v for k, v in resident.items())
    assert first[0]["loss"] == pytest.approx(second[0]["loss"], rel=1e-6)


def test_residency_needs_the_split_plus_a_training_margin_per_worker() -> None:
    assert fits(10 * GiB, 10 * GiB + TRAINING_MARGIN_BYTES, share=1)
    assert not fits(10 * GiB, 10 * GiB + TRAINING_MARGIN_BYTES - 1, share=1)
    assert not fits(10 * GiB, 2 * (10 * GiB + TRAINING_MARGIN_BYTES) - 2, share=2)


def test_bf16_autocast_keeps_the_heads_in_fp32() -> None:
    model, x = Detector(11), torch.randint(0, 255, (2, 64, 64, 3), dtype=torch.uint8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(Normaliser(torch.device("cpu"))(x))
    assert {out.centre.dtype, out.classes.dtype, out.box.dtype} == {torch.float32}


@pytest.mark.slow
def test_bf16_training_and_fused_adamw_on_cpu(tiny_dataset: Path, tmp_path: Path) -> None:
    data = load_data(tiny_dataset, 64, progress=False)
    history = train(
        TrainConfig(epochs=1, batch_size=11, image_size=64, amp=True),
        data,
        tmp_path,
        progress=False,
    )
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert history[0]["loss"] > 0 and last["optimizer"]["param_groups"][0]["fused"] is True


@pytest.mark.slow
def test_torch_compile_trains_a_tiny_step(tiny_dataset: Path, tmp_path: Path) -> None:
    if not (shutil.which("g++") or shutil.which("c++")):
        pytest.skip("no C++ compiler here: torch.compile cannot build kernels")
    data = load_data(tiny_dataset, 64, progress=False)
    cfg = TrainConfig(epochs=1, batch_size=22, image_size=64, compile=True)
    assert train(cfg, data, tmp_path, progress=False)[0]["loss"] > 0


@pytest.fixture(scope="module")
def twice_the_steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_dataset's shape with twice the training images (88): the same validation count."""
    root = tmp_path_factory.mktemp("twice") / "ds"
    generate(root, SynthConfig(n_train=88, n_val=22, size=64, seed=3), progress=False)
    return root


def _count_syncs(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Instrument what makes a CUDA host wait for the device (the originals still run): reads of
    device values, copies to a device without non_blocking, tensors built from host values."""
    calls: Counter[str] = Counter()
    for name in ("item", "tolist", "cpu", "numpy"):
        original = getattr(torch.Tensor, name)

        def read(self, *args, _original=original, **kwargs):  # noqa: ANN001, ANN202
            calls["host reads"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, read)
    original_to, original_tensor = torch.Tensor.to, torch.tensor

    def to(self, *args, **kwargs):  # noqa: ANN001, ANN202
        calls["blocking copies"] += not kwargs.get("non_blocking", False)
        return original_to(self, *args, **kwargs)

    def tensor(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["host tensors"] += 1
        return original_tensor(*args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", to)
    monkeypatch.setattr(torch, "tensor", tensor)
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("data_on_device", [True, False])
def test_a_regular_step_makes_no_host_sync(
    tiny_dataset: Path,
    twice_the_steps: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data_on_device: bool,
) -> None:
    """4 and 8 steps of the same batch size, validation alike: the difference is 4 steps' syncs."""
    counts = []
    for root in (tiny_dataset, twice_the_steps):
        data = load_data(root, 64, progress=False)
        calls = _count_syncs(monkeypatch)
        cfg = TrainConfig(epochs=1, batch_size=11, image_size=64, data_on_device=data_on_device)
        train(cfg, data, tmp_path / root.parent.name, progress=False)
        monkeypatch.undo()
        counts.append(calls)
    assert counts[1] - counts[0] == Counter(), counts  # Counter keeps only positive differences
