"""`make gpu-check`: the CUDA tests and the steady-state training benchmark, as one table.

    python -m spacehpo.bench.gpu_check

Without CUDA the tests skip (each row says why) and the benchmark is left out with one line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import torch
from spacehpo.bench.common import header, table
from spacehpo.bench.train import measure

HEADERS = ["check", "result", "seconds", "detail"]
BENCH = {"batch": 64, "steps": 20, "size": 320, "source": 400}  # sources resized to 320 anyway


def cuda_tests() -> list[list[str]]:
    """pytest tests/gpu -v in its own process; one row per test from its JUnit report."""
    report = Path(tempfile.mkdtemp(prefix="gpu-check-")) / "gpu.xml"
    command = [sys.executable, "-m", "pytest", "tests/gpu", "-v", f"--junitxml={report}"]
    subprocess.run(command, check=False)
    rows = []
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = next(iter(case), None)
        result = "passed" if outcome is None else outcome.tag
        detail = "" if outcome is None else outcome.get("message", "").splitlines()[0][:70]
        rows.append([case.get("name", "?"), result, f"{float(case.get('time', 0)):.1f}", detail])
    return rows


def bench_rows() -> list[list[str]]:
    if not torch.cuda.is_available():
        return [["bench.train --device cuda", "skipped", "", "no CUDA device here"]]
    compiler = bool(shutil.which("cc") or shutil.which("gcc"))  # torch.compile builds kernels
    loops = measure("cuda", compile=compiler, **BENCH)
    rows = []
    for loop in loops:
        _, images_s, _, ratio, syncs = loop.row(loops[0].images_s)
        detail = f"{images_s} images/s ({ratio}), {syncs} host syncs/step"
        rows.append([f"bench.train: {loop.name}", "measured", "", detail])
    return rows


def main() -> None:
    rows = cuda_tests() + bench_rows()
    print(header(f"gpu-check: CUDA tests and steady-state training ({BENCH})"))
    print(table(rows, HEADERS))
    sys.exit(0 if all(row[1] in ("passed", "skipped", "measured") for row in rows) else 1)


if __name__ == "__main__":
    main()
