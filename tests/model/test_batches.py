"""CPU twins of the CUDA branches: the resident split (kept across runs), bf16 with fp32 heads,
fused AdamW, torch.compile; and no host sync in a regular training step."""

import shutil
from pathlib import Path

import pytest
import torch
from spacehpo.model.batches import TRAINING_MARGIN_BYTES, DeviceData, fits
from spacehpo.model.config import TrainConfig
from spacehpo.model.network import Detector, Normaliser
from spacehpo.model.train import load_data, train

GiB = 2**30


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


def _count_syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Instrument the calls that make the host wait for the device (the originals still run)."""
    calls: list[str] = []
    for name in ("item", "tolist", "cpu", "numpy"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):  # noqa: ANN001, ANN202
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return calls


@pytest.mark.parametrize("data_on_device", [True, False])
def test_a_regular_step_makes_no_host_sync(
    tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_on_device: bool
) -> None:
    """Syncs per epoch do not grow with the steps: 0 per regular step, a few per epoch."""
    data = load_data(tiny_dataset, 64, progress=False)
    counts = []
    for batch_size in (11, 5):  # 4 and 8 steps on 44 images
        calls = _count_syncs(monkeypatch)
        cfg = TrainConfig(
            epochs=1, batch_size=batch_size, image_size=64, data_on_device=data_on_device
        )
        train(cfg, data, tmp_path / str(batch_size), progress=False)
        monkeypatch.undo()
        counts.append(len(calls))
    assert counts[0] == counts[1], counts
