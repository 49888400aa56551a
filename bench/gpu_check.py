"""`make gpu-check`: the CUDA tests and the steady-state training benchmark, one table.

python -m bench.gpu_check
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from bench.common import header, table


def cuda_tests() -> list[list[str]]:
    report = Path(tempfile.mkdtemp()) / "gpu.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "tests/gpu", "-q", "-p", "no:cacheprovider",
         f"--junitxml={report}"],
        check=False,
    )  # fmt: skip
    rows = []
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = next((child.tag for child in case), "passed")
        detail = next((child.get("message", "") for child in case), "")
        rows.append(
            [case.get("name", "?"), outcome, f"{float(case.get('time', 0)):.1f} s", detail[:60]]
        )
    return rows


def main() -> None:
    import torch

    rows = cuda_tests()
    if not torch.cuda.is_available():
        print(header("gpu-check: CUDA tests and steady-state training"))
        print(table(rows, ["check", "result", "time", "detail"]))
        print("no CUDA device here: the tests are skipped and the benchmark is not run")
        return
    bench = subprocess.run(
        [sys.executable, "-m", "bench.train", "--device", "cuda", "--batch", "64", "--steps", "20"],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in bench.stdout.splitlines():
        if line.startswith("spacehpo train"):
            rows.append(
                ["bench.train: " + line.split("  ")[0], "measured", "", " ".join(line.split()[-4:])]
            )
    print(header("gpu-check: CUDA tests and steady-state training"))
    print(table(rows, ["check", "result", "time", "detail"]))
    print(bench.stdout.strip().splitlines()[-1] if bench.stdout.strip() else bench.stderr[-500:])


if __name__ == "__main__":
    main()
