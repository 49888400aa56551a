"""Scale rehearsal on the CPU: a SPARK-sized dataset of distinct files (synthetic frames at a
reduced size), converted, scanned, fingerprinted and cached at 320 px, then a fleet of workers
on a trainable that reads real batches from that cache.

Reports convert time, label scan and fingerprint times, cache build images/s (first pass) and
the warm pass, worker start to first claim, fixed cost per trial (a trial's wall time less the
trainable's own batch reading) and peak RSS per worker outside the page cache (RssAnon).

    python -m spacehpo.bench.scale [--images 88000] [--size 256] [--workers 8] [--cold]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
from spacehpo.bench.common import header, table
from spacehpo.data.cache import open_split
from spacehpo.data.spark import convert
from spacehpo.data.synth import SynthConfig, generate
from spacehpo.data.yolo import SPLITS, check_labels, fingerprint
from spacehpo.hpo.core.record import best_metrics_of
from spacehpo.storage.backends import open_storage

TARGETS = {"first claim s": 10.0, "fixed cost s": 5.0, "RssAnon GB": 3.0}  # fixed cost: trials 2+
TRAINABLE = "spacehpo.bench.trainables:cache_reader"
STARTED = re.compile(r"trial (\d+) \(.*\) started")
COMPLETE = re.compile(r"trial (\d+) complete")


def drop_page_cache() -> bool:
    """Cold reads need root: `sync` then drop the page cache (every process's, not just ours)."""
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError:
        return False
    return True


def timed(fn: Callable, *args: object, **kwargs: object) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def dataset_rows(args: argparse.Namespace, work: Path) -> tuple[Path, list[list[str]]]:
    """Synthesise in the SPARK release layout and convert (unless `--work` holds the converted
    dataset of an earlier run), then scan the labels."""
    yolo, n = work / "yolo", args.images
    rows = [["synthesise + convert", "-", f"reused {yolo}"]]
    if not (yolo / "data.yaml").exists():
        n_val = n // 4
        cfg = SynthConfig(n - n_val, n_val, args.size, seed=0, format="spark")
        _, synth_s = timed(generate, work / "spark", cfg, workers=os.cpu_count() or 1)
        _, convert_s = timed(convert, work / "spark", yolo)
        rows = [
            ["synthesise (not part of a run)", f"{synth_s:.1f}", f"{n / synth_s:,.0f} img/s"],
            ["convert SPARK -> YOLO", f"{convert_s:.1f}", f"{n / convert_s:,.0f} img/s"],
        ]
    problems, scan_s = timed(check_labels, yolo)
    if problems:
        raise SystemExit(f"label scan found {len(problems)} problem(s), first: {problems[0]}")
    return yolo, [
        *rows,
        ["label scan (check_labels)", f"{scan_s:.1f}", f"{n / scan_s:,.0f} labels/s"],
    ]


def fingerprint_rows(yolo: Path, n: int, cold: bool) -> tuple[str, list[list[str]]]:
    """Warm, then with the page cache dropped (root only): serial, and as workers run it (8
    threads once the first files read slowly)."""
    rows, fp = [], ""
    for state, threads in [("warm", 8)] + [("cold", 1), ("cold", 8)] * cold:
        label = f"fingerprint {state}, " + ("serial" if threads == 1 else "as a worker runs it")
        if state == "cold" and not drop_page_cache():
            rows.append([label, "-", "needs root"])
            continue
        fp, fp_s = timed(fingerprint, yolo, threads)
        rows.append([label, f"{fp_s:.1f}", f"{n / fp_s:,.0f} img+label/s"])
    return str(fp), rows


def cache_rows(yolo: Path, fp: str, size: int, cache: Path) -> list[list[str]]:
    """The first pass decodes every image; the warm pass is what every later trial pays, given
    the fingerprint its worker computed once."""
    shutil.rmtree(cache, ignore_errors=True)
    rows = []
    for label in ("cache first pass (build)", "cache warm pass (open)"):
        start = time.perf_counter()
        count = sum(len(open_split(yolo, split, size, cache, fingerprint=fp)) for split in SPLITS)
        elapsed = time.perf_counter() - start
        rows.append([f"{label}, {size} px", f"{elapsed:.2f}", f"{count / elapsed:,.0f} img/s"])
    return rows


def plan_file(work: Path, points: int) -> Path:
    """One stage of `points` learning rates: every worker gets trials at once, no barrier."""
    lrs = ", ".join(f"{v:.6g}" for v in np.geomspace(1e-4, 1e-3, points))
    path = work / "scale-plan.toml"
    path.write_text(
        f'name = "scale"\n[[stage]]\ngrid = {{ lr = [{lrs}] }}\n'
        "fixed = { weight_decay = 1e-4, sigma = 0.5, k = 8, box_weight = 5 }\n"
    )
    return path


def spacehpo_command() -> list[str]:
    """The console script of this interpreter's environment, as a user would run it."""
    script = Path(sys.executable).with_name("spacehpo")
    return [str(script) if script.exists() else "spacehpo"]


def create_study(args: argparse.Namespace, work: Path, yolo: Path, storage: str) -> None:
    command = [
        *spacehpo_command(),
        *("study", "create", "scale", "--storage", storage, "--data", str(yolo)),
        *("--plan", str(plan_file(work, args.workers * args.trials))),
        *("--trainable", TRAINABLE, "--pruner", "none", "--epochs", str(args.epochs)),
        *("--image-size", str(args.cache_size), "--artifacts", str(work / "artifacts")),
        *("--set", f"batches={args.batches}"),
    ]
    created = subprocess.run(command, capture_output=True, text=True, cwd=work)
    if created.returncode != 0:
        raise SystemExit(f"study create failed:\n{created.stderr[-2000:]}")


@dataclass
class Watched:
    """A worker process, its stdout lines stamped as they arrive, and its peak memory."""

    proc: subprocess.Popen
    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    peak_anon_kb: int = 0
    peak_hwm_kb: int = 0

    def after(self, pattern: str | re.Pattern) -> float:
        """Seconds from launch to the first line matching `pattern` (NaN if none came)."""
        hits = [t for t, line in self.lines if re.search(pattern, line)]
        return hits[0] - self.started if hits else math.nan


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_fleet(
    commands: list[list[str]], env: dict[str, str], cwd: Path, timeout_s: float
) -> list[Watched]:
    """Start the workers together and sample their memory every 0.2 s until all have exited."""
    workers = []
    for command in commands:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        w = Watched(proc, time.monotonic())
        threading.Thread(
            target=lambda w=w: w.lines.extend((time.monotonic(), line) for line in w.proc.stdout),
            daemon=True,
        ).start()
        workers.append(w)
    deadline = time.monotonic() + timeout_s
    while any(w.proc.poll() is None for w in workers) and time.monotonic() < deadline:
        for w in workers:  # `--device cpu` trains in the worker process itself
            w.peak_anon_kb = max(w.peak_anon_kb, _status_kb(w.proc.pid, "RssAnon"))
            w.peak_hwm_kb = max(w.peak_hwm_kb, _status_kb(w.proc.pid, "VmHWM"))
        time.sleep(0.2)
    for w in workers:
        if w.proc.poll() is None:
            w.proc.kill()
        if w.proc.wait() != 0:
            tail = "".join(line for _, line in w.lines[-20:])
            raise SystemExit(f"a worker exited with {w.proc.returncode}:\n{tail}")
    return workers


def fixed_costs(w: Watched, trainable_s: dict[int, float]) -> list[float]:
    """Per trial: wall time since the worker's previous trial ended (or since it joined), less
    the trainable's own time. What is left is claim, setup, reports, checkpoints, completion."""
    previous = w.started + w.after("joined study")
    costs = []
    for t, line in w.lines:
        if match := COMPLETE.search(line):
            costs.append(t - previous - trainable_s[int(match.group(1))])
            previous = t
    return costs


def trainable_seconds(storage: str, study: str) -> dict[int, float]:
    handle = open_storage(storage)
    try:
        trials = optuna.load_study(study_name=study, storage=handle.storage).get_trials()
    finally:
        handle.close()
    return {t.number: best_metrics_of(t).get("trainable_s", math.nan) for t in trials}


def fleet_rows(
    args: argparse.Namespace, work: Path, yolo: Path, fp: str
) -> tuple[list[list], dict]:
    storage = args.storage or f"journal:{work / 'journal.log'}"
    create_study(args, work, yolo, storage)
    worker = [*spacehpo_command(), "worker", "scale", "--storage", storage, "--device", "cpu"]
    # What `spacehpo worker --devices ...` hands its children: the dataset checked once per host.
    worker += ["--trainable", TRAINABLE, "--poll", "0.5", "--data-checked", fp]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SPACEHPO_CACHE": str(work / "cache")}
    fleet = run_fleet([worker] * args.workers, env, work, args.timeout)
    busy = trainable_seconds(storage, "scale")
    rows, seen = [], {k: [] for k in TARGETS}
    for i, w in enumerate(fleet):
        costs = fixed_costs(w, busy)
        figures = {
            "first claim s": w.after(STARTED),
            "fixed cost s": float(np.mean(costs[1:])) if costs[1:] else math.nan,
            "RssAnon GB": w.peak_anon_kb / 2**20,
        }
        for k, v in figures.items():
            seen[k] += [] if math.isnan(v) else [v]  # a worker that never got a trial
        first = costs[0] if costs else math.nan
        rows.append(
            [f"worker {i}", f"{w.after('joined study'):.1f}", f"{figures['first claim s']:.1f}"]
            + [len(costs), f"{first:.2f}", f"{figures['fixed cost s']:.2f}"]
            + [f"{figures['RssAnon GB']:.2f}", f"{w.peak_hwm_kb / 2**20:.2f}"]
        )
    total = sum(w.peak_anon_kb for w in fleet) / 2**20
    rows.append(["all", "", "", len(busy), "", "", f"{total:.2f}", ""])
    return rows, {k: max(v, default=math.inf) for k, v in seen.items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=88_000, help="train + val (3:1)")
    parser.add_argument("--size", type=int, default=256, help="side of the synthetic frames, px")
    parser.add_argument("--cache-size", type=int, default=320, help="training image size, px")
    parser.add_argument("--workers", type=int, default=8, help="worker processes")
    parser.add_argument("--trials", type=int, default=1, help="trials per worker")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per trial")
    parser.add_argument("--batches", type=int, default=4, help="batches of 64 read per epoch")
    parser.add_argument("--storage", help="study storage URL (default: a journal file in --work)")
    parser.add_argument(
        "--work",
        type=Path,
        help="folder for everything, kept (default: a temporary one, removed); a converted "
        "dataset already there is reused",
    )
    parser.add_argument(
        "--cold", action="store_true", help="also fingerprint with a cold page cache (root)"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the fleet may take")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        yolo, rows = dataset_rows(args, work)
        fp, fingerprints = fingerprint_rows(yolo, args.images, args.cold)
        rows += fingerprints + cache_rows(yolo, fp, args.cache_size, work / "cache")
        workers, worst = fleet_rows(args, work, yolo, fp)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        header(f"scale rehearsal: {args.images:,} images at {args.size} px, {args.workers} workers")
    )
    print(table(rows, ["step", "seconds", "rate"]) + "\n")
    columns = ["worker", "joined s", "first claim s", "trials", "fixed cost 1st trial s"]
    columns += ["fixed cost later s/trial", "peak RssAnon GB", "peak VmHWM GB"]
    print(table(workers, columns))
    met = all(worst[k] <= t for k, t in TARGETS.items())
    figures = ", ".join(f"{k} {worst[k]:.2f} (target <= {t:g})" for k, t in TARGETS.items())
    print(f"ratio: {figures}; {'all targets met' if met else 'TARGET MISSED'}")


if __name__ == "__main__":
    main()
