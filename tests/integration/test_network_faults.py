"""Exactly once on a real network (issue 24): the staged plan run by 3 real worker processes
that reach a real PostgreSQL through `FaultProxy`, audited from the trials alone. The same
`run_study` drives `python -m spacehpo.bench.chaos`, which runs it many times over."""

from __future__ import annotations

import pytest
from spacehpo.bench.chaos import STAGED_POINTS, ChaosConfig, StudyRun, run_study
from spacehpo.bench.fault_proxy import FaultProxy, Faults

pytestmark = pytest.mark.usefixtures("postgres_up")
FAST = {"epochs": 2, "sleep_s": 0.05, "sigkills": 0}


def _assert_exactly_once(run: StudyRun) -> None:
    a = run.audit
    print(run)
    assert a.points == STAGED_POINTS and a.done_once == STAGED_POINTS, a
    assert a.done_twice == 0 and a.duplicates_trained == 0 and a.unfinished == 0, a
    assert run.tracebacks == 0 and run.bad_exits == 0, run


def test_in_doubt_commits_and_cut_connections() -> None:
    """5 % of COMMITs land but their answer is lost; 1 in 300 messages cuts its connection;
    one worker is SIGKILLed on top, so a dead worker's trial must be recovered through it all."""
    faults = Faults(commit_cut=0.05, message_cut=1 / 300)
    with FaultProxy(faults, seed=1) as proxy:
        run = run_study(proxy, ChaosConfig(3, **{**FAST, "sigkills": 1}), seed=1)
    _assert_exactly_once(run)
    assert run.commits_cut >= 20 and run.messages_cut >= 5  # the faults really happened


def test_latency_and_backends_terminated_while_holding_the_study_lock() -> None:
    faults = Faults(latency_s=(0.005, 0.02))
    with FaultProxy(faults, seed=2) as proxy:
        run = run_study(proxy, ChaosConfig(3, **FAST, backend_kill_s=2.0), seed=2)
    _assert_exactly_once(run)
    assert run.backend_kills >= 5 and run.lock_holder_kills >= 1
