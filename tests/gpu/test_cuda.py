"""The CUDA branches on a real GPU (`make gpu-check`); skipped where torch sees none.

Each has a CPU twin in tests/model/test_batches.py and tests/hpo/launch/test_devices.py that runs
the same code on every machine.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from optuna.trial import TrialState
from spacehpo.model.batches import (
    DeviceData,
    ResidentImages,
    StagedImages,
    fits,
    fits_on_device,
)
from spacehpo.model.config import TrainConfig
from spacehpo.model.train import load_data, train

from tests.conftest import run_cli
from tests.hpo.studies import trials_of

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def _data(tiny_dataset: Path):  # noqa: ANN202
    return load_data(tiny_dataset, 64, progress=False)


def test_bf16_fused_adamw_training_on_cuda(tiny_dataset: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=3, batch_size=11, image_size=64, device="cuda")
    history = train(cfg, _data(tiny_dataset), tmp_path, progress=False)
    assert cfg.use_amp and history[-1]["loss"] < history[0]["loss"]  # bf16 still learns
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["optimizer"]["param_groups"][0]["fused"] is True


def test_compile_on_cuda(tiny_dataset: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=1, batch_size=22, image_size=64, device="cuda", compile=True)
    assert train(cfg, _data(tiny_dataset), tmp_path, progress=False)[0]["loss"] > 0


def test_resident_when_it_fits_staged_when_it_does_not(tiny_dataset: Path) -> None:
    data, device = _data(tiny_dataset), torch.device("cuda")
    free, _ = torch.cuda.mem_get_info(device)
    assert fits(data.train.images.nbytes, free, 1)  # a tiny split fits any GPU
    auto = DeviceData().images(data.train, device, 11, None)
    assert isinstance(auto, ResidentImages) and auto.images.is_cuda
    staged = DeviceData().images(data.train, device, 11, False)
    assert isinstance(staged, StagedImages) and all(b.is_pinned() for b in staged.buffers)
    assert staged(torch.arange(11, device=device), np.arange(11)).is_cuda
    total = torch.cuda.get_device_properties(device).total_memory
    assert fits_on_device(1, device, 1) and not fits_on_device(total, device, 1)
    assert not fits(free, free, 1)  # a split as large as the free memory never does


def test_resident_and_staged_train_alike_on_cuda(tiny_dataset: Path, tmp_path: Path) -> None:
    data = _data(tiny_dataset)
    runs = [
        train(
            TrainConfig(
                epochs=1,
                batch_size=11,
                image_size=64,
                device="cuda",
                amp=False,
                data_on_device=resident,
            ),
            data,
            tmp_path / str(resident),
            progress=False,
        )  # fmt: skip
        for resident in (True, False)
    ]
    assert runs[0][0]["loss"] == pytest.approx(runs[1][0]["loss"], rel=1e-3)


def _detector_study(tiny_dataset: Path, tmp_path: Path) -> str:
    storage = f"journal:{tmp_path / 'j.log'}"
    r = run_cli(
        "study", "create", "g", "--storage", storage, "--data", str(tiny_dataset),
        "--epochs", "1", "--image-size", "64", "--batch-size", "11", "--pruner", "none",
        "--artifacts", str(tmp_path / "artifacts"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return storage


def test_two_workers_share_one_gpu(tiny_dataset: Path, tmp_path: Path) -> None:
    storage = _detector_study(tiny_dataset, tmp_path)
    r = run_cli(
        "worker", "g", "--storage", storage, "--devices", "0,0", "--max-trials", "2", timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 GPU worker(s) from --devices 0,0" in r.stdout
    done = [t for t in trials_of(storage, "g") if t.state == TrialState.COMPLETE]
    assert len(done) == 4 and len({t.user_attrs["worker"] for t in done}) == 2


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="fewer than two GPUs here")
def test_one_worker_per_gpu_by_default(tiny_dataset: Path, tmp_path: Path) -> None:
    storage = _detector_study(tiny_dataset, tmp_path)
    r = run_cli("worker", "g", "--storage", storage, "--max-trials", "1", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{torch.cuda.device_count()} GPU worker(s)" in r.stdout
