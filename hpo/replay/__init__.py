"""Plans replayed on recorded curves, with the engine's own `progress()` and ranking.

- table: the recorded table (per-epoch curves of every configuration and repeat).
- simulate: one simulated run of a plan on a table.
- stats: a plan replayed over many seeds: cost and how often it ends at the best.
- report: what `spacehpo replay` shows.
"""
