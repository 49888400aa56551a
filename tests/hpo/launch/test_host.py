"""The launcher's exit status (the worst child's, as a shell would report it), its cores, and
the signal handlers it borrows."""

import shutil
import signal
import subprocess
import sys

import pytest
from spacehpo.hpo.engine.faults import EXIT_FAULTY_HOST
from spacehpo.hpo.launch.devices import DevicePlan, WorkerSlot
from spacehpo.hpo.launch.host import exit_status, launch


def test_a_child_killed_by_a_signal_reads_as_128_plus_the_signal() -> None:
    assert exit_status(-9) == 137 and exit_status(-15) == 143


def test_exit_codes_pass_through() -> None:
    assert exit_status(0) == 0 and exit_status(EXIT_FAULTY_HOST) == EXIT_FAULTY_HOST


@pytest.mark.skipif(not shutil.which("taskset"), reason="needs util-linux taskset")
def test_cpu_workers_count_the_cores_this_task_may_use() -> None:
    """A Slurm task or a container pinned to one core gets one thread, not the node's count."""
    code = "from spacehpo.hpo.launch.host import usable_cores; print(usable_cores())"
    pinned = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True
    )
    assert pinned.stdout.strip() == "1", pinned.stderr


def test_launch_gives_the_callers_signal_handlers_back(tmp_path) -> None:
    """Real children that exit at once (no such storage): the exit status is theirs, and
    SIGTERM and SIGINT are handled as before the call."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    plan = DevicePlan([WorkerSlot("cpu", label="cpu")], "one CPU worker")
    args = ["s", "--storage", f"journal:{tmp_path / 'none.log'}"]
    assert launch(args, plan) == 2
    assert {s: signal.getsignal(s) for s in before} == before
