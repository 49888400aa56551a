"""Exactly once under a real network's faults: K staged studies, each run by real worker
processes that reach a real PostgreSQL through `FaultProxy` (in-doubt commits, cut connections,
latency), with backends terminated by the server and workers SIGKILLed on top. Each study is
audited from its trials alone (`bench.audit`).

    python -m spacehpo.bench.chaos [--studies 20] [--workers 3] [--commit-cut 0.05] [--message-cut 0.0033]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from spacehpo.bench.audit import Audit, audit
from spacehpo.bench.backend_kills import ADMIN, BackendKiller
from spacehpo.bench.common import header, table
from spacehpo.bench.fault_proxy import FaultProxy, Faults
from spacehpo.hpo.engine.study import load
from spacehpo.storage.backends import open_storage

TRAINABLE = "spacehpo.bench.trainables:scored_epochs"
STAGED_POINTS = 22
LIVENESS = ("--heartbeat", "0.5", "--grace", "5")


@dataclass(frozen=True)
class ChaosConfig:
    workers: int = 3
    epochs: int = 3
    sleep_s: float = 0.1
    sigkills: int = 2  # per study, 10-20 s in, then every 5-15 s; each worker replaced at once
    backend_kill_s: float = 0.0  # 0: no server-side terminations
    timeout_s: float = 300.0


def _spacehpo(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "spacehpo.cli", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def create_study(url: str, work: Path, epochs: int, sleep_s: float) -> None:
    create = _spacehpo(
        "study", "create", "chaos", "--storage", url, "--plan", "staged", "--trainable", TRAINABLE,
        "--pruner", "none", "--max-retries", "20", "--set", f"epochs={epochs}",
        "--set", f"sleep={sleep_s}", "--artifacts", str(work / "artifacts"), cwd=work,
    )  # fmt: skip
    out = create.communicate()[0]
    if create.returncode != 0:
        raise RuntimeError(f"study create failed: {out}")


def start_worker(url: str, work: Path) -> subprocess.Popen:
    return _spacehpo(
        "worker", "chaos", "--storage", url, "--device", "cpu", "--poll", "0.1", *LIVENESS, cwd=work
    )


@dataclass(frozen=True)
class Fleet:
    """The worker processes of one study, with the SIGKILLs inflicted on them."""

    outputs: list[str]
    exit_codes: list[int]
    sigkills: int


def run_fleet(url: str, work: Path, cfg: ChaosConfig, rng: random.Random) -> Fleet:
    workers = [start_worker(url, work) for _ in range(cfg.workers)]
    killed: list[subprocess.Popen] = []
    deadline = time.monotonic() + cfg.timeout_s
    next_kill = time.monotonic() + rng.uniform(10, 20)  # once the workers have started trials
    while time.monotonic() < deadline and any(w.poll() is None for w in workers):
        time.sleep(0.2)
        alive = [w for w in workers if w.poll() is None]
        if len(killed) < cfg.sigkills and alive and time.monotonic() >= next_kill:
            victim = rng.choice(alive)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            workers.remove(victim)
            killed.append(victim)
            workers.append(start_worker(url, work))
            next_kill = time.monotonic() + rng.uniform(5, 15)
    for w in workers:
        if w.poll() is None:
            w.kill()  # past the timeout: the audit shows what was left unfinished
    outputs = [w.communicate()[0] for w in workers]
    return Fleet(outputs, [w.returncode for w in workers], len(killed))


@dataclass(frozen=True)
class StudyRun:
    audit: Audit
    commits_cut: int
    messages_cut: int
    backend_kills: int
    lock_holder_kills: int
    sigkills: int
    tracebacks: int
    bad_exits: int
    seconds: float


def run_study(proxy: FaultProxy, cfg: ChaosConfig, seed: int) -> StudyRun:
    db = f"spacehpo_chaos_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    work = Path(tempfile.mkdtemp(prefix="chaos-"))
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{db}"'))
    direct = f"postgresql://postgres@127.0.0.1/{db}"
    try:
        create_study(direct, work, cfg.epochs, cfg.sleep_s)
        before = (proxy.counts.commits_cut, proxy.counts.messages_cut)
        killer = BackendKiller(db, cfg.backend_kill_s, seed=seed) if cfg.backend_kill_s else None
        start = time.monotonic()
        if killer:
            killer.start()
        try:
            fleet = run_fleet(proxy.url(direct), work, cfg, random.Random(seed))
        finally:
            if killer:
                killer.stop()
        seconds = time.monotonic() - start
        with open_storage(direct) as handle:
            trials = load(handle, "chaos")[0].get_trials()
        return StudyRun(
            audit(trials),
            proxy.counts.commits_cut - before[0],
            proxy.counts.messages_cut - before[1],
            killer.kills if killer else 0,
            killer.lock_holder_kills if killer else 0,
            fleet.sigkills,
            sum("Traceback" in out for out in fleet.outputs),
            sum(code != 0 for code in fleet.exit_codes),
            seconds,
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)


COLUMNS = [
    "study", "exactly once", "done twice", "dup cancelled", "dup trained", "strays",
    "unfinished", "retries", "epochs re-trained", "commits cut", "msgs cut", "backend kills",
    "(lock holder)", "SIGKILLs", "tracebacks", "s",
]  # fmt: skip


def _row(i: int, run: StudyRun) -> list[str]:
    a = run.audit
    return [str(v) for v in (
        i, "yes" if a.exactly_once(STAGED_POINTS) else "NO", a.done_twice,
        a.duplicates_cancelled, a.duplicates_trained, a.strays, a.unfinished, a.retries,
        a.epochs_retrained, run.commits_cut, run.messages_cut, run.backend_kills,
        run.lock_holder_kills, run.sigkills, run.tracebacks, f"{run.seconds:.0f}",
    )]  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--commit-cut", type=float, default=0.05)
    parser.add_argument("--message-cut", type=float, default=1 / 300)
    parser.add_argument("--latency-ms", default="0,0", help="LOW,HIGH per round trip")
    parser.add_argument("--sigkills", type=int, default=2, help="worker SIGKILLs per study")
    parser.add_argument("--backend-kill-s", type=float, default=0.0, help="0: none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every study's figures here")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    low, high = (float(x) / 1000 for x in args.latency_ms.split(","))
    faults = Faults(args.commit_cut, args.message_cut, (low, high))
    cfg = ChaosConfig(args.workers, sigkills=args.sigkills, backend_kill_s=args.backend_kill_s)
    rows, runs = [], []
    with FaultProxy(faults, seed=args.seed) as proxy:
        for i in range(args.studies):
            runs.append(run_study(proxy, cfg, args.seed + i))
            rows.append(_row(i, runs[-1]))
            print(
                "  " + "  ".join(f"{c} {v}" for c, v in zip(COLUMNS, rows[-1], strict=True)),
                flush=True,
            )
    print(header(f"chaos: {args.studies} staged studies, {args.workers} workers, {faults}"))
    print(table(rows, COLUMNS))
    once = sum(r.audit.exactly_once(STAGED_POINTS) for r in runs)
    print(
        f"exactly once in {once} of {len(runs)} studies; in-doubt commits {sum(r.commits_cut for r in runs)}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {**r.audit.as_dict(), **{k: v for k, v in vars(r).items() if k != "audit"}}
                    for r in runs
                ],
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
