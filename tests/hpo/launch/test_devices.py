"""Which worker processes a host runs, for every kind of --devices and inherited visibility."""

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.trainable import WORKERS_ON_DEVICE
from spacehpo.hpo.launch.devices import VISIBLE, plan_workers


def _visible(plan) -> list[str]:
    return [s.env[VISIBLE] for s in plan.slots]


def test_default_is_every_gpu_else_one_cpu_worker_with_all_cores() -> None:
    plan = plan_workers(None, None, gpus=4, cores=32)
    assert _visible(plan) == ["0", "1", "2", "3"] and {s.device for s in plan.slots} == {"cuda"}
    cpu = plan_workers(None, None, gpus=0, cores=16)
    assert len(cpu.slots) == 1 and cpu.slots[0].device == "cpu"
    assert cpu.slots[0].env == {VISIBLE: "", "OMP_NUM_THREADS": "16"}
    assert "no GPU visible" in cpu.why


def test_an_inherited_visible_list_is_kept_entry_by_entry() -> None:
    slurm = plan_workers(None, "2,3", gpus=2, cores=8)
    assert _visible(slurm) == ["2", "3"] and "inherited" in slurm.why
    uuids = plan_workers("all", "GPU-aaaa-1,GPU-bbbb-2", gpus=2, cores=8)
    assert _visible(uuids) == ["GPU-aaaa-1", "GPU-bbbb-2"]
    assert _visible(plan_workers("GPU-bbbb", "GPU-aaaa-1,GPU-bbbb-2", 2, 8)) == ["GPU-bbbb"]
    assert _visible(plan_workers("1", "2,3", gpus=2, cores=8)) == ["3"]  # ids index into it
    assert plan_workers(None, "", gpus=0, cores=4).slots[0].device == "cpu"


def test_uuids_mig_ids_and_several_workers_per_gpu() -> None:
    mig = "MIG-GPU-5c89852c-d268-c3f3-1b07-005d5ae1dc3f/7/0"
    plan = plan_workers(f"GPU-1f2e3d4c-aaaa,{mig}", None, gpus=1, cores=8)
    assert _visible(plan) == ["GPU-1f2e3d4c-aaaa", mig]
    shared = plan_workers("0,0,1,1", None, gpus=2, cores=8)
    assert _visible(shared) == ["0", "0", "1", "1"]
    assert {s.env[WORKERS_ON_DEVICE] for s in shared.slots} == {"2"}


def test_cpu_workers_split_the_cores() -> None:
    plan = plan_workers("cpu:4", None, gpus=8, cores=16)
    assert [s.env["OMP_NUM_THREADS"] for s in plan.slots] == ["4"] * 4


@pytest.mark.parametrize(
    ("devices", "visible", "gpus", "fragment"),
    [
        ("gpu0", None, 2, "'gpu0' is not a device"),
        ("2", None, 2, "GPU 2 does not exist here (2 visible)"),
        ("2", "4,5", 2, "GPU 2 does not exist"),
        ("all", None, 0, "no GPU visible"),
        ("GPU-aaaa", None, 0, "no GPU visible here"),
        ("GPU-cccc", "GPU-aaaa-1,GPU-bbbb-2", 2, "GPU-cccc is not among the inherited"),
        ("cpu:0", None, 0, "cpu:N with N >= 1"),
        ("cpu:x", None, 0, "cpu:N with N >= 1"),
    ],
)
def test_bad_devices_are_one_clear_line(devices: str, visible, gpus: int, fragment: str) -> None:
    with pytest.raises(HpoError, match="--devices") as err:
        plan_workers(devices, visible, gpus, cores=4)
    assert fragment in str(err.value)
