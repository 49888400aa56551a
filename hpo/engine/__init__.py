"""What a worker does with a study: claim a trial, train it, report it, put it back after a fault.

- study: the study's spec (plan, settings, objective) stored on the Optuna study.
- store_marker: proof that a worker writes to the study's own artifact store.
- trainable: the one interface to what is tuned, and the detector itself.
- claim: taking a WAITING trial exactly once, and enqueueing the plan's next points.
- recovery: stale trials of dead workers and handed-back trials, back to the queue.
- faults: machine faults (requeue) against trial faults (fail).
- heartbeat: beats for the running trial from a thread.
- trial_run: one claimed trial, from start or resume to its outcome.
- worker: the claim -> train -> report loop.
- worker_config: how one worker process runs, from its flags.
- worker_env: what every trial of one worker shares.
- notes: the study note optuna-dashboard shows.
"""
