"""Starting workers.

- devices: which worker processes a host runs (one per GPU, or one CPU worker).
- host: `spacehpo worker --devices`: one worker process per device, signals forwarded.
- slurm_job: the Slurm array-job recipe, one task per GPU.
"""
