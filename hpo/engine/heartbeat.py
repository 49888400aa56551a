"""Beats for the running trial from a thread, so a long epoch does not look like a dead worker."""

from __future__ import annotations

import threading
from collections.abc import Callable

from spacehpo.storage.liveness import Liveness


class Heartbeat:
    def __init__(self, liveness: Liveness, trial_id: int, log: Callable[[str], None]) -> None:
        self.liveness, self.trial_id, self.log = liveness, trial_id, log
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Heartbeat:
        self.liveness.beat(self.trial_id)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        # A beat waiting out an outage must not keep a finished trial's worker from moving on.
        self.thread.join(timeout=self.liveness.interval_s)

    def _run(self) -> None:
        while not self.stop.wait(self.liveness.interval_s):
            try:
                self.liveness.beat(self.trial_id)
            except Exception as err:  # a missed beat is survivable; the next one retries
                self.log(f"heartbeat for trial {self.trial_id} missed ({err.__class__.__name__})")
