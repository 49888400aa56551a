"""Coordination cost: N worker processes run a trainable that does no work, so what is measured
is the engine itself: points claimed per second, time from one trial's end to the same worker's
next trial start (p50/p99), database connections held, and duplicates (must be 0).

    python -m spacehpo.bench.coordination [--workers 1,4,16,32] [--storages postgres,journal] [--plan full]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import numpy as np
import sqlalchemy
from optuna.trial import FrozenTrial
from spacehpo.bench.common import header, table
from spacehpo.hpo.core.record import record_of, worker_of
from spacehpo.hpo.engine.study import load
from spacehpo.storage.backends import open_storage

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1/postgres"
REAL_TRIAL_S = 225.0  # 15 epochs of 66k images at 5,000 img/s plus validation, on one H100


def _spacehpo(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "spacehpo.cli", *args],
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _create(url: str, plan: str, epochs: int, work: Path) -> None:
    create = _spacehpo(
        "study", "create", "bench", "--storage", url, "--plan", plan,
        "--trainable", "spacehpo.bench.trainables:reporting_noop", "--pruner", "median",
        "--epochs", str(epochs), "--artifacts", str(work / "artifacts"), cwd=work,
    )  # fmt: skip
    assert create.wait() == 0, create.stderr.read()


class ConnectionWatch:
    """The most connections the database `db` had open at once, sampled every 0.2 s."""

    def __init__(self, admin: sqlalchemy.Engine, db: str) -> None:
        self.admin, self.db, self.peak = admin, db, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        query = sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d")
        while not self.stop.wait(0.2):
            with self.admin.connect() as c:
                self.peak = max(self.peak, int(c.execute(query, {"d": self.db}).scalar()))


def _run_workers(url: str, workers: int, work: Path) -> list[FrozenTrial]:
    procs = [
        _spacehpo(
            "worker", "bench", "--storage", url, "--device", "cpu", "--poll", "0.05", cwd=work
        )
        for _ in range(workers)
    ]
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    with open_storage(url) as handle:
        return load(handle, "bench")[0].get_trials()


def run(kind: str, workers: int, plan: str, epochs: int, work: Path) -> list[str]:
    db = f"spacehpo_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    url = f"journal:{work / f'{kind}-{workers}.log'}"
    watch = ConnectionWatch(admin, db)
    if kind == "postgres":
        with admin.connect() as c:
            c.execute(sqlalchemy.text(f"CREATE DATABASE {db}"))
        url = f"postgresql://postgres@127.0.0.1/{db}"
    _create(url, plan, epochs, work)
    if kind == "postgres":
        watch.thread.start()
    trials = _run_workers(url, workers, work)
    watch.stop.set()
    if kind == "postgres":
        with admin.connect() as c:
            c.execute(sqlalchemy.text(f"DROP DATABASE {db} WITH (FORCE)"))
    admin.dispose()
    return _row(kind, workers, trials, str(watch.peak) if kind == "postgres" else "-")


def _gaps(trials: list[FrozenTrial]) -> list[float]:
    """Seconds from a trial's end to the same worker's next start."""
    by_worker = defaultdict(list)
    for t in trials:
        by_worker[worker_of(t)].append(t)
    gaps = []
    for ts in by_worker.values():
        ts = sorted(ts, key=lambda t: t.datetime_start)
        gaps += [(b.datetime_start - a.datetime_complete).total_seconds() for a, b in pairwise(ts)]
    return gaps


def _row(kind: str, workers: int, trials: list[FrozenTrial], peak: str) -> list[str]:
    gaps = _gaps(trials)
    span = (
        max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)
    ).total_seconds()
    durations = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials]
    points = {(r.stage, r.point) for r in (record_of(t, None) for t in trials)}
    per_trial = float(np.median(gaps) if gaps else 0) + float(np.median(durations))
    return [
        kind,
        str(workers),
        str(len(trials)),
        f"{len(trials) / span:.1f}",
        f"{np.median(gaps) * 1000:.0f}" if gaps else "-",
        f"{np.percentile(gaps, 99) * 1000:.0f}" if gaps else "-",
        f"{np.median(durations) * 1000:.0f}",
        peak,
        str(len(trials) - len(points)),
        f"{100 * per_trial / REAL_TRIAL_S:.2f}%",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,4,16,32")
    parser.add_argument("--storages", default="postgres,journal")
    parser.add_argument("--plan", default="full")
    parser.add_argument("--epochs", type=int, default=15, help="instant epoch reports per trial")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-coord-"))
    rows = []
    try:
        for kind in args.storages.split(","):
            for n in (int(w) for w in args.workers.split(",")):
                rows.append(run(kind, n, args.plan, args.epochs, work))
                print("  done:", " ".join(rows[-1][:4]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        header(
            f"coordination, plan {args.plan}, {args.epochs} reported epochs per trial, no-op trainable"
        )
    )
    print(
        table(
            rows,
            [
                "storage",
                "workers",
                "trials",
                "trials/s",
                "gap p50 ms",
                "gap p99 ms",
                "trial p50 ms",
                "peak connections",
                "duplicates",
                f"overhead per {REAL_TRIAL_S:.0f} s trial",
            ],
        )
    )
    worst = max(rows, key=lambda r: float(r[-1].rstrip("%")))
    print(
        f"ratio: coordination is at most {worst[-1]} of a real trial ({worst[0]}, {worst[1]} workers); duplicates {sum(int(r[8]) for r in rows)}"
    )


if __name__ == "__main__":
    main()
